//! One query's attention over the KV cache: scores, then the weighted sum of values.
//!
//! Keys are cached transposed, (d_model, ctx) per layer, so the scores of all past
//! positions come out lanes-over-positions: each step multiplies one query element by a
//! contiguous run of keys. No horizontal sum per position (what made one dot product
//! per position slow), and the same loops vectorise natively and in wasm.
//!
//! Order of sums, the same bits on every target: score[j] = Σ_e q[e]·k[e][j] and
//! out[e] = Σ_j p[j]·v[j][e], each ascending from 0.0, multiply then add (never fused).
//!
//! The cache may be packed (`KvPrecision`): f32, f16, or int8 codes with one f16 scale
//! per position and head. The kernels read the packed cache directly and
//! **dequantize on read**: each element is widened to f32 in the register (exact for
//! f16 and i8, so the one rounding is the cache's own) and enters the same sums in the
//! same order as an f32 cache. An int8 scale belongs to one position of one head, so it
//! factors out of that position's score, score[j] = (Σ_e q[e]·c[e][j])·ks[j]·scale, and
//! into the value weight, out[e] = Σ_j (p[j]·vs[j])·c[j][e]: one multiply per position,
//! not per element. Why not integer q·k (quantize the query, i32 sums): it would add a
//! second rounding (the query's) to every score for no gain here: the i32 sums need the
//! same widening per element, and f32 caches keep their bits by sharing this code.

use crate::dispatch::avx2_or_portable;
use half::f16;

/// Register block of positions for the scores: four 128-bit (two 256-bit) accumulators.
const BP: usize = 16;
/// Widest run of positions one pass over q sums (whole blocks of BP): more independent
/// sums in flight, where one block's add chain (hd adds long) would bound the speed.
/// Eight 256-bit accumulators natively; in wasm eight v128 (V8 has fifteen on x86-64).
#[cfg(not(target_arch = "wasm32"))]
const WIDE: usize = 4 * BP;
#[cfg(target_arch = "wasm32")]
const WIDE: usize = 2 * BP;

/// An element of a cache as stored; `get` widens it to f32 exactly.
pub trait Stored: Copy {
    fn get(self) -> f32;
}

impl Stored for f32 {
    #[inline(always)]
    fn get(self) -> f32 {
        self
    }
}

impl Stored for i8 {
    #[inline(always)]
    fn get(self) -> f32 {
        self as f32
    }
}

impl Stored for f16 {
    /// Bit arithmetic with no branch, so runs of it vectorise (the `half` crate's
    /// conversion is a call per element without F16C): exponent and mantissa move to the
    /// f32 field and one multiply by 2^112 rebias them, subnormals included (exact: a
    /// power of two); infinity and NaN keep an all-ones exponent.
    #[inline(always)]
    fn get(self) -> f32 {
        let h = self.to_bits() as u32;
        let em = h & 0x7fff;
        let x = f32::from_bits(em << 13) * f32::from_bits(0x7780_0000); // × 2^112
        let special = if em >= 0x7c00 { 0x7f80_0000 } else { 0 };
        f32::from_bits(x.to_bits() | special | ((h & 0x8000) << 16))
    }
}

/// scores (n) = scale · Σ_e q[e] · kt[e·ctx + j], for j < n = scores.len().
/// q (hd); kt holds the head's keys transposed: row e at kt[e·ctx..], one column per position.
pub fn scores(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]) {
    avx2_or_portable!(scores_f32(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]))
}

/// `scores` over an f16 cache.
pub fn scores_f16(q: &[f32], kt: &[f16], ctx: usize, scale: f32, scores: &mut [f32]) {
    avx2_or_portable!(scores_f16_imp(q: &[f32], kt: &[f16], ctx: usize, scale: f32, scores: &mut [f32]))
}

