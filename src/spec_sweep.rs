//! The K sweep of speculative decoding: the target alone and with a draft proposing
//! K = 1..8 tokens per verify pass, measured in alternating order (round r runs the
//! configurations forwards, round r + 1 backwards, so drift hits all alike), one
//! generation per `step` so a page can show progress. Speedups are paired: each round's
//! tokens/s over the same round's target alone, then the median over rounds.
//!
//! Why it pays or not, in measured units of one target decode step (ms/token alone):
//! a round costs K draft forwards (c each) plus one verify pass over K+1 positions (v)
//! and yields `tokens_per_round` tokens, so speedup ≈ tokens_per_round / (K·c + v).

use crate::bench::{run, run_speculative};
use crate::error::Result;
use crate::model::speculative::{SpecStats, MAX_DRAFT_TOKENS};
use crate::model::{GenOptions, Gpt};
use crate::stats::Summary;
use serde::Serialize;

/// One configuration's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SweepPoint {
    /// Draft tokens per round; 0 is the target alone.
    pub k: usize,
    /// Tokens/s over the rounds (median, min, max).
    pub tokens_per_s: f64,
    pub tokens_per_s_min: f64,
    pub tokens_per_s_max: f64,
    /// Median over rounds of this round's tokens/s over the target alone's.
    pub speedup: f64,
    pub speedup_min: f64,
    pub speedup_max: f64,
    pub acceptance: f64,
    /// By draft position 1..K.
    pub acceptance_at: Vec<f64>,
    pub tokens_per_round: f64,
    /// One draft forward, and one verify pass, in target decode steps (c and v).
    pub draft_cost: f64,
    pub verify_cost: f64,
    /// tokens_per_round / (K·c + v): what the measured parts predict.
    pub predicted_speedup: f64,
    /// Shares of the model time in the draft and in the verify passes.
    pub draft_share: f64,
    pub verify_share: f64,
}

/// The sweep's result: one point per configuration, the target alone first.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    pub rounds: usize,
    pub new_tokens: usize,
    /// The target alone's decode step, ms (the unit of draft_cost and verify_cost).
    pub target_ms_per_token: f64,
    pub points: Vec<SweepPoint>,
    /// The K with the highest median speedup.
    pub best_k: usize,
}

/// A sweep in progress.
pub struct SpecSweep {
    prompt: String,
    opts: GenOptions,
    ks: Vec<usize>,
    rounds: usize,
    next: usize,
    /// (configs, rounds) tokens/s, and the target alone's decode ms/token per round.
    tps: Vec<Vec<f64>>,
    stats: Vec<Vec<SpecStats>>,
    alone_ms: Vec<f64>,
}

impl SpecSweep {
    /// `ks` draft-token counts (each 1..=8; the target alone is added first).
    pub fn new(prompt: &str, opts: GenOptions, ks: &[usize], rounds: usize) -> Result<SpecSweep> {
        if ks.is_empty() || ks.iter().any(|k| !(1..=MAX_DRAFT_TOKENS).contains(k)) {
            return Err(crate::error::input_err(format!(
                "the sweep's K values must be in 1..={MAX_DRAFT_TOKENS}"
            )));
        }
        let mut all = vec![0];
        all.extend_from_slice(ks);
        Ok(SpecSweep {
            prompt: prompt.into(),
            opts,
            rounds: rounds.max(1),
            next: 0,
            tps: vec![Vec::new(); all.len()],
            stats: vec![Vec::new(); all.len()],
            alone_ms: Vec::new(),
            ks: all,
        })
    }

    /// Generations run so far, and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.rounds * self.ks.len())
    }

    pub fn done(&self) -> bool {
        self.next >= self.rounds * self.ks.len()
    }

    /// Runs the next generation; returns its K (0: the target alone).
    pub fn step(&mut self, target: &Gpt, draft: &Gpt) -> Result<usize> {
        let n = self.ks.len();
        let (round, j) = (self.next / n, self.next % n);
        let c = if round % 2 == 0 { j } else { n - 1 - j };
        let k = self.ks[c];
        if k == 0 {
            let t = run(target, &self.prompt, self.opts)?;
            self.tps[c].push(t.tokens_per_s());
            let d = t.decode_ms();
            self.alone_ms
                .push(d.iter().sum::<f64>() / d.len().max(1) as f64);
        } else {
            let (t, s) = run_speculative(target, draft, &self.prompt, self.opts, k)?;
            self.tps[c].push(t.tokens_per_s());
            self.stats[c].push(s);
        }
        self.next += 1;
        Ok(k)
    }

    /// The figures of the rounds completed so far.
    pub fn report(&self) -> SweepReport {
        let full = self.tps.iter().map(Vec::len).min().unwrap_or(0);
        let alone = &self.tps[0][..full];
        let unit = Summary::of(&self.alone_ms[..full.min(self.alone_ms.len())]).median;
        let mut points = Vec::new();
        for (c, &k) in self.ks.iter().enumerate() {
            let t = Summary::of(&self.tps[c][..full]);
            let ratios: Vec<f64> = self.tps[c][..full]
                .iter()
                .zip(alone)
                .map(|(a, b)| a / b)
                .collect();
            let r = Summary::of(&ratios);
            let mut p = SweepPoint {
                k,
                tokens_per_s: t.median,
                tokens_per_s_min: t.min,
                tokens_per_s_max: t.max,
                speedup: r.median,
                speedup_min: r.min,
                speedup_max: r.max,
                ..SweepPoint::default()
            };
            if k > 0 && full > 0 {
                let st = &self.stats[c][..full];
                let sum = |f: fn(&SpecStats) -> f64| st.iter().map(f).sum::<f64>();
                let (proposed, accepted) = (sum(|s| s.proposed as f64), sum(|s| s.accepted as f64));
                let rounds = sum(|s| s.rounds as f64);
                let tokens = sum(|s| s.tokens.saturating_sub(1) as f64);
                let (dms, vms, pms) = (
                    sum(|s| s.draft_ms),
                    sum(|s| s.verify_ms),
                    sum(|s| s.prefill_ms),
                );
                p.acceptance = accepted / proposed.max(1.0);
                p.acceptance_at = (0..k)
                    .map(|i| {
                        let a: usize = st.iter().map(|s| s.accepted_at[i]).sum();
                        let b: usize = st.iter().map(|s| s.proposed_at[i]).sum();
                        a as f64 / b.max(1) as f64
                    })
                    .collect();
                p.tokens_per_round = tokens / rounds.max(1.0);
                p.draft_cost = dms / proposed.max(1.0) / unit;
                p.verify_cost = vms / rounds.max(1.0) / unit;
                p.predicted_speedup =
                    p.tokens_per_round / (k as f64 * p.draft_cost + p.verify_cost);
                let all = (dms + vms + pms).max(1e-12);
                p.draft_share = dms / all;
                p.verify_share = vms / all;
            }
            points.push(p);
        }
        let best_k = points
            .iter()
            .skip(1)
            .max_by(|a, b| a.speedup.total_cmp(&b.speedup))
            .map_or(0, |p| p.k);
        SweepReport {
            rounds: full,
            new_tokens: self.opts.max_new_tokens,
            target_ms_per_token: unit,
            points,
            best_k,
        }
    }
}
