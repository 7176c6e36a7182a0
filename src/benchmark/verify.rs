//! Verification of a record: the seal, the suite, the recipe, every statistic
//! recomputed from the raw samples, the quality and the generated tokens recomputed to
//! the bit (the engine gives the same bits natively and in the browser), bytes, and
//! whether the speed claims are physically plausible. Optionally a native re-run.

use super::record::{Division, Record};
use super::run::query_with;
use super::suite::{sha256_hex, Suite};
use super::{bytes_with_draft, quality_of, score};
use crate::model::Gpt;
use crate::profile::flops;
use crate::quality;
use crate::recipe;
use serde::Serialize;

/// Physical bounds a claim must stay under, for one core: 2 FMA units × 16 f32 lanes ×
/// 2 FLOPs × 6 GHz ≈ 384 GFLOP/s of f32 arithmetic, and 400 GB/s of weight reads
/// (above any core's L2 bandwidth; one core here reads ~32 GB/s from L2).
pub const MAX_GFLOPS: f64 = 400.0;
pub const MAX_GBYTES_PER_S: f64 = 400.0;

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// "verified": every check passed, quality and tokens recomputed; "re-run": also timed
/// again here; "self-reported": the checks passed but quality could not be recomputed
/// (no model file); "failed": a check failed.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub record_sha256: String,
    pub handle: String,
    pub status: &'static str,
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Verdict {
    fn add(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok,
            detail: detail.into(),
        });
    }

    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }
}

/// Model files a verifier can use, with their sha256 (borrowed where the caller
/// already holds the model, as the page does).
pub struct ModelFile<'a> {
    pub sha256: String,
    pub model: std::borrow::Cow<'a, Gpt>,
}

/// Checks `rec` against the models in `models` (the reference and, for the open
/// division, the candidate's base model, found by sha256).
pub fn verify(rec: &Record, models: &[ModelFile]) -> Verdict {
    let mut v = Verdict {
        record_sha256: rec.record_sha256.clone(),
        handle: rec.handle.clone(),
        status: "self-reported",
        passed: false,
        checks: Vec::new(),
    };
    let hash = rec.compute_hash();
    v.add(
        "seal",
        hash == rec.record_sha256,
        if hash == rec.record_sha256 {
            "record_sha256 matches the record".to_string()
        } else {
            format!(
                "record_sha256 is {} but the record hashes to {hash}: it was edited",
                rec.record_sha256
            )
        },
    );
    match Suite::known(&rec.suite.version) {
        Ok(s) => {
            let same = s == rec.suite && rec.suite_sha256 == s.sha256();
            v.add(
                "suite",
                same,
                if same {
                    format!("{} as defined", s.version)
                } else {
                    "the suite's definition or hash differs from this build's".into()
                },
            );
        }
        Err(e) => v.add("suite", false, e.to_string()),
    }
    match rec.recipe.normalized() {
        Ok(r) => {
            let ok = r == rec.recipe && r.id().ok().as_deref() == Some(rec.recipe_id.as_str());
            v.add(
                "recipe",
                ok,
                if ok {
                    format!("canonical, id {}", rec.recipe_id)
                } else {
                    "the recipe is not canonical or its id does not match".into()
                },
            );
        }
        Err(e) => v.add("recipe", false, format!("invalid recipe: {e}")),
    }
    let division_ok = (rec.division == Division::Closed)
        == (rec.candidate_model_sha256 == rec.reference_model_sha256);
    v.add(
        "division",
        division_ok,
        if division_ok {
            format!("{:?}", rec.division).to_lowercase()
        } else {
            "closed records use the reference model itself; open records another model".into()
        },
    );
    let recomputed = score::scores(rec);
    let same = recomputed == rec.scores;
    v.add(
        "statistics",
        same,
        if same {
            "every score recomputes from the raw samples".to_string()
        } else {
            "the scores do not follow from the samples".into()
        },
    );
    let enough = rec.scores.latency.rounds >= rec.suite.rounds.min(rec.suite.max_rounds);
    v.add(
        "workload",
        enough,
        format!(
            "{} valid paired rounds (the suite asks for {})",
            rec.scores.latency.rounds, rec.suite.rounds
        ),
    );

    // Physical plausibility of the candidate's decode rate.
    let find = |sha: &str| models.iter().find(|m| m.sha256 == sha);
    let decode_tps = 1e3 / rec.scores.latency.candidate.max(1e-9);
    // The draft model a recipe names, found by its file's hash.
    let draft = match rec.recipe.spec.draft {
        crate::model::speculative::Draft::None => Some(None),
        crate::model::speculative::Draft::Student => {
            find(crate::model::speculative::STUDENT_SHA256)
                .map(|m| Some((&*m.model, rec.recipe.spec.tokens)))
        }
    };
    match (
        find(&rec.reference_model_sha256),
        find(&rec.candidate_model_sha256),
        draft,
    ) {
        (Some(reference), Some(base), Some(draft)) => {
            let calib = if rec.recipe.needs_calibration() {
                quality::calibration_for(&base.model, &rec.recipe.quant)
                    .ok()
                    .flatten()
            } else {
                None
            };
            match recipe::build(&base.model, &rec.recipe, calib.as_ref()) {
                Ok((cand, _)) => {
                    check_model(&mut v, rec, &reference.model, &cand, draft);
                    let fpt =
                        flops::token(&cand, rec.suite.prompt_len + rec.suite.decode_tokens / 2)
                            .total() as f64;
                    let gflops = fpt * decode_tps / 1e9;
                    let gbps = cand.weight_bytes() as f64 * decode_tps / 1e9;
                    let ok = gflops <= MAX_GFLOPS && gbps <= MAX_GBYTES_PER_S;
                    v.add("plausible", ok, format!("implies {gflops:.1} GFLOP/s and {gbps:.1} GB/s of weight reads (bounds {MAX_GFLOPS}, {MAX_GBYTES_PER_S})"));
                }
                Err(e) => v.add("rebuild", false, format!("the recipe does not build: {e}")),
            }
        }
        (r, c, _) => {
            let missing = if r.is_none() {
                &rec.reference_model_sha256
            } else if c.is_none() {
                &rec.candidate_model_sha256
            } else {
                crate::model::speculative::STUDENT_SHA256
            };
            v.add("models", true, format!("model {missing} not available here: quality and tokens not recomputed (self-reported)"));
        }
    }
    v.passed = v.checks.iter().all(|c| c.ok);
    if !v.passed {
        v.status = "failed";
    } else if v.checks.iter().any(|c| c.name == "quality") {
        v.status = "verified";
    }
    v
}

