//! Matrix kernels: pure functions on slices.
//!
//! Every f32 kernel here sums each dot product in one canonical order (two 4-lane
//! accumulators over 8-element chunks, then a fixed reduction, then the tail), so the
//! wasm simd128 path and the portable path give bit-identical results. That is what
//! lets a seeded run print the same text natively and in the browser.

pub mod f32dot;
pub mod int4;
pub mod int8;

use serde::{Deserialize, Serialize};

/// Which implementation multiplies matrices; chosen at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// Hand-written SIMD (wasm simd128 intrinsics; a portable path natively).
    #[default]
    Simd,
}

impl Kernel {
    pub const ALL: [Kernel; 1] = [Kernel::Simd];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Simd => "simd",
        }
    }

    pub fn parse(s: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// y = W x (+ b). `w` is (n, k) row-major, `x` is (k), `y` is (n).
pub fn matvec(kernel: Kernel, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    debug_assert_eq!(w.len(), y.len() * x.len());
    match kernel {
        Kernel::Simd => f32dot::matvec(w, x, bias, y),
    }
}

/// Y = X Wᵀ (+ b). `x` is (t, k), `w` is (n, k), `y` is (t, n).
pub fn matmul(kernel: Kernel, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    let n = w.len() / k;
    let t = x.len() / k;
    debug_assert_eq!(y.len(), t * n);
    for (xr, yr) in x.chunks_exact(k).zip(y.chunks_exact_mut(n)) {
        matvec(kernel, w, xr, bias, yr);
    }
}
