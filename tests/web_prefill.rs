//! Prefill in the browser at the side-by-side harness's M config (vocab 65, ctx 256,
//! 8 layers, 8 heads, d 512; a 128-token prompt): where the time goes, op by op, and
//! the f32 `simd` matmul at the prefill shapes. Measurements only, so ignored; run in
//! release:
//! `wasm-pack test --release --headless --chrome -- --test web_prefill -- --include-ignored --nocapture`.
#![cfg(target_arch = "wasm32")]

use tinyopt::clock::now_ms;
use tinyopt::kernels::{self, Kernel};
use tinyopt::model::{tokenizer::DEFAULT_VOCAB, Config, Gpt, KvCache, Logits, Scratch, Tokenizer};
use tinyopt::profile::{Op, Timer};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Prompt length, as the harness's "ttft M" cells.
const T: usize = 128;

fn m_model() -> Gpt {
    let cfg = Config {
        vocab: 65,
        ctx: 256,
        n_layer: 8,
        n_head: 8,
        d_model: 512,
    };
    let tok = Tokenizer::new(DEFAULT_VOCAB).expect("default vocab");
    Gpt::random(cfg, tok, 7).expect("M config is valid")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// FNV-1a over the bits: a short name for "the same output".
fn bits_hash(v: &[f32]) -> u64 {
    v.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Time to first token's forward, whole and op by op (ms per 128-token prefill).
#[wasm_bindgen_test]
#[ignore]
fn prefill_m_breakdown() {
    let m = m_model();
    let tokens: Vec<u32> = (0..T).map(|i| (i * 7 % 65) as u32).collect();
    let mut kv = KvCache::new(&m.cfg);
    let mut s = Scratch::new(&m.cfg);
    // Every position's logits, hashed: a fingerprint of the whole prefill's bits.
    m.forward(&tokens, &mut kv, &mut s, Logits::All).unwrap();
    console_log!(
        "PREFILL bits {:#018x}",
        bits_hash(&s.logits[..T * m.cfg.vocab])
    );
    let mut whole = Vec::new();
    for _ in 0..9 {
        kv.clear();
        let t0 = now_ms();
        m.forward(&tokens, &mut kv, &mut s, Logits::Last).unwrap();
        whole.push(now_ms() - t0);
    }
    let ms = median(whole);
    let flops = 2.0 * T as f64 * 12.0 * 512.0 * 512.0 * 8.0;
    console_log!(
        "PREFILL whole {:.2} ms (median of 9), {:.2} GFLOP/s (matmul FLOPs)",
        ms,
        flops / ms / 1e6
    );
    // Op by op: median over rounds of each op's ms in one forward.
    let rounds = 7;
    let mut per_op: Vec<Vec<f64>> = vec![Vec::new(); Op::ALL.len()];
    for _ in 0..rounds {
        s.enable_op_times();
        kv.clear();
        m.forward(&tokens, &mut kv, &mut s, Logits::Last).unwrap();
        let t = s.take_op_times().unwrap();
        for (i, &op) in Op::ALL.iter().enumerate() {
            per_op[i].push(t.ms[op]);
        }
    }
    let mut sum = 0.0;
    for (i, op) in Op::ALL.iter().enumerate() {
        let v = median(per_op[i].clone());
        sum += v;
        console_log!("PREFILL op {:16} {:8.2} ms", op.name(), v);
    }
    console_log!("PREFILL op sum {:.2} ms", sum);
}

/// The f32 simd matmul at the prefill shapes: t = 128 tokens, W (n, k).
#[wasm_bindgen_test]
#[ignore]
fn prefill_matmul_shapes() {
    let timer = Timer {
        warmup: 2,
        runs: 9,
        min_sample_ms: 20.0,
    };
    let shapes = [(1536, 512), (512, 512), (2048, 512), (512, 2048)];
    // Warm-up past V8's tier-up (Liftoff first, TurboFan after a while).
    let t0 = now_ms();
    while now_ms() - t0 < 500.0 {
        for &(n, k) in &shapes {
            let (w, x, mut y) = (vec![0.1; n * k], vec![0.2; T * k], vec![0.0; T * n]);
            kernels::matmul(Kernel::Simd, &w, &x, None, &mut y, k);
        }
    }
    for &(n, k) in &shapes {
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.01)
            .collect();
        let x: Vec<f32> = (0..T * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let mut y = vec![0.0; T * n];
        let tm = timer.measure(|| kernels::matmul(Kernel::Simd, &w, &x, Some(&b), &mut y, k));
        console_log!(
            "MATMUL t{} n{} k{}: {:.3} ms, {:.2} GFLOP/s, bits {:#018x}",
            T,
            n,
            k,
            tm.median_ms,
            2.0 * (T * n * k) as f64 / tm.median_ms / 1e6,
            bits_hash(&y)
        );
    }
}
