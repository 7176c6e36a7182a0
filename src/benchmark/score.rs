//! Statistics of a record, computed from its raw samples only (so a verifier recomputes
//! them exactly). Every speed event is a ratio candidate vs reference, paired round by
//! round (the two ran back to back), summarised by the median of the paired ratios and
//! their range; > 1 means the candidate is better. Raw milliseconds are reported next to
//! them but never ranked across machines. Only `detmath` transcendentals: a record
//! made in the browser recomputes natively to the bit.

use super::record::{ConfigSamples, Query, Record};
use super::suite::TIERS;
use crate::detmath::{exp, ln};
use crate::stats::{quantile, Summary};
use serde::{Deserialize, Serialize};

/// One event's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Median of the paired ratios (> 1: the candidate is better).
    pub ratio: f64,
    pub ratio_min: f64,
    pub ratio_max: f64,
    /// Median of the raw metric per configuration (ms, tokens/s or bytes).
    pub reference: f64,
    pub candidate: f64,
    pub rounds: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scores {
    /// Single stream: p90 of the per-token decode latency within a query.
    pub latency: Event,
    /// Time to first token: prefill of the fixed prompt plus one token.
    pub ttft: Event,
    /// Tokens/s over the whole query (prefill included).
    pub throughput: Event,
    /// Stored weight bytes as really held, plus KV-cache bytes.
    pub footprint: Event,
    /// Geometric mean of the four events' ratios.
    pub all_round: f64,
    /// `ppl_reference / ppl_candidate` on the fixed evaluation set.
    pub quality_ratio: f64,
    /// "99.9%", "99%" or "fail".
    pub gate: String,
    /// Why the gate failed ("" when it passed).
    pub gate_reason: String,
}

fn median(xs: &[f64]) -> f64 {
    Summary::of(xs).median
}

/// A paired event: `metric` per query, `better_when_lower` for times.
fn paired(r: &ConfigSamples, c: &ConfigSamples, metric: fn(&Query) -> f64, lower: bool) -> Event {
    let pairs: Vec<(f64, f64)> = r
        .queries
        .iter()
        .zip(&c.queries)
        .filter(|(a, b)| !a.invalid && !b.invalid)
        .map(|(a, b)| (metric(a), metric(b)))
        .filter(|(a, b)| a.is_finite() && b.is_finite() && *a > 0.0 && *b > 0.0)
        .collect();
    let ratios: Vec<f64> = pairs
        .iter()
        .map(|&(a, b)| if lower { a / b } else { b / a })
        .collect();
    let s = Summary::of(&ratios);
    Event {
        ratio: s.median,
        ratio_min: s.min,
        ratio_max: s.max,
        reference: median(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
        candidate: median(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()),
        rounds: pairs.len(),
    }
}

fn p90_token(q: &Query) -> f64 {
    let mut v = q.token_ms.clone();
    v.sort_by(|a, b| a.total_cmp(b));
    quantile(&v, 0.9)
}

/// The quality gate of a measured quality: the perplexity ratio ppl_ref / ppl_cand,
/// the tier it passes ("99.9%", "99%" or "fail") and, on failure, why.
pub fn gate(q: &super::record::Quality) -> (f64, String, String) {
    // ppl = e^nll, so the ratio is e^(nll_ref - nll_cand).
    let quality_ratio = exp(q.nll_reference - q.nll_candidate);
    let (gate, reason) = match TIERS.iter().find(|(_, t)| quality_ratio >= *t) {
        Some((name, _)) => (name.to_string(), String::new()),
        None => (
            "fail".to_string(),
            format!(
                "perplexity {:.2}% above the reference's (the 99% tier allows 1.01%)",
                100.0 * (1.0 / quality_ratio - 1.0)
            ),
        ),
    };
    (quality_ratio, gate, reason)
}

/// Every derived figure of `rec`, from its samples, bytes and quality.
pub fn scores(rec: &Record) -> Scores {
    let (r, c) = (&rec.reference, &rec.candidate);
    let latency = paired(r, c, p90_token, true);
    let ttft = paired(r, c, |q| q.ttft_ms.unwrap_or(f64::NAN), true);
    // Every query makes the same tokens, so the rate ratio is the inverse time ratio.
    let tokens = rec.suite.decode_tokens as f64;
    let mut throughput = paired(r, c, |q| q.total_ms, true);
    throughput.reference = tokens * 1e3 / throughput.reference;
    throughput.candidate = tokens * 1e3 / throughput.candidate;
    let b = &rec.bytes;
    let (rb, cb) = (
        (b.reference_weights + b.reference_kv_cache) as f64,
        (b.candidate_weights + b.candidate_kv_cache) as f64,
    );
    let footprint = Event {
        ratio: rb / cb,
        ratio_min: rb / cb,
        ratio_max: rb / cb,
        reference: rb,
        candidate: cb,
        rounds: 1,
    };
    let all_round = [latency.ratio, ttft.ratio, throughput.ratio, footprint.ratio]
        .iter()
        .map(|&x| ln(x))
        .sum::<f64>()
        / 4.0;
    let (quality_ratio, gate, gate_reason) = gate(&rec.quality);
    Scores {
        latency,
        ttft,
        throughput,
        footprint,
        all_round: exp(all_round),
        quality_ratio,
        gate,
        gate_reason,
    }
}
