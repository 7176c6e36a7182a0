//! Which WebAssembly build is running, and what its `relaxed` kernel gives up.
//!
//! The page ships two wasm binaries of the same crate: one with simd128 (every browser
//! with SIMD) and one also compiled with `relaxed-simd` (`scripts/build.sh`), which it
//! loads where the browser validates relaxed SIMD. Only the second has the `relaxed`
//! kernel; both keep `simd` as the default, so the bits stay the native build's unless
//! a student asks for `relaxed`.
//!
//! What `relaxed` does per format:
//! - f32: `f32x4.relaxed_madd` in the canonical order. With FMA hardware V8 fuses the
//!   multiply and the add (one rounding instead of two), elsewhere not: the bits then
//!   depend on the machine, which is the price.
//! - int8 with int8 activations (W8A8) and int4 (W4A8): `i32x4.relaxed_dot_i8x16_i7x16_add_s`,
//!   whose result is only defined when its second operand is in 0..=127. The kernels
//!   keep it there (int4: the stored nibbles 0..=15; W8A8: |x| with the sign of x moved
//!   onto the weight), so the integer sums are exact and these formats keep their bits.

/// Whether this build has the relaxed kernels.
pub const BUILT: bool = cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));

/// The engine build, as the page and the CLI name it.
pub fn build_name() -> &'static str {
    if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) {
        "wasm simd128 + relaxed-simd"
    } else if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "wasm simd128"
    } else if cfg!(target_arch = "wasm32") {
        "wasm (no SIMD)"
    } else if cfg!(target_arch = "x86_64") {
        "native x86-64"
    } else if cfg!(target_arch = "aarch64") {
        "native aarch64"
    } else {
        "native"
    }
}
