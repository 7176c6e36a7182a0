//! Benchmarking, the course's capstone: a versioned suite (`suite`), runs that
//! alternate the f32 reference with the candidate (`run`), submission records with raw
//! samples and a hash (`record`), statistics recomputed from the samples (`score`),
//! verification that recomputes quality to the bit (`verify`) and the leaderboard
//! built from verified records (`board`).

pub mod board;
pub mod record;
pub mod run;
pub mod score;
pub mod suite;
pub mod verify;

pub use record::{Division, Environment, Record};
pub use run::SuiteRun;
pub use suite::Suite;

use crate::error::Result;
use crate::model::Gpt;
use crate::quality;
use crate::recipe::Recipe;

/// What a record says about the models, besides timings.
pub struct Subject<'a> {
    pub reference: &'a Gpt,
    pub reference_model_sha256: String,
    /// The model the recipe was applied to (the reference itself in the closed division).
    pub candidate_model_sha256: String,
    pub candidate: &'a Gpt,
    pub recipe: Recipe,
}

/// Quality of `candidate` against `reference` on the suite's fixed set.
pub fn quality_of(suite: &Suite, reference: &Gpt, candidate: &Gpt) -> Result<record::Quality> {
    let seqs = suite.eval_set(reference)?;
    let a = quality::compare(reference, candidate, &seqs)?;
    Ok(record::Quality {
        kld: a.kld,
        top1_agreement: a.top1_agreement,
        nll_reference: quality::nll(reference, &seqs)?,
        nll_candidate: quality::nll(candidate, &seqs)?,
    })
}

/// Bytes as really held: weights in their storage formats, and the KV cache.
pub fn bytes_of(reference: &Gpt, candidate: &Gpt) -> record::Bytes {
    bytes_with_draft(reference, candidate, None)
}

/// `bytes_of`, the candidate's draft model (weights and its own KV cache) counted in.
pub fn bytes_with_draft(reference: &Gpt, candidate: &Gpt, draft: Option<&Gpt>) -> record::Bytes {
    let (dw, dkv) = draft.map_or((0, 0), |d| (d.weight_bytes(), d.kv_cache().bytes()));
    record::Bytes {
        reference_weights: reference.weight_bytes(),
        reference_kv_cache: reference.kv_cache().bytes(),
        candidate_weights: candidate.weight_bytes() + dw,
        candidate_kv_cache: candidate.kv_cache().bytes() + dkv,
    }
}

/// Seals a finished run into a record.
pub fn record(
    run: &SuiteRun,
    subject: &Subject,
    environment: Environment,
    handle: &str,
    timestamp: u64,
) -> Result<Record> {
    let recipe = subject.recipe.normalized()?;
    let division = if subject.candidate_model_sha256 == subject.reference_model_sha256 {
        Division::Closed
    } else {
        Division::Open
    };
    let rec = Record {
        schema: record::SCHEMA.into(),
        suite_sha256: run.suite.sha256(),
        suite: run.suite.clone(),
        division,
        recipe_id: recipe.id()?,
        recipe,
        reference_model_sha256: subject.reference_model_sha256.clone(),
        candidate_model_sha256: subject.candidate_model_sha256.clone(),
        build: record::Build::current(),
        environment,
        reference: run.reference_samples.clone(),
        candidate: run.candidate_samples.clone(),
        quality: quality_of(&run.suite, subject.reference, subject.candidate)?,
        bytes: bytes_with_draft(
            subject.reference,
            subject.candidate,
            run.draft().map(|(d, _)| d),
        ),
        tokens_sha256: run.tokens_sha256.clone().unwrap_or_default(),
        reference_tokens_sha256: run.reference_tokens_sha256.clone().unwrap_or_default(),
        scores: Default::default(),
        timestamp,
        handle: handle.chars().take(record::MAX_HANDLE_CHARS).collect(),
        record_sha256: String::new(),
    };
    Ok(rec.seal())
}

/// The smallest step of the clock, ms: the least positive difference between
/// successive readings over a few milliseconds.
pub fn timer_resolution_ms() -> f64 {
    let mut last = crate::clock::now_ms();
    let end = last + 5.0;
    let mut min = f64::INFINITY;
    while last < end {
        let t = crate::clock::now_ms();
        if t > last {
            min = min.min(t - last);
        }
        last = t;
    }
    min
}
