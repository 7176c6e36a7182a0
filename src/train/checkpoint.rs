//! Checkpoint bytes: everything a run needs to continue bit-for-bit.
//!
//! Layout: the 8-byte magic `TOCKPT01`, a u64 little-endian header length, a JSON
//! header (`Header`), then three f32 little-endian arrays of `n_params` each: the
//! parameters, AdamW's first moments, AdamW's second moments.

use super::TrainOptions;
use crate::error::{input_err, Result};
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"TOCKPT01";

/// The small facts of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub opts: TrainOptions,
    pub vocab: String,
    /// Fingerprint of the corpus tokens; resuming on another corpus is refused.
    pub corpus_fingerprint: u64,
    /// Steps completed.
    pub step: usize,
    /// The batch sampler's RNG state after `step` steps.
    pub rng_state: u64,
    pub tokens_seen: u64,
    /// Wall time spent training so far, across resumes.
    pub elapsed_ms: f64,
    pub n_params: usize,
    /// A distillation run's teacher and settings; absent for plain training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<DistillRecord>,
}

/// What a distillation checkpoint must resume with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistillRecord {
    /// sha256 of the teacher's model file.
    pub teacher_sha256: String,
    pub temperature: f32,
    pub alpha: f32,
}

/// Serialises a checkpoint.
pub fn encode(h: &Header, params: &[f32], m: &[f32], v: &[f32]) -> Vec<u8> {
    let json = serde_json::to_vec(h).expect("header serialises");
    let mut out = Vec::with_capacity(16 + json.len() + 12 * params.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for buf in [params, m, v] {
        for x in buf {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// A decoded checkpoint.
pub struct Decoded {
    pub header: Header,
    pub params: Vec<f32>, // (n_params)
    pub m: Vec<f32>,      // (n_params)
    pub v: Vec<f32>,      // (n_params)
}

/// Parses a checkpoint, checking the magic and every length.
pub fn decode(bytes: &[u8]) -> Result<Decoded> {
    let bad = |why: &str| input_err(format!("not a usable tinyopt checkpoint: {why}"));
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("wrong magic bytes"));
    }
    let hlen = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let body = &bytes[16..];
    if hlen > body.len() {
        return Err(bad("truncated header"));
    }
    let h: Header =
        serde_json::from_slice(&body[..hlen]).map_err(|e| bad(&format!("bad header ({e})")))?;
    let data = &body[hlen..];
    if data.len() != 12 * h.n_params {
        return Err(bad("truncated or oversized tensor data"));
    }
    let read = |k: usize| -> Vec<f32> {
        data[4 * k * h.n_params..4 * (k + 1) * h.n_params]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    Ok(Decoded {
        params: read(0),
        m: read(1),
        v: read(2),
        header: h,
    })
}