fn check_model(
    v: &mut Verdict,
    rec: &Record,
    reference: &Gpt,
    cand: &Gpt,
    draft: Option<(&Gpt, usize)>,
) {
    match quality_of(&rec.suite, reference, cand) {
        Ok(q) => {
            let same = q == rec.quality;
            v.add(
                "quality",
                same,
                if same {
                    format!(
                        "KL {:.6}, top-1 {:.4}, NLL {:.6} vs {:.6}: recomputed to the bit",
                        q.kld, q.top1_agreement, q.nll_candidate, q.nll_reference
                    )
                } else {
                    format!("claimed {:?}, recomputed {:?}", rec.quality, q)
                },
            );
        }
        Err(e) => v.add("quality", false, e.to_string()),
    }
    let b = bytes_with_draft(reference, cand, draft.map(|(d, _)| d));
    v.add(
        "bytes",
        b == rec.bytes,
        if b == rec.bytes {
            format!("{} weight bytes", b.candidate_weights)
        } else {
            format!("claimed {:?}, held {:?}", rec.bytes, b)
        },
    );
    let tokens = |m: &Gpt, draft: Option<(&Gpt, usize)>| -> Option<String> {
        let prompt = rec.suite.prompt(reference).ok()?;
        let (_, t) = query_with(m, draft, &prompt, &rec.suite).ok()?;
        Some(sha256_hex(
            &t.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        ))
    };
    let (ct, rt) = (tokens(cand, draft), tokens(reference, None));
    let ok = ct.as_deref() == Some(rec.tokens_sha256.as_str())
        && rt.as_deref() == Some(rec.reference_tokens_sha256.as_str());
    v.add(
        "tokens",
        ok,
        if ok {
            "the greedy tokens hash the same here".to_string()
        } else {
            "the generated tokens differ from the claimed ones".into()
        },
    );
}

/// Re-runs the record's suite here with the same models and returns the measured
/// all-round ratio and latency ratio next to the claimed ones.
/// `draft`: the recipe's draft model, if it names one.
pub fn rerun(
    rec: &Record,
    reference: &Gpt,
    cand: &Gpt,
    draft: Option<&Gpt>,
) -> crate::Result<(f64, f64)> {
    let mut run = super::SuiteRun::new(rec.suite.clone(), reference, cand)?;
    if let (Some(d), Some(k)) = (draft, rec.recipe.spec.k()) {
        run.set_draft(d.clone(), k);
    }
    while !run.done() {
        run.step(reference, cand)?;
    }
    let subject = super::Subject {
        reference,
        reference_model_sha256: rec.reference_model_sha256.clone(),
        candidate_model_sha256: rec.candidate_model_sha256.clone(),
        candidate: cand,
        recipe: rec.recipe,
    };
    let mine = super::record(&run, &subject, Default::default(), "rerun", 0)?;
    Ok((mine.scores.all_round, mine.scores.latency.ratio))
}
