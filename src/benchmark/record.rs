//! The submission record: everything needed to recompute every figure (raw samples of
//! both configurations, the recipe, the model's and the suite's hashes, the build and the
//! environment), sealed by a sha256 over its canonical JSON.

use super::score::{self, Scores};
use super::suite::{hex, Suite};
use crate::error::{input_err, Result};
use crate::recipe::Recipe;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The record format's name and version; a reader refuses other versions.
pub const SCHEMA: &str = "tinyopt-submission/1";
/// Bounds a record must respect (a hostile file cannot make a reader allocate much).
pub const MAX_RECORD_BYTES: usize = 8 << 20;
pub const MAX_ROUNDS: usize = 1_000;
pub const MAX_TOKENS_PER_QUERY: usize = 4_096;
pub const MAX_HANDLE_CHARS: usize = 40;

/// One query's timings, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Prefill of the prompt plus the first token.
    pub ttft_ms: Option<f64>,
    /// Every later decode step.
    pub token_ms: Vec<f64>,
    /// Wall time of the whole query.
    pub total_ms: f64,
    /// Disturbed (the tab was hidden): kept for the record, skipped by the statistics.
    #[serde(default)]
    pub invalid: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSamples {
    pub queries: Vec<Query>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Division {
    /// The shipped model plus post-training transforms (precision, pruning, kernels).
    Closed,
    /// Any model file (fine-tuned, distilled, retrained), judged against the same reference.
    Open,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub crate_version: String,
    pub git_commit: String,
}

impl Build {
    /// This binary's build (the commit is baked in by build.rs).
    pub fn current() -> Build {
        Build {
            crate_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: env!("TINYOPT_GIT_COMMIT").into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `page` or `cli`.
    pub face: String,
    /// Browser and version (user agent), or OS and CPU.
    pub platform: String,
    pub cross_origin_isolated: bool,
    /// The smallest step of the clock, measured at run time, ms.
    pub timer_resolution_ms: f64,
    /// SIMD the engine used, e.g. `simd128` or `avx2,avx512f`.
    pub simd: String,
}

/// Quality against the reference on the suite's fixed evaluation set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quality {
    pub kld: f64,
    pub top1_agreement: f64,
    pub nll_reference: f64,
    pub nll_candidate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bytes {
    pub reference_weights: usize,
    pub reference_kv_cache: usize,
    pub candidate_weights: usize,
    pub candidate_kv_cache: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub schema: String,
    pub suite: Suite,
    pub suite_sha256: String,
    pub division: Division,
    pub recipe: Recipe,
    pub recipe_id: String,
    pub reference_model_sha256: String,
    pub candidate_model_sha256: String,
    pub build: Build,
    pub environment: Environment,
    pub reference: ConfigSamples,
    pub candidate: ConfigSamples,
    pub quality: Quality,
    pub bytes: Bytes,
    /// sha256 of the candidate's (and the reference's) greedy tokens, u32 LE.
    pub tokens_sha256: String,
    pub reference_tokens_sha256: String,
    /// Derived from the samples (a verifier recomputes them).
    pub scores: Scores,
    /// Seconds since 1970-01-01 UTC.
    pub timestamp: u64,
    pub handle: String,
    /// sha256 of the canonical JSON with this field empty.
    pub record_sha256: String,
}

impl Record {
    /// The hash over the canonical JSON (field order fixed, this field empty).
    pub fn compute_hash(&self) -> String {
        let mut r = self.clone();
        r.record_sha256 = String::new();
        hex(&Sha256::digest(
            serde_json::to_string(&r).expect("a record serialises"),
        ))
    }

    /// Fills in the derived scores and the hash.
    pub fn seal(mut self) -> Record {
        self.scores = score::scores(&self);
        self.record_sha256 = self.compute_hash();
        self
    }

    /// Parses a record from untrusted bytes: size, schema version, bounds and handle are
    /// checked here, with messages that say what is wrong (never a panic).
    pub fn parse(bytes: &[u8]) -> Result<Record> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(input_err(format!(
                "record is {} bytes; records are at most {} MiB",
                bytes.len(),
                MAX_RECORD_BYTES >> 20
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| input_err(format!("not a JSON record: {e}")))?;
        match v.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(input_err(format!(
                    "record schema {other:?} is not {SCHEMA:?} (a newer tinyopt wrote it?)"
                )))
            }
            None => return Err(input_err("not a submission record: no \"schema\" field")),
        }
        let r: Record =
            serde_json::from_value(v).map_err(|e| input_err(format!("malformed record: {e}")))?;
        r.check_bounds()?;
        Ok(r)
    }

    fn check_bounds(&self) -> Result<()> {
        for (name, c) in [
            ("reference", &self.reference),
            ("candidate", &self.candidate),
        ] {
            if c.queries.len() > MAX_ROUNDS {
                return Err(input_err(format!(
                    "{name}: {} queries; at most {MAX_ROUNDS}",
                    c.queries.len()
                )));
            }
            for q in &c.queries {
                if q.token_ms.len() > MAX_TOKENS_PER_QUERY {
                    return Err(input_err(format!(
                        "{name}: a query with {} token timings; at most {MAX_TOKENS_PER_QUERY}",
                        q.token_ms.len()
                    )));
                }
                let ok = |x: f64| x.is_finite() && x >= 0.0;
                if !ok(q.total_ms)
                    || !q.ttft_ms.is_none_or(ok)
                    || !q.token_ms.iter().all(|&x| ok(x))
                {
                    return Err(input_err(format!(
                        "{name}: timings must be finite and non-negative"
                    )));
                }
            }
        }
        if self.handle.chars().count() > MAX_HANDLE_CHARS
            || self.handle.chars().any(char::is_control)
        {
            return Err(input_err(format!(
                "handle must be at most {MAX_HANDLE_CHARS} characters with no control characters"
            )));
        }
        Ok(())
    }
}
