//! Compiles a plain loop a second time for AVX2 and picks that copy at run time.
//!
//! The portable build targets baseline x86-64 (4-wide SSE); element-wise loops and
//! lane sums written with fixed-size arrays vectorise to 8 wide under AVX2 with the same
//! operations in the same order, so both copies give the same bits (and the same bits
//! as wasm simd128).

/// `avx2_or_portable!(f(a: A, b: B) -> R)` calls `f(a, b)`, through an AVX2-compiled
/// copy when the CPU has AVX2. `f` should be `#[inline(always)]` so it is compiled into
/// that copy.
macro_rules! avx2_or_portable {
    ($imp:ident($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($a: $t),*) $(-> $r)? {
                    $imp($($a),*)
                }
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2($($a),*) };
            }
        }
        $imp($($a),*)
    }};
}

pub(crate) use avx2_or_portable;
