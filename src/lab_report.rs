//! The course's lab report: a student's predictions, the figures they measured (with
//! their spread), checkpoint answers and the environment, sealed by a sha256 over its
//! canonical JSON like a submission record, so an instructor can check it natively.
//!
//! Verification recomputes the figures the engine's deterministic parts give (quality,
//! bytes, FLOPs) to the bit on the model the report names, and bounds the measured ones
//! (speeds, times) by what a machine can physically do.

use crate::benchmark::suite::sha256_hex;
use crate::benchmark::verify::{Check, ModelFile, Verdict, MAX_GBYTES_PER_S, MAX_GFLOPS};
use crate::error::{input_err, Result};
use crate::kernels::Kernel;
use crate::model::Gpt;
use crate::profile::flops;
use crate::quality;
use crate::recipe::{self, Recipe};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The report format's name and version; a reader refuses other versions.
pub const SCHEMA: &str = "tinyopt-lab-report/1";
/// Bounds a report must respect, so a hostile file cannot make a reader allocate much
/// or print pages of text. A full course is 6 lessons of at most 7 steps.
pub const MAX_REPORT_BYTES: usize = 1 << 20;
pub const MAX_LESSONS: usize = 32;
pub const MAX_STEPS: usize = 200;
pub const MAX_FIGURES: usize = 32;
pub const MAX_FEATURES: usize = 64;
pub const MAX_SAMPLES: u32 = 100_000;
pub const MAX_STUDENT_CHARS: usize = crate::benchmark::record::MAX_HANDLE_CHARS;
/// Ids, names, units, the browser's name.
pub const MAX_SHORT_CHARS: usize = 200;
/// Questions, answers, labels, explanations of the build.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// A measured time above an hour is no lab step.
pub const MAX_MS: f64 = 3.6e6;

