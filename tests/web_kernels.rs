//! Browser tests for the kernels and the profiler (wasm simd128 in Chromium):
//! `wasm-pack test --headless --chrome -- --test web_kernels`.
//! The kernel-table measurement is ignored by default; run it in release with
//! `wasm-pack test --release --headless --chrome -- --test web_kernels --include-ignored`.
#![cfg(target_arch = "wasm32")]

#[path = "common/fingerprint.rs"]
mod fingerprint;
#[path = "common/int4_canon.rs"]
mod int4_canon;
#[path = "common/sparse_canon.rs"]
mod sparse_canon;
#[path = "common/w8a32_canon.rs"]
mod w8a32_canon;

use tinyopt::kernels::{self, Kernel};
use tinyopt::model::Gpt;
use tinyopt::profile::kernel_bench::{cases, run_case};
use tinyopt::profile::{flops, Timer};
use tinyopt::web::Playground;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).expect("object has the key")
}

#[wasm_bindgen_test]
fn every_kernel_matches_the_f64_reference_in_wasm() {
    for &(t, n, k) in &[(1, 13, 37), (1, 64, 512), (5, 9, 16), (4, 67, 300)] {
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) * 0.05)
            .collect();
        let x: Vec<f32> = (0..t * k).map(|i| (i as f32 * 0.71).cos()).collect();
        for kernel in Kernel::table() {
            let mut y = vec![0.0; t * n];
            kernels::matmul(kernel, &w, &x, None, &mut y, k);
            for r in 0..t {
                for i in 0..n {
                    let (mut want, mut mag) = (0.0f64, 0.0f64);
                    for j in 0..k {
                        let p = w[i * k + j] as f64 * x[r * k + j] as f64;
                        want += p;
                        mag += p.abs();
                    }
                    let got = y[r * n + i] as f64;
                    assert!(
                        (got - want).abs() <= 1e-5 * mag + 1e-6,
                        "{kernel:?} {got} {want}"
                    );
                }
            }
        }
    }
}

/// Same bits as natively: the constant is `GOLDEN` in `tests/kernels_golden.rs`.
#[wasm_bindgen_test]
fn seeded_run_matches_the_native_fingerprint() {
    let m = Gpt::default_random(fingerprint::GOLDEN_SEED);
    let got = fingerprint::fingerprint(&m);
    assert_eq!(got, 0xc13c_12a0_7fa6_4ed8, "fingerprint {got:#x}");
}

/// The simd kernel's canonical order, spelled out: wasm must match it bit for bit, on
/// the decode path, the prefill's packed 2x4 tiles (k a multiple of 8) with their odd
/// last token and last rows, and the plain tiles (any other k).
#[wasm_bindgen_test]
fn simd_is_bitwise_canonical_in_wasm() {
    let shapes = [
        (3, 6, 21),
        (1, 13, 64),
        (2, 4, 8),
        (5, 9, 16),
        (8, 12, 64),
        (19, 23, 64),
        (16, 70, 1024),
        (7, 13, 40),
    ];
    for &(t, n, k) in &shapes {
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..t * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0).collect();
        let k8 = k & !7;
        for with_bias in [false, true] {
            let b = with_bias.then_some(&bias[..]);
            let mut y = vec![0.0; t * n];
            kernels::matmul(Kernel::Simd, &w, &x, b, &mut y, k);
            for r in 0..t {
                for i in 0..n {
                    let (wr, xr) = (&w[i * k..(i + 1) * k], &x[r * k..(r + 1) * k]);
                    let mut l = [0.0f32; 8];
                    for c in (0..k8).step_by(8) {
                        for q in 0..8 {
                            l[q] += wr[c + q] * xr[c + q];
                        }
                    }
                    let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
                    for j in k8..k {
                        s += wr[j] * xr[j];
                    }
                    if let Some(b) = b {
                        s += b[i];
                    }
                    assert_eq!(
                        y[r * n + i].to_bits(),
                        s.to_bits(),
                        "t{t} n{n} k{k} ({r},{i})"
                    );
                }
            }
        }
    }
}

/// CSR (f32 and int8) and SELL in wasm follow the same spelled-out orders as natively
/// (`tests/sparse_kernels.rs`): same bits on every shape.
#[wasm_bindgen_test]
fn sparse_kernels_are_bitwise_canonical_in_wasm() {
    sparse_canon::check_all().unwrap();
}

#[wasm_bindgen_test]
fn playground_profiles_and_reports_memory() {
    let mut p = Playground::random_init(7);
    assert!(p.set_kernel("fast").is_err());
    p.set_kernel("library").unwrap();
    assert_eq!(p.kernel_name(), "library");
    let r = p.profile(6, 1).unwrap();
    assert_eq!(get(&r, "kernel").as_string().unwrap(), "library");
    let ops = js_sys::Array::from(&get(&r, "ops"));
    assert_eq!(ops.length(), 11);
    let sum = get(&r, "sum_ms_per_token").as_f64().unwrap();
    let total = get(&r, "total_ms_per_token").as_f64().unwrap();
    assert!(sum <= total * 1.0001, "{sum} vs {total}");
    let m = p.memory().unwrap();
    assert!(get(&m, "linear_memory_bytes").as_f64().unwrap() >= 65536.0);
    assert!(get(&m, "heap_peak_bytes").as_f64().unwrap() > 0.0);
    let f = p.flops_per_token(3).unwrap();
    assert_eq!(
        get(&f, "total").as_f64().unwrap(),
        flops::per_token(&Gpt::default_random(7), 3) as f64
    );
    let cs = js_sys::Array::from(&p.kernel_cases(16).unwrap());
    assert_eq!(cs.length(), 11);
    assert!(p.kernel_bench_case(16, 99, 3).is_err());
    // The default first; `relaxed` only in the relaxed-SIMD build.
    let mut want = vec!["simd", "naive", "blocked", "library"];
    if tinyopt::kernels::relaxed::BUILT {
        want.push("relaxed");
    }
    assert_eq!(tinyopt::web::kernel_names(), want);
}

