//! Element-wise building blocks of the forward pass.
//!
//! `exp` is our own polynomial instead of libm's: libm's last bit differs between
//! glibc and the wasm build, and a seeded run must give the same text in both.

use crate::dispatch::avx2_or_portable;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// e^x to about 2e-7 relative error, bit-identical on every target. Branch-free (inputs
/// clamp to [-87, 88], NaN stays NaN), so loops over it vectorize, natively and in wasm.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Round half to even by the 1.5·2^23 trick: plain IEEE adds, no libm `floor`.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC; // n + MAGIC, exactly: the ulp there is 1
    let n = t - MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO; // |r| <= ln2/2
                                           // Taylor to degree 7 on |r| <= 0.347: truncation error below 1e-8.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    // n as an integer straight from t's mantissa: integer ops vectorise where a
    // float-to-int cast (saturating in Rust) does not.
    let n_int = t.to_bits().wrapping_sub(MAGIC.to_bits()) as i32;
    p * f32::from_bits((n_int.wrapping_add(127) as u32) << 23)
}

/// tanh through our `exp`; beyond |x| = 10 it is ±1 in f32 anyway.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let e = exp(2.0 * x.clamp(-10.0, 10.0));
    (e - 1.0) / (e + 1.0)
}

/// GELU, tanh approximation (as in GPT-2).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // sqrt(2/pi)
    0.5 * x * (1.0 + tanh(C * (x + 0.044_715 * x * x * x)))
}

/// In-place GELU over a slice (vectorised; same bits as `gelu` element by element).
pub fn gelu_slice(x: &mut [f32]) {
    avx2_or_portable!(gelu_slice_imp(x: &mut [f32]))
}

#[inline(always)]
fn gelu_slice_imp(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = gelu(*v);
    }
}

pub const LN_EPS: f32 = 1e-5;

/// Σ f(x) in the canonical order of `kernels::f32dot` (eight lanes, reduced as
/// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), then the tail in order): it vectorises, and
/// gives the same bits natively and in wasm.
#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let k8 = x.len() & !7;
    let mut acc = [0.0f32; 8];
    for c in x[..k8].chunks_exact(8) {
        for l in 0..8 {
            acc[l] += f(c[l]);
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in &x[k8..] {
        s += f(v);
    }
    s
}

/// The largest value, NaN ignored, in eight lanes: a compare and select per element
/// (`f32::max` serialises in wasm). Max is exact in any order, so the result does not
/// depend on the lanes (up to the sign of a zero maximum, which `x - max` erases).
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let pick = |m: f32, v: f32| if v > m { v } else { m };
    let k8 = x.len() & !7;
    let mut acc = [f32::NEG_INFINITY; 8];
    for c in x[..k8].chunks_exact(8) {
        for l in 0..8 {
            acc[l] = pick(acc[l], c[l]);
        }
    }
    x[k8..]
        .iter()
        .fold(acc.into_iter().fold(f32::NEG_INFINITY, pick), |m, &v| {
            pick(m, v)
        })
}

/// LayerNorm of one row: out = (x - mean) / sqrt(var + eps) * g + b.
#[inline]
pub fn layernorm(x: &[f32], g: &[f32], b: &[f32], out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = lane_sum(x, |v| v) / n;
    let var = lane_sum(x, |v| (v - mean) * (v - mean)) / n;
    let rstd = 1.0 / (var + LN_EPS).sqrt();
    for (((o, &xi), &gi), &bi) in out.iter_mut().zip(x).zip(g).zip(b) {
        *o = (xi - mean) * rstd * gi + bi;
    }
}

/// In-place softmax.
pub fn softmax(x: &mut [f32]) {
    avx2_or_portable!(softmax_imp(x: &mut [f32]))
}

#[inline(always)]
fn softmax_imp(x: &mut [f32]) {
    let max = lane_max(x);
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
    let inv = 1.0 / lane_sum(x, |v| v);
    for v in x.iter_mut() {
        *v *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_closely() {
        let mut x = -80.0f32;
        while x < 80.0 {
            let (a, b) = (exp(x), x.exp());
            assert!(((a - b) / b).abs() < 1e-6, "exp({x}) = {a} vs {b}");
            x += 0.137;
        }
        assert!(exp(-100.0) < 1e-37);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn gelu_and_softmax_are_sane() {
        assert!((gelu(0.0)).abs() < 1e-7);
        assert!((gelu(3.0) - 2.996_363).abs() < 1e-4);
        assert!((tanh(0.5) - 0.5f32.tanh()).abs() < 1e-6);
        let mut v = [1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(v[2] > v[1] && v[1] > v[0]);
    }
}
