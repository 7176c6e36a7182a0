//! One query's attention over the KV cache: scores, then the weighted sum of values.
//!
//! Keys are cached transposed, (d_model, ctx) per layer, so the scores of all past
//! positions come out lanes-over-positions: each step multiplies one query element by a
//! contiguous run of keys. No horizontal sum per position (what made one dot product
//! per position slow), and the same loops vectorise natively and in wasm.
//!
//! Order of sums, the same bits on every target: score[j] = Σ_e q[e]·k[e][j] and
//! out[e] = Σ_j p[j]·v[j][e], each ascending from 0.0, multiply then add (never fused).

use crate::dispatch::avx2_or_portable;

/// Register block of positions for the scores: four 128-bit (two 256-bit) accumulators.
const BP: usize = 16;
/// Widest run of positions one pass over q sums (whole blocks of BP): more independent
/// sums in flight, where one block's add chain (hd adds long) would bound the speed.
/// Eight 256-bit accumulators natively; in wasm eight v128 (V8 has fifteen on x86-64).
#[cfg(not(target_arch = "wasm32"))]
const WIDE: usize = 4 * BP;
#[cfg(target_arch = "wasm32")]
const WIDE: usize = 2 * BP;

/// scores (n) = scale · Σ_e q[e] · kt[e·ctx + j], for j < n = scores.len().
/// q (hd); kt holds the head's keys transposed: row e at kt[e·ctx..], one column per position.
pub fn scores(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]) {
    avx2_or_portable!(scores_imp(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]))
}

#[inline(always)]
fn scores_imp(q: &[f32], kt: &[f32], ctx: usize, scale: f32, scores: &mut [f32]) {
    let (n, hd) = (scores.len(), q.len());
    assert!(
        n <= ctx && (hd == 0 || kt.len() >= (hd - 1) * ctx + ctx),
        "attention: keys too short"
    );
    // Whole blocks, also past n while the cache has room (the extra lanes are dropped):
    // cheaper than a scalar tail, and each kept lane is summed the same way. Wide runs
    // first, while their last block still holds a wanted position.
    let mut j = score_blocks::<WIDE>(q, kt, ctx, scale, scores, 0);
    j = score_blocks::<{ 2 * BP }>(q, kt, ctx, scale, scores, j);
    j = score_blocks::<BP>(q, kt, ctx, scale, scores, j);
    for (jj, s) in scores.iter_mut().enumerate().skip(j) {
        let mut a = 0.0;
        for (e, &qe) in q.iter().enumerate() {
            a += qe * kt[e * ctx + jj];
        }
        *s = a * scale;
    }
}

/// Fills scores[j0..] in runs of W positions (a multiple of BP) while a run fits the
/// cache and its last block holds a wanted position; returns where the runs stopped.
#[inline(always)]
fn score_blocks<const W: usize>(
    q: &[f32],
    kt: &[f32],
    ctx: usize,
    scale: f32,
    scores: &mut [f32],
    j0: usize,
) -> usize {
    let n = scores.len();
    let mut j = j0;
    while j + W - BP < n && j + W <= ctx {
        let mut acc = [0.0f32; W];
        for (e, &qe) in q.iter().enumerate() {
            let k = &kt[e * ctx + j..e * ctx + j + W];
            for l in 0..W {
                acc[l] += qe * k[l];
            }
        }
        let m = W.min(n - j);
        for (s, a) in scores[j..j + m].iter_mut().zip(acc) {
            *s = a * scale;
        }
        j += W;
    }
    j
}

/// out (hd) = Σ_j p[j] · v[j·stride + e]; p (n) the softmaxed scores, v the head's values
/// (row j of the cache starts at v[j·stride]).
pub fn weighted_sum(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]) {
    avx2_or_portable!(weighted_sum_imp(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]))
}

#[inline(always)]
fn weighted_sum_imp(p: &[f32], v: &[f32], stride: usize, out: &mut [f32]) {
    let hd = out.len();
    assert!(
        p.is_empty() || v.len() >= (p.len() - 1) * stride + hd,
        "attention: values too short"
    );
    // A whole head of 32 in registers reads each value row once; 16 for smaller heads.
    let mut e = value_blocks::<32>(p, v, stride, out, 0);
    e = value_blocks::<16>(p, v, stride, out, e);
    for (ee, o) in out.iter_mut().enumerate().skip(e) {
        let mut a = 0.0;
        for (j, &pj) in p.iter().enumerate() {
            a += pj * v[j * stride + ee];
        }
        *o = a;
    }
}

/// Fills out[e0..] in whole blocks of B; returns where the blocks stopped.
#[inline(always)]
fn value_blocks<const B: usize>(
    p: &[f32],
    v: &[f32],
    stride: usize,
    out: &mut [f32],
    e0: usize,
) -> usize {
    let mut e = e0;
    while e + B <= out.len() {
        let mut acc = [0.0f32; B];
        for (j, &pj) in p.iter().enumerate() {
            let vj = &v[j * stride + e..j * stride + e + B];
            for l in 0..B {
                acc[l] += pj * vj[l];
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
}