/// Prints the kernel table for the default config (run in release; see the header).
#[wasm_bindgen_test]
#[ignore]
fn kernel_table_in_the_browser() {
    let timer = Timer {
        warmup: 2,
        runs: 21,
        min_sample_ms: 5.0,
    };
    for case in cases(&Gpt::default_random(0).cfg, 64) {
        for r in run_case(&case, &timer) {
            console_log!(
                "KT {} {} m{} k{} n{} {} {:.2} GFLOP/s p50 {:.4} ms p90 {:.4} iqr {:.4} x{:.1} reps {}",
                r.shape, r.op, r.m, r.k, r.n, r.kernel, r.gflops, r.ms_p50, r.ms_p90, r.ms_iqr,
                r.speedup_vs_naive, r.reps
            );
        }
    }
}

/// Prints the op breakdown of the default config in the browser (release; see the header).
#[wasm_bindgen_test]
#[ignore]
fn op_breakdown_in_the_browser() {
    for kernel in [Kernel::Simd, Kernel::Naive] {
        let mut m = Gpt::default_random(0);
        m.kernel = kernel;
        let r = tinyopt::profile::profile(&m, 256, 5).unwrap();
        for o in &r.ops {
            console_log!(
                "OP {} {} {:.4} ms {:.1}% {:.0} flops {:.2} GFLOP/s",
                r.kernel,
                o.op,
                o.ms_per_token,
                100.0 * o.share,
                o.flops_per_token,
                o.gflops
            );
        }
        console_log!(
            "OP {} sum {:.4} total {:.4} ms/token ({:.1}%), p50 {:.4} p90 {:.4} p99 {:.4} iqr {:.4}, {:.0} flops/token, {:.2} GFLOP/s, kept {} dropped {}",
            r.kernel, r.sum_ms_per_token, r.total_ms_per_token,
            100.0 * r.sum_ms_per_token / r.total_ms_per_token, r.token_ms.median_ms,
            r.token_ms.p90_ms, r.token_ms.p99_ms, r.token_ms.iqr_ms, r.flops_per_token, r.gflops,
            r.steps_kept, r.steps_dropped
        );
        for e in &r.memory.entries {
            console_log!("MEM {} {} {} B", e.kind, e.detail, e.bytes);
        }
    }
}

/// W8A32's simd128 path gives the bits of its spelled-out order, as natively.
#[wasm_bindgen_test]
fn w8a32_is_bitwise_canonical_in_wasm() {
    w8a32_canon::check().unwrap();
}

#[wasm_bindgen_test]
fn w4a8_panels_are_bitwise_canonical_in_wasm() {
    int4_canon::check().unwrap();
}

/// The vectorised GELU and softmax loops give the scalar functions' bits (NaN,
/// infinities and the clamps included).
#[wasm_bindgen_test]
fn vector_gelu_and_softmax_match_the_scalar_bits() {
    use tinyopt::model::ops;
    let mut xs: Vec<f32> = (0..2001).map(|i| (i as f32 - 1000.0) * 0.013).collect();
    xs.extend([
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        0.0,
        -0.0,
    ]);
    let mut v = xs.clone();
    ops::gelu_slice(&mut v);
    for (a, &x) in v.iter().zip(&xs) {
        let want = ops::gelu(x);
        assert!(
            a.to_bits() == want.to_bits() || (a.is_nan() && want.is_nan()),
            "gelu({x}) = {a} vs {want}"
        );
    }
    let mut p: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 9.0).collect();
    let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = p.iter().map(|&v| ops::exp(v - max)).collect();
    ops::softmax(&mut p);
    let sum: f32 = {
        let k8 = e.len() & !7;
        let mut l = [0.0f32; 8];
        for (j, &v) in e[..k8].iter().enumerate() {
            l[j % 8] += v;
        }
        let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
        for &v in &e[k8..] {
            s += v;
        }
        s
    };
    let inv = 1.0 / sum;
    for (a, b) in p.iter().zip(&e) {
        assert_eq!(a.to_bits(), (b * inv).to_bits());
    }
}

/// Activation quantization in simd128 (16 at a time, then 4, then scalar) gives the
/// scalar rule's codes: round half to even of x/s clamped to ±127, NaN to 0.
#[wasm_bindgen_test]
fn int8_activation_codes_match_the_scalar_rule() {
    let mut x: Vec<f32> = (0..203).map(|i| (i as f32 - 101.0) * 0.5).collect();
    x.extend([
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        1e30,
        -1e30,
        126.5,
        -126.5,
        2.5,
    ]);
    let mut q = vec![0i8; x.len()];
    let s = tinyopt::kernels::int8::quantize_act(&x, Some(1.0), &mut q);
    assert_eq!(s, 1.0);
    for (i, (&v, &c)) in x.iter().zip(&q).enumerate() {
        let want = if v.is_nan() {
            0
        } else {
            let r = v.clamp(-127.0, 127.0);
            let f = r.floor();
            let t = if r - f > 0.5 || (r - f == 0.5 && f % 2.0 != 0.0) {
                f + 1.0
            } else {
                f
            };
            t as i8
        };
        assert_eq!(c, want, "x[{i}] = {v}");
    }
}