/// `scores` over int8 codes: scores[j] = (Σ_e q[e]·kt[e·ctx + j]) · ks[j] · scale, with
/// ks (ctx) the head's key scale of each position.
pub fn scores_i8(q: &[f32], kt: &[i8], ks: &[f16], ctx: usize, scale: f32, scores: &mut [f32]) {
    avx2_or_portable!(scores_i8_imp(q: &[f32], kt: &[i8], ks: &[f16], ctx: usize, scale: f32, scores: &mut [f32]))
}

#[inline(always)]
fn scores_f32(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]) {
    scores_imp(q, kt, ctx, scores, |_, a| a * scale)
}

#[inline(always)]
fn scores_f16_imp(q: &[f32], kt: &[f16], ctx: usize, scale: f32, scores: &mut [f32]) {
    scores_imp(q, kt, ctx, scores, |_, a| a * scale)
}

#[inline(always)]
fn scores_i8_imp(q: &[f32], kt: &[i8], ks: &[f16], ctx: usize, scale: f32, scores: &mut [f32]) {
    assert!(ks.len() >= scores.len(), "attention: key scales too short");
    scores_imp(q, kt, ctx, scores, |j, a| a * ks[j].get() * scale)
}

/// The sums Σ_e q[e]·kt[e·ctx + j] in the canonical order; `fin(j, sum)` gives the score.
#[inline(always)]
fn scores_imp<T: Stored>(
    q: &[f32],
    kt: &[T],
    ctx: usize,
    scores: &mut [f32],
    fin: impl Fn(usize, f32) -> f32 + Copy,
) {
    let (n, hd) = (scores.len(), q.len());
    assert!(
        n <= ctx && (hd == 0 || kt.len() >= (hd - 1) * ctx + ctx),
        "attention: keys too short"
    );
    // Whole blocks, also past n while the cache has room (the extra lanes are dropped):
    // cheaper than a scalar tail, and each kept lane is summed the same way. Wide runs
    // first, while their last block still holds a wanted position.
    let mut j = score_blocks::<T, WIDE>(q, kt, ctx, scores, 0, fin);
    j = score_blocks::<T, { 2 * BP }>(q, kt, ctx, scores, j, fin);
    j = score_blocks::<T, BP>(q, kt, ctx, scores, j, fin);
    for (jj, s) in scores.iter_mut().enumerate().skip(j) {
        let mut a = 0.0;
        for (e, &qe) in q.iter().enumerate() {
            a += qe * kt[e * ctx + jj].get();
        }
        *s = fin(jj, a);
    }
}

/// Fills scores[j0..] in runs of W positions (a multiple of BP) while a run fits the
/// cache and its last block holds a wanted position; returns where the runs stopped.
#[inline(always)]
fn score_blocks<T: Stored, const W: usize>(
    q: &[f32],
    kt: &[T],
    ctx: usize,
    scores: &mut [f32],
    j0: usize,
    fin: impl Fn(usize, f32) -> f32,
) -> usize {
    let n = scores.len();
    let mut j = j0;
    while j + W - BP < n && j + W <= ctx {
        let mut acc = [0.0f32; W];
        for (e, &qe) in q.iter().enumerate() {
            let k = &kt[e * ctx + j..e * ctx + j + W];
            for l in 0..W {
                acc[l] += qe * k[l].get();
            }
        }
        let m = W.min(n - j);
        for (i, (s, a)) in scores[j..j + m].iter_mut().zip(acc).enumerate() {
            *s = fin(j + i, a);
        }
        j += W;
    }
    j
}

/// out (hd) = Σ_j p[j] · v[j·stride + e]; p (n) the softmaxed scores, v the head's values
/// (row j of the cache starts at v[j·stride]).
pub fn weighted_sum(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]) {
    avx2_or_portable!(weighted_sum_f32(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]))
}

/// `weighted_sum` over an f16 cache.
pub fn weighted_sum_f16(p: &[f32], v: &[f16], stride: usize, out: &mut [f32]) {
    avx2_or_portable!(weighted_sum_f16_imp(p: &[f32], v: &[f16], stride: usize, out: &mut [f32]))
}

