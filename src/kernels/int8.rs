//! Integer kernels for int8 weights: activation quantization, i8·i8 dot products with
//! i32 accumulation (W8A8), and int8-weight × f32-activation products (W8A32).
//!
//! Integer sums are exact, so the wasm simd128 path and the portable path agree to the
//! bit; every float step after them is written once, in one order, for both.
//! Scales are stored as f16 (half the bytes of f32; the size targets need it).

use half::f16;

/// Symmetric per-token quantization of activations: q = round(x / s), s = max|x| / 127,
/// or a fixed (calibrated) `s` with clamping. Returns the scale used. q is (k).
pub fn quantize_act(x: &[f32], fixed_scale: Option<f32>, q: &mut [i8]) -> f32 {
    let s = match fixed_scale {
        Some(s) => s,
        None => {
            let m = x.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
            if m > 0.0 {
                m / 127.0
            } else {
                1.0
            }
        }
    };
    let inv = 1.0 / s;
    for (qi, &xi) in q.iter_mut().zip(x) {
        *qi = (xi * inv).round().clamp(-127.0, 127.0) as i8;
    }
    s
}

/// Σ a·b over i8 with i32 accumulation.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    imp::dot_i8(a, b)
}

/// W8A8: y[r] = (Σ codes[r]·xq) · scales[r] · xs (+ b[r]). codes (n, k), xq (k), y (n).
pub fn matvec_w8a8(
    codes: &[i8],
    scales: &[f16],
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    imp::matvec_w8a8(codes, scales, xq, xs, bias, y)
}

#[inline]
pub(crate) fn finish(acc: i32, scale: f16, xs: f32, bias: Option<&[f32]>, r: usize) -> f32 {
    let v = acc as f32 * scale.to_f32() * xs;
    match bias {
        Some(b) => v + b[r],
        None => v,
    }
}

