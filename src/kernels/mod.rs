//! Matrix kernels: pure functions on slices, one module per implementation.
//!
//! Shapes, everywhere: W is (n, k) row-major (one row per output feature), X is (t, k),
//! Y = X Wᵀ (+ b) is (t, n); a matvec is the t = 1 case (a decode step).
//!
//! | kernel    | what it is                                             | summation order |
//! |-----------|--------------------------------------------------------|-----------------|
//! | `naive`   | the textbook triple loop, one accumulator              | sequential      |
//! | `blocked` | cache tiles + 4x4 register tiles, scalar               | tile by tile    |
//! | `simd`    | wasm simd128; natively AVX (AVX-512 prefill) or portable | canonical     |
//! | `library` | ndarray (`general_mat_vec_mul`, `general_mat_mul`)     | ndarray's own   |
//!
//! Only `simd` (the default) promises bits: it sums every dot product in one canonical
//! order (see `f32dot`), so the wasm and the native builds print the same seeded text.
//! The others agree with an f64 reference to within a relative 1e-5 of Σ|w·x|.

pub mod blocked;
pub mod f32dot;
pub mod int4;
pub mod int8;
pub mod library;
pub mod naive;
pub mod sell;
pub mod sparse;

use half::f16;

crate::choice_enum! {
    /// Which implementation multiplies matrices; chosen at run time.
    pub enum Kernel ("kernel") {
        /// Hand-written SIMD (wasm simd128 intrinsics; a portable path natively).
        Simd = "simd",
        /// The triple loop a student writes first.
        Naive = "naive",
        /// Cache-blocked and register-tiled scalar loops.
        Blocked = "blocked",
        /// ndarray's matrix products.
        Library = "library",
    }
}

impl Kernel {
    /// The order the kernel table lists them: the student's first loop, then faster ones.
    pub const TABLE: [Kernel; 4] = [
        Kernel::Naive,
        Kernel::Blocked,
        Kernel::Simd,
        Kernel::Library,
    ];
}

/// y (n) = W x (+ b); W (n, k) row-major, x (k).
pub fn matvec(kernel: Kernel, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    assert_eq!(w.len(), y.len() * x.len(), "matvec: W is not (n, k)");
    if let Some(b) = bias {
        assert_eq!(b.len(), y.len(), "matvec: bias is not (n)");
    }
    match kernel {
        Kernel::Naive => naive::matvec(w, x, bias, y),
        Kernel::Blocked => blocked::matvec(w, x, bias, y),
        Kernel::Simd => f32dot::matvec(w, x, bias, y),
        Kernel::Library => library::matvec(w, x, bias, y),
    }
}

/// Y (t, n) = X Wᵀ (+ b); X (t, k), W (n, k). One token goes to `matvec`.
pub fn matmul(kernel: Kernel, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    assert!(
        k > 0 && w.len().is_multiple_of(k) && x.len().is_multiple_of(k),
        "matmul: W or X is not (_, k)"
    );
    let (n, t) = (w.len() / k, x.len() / k);
    assert_eq!(y.len(), t * n, "matmul: Y is not (t, n)");
    if t == 1 {
        return matvec(kernel, w, x, bias, y);
    }
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "matmul: bias is not (n)");
    }
    match kernel {
        Kernel::Naive => naive::matmul(w, x, bias, y, k),
        Kernel::Blocked => blocked::matmul(w, x, bias, y, k),
        Kernel::Simd => f32dot::matmul(w, x, bias, y, k),
        Kernel::Library => library::matmul(w, x, bias, y, k),
    }
}

/// f16 → f32, exact for every finite value, branch-free so loops over it vectorize
/// (no hardware f16 needed). Weights are always finite: loading and quantizing check.
#[inline]
pub fn f16_to_f32(h: f16) -> f32 {
    let b = h.to_bits() as u32;
    let sign = (b & 0x8000) << 16;
    let em = b & 0x7FFF;
    let normal = f32::from_bits(sign | ((em + 0x1_C000) << 13));
    // Zeros and subnormals: mantissa · 2^-24.
    let sub = f32::from_bits(sign | ((b & 0x3FF) as f32 * 5.960_464_5e-8).to_bits());
    if em < 0x400 {
        sub
    } else {
        normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stated tolerance: |y - y64| <= 1e-5 * Σ|w x| + 1e-6 (plus |b| for rounding the bias).
    fn check(kernel: Kernel, t: usize, n: usize, k: usize, bias: bool) {
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) * 0.05)
            .collect();
        let x: Vec<f32> = (0..t * k).map(|i| (i as f32 * 0.71).cos()).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 - 3.0) * 0.25).collect();
        let bias = bias.then_some(&b[..]);
        let mut y = vec![f32::NAN; t * n];
        matmul(kernel, &w, &x, bias, &mut y, k);
        for r in 0..t {
            for i in 0..n {
                let (mut want, mut mag) = (0.0f64, 0.0f64);
                for j in 0..k {
                    let p = w[i * k + j] as f64 * x[r * k + j] as f64;
                    want += p;
                    mag += p.abs();
                }
                if let Some(b) = bias {
                    want += b[i] as f64;
                    mag += (b[i] as f64).abs();
                }
                let got = y[r * n + i] as f64;
                assert!(
                    (got - want).abs() <= 1e-5 * mag + 1e-6,
                    "{} t{t} n{n} k{k} ({r},{i}): {got} vs {want}",
                    kernel.name()
                );
            }
        }
    }

    #[test]
    fn every_kernel_matches_the_f64_reference() {
        let shapes = [
            (1, 13, 37),
            (1, 64, 512),
            (5, 9, 16),
            (4, 67, 300),
            (9, 7, 1),
            (3, 130, 257),
        ];
        for &kernel in Kernel::ALL {
            for &(t, n, k) in &shapes {
                check(kernel, t, n, k, true);
                check(kernel, t, n, k, false);
            }
        }
    }

    #[test]
    fn unknown_kernels_list_the_valid_ones() {
        let e = Kernel::parse("fast").unwrap_err().to_string();
        assert!(e.contains("simd, naive, blocked, library"), "{e}");
        assert_eq!(Kernel::default(), Kernel::Simd);
    }
}
