//! Timed generation runs with statistics: what `tinyopt bench` prints and what the
//! page's figures are made of.

use crate::clock;
use crate::error::Result;
use crate::model::{GenOptions, Generator, Gpt};
use crate::profile::flops;
use crate::stats::Summary;
use serde::Serialize;

/// Per-step timings of one generation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Trace {
    /// Position of each generated token.
    pub pos: Vec<usize>,
    /// Milliseconds each step took; the first includes the prompt's prefill.
    pub ms: Vec<f64>,
    pub total_ms: f64,
    pub text: String,
    pub prompt_tokens: usize,
    pub kv_cache_bytes: usize,
}

impl Trace {
    pub fn ttft_ms(&self) -> f64 {
        self.ms.first().copied().unwrap_or(f64::NAN)
    }

    /// Steps after the first: the decode-only timings.
    pub fn decode_ms(&self) -> &[f64] {
        if self.ms.len() > 1 {
            &self.ms[1..]
        } else {
            &self.ms
        }
    }

    pub fn tokens_per_s(&self) -> f64 {
        self.ms.len() as f64 / (self.total_ms / 1e3)
    }
}

/// Runs one generation to the end and records its timings.
pub fn run(model: &Gpt, prompt: &str, opts: GenOptions) -> Result<Trace> {
    let mut g = Generator::new(model, prompt, opts)?;
    let mut tr = Trace {
        prompt_tokens: g.prompt_len(),
        kv_cache_bytes: g.kv_cache_bytes(),
        ..Trace::default()
    };
    let t0 = clock::now_ms();
    while let Some(s) = g.step(model)? {
        tr.pos.push(s.pos);
        tr.ms.push(s.ms);
        tr.text.push(s.text);
    }
    tr.total_ms = clock::now_ms() - t0;
    Ok(tr)
}

/// One line of `tinyopt bench --json`.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The canonical recipe that built the model and its short hash (`recipe::Recipe`).
    pub recipe: Option<crate::recipe::Recipe>,
    pub recipe_id: String,
    /// Weight matrices per storage format, read off the running model (what ran).
    pub storage: std::collections::BTreeMap<&'static str, usize>,
    pub precision: String,
    pub kernel: String,
    pub kv_cache: bool,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub runs: usize,
    /// Median over runs of new tokens / wall time (prefill included).
    pub tokens_per_s: f64,
    pub tokens_per_s_min: f64,
    pub tokens_per_s_max: f64,
    /// Decode steps pooled over runs.
    pub ms_per_token_p10: f64,
    pub ms_per_token_p50: f64,
    pub ms_per_token_p90: f64,
    /// Median over runs.
    pub ttft_ms: f64,
    pub weight_bytes: usize,
    pub kv_cache_bytes: usize,
    /// The KV cache's storage, and what it alone costs: KL / top-1 against the same
    /// weights with an f32 cache (`quality::kv_agreement`; 0 / 1 for an f32 cache).
    pub kv_precision: String,
    pub kv_kld: f64,
    pub kv_top1_agreement: f64,
    /// Mean KL divergence from the f32 baseline, nats/token (0 for the baseline itself).
    pub kld: f64,
    /// Fraction of positions whose top next-token matches the f32 baseline's.
    pub top1_agreement: f64,
    /// Requested prune ratio, the kind (`none` when unpruned) and the achieved sparsity.
    pub prune: f64,
    pub prune_kind: String,
    pub sparsity: f64,
    /// FLOPs the run performed (prefill included) per new token; see `profile::flops`.
    pub flops_per_token: f64,
}

/// A warm-up run, then `runs` timed runs of the same generation.
pub fn bench(model: &Gpt, prompt: &str, opts: GenOptions, runs: usize) -> Result<BenchReport> {
    let runs = runs.max(1);
    run(model, prompt, opts)?; // warm-up: page in weights, settle caches
    let mut traces = Vec::with_capacity(runs);
    for _ in 0..runs {
        traces.push(run(model, prompt, opts)?);
    }
    Ok(report(model, opts, &traces))
}

/// Summarises traces of the same configuration.
pub fn report(model: &Gpt, opts: GenOptions, traces: &[Trace]) -> BenchReport {
    let tps = Summary::of(&traces.iter().map(Trace::tokens_per_s).collect::<Vec<_>>());
    let ttft = Summary::of(&traces.iter().map(Trace::ttft_ms).collect::<Vec<_>>());
    let steps: Vec<f64> = traces
        .iter()
        .flat_map(|t| t.decode_ms().iter().copied())
        .collect();
    let st = Summary::of(&steps);
    let first = &traces[0];
    BenchReport {
        recipe: None,
        recipe_id: String::new(),
        storage: model.storage_census(),
        precision: crate::quant::precision_of(model).name().into(),
        kernel: model.kernel.name().into(),
        kv_cache: opts.kv_cache,
        prompt_tokens: first.prompt_tokens,
        new_tokens: first.ms.len(),
        runs: traces.len(),
        tokens_per_s: tps.median,
        tokens_per_s_min: tps.min,
        tokens_per_s_max: tps.max,
        ms_per_token_p10: st.p10,
        ms_per_token_p50: st.median,
        ms_per_token_p90: st.p90,
        ttft_ms: ttft.median,
        weight_bytes: model.weight_bytes(),
        kv_cache_bytes: first.kv_cache_bytes,
        kv_precision: model.kv_precision.name().into(),
        kv_kld: 0.0,
        kv_top1_agreement: 1.0,
        kld: 0.0,
        top1_agreement: 1.0,
        prune: 0.0,
        prune_kind: "none".into(),
        sparsity: 0.0,
        flops_per_token: flops::generation(
            model,
            first.prompt_tokens,
            first.ms.len(),
            opts.kv_cache,
        ) as f64
            / first.ms.len().max(1) as f64,
    }
}