/// W8A32: y[r] = scales[r] · Σ codes[r]·x (+ b[r]), float sums in a fixed order
/// (eight running partial sums, then the tail). Portable code on every target.
pub fn matvec_w8a32(codes: &[i8], scales: &[f16], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let k = x.len();
    let k8 = k & !7;
    for (r, (row, yr)) in codes.chunks_exact(k).zip(y.iter_mut()).enumerate() {
        let mut acc = [0.0f32; 8];
        for (c, xc) in row[..k8].chunks_exact(8).zip(x[..k8].chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += c[l] as f32 * xc[l];
            }
        }
        let mut s =
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for j in k8..k {
            s += row[j] as f32 * x[j];
        }
        let v = s * scales[r].to_f32();
        *yr = match bias {
            Some(b) => v + b[r],
            None => v,
        };
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use half::f16;

    #[inline]
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let mut acc = [0i32; 16];
        let k16 = a.len() & !15;
        for (ca, cb) in a[..k16].chunks_exact(16).zip(b[..k16].chunks_exact(16)) {
            for l in 0..16 {
                acc[l] += ca[l] as i32 * cb[l] as i32;
            }
        }
        let mut s: i32 = acc.iter().sum();
        for j in k16..a.len() {
            s += a[j] as i32 * b[j] as i32;
        }
        s
    }

    pub fn matvec_w8a8(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k = xq.len();
        for (r, (row, yr)) in codes.chunks_exact(k).zip(y.iter_mut()).enumerate() {
            *yr = super::finish(dot_i8(row, xq), scales[r], xs, bias, r);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;
    use half::f16;

    #[inline(always)]
    fn hsum(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v)
            .wrapping_add(i32x4_extract_lane::<1>(v))
            .wrapping_add(i32x4_extract_lane::<2>(v))
            .wrapping_add(i32x4_extract_lane::<3>(v))
    }

    /// 16 products per step: widen i8→i16, then pairwise multiply-add into i32 lanes.
    #[inline(always)]
    unsafe fn step(acc: v128, a: v128, b: v128) -> v128 {
        let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(a), i16x8_extend_low_i8x16(b));
        let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(a), i16x8_extend_high_i8x16(b));
        i32x4_add(acc, i32x4_add(lo, hi))
    }

    #[inline]
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let n16 = n & !15;
        let mut acc = i32x4_splat(0);
        let mut i = 0;
        // SAFETY: i + 16 <= n16 <= both lengths.
        unsafe {
            while i < n16 {
                acc = step(
                    acc,
                    v128_load(a.as_ptr().add(i) as *const v128),
                    v128_load(b.as_ptr().add(i) as *const v128),
                );
                i += 16;
            }
        }
        let mut s = hsum(acc);
        for j in n16..n {
            s += a[j] as i32 * b[j] as i32;
        }
        s
    }

    /// Four rows share each widened load of x.
    pub fn matvec_w8a8(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k = xq.len();
        let n = y.len();
        assert!(codes.len() >= n * k);
        let k16 = k & !15;
        let n4 = n & !3;
        let px = xq.as_ptr();
        let mut r = 0;
        while r < n4 {
            let (mut a0, mut a1, mut a2, mut a3) = (
                i32x4_splat(0),
                i32x4_splat(0),
                i32x4_splat(0),
                i32x4_splat(0),
            );
            let p0 = codes[r * k..].as_ptr();
            let mut i = 0;
            // SAFETY: rows r..r+4 lie inside codes; i + 16 <= k16 <= k.
            unsafe {
                let (p1, p2, p3) = (p0.add(k), p0.add(2 * k), p0.add(3 * k));
                while i < k16 {
                    let xv = v128_load(px.add(i) as *const v128);
                    let xl = i16x8_extend_low_i8x16(xv);
                    let xh = i16x8_extend_high_i8x16(xv);
                    let one = |acc: v128, p: *const i8| {
                        let w = v128_load(p.add(i) as *const v128);
                        let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), xl);
                        let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), xh);
                        i32x4_add(acc, i32x4_add(lo, hi))
                    };
                    a0 = one(a0, p0);
                    a1 = one(a1, p1);
                    a2 = one(a2, p2);
                    a3 = one(a3, p3);
                    i += 16;
                }
            }
            for (q, acc) in [a0, a1, a2, a3].into_iter().enumerate() {
                let row = &codes[(r + q) * k..(r + q + 1) * k];
                let mut s = hsum(acc);
                for j in k16..k {
                    s += row[j] as i32 * xq[j] as i32;
                }
                y[r + q] = super::finish(s, scales[r + q], xs, bias, r + q);
            }
            r += 4;
        }
        while r < n {
            let s = dot_i8(&codes[r * k..(r + 1) * k], xq);
            y[r] = super::finish(s, scales[r], xs, bias, r);
            r += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_dot_is_exact_and_matvecs_match_dequantized_reference() {
        let (n, k) = (7, 70);
        let codes: Vec<i8> = (0..n * k)
            .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f16> = (0..n)
            .map(|r| f16::from_f32(0.01 + r as f32 * 0.001))
            .collect();
        let x: Vec<f32> = (0..k).map(|i| ((i as f32) * 0.37).sin()).collect();
        let mut xq = vec![0i8; k];
        let xs = quantize_act(&x, None, &mut xq);
        assert_eq!(xq.iter().map(|v| v.unsigned_abs()).max(), Some(127));
        for r in 0..n {
            let row = &codes[r * k..(r + 1) * k];
            let want: i32 = row
                .iter()
                .zip(&xq)
                .map(|(&a, &b)| a as i32 * b as i32)
                .sum();
            assert_eq!(dot_i8(row, &xq), want);
        }
        let (mut y8, mut y32) = (vec![0.0; n], vec![0.0; n]);
        matvec_w8a8(&codes, &scales, &xq, xs, None, &mut y8);
        matvec_w8a32(&codes, &scales, &x, None, &mut y32);
        for r in 0..n {
            let exact: f64 = (0..k)
                .map(|j| codes[r * k + j] as f64 * scales[r].to_f64() * x[j] as f64)
                .sum();
            let mag: f64 = (0..k)
                .map(|j| (codes[r * k + j] as f64 * scales[r].to_f64() * x[j] as f64).abs())
                .sum();
            assert!(
                (y32[r] as f64 - exact).abs() <= 1e-5 * mag + 1e-6,
                "w8a32 row {r}"
            );
            // Activation rounding: at most half a step per element.
            let bound: f64 = (0..k)
                .map(|j| (codes[r * k + j] as f64 * scales[r].to_f64()).abs())
                .sum::<f64>()
                * xs as f64
                * 0.5;
            assert!((y8[r] as f64 - exact).abs() <= bound + 1e-5, "w8a8 row {r}");
        }
    }
}
