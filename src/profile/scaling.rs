//! What size costs: decode speed, bytes and FLOPs of models of several sizes (random
//! weights: they teach speed and memory, not quality), each next to the roofline it is
//! bound by. A decode step reads every weight once, so its speed limit is the read
//! bandwidth of wherever the weights live; `read_gbps` measures it here for a buffer of
//! the weights' size (one core, sequential f32 reads) rather than trusting a datasheet,
//! and `bandwidth` measures the L2/L3/DRAM levels for reference.

use crate::clock;
use crate::error::Result;
use crate::model::{Config, GenOptions, Generator, Gpt, KvCache, Tokenizer};
use crate::profile::flops;
use crate::stats::Summary;
use serde::Serialize;

/// Read bandwidth of one cache level, measured.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Level {
    pub name: String,
    /// The buffer size that was read (fits this level, not the one above).
    pub bytes: usize,
    /// Weights up to this size are served from this level (assumed per-core share).
    pub holds: usize,
    pub gbps: f64,
}

/// Sums a buffer of `bytes` repeatedly (32 independent lanes: enough adds in flight to
/// keep up with the loads, whatever the vector width) and returns GB/s, the median of
/// `runs` samples of ≥ `min_ms` each.
pub fn read_gbps(bytes: usize, runs: usize, min_ms: f64) -> f64 {
    let v: Vec<f32> = (0..bytes / 4).map(|i| (i % 7) as f32).collect();
    let pass = |v: &[f32]| -> f32 {
        let mut acc = [0.0f32; 32];
        for c in v.chunks_exact(32) {
            for k in 0..32 {
                acc[k] += c[k];
            }
        }
        acc.iter().sum()
    };
    let mut sink = 0.0f32;
    sink += pass(&v); // warm: page in, fill the cache
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t0 = clock::now_ms();
        let mut reps = 0usize;
        while clock::now_ms() - t0 < min_ms || reps == 0 {
            sink += pass(std::hint::black_box(&v));
            reps += 1;
        }
        let ms = clock::now_ms() - t0;
        samples.push((reps * v.len() * 4) as f64 / (ms * 1e6));
    }
    std::hint::black_box(sink);
    Summary::of(&samples).median
}

/// The DRAM probe: far larger than any L3 natively; smaller in a browser tab, whose
/// memory a student's laptop shares with everything else.
const DRAM_PROBE: usize = if cfg!(target_arch = "wasm32") {
    128 << 20
} else {
    1 << 30
};

/// L2, L3 and DRAM read bandwidth of one core: buffers of 1 MiB, 12 MiB and `DRAM_PROBE`.
/// Weights up to 2 MiB are taken to come from L2 (the per-core L2 of the machines this
/// was written on), up to 32 MiB from L3 (a core's fair share of a shared L3), beyond
/// that from DRAM.
pub fn bandwidth(runs: usize) -> Vec<Level> {
    [
        ("L2", 1usize << 20, 2usize << 20),
        ("L3", 12 << 20, 32 << 20),
        ("DRAM", DRAM_PROBE, usize::MAX),
    ]
    .into_iter()
    .map(|(name, bytes, holds)| Level {
        name: name.into(),
        bytes,
        holds,
        gbps: read_gbps(bytes, runs, 30.0),
    })
    .collect()
}

/// One size of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub n_layer: usize,
    pub d_model: usize,
    pub n_params: usize,
    pub weight_bytes: usize,
    pub kv_cache_bytes: usize,
    /// Decode steps (KV cache on), median over runs, with the spread.
    pub tokens_per_s: f64,
    pub tokens_per_s_min: f64,
    pub tokens_per_s_max: f64,
    pub flops_per_token: f64,
    pub gflops: f64,
    /// Weight bytes read per second (each decode step reads every weight once).
    pub gbps: f64,
    /// The read bandwidth measured on a buffer the size of the weights, the level it
    /// matches, and the tokens/s it allows (each step reads every weight once).
    pub bound_by: String,
    pub bound_gbps: f64,
    pub roofline_tokens_per_s: f64,
    /// Achieved / roofline.
    pub of_roofline: f64,
}

/// Times greedy decoding of `tokens` steps on a random model of `(n_layer, d_model)`.
pub fn point(
    n_layer: usize,
    d_model: usize,
    tokens: usize,
    runs: usize,
    levels: &[Level],
) -> Result<Point> {
    let cfg = Config {
        vocab: 65,
        ctx: 256,
        n_layer,
        n_head: (d_model / 32).max(1),
        d_model,
    };
    let tok = Tokenizer::new(crate::model::tokenizer::DEFAULT_VOCAB)?;
    let m = Gpt::random(cfg, tok, 1)?;
    let tokens = tokens.clamp(2, cfg.ctx - 1);
    let opts = GenOptions::greedy(tokens);
    let decode = |m: &Gpt| -> Result<f64> {
        let mut g = Generator::new(m, "\n", opts)?;
        g.step(m)?; // the first step is the prefill
        let t0 = clock::now_ms();
        let mut n = 0;
        while g.step(m)?.is_some() {
            n += 1;
        }
        Ok(n as f64 / ((clock::now_ms() - t0) / 1e3))
    };
    decode(&m)?; // warm-up
    let tps = Summary::of(
        &(0..runs.max(1))
            .map(|_| decode(&m))
            .collect::<Result<Vec<_>>>()?,
    );
    let fpt = flops::generation(&m, 1, tokens, true) as f64 / tokens as f64;
    let wb = m.weight_bytes();
    // The roofline: the measured read bandwidth of a buffer as large as the weights
    // (cache sizes a VM reports are not what a core gets); named for the level whose
    // probe read at the closest speed.
    let bound_gbps = read_gbps(wb.max(64 << 10), 3, 20.0);
    let level = levels
        .iter()
        .min_by(|a, b| {
            let d = |l: &Level| (l.gbps / bound_gbps).ln().abs();
            d(a).total_cmp(&d(b))
        })
        .expect("at least one level");
    let roof = bound_gbps * 1e9 / wb as f64;
    Ok(Point {
        n_layer,
        d_model,
        n_params: m.n_params(),
        weight_bytes: wb,
        kv_cache_bytes: KvCache::new(&cfg).bytes(),
        tokens_per_s: tps.median,
        tokens_per_s_min: tps.min,
        tokens_per_s_max: tps.max,
        flops_per_token: fpt,
        gflops: tps.median * fpt / 1e9,
        gbps: tps.median * wb as f64 / 1e9,
        bound_by: level.name.clone(),
        bound_gbps,
        roofline_tokens_per_s: roof,
        of_roofline: tps.median / roof,
    })
}
