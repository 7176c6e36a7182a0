//! Profiling: where a token's time goes, how many FLOPs it costs, how fast each op
//! runs, and what memory the model holds.
//!
//! - `timer`: warm-up, repeated samples, median / p90 / p99 / IQR through the one clock;
//! - `flops`: analytic FLOPs per op and per token for any config and position;
//! - `memory`: bytes by kind, and the counting allocator behind the heap figures;
//! - `ops`: the op list and the lap clock `Gpt::forward` reports to. A leaf (it needs
//!   only the clock), so the model may use it while the rest of `profile` uses the model;
//! - `kernel_bench`: the kernel table (`tinyopt kernels`);
//! - `scaling`: what size costs (decode speed vs model size, against measured bandwidth).

pub mod flops;
pub mod kernel_bench;
pub mod memory;
pub mod ops;
pub mod scaling;
pub mod timer;

pub use memory::{CountingAlloc, MemoryReport};
pub use ops::{Laps, Op, OpArray, OpTimes};
pub use timer::{Timer, Timing};

use crate::clock;
use crate::error::Result;
use crate::model::{sampler::argmax, Gpt, KvCache, Logits, Scratch};
use serde::Serialize;

/// One op's share of a token.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpRow {
    pub op: &'static str,
    /// Mean over the profiled tokens.
    pub ms_per_token: f64,
    /// Of the measured total.
    pub share: f64,
    pub flops_per_token: f64,
    pub gflops: f64,
}

/// What `tinyopt profile` prints and the page's profiling panel shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProfileReport {
    pub kernel: &'static str,
    /// Weight matrices per storage format, read off the profiled model.
    pub storage: std::collections::BTreeMap<&'static str, usize>,
    /// Decode steps profiled per run, at positions 0..tokens.
    pub tokens: usize,
    pub runs: usize,
    /// Steps the figures average over, and steps dropped as disturbed (see `profile`).
    pub steps_kept: usize,
    pub steps_dropped: usize,
    /// Wall time of each run's forwards, ms.
    pub run_totals_ms: Vec<f64>,
    pub ops: Vec<OpRow>,
    /// Σ ops' ms per token: should be within a few % of `total_ms_per_token`.
    pub sum_ms_per_token: f64,
    /// Mean wall time of a whole forward step, timed around the call.
    pub total_ms_per_token: f64,
    /// Per-step wall time of the kept steps: its spread over positions and runs.
    pub token_ms: Timing,
    /// Mean over the profiled positions.
    pub flops_per_token: f64,
    /// At position 0 (attention is smallest there).
    pub flops_per_token_pos0: u64,
    pub gflops: f64,
    pub memory: MemoryReport,
}