/// Figures with a deterministic meaning: recomputed from the recipe, to the bit.
pub const DETERMINISTIC: [&str; 5] = [
    "kld",
    "top1_agreement",
    "weight_bytes",
    "flops_per_token",
    "kv_cache_bytes",
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    /// As the page's environment note shows it.
    pub browser: String,
    pub engine_build: String,
    pub build_why: String,
    pub cross_origin_isolated: bool,
    /// "server", "worker" or "".
    pub isolated_by: String,
    /// Measured timer resolution, ms.
    pub timer_ms: Option<f64>,
    pub threads: Option<u32>,
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// "number" or "choice".
    pub kind: String,
    /// What was entered or picked, as text.
    pub value: String,
    pub number: Option<f64>,
    #[serde(default)]
    pub unit: String,
    /// The entry was out of the step's range and clamped (the page said so).
    #[serde(default)]
    pub clamped: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub name: String,
    pub label: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: u32,
    /// The recipe the figure was measured on; none: the model as loaded.
    pub recipe: Option<Recipe>,
    pub recipe_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub question: String,
    pub answer: String,
    pub correct: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub lesson: String,
    /// The step's id in its lesson file.
    pub step: String,
    pub question: String,
    pub prediction: Option<Prediction>,
    pub figures: Vec<Figure>,
    pub checkpoint: Option<Checkpoint>,
    /// Seconds since 1970-01-01 UTC.
    pub completed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabReport {
    /// Filled in by the sealer when a draft leaves it out.
    #[serde(default)]
    pub schema: String,
    /// The course order the student followed (`?course=`).
    pub course: String,
    /// Lesson ids covered, in the order taken.
    pub lessons: Vec<String>,
    /// A handle the student typed (shown as text, never markup).
    pub student: String,
    /// Seconds since 1970-01-01 UTC.
    pub timestamp: u64,
    pub env: Env,
    /// The model picker's id.
    pub model: String,
    /// sha256 of the model file the figures were measured on (set by the sealer).
    #[serde(default)]
    pub model_sha256: String,
    pub steps: Vec<Step>,
    /// sha256 of the canonical JSON with this field empty.
    #[serde(default)]
    pub report_sha256: String,
}

impl LabReport {
    /// The hash over the canonical JSON (serde struct order, this field empty).
    pub fn compute_hash(&self) -> String {
        let mut r = self.clone();
        r.report_sha256 = String::new();
        // Every f64 came from JSON or from the engine: finite, so serialising cannot fail.
        sha256_hex(
            serde_json::to_string(&r)
                .expect("a report serialises")
                .as_bytes(),
        )
    }

    /// Fills in the hash.
    pub fn seal(mut self) -> LabReport {
        self.report_sha256 = self.compute_hash();
        self
    }

    /// Parses a sealed report from untrusted bytes: size, schema, shape and bounds are
    /// checked here, with messages that say what is wrong (never a panic).
    pub fn parse(bytes: &[u8]) -> Result<LabReport> {
        let r = Self::read(bytes)?;
        if r.schema != SCHEMA {
            return Err(input_err(format!(
                "report schema {:?} is not {SCHEMA:?} (a newer tinyopt wrote it?)",
                r.schema
            )));
        }
        Ok(r)
    }

    /// Reads a report or a draft (schema, model hash and seal may be missing).
    fn read(bytes: &[u8]) -> Result<LabReport> {
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(input_err(format!(
                "report is {} bytes; lab reports are at most {} MiB",
                bytes.len(),
                MAX_REPORT_BYTES >> 20
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| input_err(format!("not a JSON lab report: {e}")))?;
        match v.get("schema") {
            None => {}
            Some(serde_json::Value::String(s)) if s == SCHEMA => {}
            Some(other) => {
                return Err(input_err(format!(
                    "report schema {other} is not {SCHEMA:?} (a newer tinyopt wrote it?)"
                )))
            }
        }
        let r: LabReport = serde_json::from_value(v)
            .map_err(|e| input_err(format!("malformed lab report: {e}")))?;
        r.check_bounds()?;
        Ok(r)
    }

    fn check_bounds(&self) -> Result<()> {
        let count = |what: &str, n: usize, max: usize| {
            if n > max {
                Err(input_err(format!("{n} {what}; a report has at most {max}")))
            } else {
                Ok(())
            }
        };
        count("lessons", self.lessons.len(), MAX_LESSONS)?;
        count("steps", self.steps.len(), MAX_STEPS)?;
        count("features", self.env.features.len(), MAX_FEATURES)?;
        text("student", &self.student, MAX_STUDENT_CHARS, false)?;
        for (what, s) in [
            ("course", &self.course),
            ("model", &self.model),
            ("model_sha256", &self.model_sha256),
            ("report_sha256", &self.report_sha256),
            ("env.browser", &self.env.browser),
            ("env.engine_build", &self.env.engine_build),
            ("env.isolated_by", &self.env.isolated_by),
        ] {
            text(what, s, MAX_SHORT_CHARS, false)?;
        }
        text("env.build_why", &self.env.build_why, MAX_TEXT_CHARS, true)?;
        for (i, l) in self.lessons.iter().enumerate() {
            text(&format!("lessons[{i}]"), l, MAX_SHORT_CHARS, false)?;
        }
        for k in self.env.features.keys() {
            text("a feature name", k, MAX_SHORT_CHARS, false)?;
        }
        if let Some(t) = self.env.timer_ms {
            if t < 0.0 {
                return Err(input_err("env.timer_ms must not be negative"));
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            let at = |f: &str| format!("steps[{i}].{f}");
            text(&at("lesson"), &s.lesson, MAX_SHORT_CHARS, false)?;
            text(&at("step"), &s.step, MAX_SHORT_CHARS, false)?;
            text(&at("question"), &s.question, MAX_TEXT_CHARS, true)?;
            count(&at("figures"), s.figures.len(), MAX_FIGURES)?;
            if let Some(p) = &s.prediction {
                if p.kind != "number" && p.kind != "choice" {
                    return Err(input_err(format!(
                        "{}: {:?} is not \"number\" or \"choice\"",
                        at("prediction.kind"),
                        p.kind
                    )));
                }
                text(&at("prediction.value"), &p.value, MAX_TEXT_CHARS, true)?;
                text(&at("prediction.unit"), &p.unit, MAX_SHORT_CHARS, false)?;
            }
            if let Some(c) = &s.checkpoint {
                text(
                    &at("checkpoint.question"),
                    &c.question,
                    MAX_TEXT_CHARS,
                    true,
                )?;
                text(&at("checkpoint.answer"), &c.answer, MAX_TEXT_CHARS, true)?;
            }
            for (j, f) in s.figures.iter().enumerate() {
                let at = |x: &str| format!("steps[{i}].figures[{j}].{x}");
                text(&at("name"), &f.name, MAX_SHORT_CHARS, false)?;
                text(&at("label"), &f.label, MAX_TEXT_CHARS, false)?;
                text(&at("unit"), &f.unit, MAX_SHORT_CHARS, false)?;
                if let Some(id) = &f.recipe_id {
                    text(&at("recipe_id"), id, MAX_SHORT_CHARS, false)?;
                }
                if f.n > MAX_SAMPLES {
                    return Err(input_err(format!(
                        "{}: {} samples; at most {MAX_SAMPLES}",
                        at("n"),
                        f.n
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A text field within `max` characters, with no control characters (newlines and
/// tabs allowed in prose).
fn text(what: &str, s: &str, max: usize, prose: bool) -> Result<()> {
    let n = s.chars().count();
    if n > max {
        return Err(input_err(format!(
            "{what} is {n} characters; at most {max}"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !(prose && (c == '\n' || c == '\t')))
    {
        return Err(input_err(format!("{what} holds control characters")));
    }
    Ok(())
}

/// Seals a draft the page made (untrusted JSON): the schema is set, `model_sha256` is
/// the loaded model file's (the draft's value is ignored), each recipe is normalised
/// and its id filled in (a draft's id that disagrees with its recipe is an error).
pub fn seal_draft(draft: &[u8], model_sha256: &str) -> Result<LabReport> {
    let mut r = LabReport::read(draft)?;
    r.schema = SCHEMA.into();
    r.model_sha256 = model_sha256.into();
    for s in &mut r.steps {
        for f in &mut s.figures {
            let Some(recipe) = f.recipe else {
                if f.recipe_id.is_some() {
                    return Err(input_err(format!(
                        "figure {:?} of step {:?} has a recipe_id but no recipe",
                        f.name, s.step
                    )));
                }
                continue;
            };
            let recipe = recipe.normalized()?;
            let id = recipe.id()?;
            if f.recipe_id.as_ref().is_some_and(|given| *given != id) {
                return Err(input_err(format!(
                    "figure {:?} of step {:?}: recipe_id {:?} is not its recipe's id {id}",
                    f.name,
                    s.step,
                    f.recipe_id.as_deref().unwrap_or_default()
                )));
            }
            f.recipe = Some(recipe);
            f.recipe_id = Some(id);
        }
    }
    Ok(r.seal())
}

/// The model a figure's recipe gives (built once per recipe), and the eval set.
struct Rebuilt<'a> {
    base: &'a Gpt,
    eval: Option<Vec<Vec<u32>>>,
    models: Vec<(Recipe, Gpt)>,
}

impl Rebuilt<'_> {
    /// The recipe's model. The relaxed kernel runs only in its wasm build; its weights
    /// are the SIMD kernel's, so sizes and FLOPs are read off that one.
    fn model(&mut self, r: &Recipe) -> Result<&Gpt> {
        let i = self.index(r)?;
        Ok(&self.models[i].1)
    }

    fn index(&mut self, r: &Recipe) -> Result<usize> {
        let mut r = *r;
        if r.kernel == Kernel::Relaxed {
            r.kernel = Kernel::Simd;
        }
        if let Some(i) = self.models.iter().position(|(k, _)| *k == r) {
            return Ok(i);
        }
        let calib = quality::calibration_for(self.base, &r.quant)?;
        let (m, _) = recipe::build(self.base, &r, calib.as_ref())?;
        self.models.push((r, m));
        Ok(self.models.len() - 1)
    }

    /// KL and top-1 exactly as the page's recipe report measures them.
    fn agreement(&mut self, r: &Recipe) -> Result<quality::Agreement> {
        if self.eval.is_none() && !r.is_identity() {
            self.eval = Some(quality::fixed_eval_set(self.base)?);
        }
        let i = self.index(r)?;
        let seqs = self.eval.as_deref().unwrap_or_default();
        quality::recipe_agreement(self.base, &self.models[i].1, r, seqs)
    }
}

/// Checks `rep` against the model files in `models` (found by the report's
/// `model_sha256`): seal, recipes, deterministic figures to the bit, the others for
/// plausibility. Never panics on a parsed report.
pub fn verify(rep: &LabReport, models: &[ModelFile]) -> Verdict {
    let mut v = Verdict {
        record_sha256: rep.report_sha256.clone(),
        handle: rep.student.clone(),
        status: "failed",
        passed: false,
        checks: Vec::new(),
    };
    let hash = rep.compute_hash();
    let sealed = hash == rep.report_sha256;
    v.checks.push(Check {
        name: "seal",
        ok: sealed,
        detail: if sealed {
            "report_sha256 matches the report".into()
        } else {
            let claimed = if rep.report_sha256.is_empty() {
                "empty"
            } else {
                &rep.report_sha256
            };
            format!("report_sha256 is {claimed} but the report hashes to {hash}: it was edited")
        },
    });
    let schema_ok = rep.schema == SCHEMA;
    v.checks.push(Check {
        name: "schema",
        ok: schema_ok,
        detail: if schema_ok {
            format!("{SCHEMA}, {} within bounds", count(rep.steps.len(), "step"))
        } else {
            format!("schema {:?} is not {SCHEMA:?}", rep.schema)
        },
    });
    v.checks.push(recipes_check(rep));
    let unlisted = rep.steps.iter().find(|s| !rep.lessons.contains(&s.lesson));
    v.checks.push(Check {
        name: "lessons",
        ok: unlisted.is_none(),
        detail: match unlisted {
            None => format!(
                "{}: {}",
                count(rep.lessons.len(), "lesson"),
                rep.lessons.join(", ")
            ),
            Some(s) => format!(
                "step {:?} is of lesson {:?}, which the report does not list",
                s.step, s.lesson
            ),
        },
    });
    match models.iter().find(|m| m.sha256 == rep.model_sha256) {
        None => v.checks.push(Check {
            name: "model",
            ok: false,
            detail: format!(
                "model {:?} ({}) is not among the model files here: its figures cannot be recomputed",
                rep.model, rep.model_sha256
            ),
        }),
        Some(m) => {
            v.checks.push(Check {
                name: "model",
                ok: true,
                detail: format!("{} ({})", rep.model, rep.model_sha256),
            });
            let mut rebuilt = Rebuilt {
                base: &m.model,
                eval: None,
                models: Vec::new(),
            };
            v.checks.push(recompute_check(rep, &mut rebuilt));
            v.checks.push(plausible_check(rep, &mut rebuilt));
        }
    }
    v.passed = v.checks.iter().all(|c| c.ok);
    if v.passed {
        v.status = "verified";
    }
    v
}

/// "1 step", "3 steps".
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn recipes_check(rep: &LabReport) -> Check {
    let mut n = 0;
    for s in &rep.steps {
        for f in &s.figures {
            let problem = match (&f.recipe, &f.recipe_id) {
                (None, None) => None,
                (Some(r), Some(id)) => match r.normalized() {
                    Ok(norm) if norm != *r => Some("its recipe is not canonical".to_string()),
                    Ok(norm) if norm.id().ok().as_ref() != Some(id) => Some(format!(
                        "recipe_id {id:?} is not its recipe's id {}",
                        norm.id().unwrap_or_default()
                    )),
                    Ok(_) => None,
                    Err(e) => Some(format!("invalid recipe: {e}")),
                },
                _ => Some("a recipe and its recipe_id come together".into()),
            };
            if let Some(p) = problem {
                return Check {
                    name: "recipes",
                    ok: false,
                    detail: format!("step {:?}, figure {:?}: {p}", s.step, f.name),
                };
            }
            n += f.recipe.is_some() as usize;
        }
    }
    Check {
        name: "recipes",
        ok: true,
        detail: format!("canonical recipes with their ids: {}", count(n, "figure")),
    }
}

/// A figure's recipe, or the identity (the model as loaded) when it names none.
fn recipe_of(f: &Figure) -> Recipe {
    f.recipe.unwrap_or_default()
}

fn recompute_check(rep: &LabReport, rebuilt: &mut Rebuilt) -> Check {
    let mut n = 0;
    let mut notes = Vec::new();
    for s in &rep.steps {
        for f in s
            .figures
            .iter()
            .filter(|f| DETERMINISTIC.contains(&f.name.as_str()))
        {
            let fail = |why: String| Check {
                name: "recompute",
                ok: false,
                detail: format!("step {:?}, figure {:?}: {why}", s.step, f.name),
            };
            if f.median.to_bits() != f.min.to_bits()
                || f.median.to_bits() != f.max.to_bits()
                || f.n != 1
            {
                return fail(
                    "a deterministic figure has one value (median = min = max, n = 1)".into(),
                );
            }
            let r = recipe_of(f);
            let claimed = f.median;
            let ok = match f.name.as_str() {
                "kld" | "top1_agreement" if r.kernel == Kernel::Relaxed => {
                    // Fused multiply-adds give other bits per CPU: bounded, not recomputed.
                    notes.push(format!("{} (relaxed kernel) bounded only", f.name));
                    let hi = if f.name == "kld" { f64::MAX } else { 1.0 };
                    (0.0..=hi).contains(&claimed)
                }
                "kld" | "top1_agreement" => match rebuilt.agreement(&r) {
                    Ok(a) => {
                        let value = if f.name == "kld" {
                            a.kld
                        } else {
                            a.top1_agreement
                        };
                        if value.to_bits() != claimed.to_bits() {
                            return fail(format!("claimed {claimed:?}, recomputed {value:?}"));
                        }
                        true
                    }
                    Err(e) => return fail(format!("the recipe does not build: {e}")),
                },
                name => match rebuilt.model(&r) {
                    Err(e) => return fail(format!("the recipe does not build: {e}")),
                    Ok(m) => {
                        let allowed = deterministic_values(name, m);
                        if !allowed.contains(&claimed) {
                            return fail(format!(
                                "claimed {claimed}, the engine gives {}",
                                join_values(&allowed)
                            ));
                        }
                        true
                    }
                },
            };
            if !ok {
                return fail(format!("{claimed} is out of range"));
            }
            n += 1;
        }
    }
    Check {
        name: "recompute",
        ok: true,
        detail: if notes.is_empty() {
            format!("{} recomputed to the bit", count(n, "deterministic figure"))
        } else {
            format!(
                "{} recomputed to the bit ({})",
                count(n, "deterministic figure"),
                notes.join("; ")
            )
        },
    }
}

/// What a size or count figure may be for model `m`: the weights' bytes; the KV
/// cache's bytes (or 0 with the cache off); the FLOPs of a decode step at any position.
fn deterministic_values(name: &str, m: &Gpt) -> Vec<f64> {
    match name {
        "weight_bytes" => vec![m.weight_bytes() as f64],
        "kv_cache_bytes" => vec![0.0, m.kv_cache().bytes() as f64],
        "flops_per_token" => (0..m.cfg.ctx)
            .map(|p| flops::per_token(m, p) as f64)
            .collect(),
        _ => Vec::new(),
    }
}

fn join_values(v: &[f64]) -> String {
    match v {
        [] => "nothing".into(),
        [x] => format!("{x}"),
        [x, y] => format!("{x} or {y}"),
        [first, .., last] => format!("{first}..{last} (by position)"),
    }
}

fn plausible_check(rep: &LabReport, rebuilt: &mut Rebuilt) -> Check {
    let mut n = 0;
    for s in &rep.steps {
        for f in s
            .figures
            .iter()
            .filter(|f| !DETERMINISTIC.contains(&f.name.as_str()))
        {
            if let Err(why) = plausible(f, rebuilt) {
                return Check {
                    name: "plausible",
                    ok: false,
                    detail: format!("step {:?}, figure {:?}: {why}", s.step, f.name),
                };
            }
            n += 1;
        }
    }
    Check {
        name: "plausible",
        ok: true,
        detail: format!(
            "{} ordered (min <= median <= max) and physically plausible \
             (bounds {MAX_GFLOPS} GFLOP/s, {MAX_GBYTES_PER_S} GB/s of weight reads)",
            count(n, "measured figure")
        ),
    }
}

/// Whether a measured figure is one a machine could have given.
fn plausible(f: &Figure, rebuilt: &mut Rebuilt) -> std::result::Result<(), String> {
    if !(f.min <= f.median && f.median <= f.max) {
        return Err(format!(
            "min {} <= median {} <= max {} does not hold",
            f.min, f.median, f.max
        ));
    }
    if f.n == 0 {
        return Err("no samples (n = 0)".into());
    }
    let unit = f.unit.trim();
    let is_time = f.name.ends_with("_ms") || unit == "ms";
    if is_time && !(f.min >= 0.0 && f.max <= MAX_MS) {
        return Err(format!("times must lie in 0..={MAX_MS} ms"));
    }
    if f.name == "tokens_per_s" || unit == "tokens/s" {
        if f.min <= 0.0 {
            return Err("a rate must be positive".into());
        }
        let m = rebuilt
            .model(&recipe_of(f))
            .map_err(|e| format!("the recipe does not build: {e}"))?;
        // The cheapest step (position 0) gives the most lenient bound.
        let gflops = flops::per_token(m, 0) as f64 * f.max / 1e9;
        let gbps = m.weight_bytes() as f64 * f.max / 1e9;
        if gflops > MAX_GFLOPS || gbps > MAX_GBYTES_PER_S {
            return Err(format!(
                "{} tokens/s implies {gflops:.1} GFLOP/s and {gbps:.1} GB/s of weight reads \
                 (bounds {MAX_GFLOPS}, {MAX_GBYTES_PER_S})",
                f.max
            ));
        }
    }
    if unit == "GFLOP/s" && f.max > MAX_GFLOPS {
        return Err(format!("{} GFLOP/s is above {MAX_GFLOPS}", f.max));
    }
    Ok(())
}
