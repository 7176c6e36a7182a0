//! Timed generation runs with statistics: what `tinyopt bench` prints and what the
//! page's figures are made of.

use crate::clock;
use crate::error::Result;
use crate::model::speculative::{SpecGenerator, SpecStats};
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

/// A speculative generation to the end: its timings (each round's wall time shared by
/// its tokens) and what the draft and verify passes measured.
pub fn run_speculative(
    target: &Gpt,
    draft: &Gpt,
    prompt: &str,
    opts: GenOptions,
    k: usize,
) -> Result<(Trace, SpecStats)> {
    let mut g = SpecGenerator::new(target, draft, prompt, opts, k)?;
    let mut tr = Trace {
        prompt_tokens: g.prompt_len(),
        kv_cache_bytes: g.kv_cache_bytes(),
        ..Trace::default()
    };
    let t0 = clock::now_ms();
    while let Some(s) = g.step(target, draft)? {
        tr.pos.push(s.pos);
        tr.ms.push(s.ms);
        tr.text.push(s.text);
    }
    tr.total_ms = clock::now_ms() - t0;
    Ok((tr, g.stats))
}

/// Speculative decoding's figures in a bench report (pooled over the timed runs).
#[derive(Clone, Debug, Serialize)]
pub struct SpecReport {
    pub draft_tokens: usize,
    /// Kept / proposed draft tokens, and by draft position 1..K.
    pub acceptance: f64,
    pub acceptance_at: Vec<f64>,
    /// New tokens per target verify pass.
    pub tokens_per_round: f64,
    /// Share of the run's model time in the draft and in the verify passes (the rest is
    /// the prompt's prefill).
    pub draft_share: f64,
    pub verify_share: f64,
    pub draft_ms: f64,
    pub verify_ms: f64,
    pub draft_weight_bytes: usize,
}

impl SpecReport {
    pub fn of(stats: &[SpecStats], draft: &Gpt) -> SpecReport {
        let mut p = SpecStats::default();
        for s in stats {
            p.draft_tokens = s.draft_tokens;
            p.rounds += s.rounds;
            p.proposed += s.proposed;
            p.accepted += s.accepted;
            p.tokens += s.tokens.saturating_sub(1);
            p.prefill_ms += s.prefill_ms;
            p.draft_ms += s.draft_ms;
            p.verify_ms += s.verify_ms;
            p.proposed_at.resize(s.proposed_at.len(), 0);
            p.accepted_at.resize(s.accepted_at.len(), 0);
            for i in 0..s.proposed_at.len() {
                p.proposed_at[i] += s.proposed_at[i];
                p.accepted_at[i] += s.accepted_at[i];
            }
        }
        let all = (p.prefill_ms + p.draft_ms + p.verify_ms).max(1e-12);
        SpecReport {
            draft_tokens: p.draft_tokens,
            acceptance: p.acceptance(),
            acceptance_at: p.acceptance_at(),
            tokens_per_round: if p.rounds == 0 {
                0.0
            } else {
                p.tokens as f64 / p.rounds as f64
            },
            draft_share: p.draft_ms / all,
            verify_share: p.verify_ms / all,
            draft_ms: p.draft_ms,
            verify_ms: p.verify_ms,
            draft_weight_bytes: draft.weight_bytes(),
        }
    }
}

/// `bench` with a draft: a warm-up run, then `runs` timed speculative runs.
pub fn bench_speculative(
    target: &Gpt,
    draft: &Gpt,
    prompt: &str,
    opts: GenOptions,
    k: usize,
    runs: usize,
) -> Result<BenchReport> {
    let runs = runs.max(1);
    run_speculative(target, draft, prompt, opts, k)?;
    let (mut traces, mut stats) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, s) = run_speculative(target, draft, prompt, opts, k)?;
        traces.push(t);
        stats.push(s);
    }
    let mut r = report(target, opts, &traces);
    r.speculative = Some(SpecReport::of(&stats, draft));
    Ok(r)
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
    /// Building this model from the loaded one (calibrate, quantize, prune, pack): what a
    /// change of recipe costs before the first token. 0 when the caller did not build.
    pub construct_ms: f64,
    /// With a draft (recipe `draft`): acceptance and the draft/verify time split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculative: Option<SpecReport>,
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
        construct_ms: 0.0,
        flops_per_token: flops::generation(
            model,
            first.prompt_tokens,
            first.ms.len(),
            opts.kv_cache,
        ) as f64
            / first.ms.len().max(1) as f64,
        speculative: None,
    }
}
