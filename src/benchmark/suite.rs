//! The benchmark suite: a fixed, versioned workload. Everything that decides what is
//! measured is in `Suite`; its canonical JSON is hashed into every record, so two
//! records compare only if they ran the same suite.

use crate::error::{input_err, Result};
use crate::model::Gpt;
use crate::quality;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name and version, e.g. `tinymlperf-v1`.
    pub version: String,
    /// Prompt tokens for time-to-first-token, sampled from the reference model.
    pub prompt_len: usize,
    pub prompt_seed: u64,
    /// New tokens per query, greedy (so outputs are comparable across runs and faces).
    pub decode_tokens: usize,
    /// Untimed queries per configuration before measuring.
    pub warmup: usize,
    /// Measured queries per configuration: at least `rounds`, more until both
    /// configurations have `min_duration_ms` of measured time, at most `max_rounds`.
    pub rounds: usize,
    pub min_duration_ms: f64,
    pub max_rounds: usize,
    /// The fixed quality set: sequences sampled from the reference model.
    pub eval_seqs: usize,
    pub eval_len: usize,
    pub eval_seed: u64,
}

/// The quality gate's two tiers (as MLPerf's 99 % and 99.9 %): the candidate's
/// perplexity on the fixed evaluation set must be within 1 % (0.1 %) of the reference's,
/// i.e. `ppl_reference / ppl_candidate >= 0.99 (0.999)`.
pub const TIERS: [(&str, f64); 2] = [("99.9%", 0.999), ("99%", 0.99)];

impl Suite {
    /// The course's suite.
    pub fn v1() -> Suite {
        Suite {
            version: "tinymlperf-v1".into(),
            prompt_len: 64,
            prompt_seed: 3_000,
            decode_tokens: 128,
            warmup: 1,
            rounds: 7,
            min_duration_ms: 2_000.0,
            max_rounds: 31,
            eval_seqs: quality::EVAL_SEQS,
            eval_len: quality::EVAL_LEN,
            eval_seed: quality::EVAL_SEED,
        }
    }

    /// A short workload for tests and demos (records say so: another version).
    pub fn quick() -> Suite {
        Suite {
            version: "tinymlperf-v1-quick".into(),
            prompt_len: 16,
            decode_tokens: 16,
            rounds: 3,
            min_duration_ms: 0.0,
            max_rounds: 3,
            eval_seqs: 2,
            eval_len: 32,
            ..Suite::v1()
        }
    }

    /// The suites a verifier knows, by version.
    pub fn known(version: &str) -> Result<Suite> {
        [Suite::v1(), Suite::quick()]
            .into_iter()
            .find(|s| s.version == version)
            .ok_or_else(|| {
                input_err(format!(
                    "unknown suite {version:?}; this build knows tinymlperf-v1 and tinymlperf-v1-quick"
                ))
            })
    }

    /// sha256 of the canonical JSON (hex).
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(
            serde_json::to_string(self).expect("a suite serialises"),
        ))
    }

    /// The TTFT prompt: `prompt_len` tokens sampled from the reference (seeded).
    pub fn prompt(&self, reference: &Gpt) -> Result<String> {
        let seq = quality::eval_set(reference, 1, self.prompt_len, self.prompt_seed)?;
        Ok(reference.tokenizer.decode(&seq[0]))
    }

    /// The fixed quality set.
    pub fn eval_set(&self, reference: &Gpt) -> Result<Vec<Vec<u32>>> {
        quality::eval_set(reference, self.eval_seqs, self.eval_len, self.eval_seed)
    }

    /// Checks that the workload fits the model's context window.
    pub fn check(&self, m: &Gpt) -> Result<()> {
        if self.prompt_len + self.decode_tokens > m.cfg.ctx {
            return Err(input_err(format!(
                "suite {}: a {}-token prompt plus {} new tokens does not fit the model's {}-token context",
                self.version, self.prompt_len, self.decode_tokens, m.cfg.ctx
            )));
        }
        Ok(())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 (hex) of bytes: model files, generated tokens.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