/// `weighted_sum` over int8 codes: out[e] = Σ_j (p[j]·vs[j]) · v[j·stride + e], with
/// vs (ctx) the head's value scale of each position.
pub fn weighted_sum_i8(p: &[f32], v: &[i8], vs: &[f16], stride: usize, out: &mut [f32]) {
    avx2_or_portable!(weighted_sum_i8_imp(p: &[f32], v: &[i8], vs: &[f16], stride: usize, out: &mut [f32]))
}

#[inline(always)]
fn weighted_sum_f32(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]) {
    weighted_sum_imp(p, v, stride, out, |j| p[j])
}

#[inline(always)]
fn weighted_sum_f16_imp(p: &[f32], v: &[f16], stride: usize, out: &mut [f32]) {
    weighted_sum_imp(p, v, stride, out, |j| p[j])
}

#[inline(always)]
fn weighted_sum_i8_imp(p: &[f32], v: &[i8], vs: &[f16], stride: usize, out: &mut [f32]) {
    assert!(vs.len() >= p.len(), "attention: value scales too short");
    weighted_sum_imp(p, v, stride, out, |j| p[j] * vs[j].get())
}

/// out[e] = Σ_j w(j)·v[j·stride + e] in the canonical order, for j < p.len().
#[inline(always)]
fn weighted_sum_imp<T: Stored>(
    p: &[f32],
    v: &[T],
    stride: usize,
    out: &mut [f32],
    w: impl Fn(usize) -> f32 + Copy,
) {
    let (n, hd) = (p.len(), out.len());
    assert!(
        n == 0 || v.len() >= (n - 1) * stride + hd,
        "attention: values too short"
    );
    // A whole head of 32 in registers reads each value row once; 16 for smaller heads.
    let mut e = value_blocks::<T, 32>(n, v, stride, out, 0, w);
    e = value_blocks::<T, 16>(n, v, stride, out, e, w);
    for (ee, o) in out.iter_mut().enumerate().skip(e) {
        let mut a = 0.0;
        for j in 0..n {
            a += w(j) * v[j * stride + ee].get();
        }
        *o = a;
    }
}

