//! f32 dot products and matrix-vector products in the canonical summation order.

/// Dot product: two 4-lane accumulators over 8-wide chunks, lanes reduced as
/// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), then the scalar tail in order.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    imp::dot(a, b)
}

/// y = W x (+ b), W (n, k) row-major.
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    imp::matvec(w, x, bias, y)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let k8 = a.len() & !7;
        let mut acc = [0.0f32; 8];
        for (ca, cb) in a[..k8].chunks_exact(8).zip(b[..k8].chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += ca[l] * cb[l];
            }
        }
        let mut s =
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for j in k8..a.len() {
            s += a[j] * b[j];
        }
        s
    }

    pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        let k = x.len();
        for (i, (row, yi)) in w.chunks_exact(k).zip(y.iter_mut()).enumerate() {
            let s = dot(row, x);
            *yi = match bias {
                Some(b) => s + b[i],
                None => s,
            };
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[inline(always)]
    unsafe fn ld(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }

    #[inline(always)]
    fn reduce(a: v128, b: v128) -> f32 {
        let v = f32x4_add(a, b);
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let k = a.len().min(b.len());
        let k8 = k & !7;
        let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY: i + 8 <= k8 <= len of both slices.
        unsafe {
            while i < k8 {
                a0 = f32x4_add(a0, f32x4_mul(ld(pa.add(i)), ld(pb.add(i))));
                a1 = f32x4_add(a1, f32x4_mul(ld(pa.add(i + 4)), ld(pb.add(i + 4))));
                i += 8;
            }
        }
        let mut s = reduce(a0, a1);
        for j in k8..k {
            s += a[j] * b[j];
        }
        s
    }

    /// Four rows at a time share each load of x: eight accumulators in flight.
    pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        let k = x.len();
        let n = y.len();
        assert!(w.len() >= n * k);
        let k8 = k & !7;
        let n4 = n & !3;
        let px = x.as_ptr();
        let mut r = 0;
        while r < n4 {
            let p0 = w[r * k..].as_ptr();
            let (mut a0, mut b0, mut a1, mut b1) = (
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
            );
            let (mut a2, mut b2, mut a3, mut b3) = (
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
            );
            let mut i = 0;
            // SAFETY: rows r..r+4 each hold k floats inside w; i + 8 <= k8 <= k.
            unsafe {
                let (p1, p2, p3) = (p0.add(k), p0.add(2 * k), p0.add(3 * k));
                while i < k8 {
                    let x0 = ld(px.add(i));
                    let x1 = ld(px.add(i + 4));
                    a0 = f32x4_add(a0, f32x4_mul(ld(p0.add(i)), x0));
                    b0 = f32x4_add(b0, f32x4_mul(ld(p0.add(i + 4)), x1));
                    a1 = f32x4_add(a1, f32x4_mul(ld(p1.add(i)), x0));
                    b1 = f32x4_add(b1, f32x4_mul(ld(p1.add(i + 4)), x1));
                    a2 = f32x4_add(a2, f32x4_mul(ld(p2.add(i)), x0));
                    b2 = f32x4_add(b2, f32x4_mul(ld(p2.add(i + 4)), x1));
                    a3 = f32x4_add(a3, f32x4_mul(ld(p3.add(i)), x0));
                    b3 = f32x4_add(b3, f32x4_mul(ld(p3.add(i + 4)), x1));
                    i += 8;
                }
            }
            let mut s = [
                reduce(a0, b0),
                reduce(a1, b1),
                reduce(a2, b2),
                reduce(a3, b3),
            ];
            for (q, sq) in s.iter_mut().enumerate() {
                let row = &w[(r + q) * k..(r + q + 1) * k];
                for j in k8..k {
                    *sq += row[j] * x[j];
                }
                y[r + q] = match bias {
                    Some(b) => *sq + b[r + q],
                    None => *sq,
                };
            }
            r += 4;
        }
        while r < n {
            let s = dot(&w[r * k..(r + 1) * k], x);
            y[r] = match bias {
                Some(b) => s + b[r],
                None => s,
            };
            r += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matvec_matches_f64_reference() {
        let (n, k) = (13, 37);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut y = vec![0.0; n];
        matvec(&w, &x, Some(&b), &mut y);
        for r in 0..n {
            let want: f64 = (0..k)
                .map(|j| w[r * k + j] as f64 * x[j] as f64)
                .sum::<f64>()
                + b[r] as f64;
            assert!(
                (y[r] as f64 - want).abs() < 1e-4,
                "row {r}: {} vs {want}",
                y[r]
            );
        }
    }
}
