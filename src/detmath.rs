//! f64 `exp` and `ln` with the same bits on every target. The std versions call the
//! platform's libm natively and a different implementation in wasm, which differ in
//! the last bit; quality metrics (KL, NLL) must match across faces exactly, so they use
//! these: plain IEEE adds and multiplies in a fixed order, no libm, no fused ops.

/// ln 2 split: the upper bits (so n·LN2_HI is exact for the n that occur) and the rest.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const LOG2E: f64 = std::f64::consts::LOG2_E;
/// 1.5·2^52: adding it rounds to an integer (half to even) with no libm call.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// e^x, relative error about 1e-15; clamps to e^-708 … e^709; NaN stays NaN.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let x = x.clamp(-708.0, 709.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO; // |r| <= ln2/2
                                           // Taylor to degree 14 (Horner): truncation below 1e-17 on |r| <= 0.347.
    let mut p = 1.0;
    for k in (1..=14).rev() {
        p = 1.0 + r * p / k as f64;
    }
    let n_int = n as i64;
    p * f64::from_bits(((n_int + 1023) as u64) << 52)
}

/// ln x for x > 0 (normal numbers), relative error about 1e-15; ln 0 = -inf; x < 0 or
/// NaN gives NaN.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    // x = m · 2^e with m in [sqrt(1/2), sqrt(2)).
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.172: odd series to s^29.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 0.0;
    for k in (0..15).rev() {
        p = 1.0 / (2 * k + 1) as f64 + s2 * p;
    }
    let e = e as f64;
    e * LN2_HI + (2.0 * s * p + e * LN2_LO)
}

/// cos(π·p) for p in [0, 1] (a cosine schedule's progress), error about 1e-16: the
/// sine series of u = π(½ − p), |u| <= π/2, to degree 23.
pub fn cos_pi(p: f64) -> f64 {
    let u = std::f64::consts::PI * (0.5 - p.clamp(0.0, 1.0));
    let u2 = u * u;
    let mut s = 1.0;
    for k in (1..=11).rev() {
        s = 1.0 - u2 * s / ((2 * k) * (2 * k + 1)) as f64;
    }
    u * s
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_to_std() {
        let mut x = -700.0;
        while x < 700.0 {
            let (a, b) = (super::exp(x), x.exp());
            assert!(((a - b) / b).abs() < 4e-15, "exp({x}) = {a} vs {b}");
            x += 0.731;
        }
        let mut y = 1e-300;
        while y < 1e300 {
            let (a, b) = (super::ln(y), y.ln());
            assert!(
                (a - b).abs() <= 4e-15 * b.abs().max(1.0),
                "ln({y}) = {a} vs {b}"
            );
            y *= 3.7;
        }
        for v in [0.5, 1.0, 2.0, 1.0 + 1e-12, 0.999_999_9] {
            assert!((super::ln(v) - v.ln()).abs() < 1e-15, "ln({v})");
        }
        assert_eq!(super::ln(1.0), 0.0);
        assert_eq!(super::exp(0.0), 1.0);
        assert!(super::ln(-1.0).is_nan() && super::exp(f64::NAN).is_nan());
        assert_eq!(super::ln(0.0), f64::NEG_INFINITY);
        for i in 0..=100 {
            let p = i as f64 / 100.0;
            let (a, b) = (super::cos_pi(p), (std::f64::consts::PI * p).cos());
            assert!((a - b).abs() < 1e-15, "cos_pi({p}) = {a} vs {b}");
        }
    }
}