/// Fills out[e0..] in whole blocks of B; returns where the blocks stopped.
#[inline(always)]
fn value_blocks<T: Stored, const B: usize>(
    n: usize,
    v: &[T],
    stride: usize,
    out: &mut [f32],
    e0: usize,
    w: impl Fn(usize) -> f32,
) -> usize {
    let mut e = e0;
    while e + B <= out.len() {
        let mut acc = [0.0f32; B];
        for j in 0..n {
            let pj = w(j);
            let vj = &v[j * stride + e..j * stride + e + B];
            for l in 0..B {
                acc[l] += pj * vj[l].get();
            }
        }
        out[e..e + B].copy_from_slice(&acc);
        e += B;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Odd sizes exercise the blocks and the tails; sums in f64 as the reference.
    #[test]
    fn match_a_plain_reference() {
        let (ctx, hd, stride) = (40, 51, 53);
        let q: Vec<f32> = (0..hd).map(|i| (i as f32 * 0.7).sin()).collect();
        let kt: Vec<f32> = (0..hd * ctx).map(|i| (i as f32 * 0.13).cos()).collect();
        for n in [0, 1, 15, 16, 17, 33, 40] {
            let mut s = vec![0.0; n];
            scores(&q, &kt, ctx, 0.5, &mut s);
            for (j, &sj) in s.iter().enumerate() {
                let want: f64 = (0..hd).map(|e| q[e] as f64 * kt[e * ctx + j] as f64).sum();
                assert!((sj as f64 - 0.5 * want).abs() < 1e-5, "n {n} j {j}");
            }
            let v: Vec<f32> = (0..n * stride).map(|i| (i as f32 * 0.31).sin()).collect();
            let mut out = vec![0.0; hd];
            weighted_sum(&s, &v, stride, &mut out);
            for (e, &oe) in out.iter().enumerate() {
                let want: f64 = (0..n).map(|j| s[j] as f64 * v[j * stride + e] as f64).sum();
                assert!((oe as f64 - want).abs() < 1e-5, "n {n} e {e}");
            }
        }
    }

    /// Every run width gives each score in the documented order, to the bit.
    #[test]
    fn scores_are_bitwise_in_order_for_every_run_width() {
        for (ctx, hd) in [(40, 7), (128, 32), (256, 64), (100, 64)] {
            let q: Vec<f32> = (0..hd).map(|i| (i as f32 * 0.7).sin()).collect();
            let kt: Vec<f32> = (0..hd * ctx).map(|i| (i as f32 * 0.13).cos()).collect();
            for n in 0..=ctx {
                let mut s = vec![0.0; n];
                scores(&q, &kt, ctx, 0.125, &mut s);
                for (j, &sj) in s.iter().enumerate() {
                    let mut a = 0.0f32;
                    for e in 0..hd {
                        a += q[e] * kt[e * ctx + j];
                    }
                    assert_eq!(sj.to_bits(), (a * 0.125).to_bits(), "ctx {ctx} n {n} j {j}");
                }
            }
        }
    }

    /// Packed caches: every score and output in the documented order (the element
    /// widened, the int8 scale applied after the sum / folded into the weight), to the bit.
    #[test]
    fn packed_reads_are_bitwise_in_order() {
        for (ctx, hd) in [(40, 7), (128, 32), (100, 48)] {
            let q: Vec<f32> = (0..hd).map(|i| (i as f32 * 0.7).sin()).collect();
            let k8: Vec<i8> = (0..hd * ctx).map(|i| ((i * 37) % 255) as i8).collect();
            let kh: Vec<f16> = (0..hd * ctx)
                .map(|i| f16::from_f32((i as f32 * 0.13).cos()))
                .collect();
            let sc: Vec<f16> = (0..ctx)
                .map(|j| f16::from_f32(0.01 + j as f32 * 1e-3))
                .collect();
            for n in [0, 1, 15, 16, 17, 31, 33, 64, 65, ctx]
                .into_iter()
                .filter(|&n| n <= ctx)
            {
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                scores_i8(&q, &k8, &sc, ctx, 0.125, &mut a);
                scores_f16(&q, &kh, ctx, 0.125, &mut b);
                for j in 0..n {
                    let (mut x, mut y) = (0.0f32, 0.0f32);
                    for e in 0..hd {
                        x += q[e] * k8[e * ctx + j] as f32;
                        y += q[e] * kh[e * ctx + j].to_f32();
                    }
                    assert_eq!(
                        a[j].to_bits(),
                        (x * sc[j].to_f32() * 0.125).to_bits(),
                        "i8 {ctx} {n} {j}"
                    );
                    assert_eq!(b[j].to_bits(), (y * 0.125).to_bits(), "f16 {ctx} {n} {j}");
                }
                let (mut oa, mut ob) = (vec![0.0; hd], vec![0.0; hd]);
                // values (n, hd) with stride hd: reuse the key buffers as rows
                weighted_sum_i8(&a, &k8, &sc, hd, &mut oa);
                weighted_sum_f16(&b, &kh, hd, &mut ob);
                for e in 0..hd {
                    let (mut x, mut y) = (0.0f32, 0.0f32);
                    for j in 0..n {
                        x += a[j] * sc[j].to_f32() * k8[j * hd + e] as f32;
                        y += b[j] * kh[j * hd + e].to_f32();
                    }
                    assert_eq!(oa[e].to_bits(), x.to_bits(), "i8 v {ctx} {n} {e}");
                    assert_eq!(ob[e].to_bits(), y.to_bits(), "f16 v {ctx} {n} {e}");
                }
            }
        }
    }
}