/// Profiles `runs` greedy decodes of `tokens` steps from an empty cache (after one
/// untimed warm-up decode), with the model's own kernel.
///
/// Steps disturbed by something else (the OS, other processes, a garbage collection
/// in the tab) are dropped: a step slower than twice the median of the same position
/// over the runs. Kept steps are pooled; ops and totals describe the same steps.
pub fn profile(model: &Gpt, tokens: usize, runs: usize) -> Result<ProfileReport> {
    let cfg = &model.cfg;
    let tokens = tokens.clamp(1, cfg.ctx);
    let runs = runs.max(1);
    let mut kv = model.kv_cache();
    let mut s = Scratch::new(cfg);
    memory::reset_peak();
    decode(model, tokens, &mut kv, &mut s, &mut Vec::new())?; // warm-up
    s.enable_op_times();
    let mut steps = Vec::with_capacity(tokens * runs);
    let mut run_totals_ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let first = steps.len();
        decode(model, tokens, &mut kv, &mut s, &mut steps)?;
        run_totals_ms.push(steps[first..].iter().map(|st: &StepTimes| st.ms).sum());
    }
    s.take_op_times();

    let median_at: Vec<f64> = (0..tokens)
        .map(|p| {
            let at: Vec<f64> = steps
                .iter()
                .filter(|st| st.pos == p)
                .map(|st| st.ms)
                .collect();
            crate::stats::Summary::of(&at).median
        })
        .collect();
    let kept: Vec<&StepTimes> = steps
        .iter()
        .filter(|st| st.ms <= 2.0 * median_at[st.pos])
        .collect();
    let n = kept.len() as f64;
    let mut op_ms = OpArray::<f64>::default();
    let mut fl = OpArray::<u64>::default();
    for st in &kept {
        op_ms.add(&st.ops);
        fl.add(&flops::token(model, st.pos));
    }
    let step_ms: Vec<f64> = kept.iter().map(|st| st.ms).collect();
    let total_ms: f64 = step_ms.iter().sum::<f64>() / n;
    let ops: Vec<OpRow> = Op::ALL
        .iter()
        .map(|&op| {
            let ms = op_ms[op] / n;
            let f = fl[op] as f64 / n;
            OpRow {
                op: op.name(),
                ms_per_token: ms,
                share: ms / total_ms,
                flops_per_token: f,
                gflops: f / (ms * 1e6),
            }
        })
        .collect();
    let flops_per_token = fl.total() as f64 / n;
    Ok(ProfileReport {
        storage: model.storage_census(),
        kernel: model.kernel.name(),
        tokens,
        runs,
        steps_kept: kept.len(),
        steps_dropped: steps.len() - kept.len(),
        run_totals_ms,
        sum_ms_per_token: ops.iter().map(|o| o.ms_per_token).sum(),
        total_ms_per_token: total_ms,
        token_ms: Timing::of(&step_ms, 1),
        flops_per_token,
        flops_per_token_pos0: flops::per_token(model, 0),
        gflops: flops_per_token / (total_ms * 1e6),
        ops,
        memory: memory::report(model, Some(&kv), Some(&s)),
    })
}

/// One decode step's wall time and its split by op.
struct StepTimes {
    pos: usize,
    ms: f64,
    ops: OpArray<f64>,
}

/// Greedy decode of `tokens` steps from position 0, one forward per token, recording
/// each step (its op split is zero unless `s` has op times enabled).
fn decode(
    model: &Gpt,
    tokens: usize,
    kv: &mut KvCache,
    s: &mut Scratch,
    out: &mut Vec<StepTimes>,
) -> Result<()> {
    kv.clear();
    let mut tok = model.tokenizer.encode("\n").map_or(0, |t| t[0]);
    let snapshot = |s: &Scratch| s.op_times().map(|t| t.ms).unwrap_or_default();
    for pos in 0..tokens {
        let before = snapshot(s);
        let t0 = clock::now_ms();
        model.forward(&[tok], kv, s, Logits::Last)?;
        let ms = clock::now_ms() - t0;
        let mut ops = snapshot(s);
        for (o, b) in ops.0.iter_mut().zip(before.0) {
            *o -= b;
        }
        out.push(StepTimes { pos, ms, ops });
        tok = argmax(&s.logits[..model.cfg.vocab]) as u32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_cover_the_token_and_flops_add_up() {
        let m = Gpt::default_random(3);
        let r = profile(&m, 8, 2).unwrap();
        assert_eq!(r.ops.len(), Op::COUNT);
        assert_eq!((r.tokens, r.runs), (8, 2));
        assert_eq!(r.steps_kept + r.steps_dropped, 16);
        assert_eq!(r.token_ms.runs, r.steps_kept);
        assert_eq!(r.run_totals_ms.len(), 2);
        let fl: f64 = r.ops.iter().map(|o| o.flops_per_token).sum();
        assert!((fl - r.flops_per_token).abs() < 1e-6 * fl);
        assert!(r.ops.iter().all(|o| o.ms_per_token >= 0.0));
        // The laps cover the forward: their sum cannot exceed the timed total.
        assert!(r.sum_ms_per_token <= r.total_ms_per_token * 1.0001);
        assert!(r.memory.weight_bytes == m.weight_bytes());
    }
}
