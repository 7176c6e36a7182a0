//! Matrix kernels: pure functions on slices, one module per implementation.
//!
//! Shapes, everywhere: W is (n, k) row-major (one row per output feature), X is (t, k),
//! Y = X Wᵀ (+ b) is (t, n); a matvec is the t = 1 case (a decode step).
//!
//! | kernel    | what it is                                             | summation order |
//! |-----------|--------------------------------------------------------|-----------------|
//! | `naive`   | the textbook triple loop, one accumulator              | sequential      |
//! | `blocked` | cache tiles + 4x4 register tiles, scalar               | tile by tile    |
//! | `simd`    | wasm simd128; natively AVX / AVX2 (AVX-512 prefill) or portable, picked at run time (`f32dot::Path`, `int8::Path`) | canonical |
//! | `library` | ndarray (`general_mat_vec_mul`, `general_mat_mul`)     | ndarray's own   |
//! | `relaxed` | wasm relaxed SIMD (only in the relaxed-SIMD build)       | canonical, fused |
//!
//! Only `simd` (the default) promises bits: it sums every dot product in one canonical
//! order (see `f32dot`), so the wasm and the native builds print the same seeded text.
//! The others agree with an f64 reference to within a relative 1e-5 of Σ|w·x|.
//!
//! `relaxed` trades that promise for speed where the hardware allows (see `relaxed`):
//! f32 products use `f32x4.relaxed_madd`, which fuses the multiply and the add where
//! the CPU has FMA (other bits; which ones depends on the machine), and the integer
//! formats use the i8 dot instruction with its inputs kept in the range where it is
//! exact, so they keep their bits.

pub mod blocked;
pub mod f32dot;
pub mod int4;
pub mod int8;
pub mod library;
pub mod naive;
pub mod relaxed;
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
        /// wasm relaxed SIMD: fused multiply-add and the i8 dot instruction.
        Relaxed = "relaxed",
    }
}

impl Kernel {
    /// The kernels this build can run, in the order the kernel table lists them: the
    /// student's first loop, then faster ones.
    pub fn table() -> Vec<Kernel> {
        [
            Kernel::Naive,
            Kernel::Blocked,
            Kernel::Simd,
            Kernel::Library,
            Kernel::Relaxed,
        ]
        .into_iter()
        .filter(|k| k.runs_here().is_ok())
        .collect()
    }

    /// Whether this build has the kernel: `relaxed` exists only in the relaxed-SIMD
    /// wasm build, and asking for it elsewhere is an error that says so.
    pub fn runs_here(self) -> crate::Result<()> {
        if self == Kernel::Relaxed && !relaxed::BUILT {
            return Err(crate::Error::Input(format!(
                "kernel relaxed needs the relaxed-SIMD WebAssembly build, and this engine is {}: \
                 use kernel simd (the page picks the relaxed build in browsers that support it)",
                relaxed::build_name()
            )));
        }
        Ok(())
    }
}

impl Kernel {
    /// The code this kernel runs for t tokens of length k on this machine (the
    /// `simd` kernel dispatches at run time; see `f32dot::Path`).
    pub fn path(self, t: usize, k: usize) -> &'static str {
        match self {
            Kernel::Naive | Kernel::Blocked => "scalar",
            Kernel::Simd => f32dot::path(t, k).name(),
            Kernel::Library => "ndarray",
            Kernel::Relaxed => "simd128 fused",
        }
    }
}

/// What the `simd` kernel runs here, for decode (one token) and for a prefill of
/// `prefill` tokens at row length k, in every format with its own kernels: the line
/// the kernel table opens with.
pub fn paths_here(prefill: usize, k: usize) -> String {
    format!(
        "f32 decode: {}, prefill: {}; W8A8 decode: {}, prefill: {}; W4A8: {}",
        f32dot::path(1, k).name(),
        f32dot::path(prefill, k).name(),
        int8::path(1).name(),
        int8::path(prefill).name(),
        int4::path_name()
    )
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
        Kernel::Relaxed => f32dot::matmul_relaxed(w, x, bias, y, x.len()),
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
        Kernel::Relaxed => f32dot::matmul_relaxed(w, x, bias, y, k),
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

/// Four f16 → f32 in one v128, the same arithmetic as `f16_to_f32` (exact).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn f16x4_to_f32(p: &[f16]) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    assert!(p.len() >= 4);
    // SAFETY: p holds at least four f16 (8 bytes).
    let b = u32x4_extend_low_u16x8(unsafe { v128_load64_zero(p.as_ptr() as *const u64) });
    let sign = i32x4_shl(v128_and(b, u32x4_splat(0x8000)), 16);
    let em = v128_and(b, u32x4_splat(0x7FFF));
    let normal = v128_or(sign, i32x4_shl(i32x4_add(em, u32x4_splat(0x1_C000)), 13));
    let mant = f32x4_convert_i32x4(v128_and(b, u32x4_splat(0x3FF)));
    let sub = v128_or(sign, f32x4_mul(mant, f32x4_splat(5.960_464_5e-8)));
    v128_bitselect(sub, normal, u32x4_lt(em, u32x4_splat(0x400)))
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
        for kernel in Kernel::table() {
            for &(t, n, k) in &shapes {
                check(kernel, t, n, k, true);
                check(kernel, t, n, k, false);
            }
        }
    }

    #[test]
    fn unknown_kernels_list_the_valid_ones() {
        let e = Kernel::parse("fast").unwrap_err().to_string();
        assert!(e.contains("simd, naive, blocked, library, relaxed"), "{e}");
        assert_eq!(Kernel::default(), Kernel::Simd);
    }
}
