//! The `relaxed` kernel in Chromium. Run in both wasm builds (scripts/test.sh):
//! - simd128: the kernel is refused with a message that names the build;
//! - simd128 + relaxed-simd: the integer formats give the exact kernels' bits through the
//!   relaxed i8 dot (its inputs kept in the range where it is exact), and the default
//!   `simd` kernel keeps the native fingerprint.
#![cfg(target_arch = "wasm32")]

#[path = "common/fingerprint.rs"]
mod fingerprint;

use half::f16;
use tinyopt::kernels::{int4, int8, relaxed, Kernel};
use tinyopt::model::Gpt;
use tinyopt::recipe::{self, Recipe};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn built(query: &str, kernel: Kernel) -> tinyopt::Result<Gpt> {
    let mut r = Recipe::parse(query)?;
    r.kernel = kernel;
    let base = Gpt::default_random(fingerprint::GOLDEN_SEED);
    recipe::build(&base, &r, None).map(|(m, _)| m)
}

#[wasm_bindgen_test]
fn the_build_says_whether_it_has_the_relaxed_kernel() {
    let name = relaxed::build_name();
    if relaxed::BUILT {
        assert_eq!(name, "wasm simd128 + relaxed-simd");
        assert!(Kernel::table().contains(&Kernel::Relaxed));
    } else {
        assert_eq!(name, "wasm simd128");
        assert!(!Kernel::table().contains(&Kernel::Relaxed));
        let Err(e) = built("precision=int8-dynamic", Kernel::Relaxed) else {
            panic!("the simd128 build ran the relaxed kernel");
        };
        let e = e.to_string();
        assert!(
            e.contains("relaxed-SIMD") && e.contains("wasm simd128"),
            "{e}"
        );
    }
}

/// W8A8 with activations at both ends of the range (-127 and 127: |x| must stay 7-bit)
/// and ragged shapes (row panels of 4, 32-code steps, scalar tails).
#[wasm_bindgen_test]
fn relaxed_w8a8_gives_the_exact_bits() {
    for &(n, k) in &[(4, 32), (7, 50), (13, 128), (64, 300), (9, 512)] {
        let codes: Vec<i8> = (0..n * k)
            .map(|i| (((i * 89 + i / 7) % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f16> = (0..n)
            .map(|r| f16::from_f32(0.002 + r as f32 * 1e-4))
            .collect();
        let mut xq: Vec<i8> = (0..k)
            .map(|i| (((i * 53 + i / 3) % 255) as i32 - 127) as i8)
            .collect();
        xq[0] = -127;
        xq[k - 1] = 127;
        let bias: Vec<f32> = (0..n).map(|r| r as f32 * 0.1 - 0.3).collect();
        let (mut a, mut b) = (vec![f32::NAN; n], vec![f32::NAN; n]);
        int8::matvec_w8a8(&codes, &scales, &xq, 0.011, Some(&bias), &mut a);
        int8::matvec_w8a8_relaxed(&codes, &scales, &xq, 0.011, Some(&bias), &mut b);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "n {n} k {k}");
    }
}

#[wasm_bindgen_test]
fn relaxed_w4a8_gives_the_exact_bits() {
    for &(n, k, t, group) in &[(13, 128, 1, 32), (8, 64, 3, 64), (21, 384, 2, 128)] {
        let codes: Vec<i8> = (0..n * k)
            .map(|i| ((i * 37 + i / 5) % 16) as i8 - 8)
            .collect();
        let mut packed = vec![0u8; n * k / 2];
        for (b, blk) in codes.chunks_exact(32).enumerate() {
            int4::pack_block(blk, &mut packed[b * 16..(b + 1) * 16]);
        }
        let scales_t: Vec<f16> = (0..n * k / group)
            .map(|i| f16::from_f32(0.003 + (i * 13 % 29) as f32 * 1.7e-4))
            .collect();
        let xq: Vec<i8> = (0..t * k)
            .map(|i| (((i * 53 + i / 3) % 255) as i32 - 127) as i8)
            .collect();
        let xs: Vec<f32> = (0..t).map(|j| 0.013 + j as f32 * 0.002).collect();
        let (mut a, mut b) = (vec![f32::NAN; t * n], vec![f32::NAN; t * n]);
        int4::matmul_w4a8(&packed, &scales_t, group, k, &xq, &xs, None, &mut a);
        int4::matmul_w4a8_relaxed(&packed, &scales_t, group, k, &xq, &xs, None, &mut b);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "n {n} k {k} t {t} group {group}");
    }
}

/// Whole models: the integer formats keep their fingerprint under `relaxed` (prefill and
/// decode), and `simd` keeps the native one in either build.
#[wasm_bindgen_test]
fn relaxed_models_keep_the_integer_bits() {
    let f32_simd = built("precision=f32", Kernel::Simd).unwrap();
    assert_eq!(fingerprint::fingerprint(&f32_simd), 0xc13c_12a0_7fa6_4ed8);
    if !relaxed::BUILT {
        return;
    }
    for q in ["precision=int8-dynamic", "precision=int4"] {
        let exact = fingerprint::fingerprint(&built(q, Kernel::Simd).unwrap());
        let fast = fingerprint::fingerprint(&built(q, Kernel::Relaxed).unwrap());
        assert_eq!(exact, fast, "{q}");
    }
}

/// Prints W8A8 matvec timings, exact against relaxed, alternating (run in release:
/// `wasm-pack test --release --headless --chrome -- --test web_relaxed --include-ignored`,
/// in the relaxed-SIMD build).
#[wasm_bindgen_test]
#[ignore]
fn w8a8_matvec_timings() {
    use tinyopt::clock::now_ms;
    for &(n, k) in &[(512, 128), (128, 512), (384, 128), (512, 512)] {
        let codes: Vec<i8> = (0..n * k).map(|i| ((i * 89) % 255) as i8).collect();
        let scales = vec![f16::from_f32(0.01); n];
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut xq = vec![0i8; k];
        let mut y = vec![0.0f32; n];
        let reps = 2000;
        let mut t = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..9 {
            for which in [0, 1, 2] {
                let which = if round % 2 == 1 { 2 - which } else { which };
                let t0 = now_ms();
                for _ in 0..reps {
                    let xs = int8::quantize_act(&x, None, &mut xq);
                    match which {
                        0 => int8::matvec_w8a8(&codes, &scales, &xq, xs, None, &mut y),
                        1 => int8::matvec_w8a8_relaxed(&codes, &scales, &xq, xs, None, &mut y),
                        _ => {}
                    }
                }
                t[which].push((now_ms() - t0) * 1000.0 / reps as f64);
            }
        }
        for v in &mut t {
            v.sort_by(|a, b| a.total_cmp(b));
        }
        wasm_bindgen_test::console_log!(
            "W8A8 n{n} k{k}: exact {:.3} us, relaxed {:.3} us, quantize only {:.3} us (medians of 9)",
            t[0][4],
            t[1][4],
            t[2][4]
        );
    }
}
