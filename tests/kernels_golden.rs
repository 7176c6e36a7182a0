//! The `simd` kernel gives the same bits natively as in the browser: this fingerprint
//! is asserted here and in `tests/web_kernels.rs` (Chromium, wasm simd128).

#[path = "common/fingerprint.rs"]
mod fingerprint;
#[path = "common/int4_canon.rs"]
mod int4_canon;
#[path = "common/w8a32_canon.rs"]
mod w8a32_canon;

use fingerprint::{fingerprint, GOLDEN_SEED};
use tinyopt::model::Gpt;

/// Update in both files together, and only for an intended change of the numerics.
pub const GOLDEN: u64 = 0xc13c_12a0_7fa6_4ed8;

#[test]
fn seeded_run_matches_the_golden_fingerprint() {
    let got = fingerprint(&Gpt::default_random(GOLDEN_SEED));
    assert_eq!(got, GOLDEN, "fingerprint {got:#x}");
}

/// The int8 weight-only kernel's SIMD path follows its spelled-out order.
#[test]
fn w8a32_follows_its_canonical_order() {
    w8a32_canon::check().unwrap();
}

/// The int4 panel kernels (AVX2 / AVX-512 VNNI) follow the spelled-out W4A8 order.
#[test]
fn w4a8_follows_its_canonical_order() {
    int4_canon::check().unwrap();
}
