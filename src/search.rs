//! The search for the cheapest recipe that passes the benchmark's quality gate
//! (`benchmark::score::gate`: perplexity ratio ppl_ref / ppl_cand on the suite's fixed
//! set). Every candidate is built and measured for real.
//!
//! Procedure (fixed, so a run can be repeated):
//! 1. Start from an all-int4 GPTQ model (act-order, groups of 32).
//! 2. Sensitivity ranking: each matrix group alone at int4 GPTQ (the rest f32); its
//!    loss is 1 − its perplexity ratio.
//! 3. Greedy: while the current recipe fails the gate, raise the most sensitive group
//!    still at int4 to int8 (GPTQ).
//! 4. Local moves, until none helps: lower a group back from int8 to int4; try int4
//!    groups of 64 and 128. A move is kept when the recipe still passes and costs less
//!    (bytes, or time per token for `--objective latency`).
//!
//! The winner is the cheapest passing candidate of all those measured.

use crate::benchmark::{quality_of, score, Suite};
use crate::error::Result;
use crate::model::gpt::ActObserver;
use crate::model::{GenOptions, Generator, Gpt};
use crate::quant::{Precision, MATRIX_GROUPS};
use crate::recipe::{self, Recipe};
use serde::Serialize;

crate::choice_enum! {
    /// What the search minimises among recipes that pass.
    pub enum Objective ("objective") {
        /// Weight bytes as stored.
        Bytes = "bytes",
        /// Time per decoded token (measured here, so noisy).
        Latency = "latency",
    }
}

/// One measured recipe.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// Which step of the procedure proposed it.
    pub step: String,
    pub query: String,
    pub recipe_id: String,
    pub weight_bytes: usize,
    pub bytes_vs_f32: f64,
    /// ppl_ref / ppl_cand on the suite's fixed set (the gate's figure).
    pub quality_ratio: f64,
    pub gate: String,
    pub kld: f64,
    pub top1_agreement: f64,
    /// Time to build the recipe's model (calibration set already made).
    pub build_ms: f64,
    /// Greedy decode rate with the KV cache (median of 3 runs of 64 tokens).
    pub tokens_per_s: f64,
}

/// Where a stepped search is in its procedure (see the module doc).
enum Phase {
    Start,
    /// Measuring `MATRIX_GROUPS[i]` alone at int4.
    Sensitivity(usize),
    /// Considering `ranking[i]` for int8.
    Greedy(usize),
    /// Trying `moves[next]` around the current recipe.
    Local {
        moves: Vec<(Recipe, String)>,
        next: usize,
    },
    Done,
}

/// A search in progress: the candidates measured so far. Driven by `step` (one
/// candidate a call, so the page can show progress and stop) or `run` (all of them).
pub struct Search {
    base: Gpt,
    suite: Suite,
    calib: ActObserver,
    min_ratio: f64,
    objective: Objective,
    pub tried: Vec<Candidate>,
    phase: Phase,
    /// Sensitivity ranking: (group, 1 − its perplexity ratio alone at int4).
    ranking: Vec<(&'static str, f64)>,
    /// The procedure's current recipe and its measurement.
    cur: Option<(Recipe, Candidate)>,
}
/// Decode rate of `m`: median of 3 greedy runs of 64 tokens from "\n".
fn tokens_per_s(m: &Gpt) -> Result<f64> {
    let mut rates = Vec::new();
    for _ in 0..3 {
        let mut g = Generator::new(m, "\n", GenOptions::greedy(64))?;
        let (r, ms) = crate::clock::time_ms(|| -> Result<usize> {
            let mut n = 0;
            while g.step(m)?.is_some() {
                n += 1;
            }
            Ok(n)
        });
        rates.push(r? as f64 * 1e3 / ms.max(1e-6));
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    Ok(rates[1])
}

impl Search {
    /// A search over recipes of `base`, passing when the perplexity ratio is at least
    /// `min_ratio` (0.99: the benchmark's lower tier).
    pub fn new(base: Gpt, min_ratio: f64, objective: Objective) -> Result<Search> {
        let seqs = crate::quality::eval_set(
            &base,
            crate::quality::EVAL_SEQS,
            crate::quality::EVAL_LEN,
            crate::quality::CALIB_SEED,
        )?;
        let calib = crate::quality::calibrate(&base, &seqs)?;
        Ok(Search {
            base,
            suite: Suite::v1(),
            calib,
            min_ratio,
            objective,
            tried: Vec::new(),
            phase: Phase::Start,
            ranking: Vec::new(),
            cur: None,
        })
    }

    /// Builds and measures `r` (once: a recipe measured before is returned as it was).
    pub fn measure(&mut self, r: &Recipe, step: &str) -> Result<Candidate> {
        let r = r.normalized()?;
        let id = r.id()?;
        if let Some(c) = self.tried.iter().find(|c| c.recipe_id == id) {
            return Ok(c.clone());
        }
        let (built, build_ms) =
            crate::clock::time_ms(|| recipe::build(&self.base, &r, Some(&self.calib)));
        let (m, _) = built?;
        let q = quality_of(&self.suite, &self.base, &m)?;
        let (quality_ratio, gate, _) = score::gate(&q);
        let c = Candidate {
            step: step.into(),
            query: r.to_query(),
            recipe_id: id,
            weight_bytes: m.weight_bytes(),
            bytes_vs_f32: m.weight_bytes() as f64 / self.base.weight_bytes() as f64,
            quality_ratio,
            gate,
            kld: q.kld,
            top1_agreement: q.top1_agreement,
            build_ms,
            tokens_per_s: tokens_per_s(&m)?,
        };
        self.tried.push(c.clone());
        Ok(c)
    }

    pub fn passes(&self, c: &Candidate) -> bool {
        c.quality_ratio >= self.min_ratio
    }

    fn cost(&self, c: &Candidate) -> f64 {
        match self.objective {
            Objective::Bytes => c.weight_bytes as f64,
            Objective::Latency => 1.0 / c.tokens_per_s,
        }
    }

    /// The cheapest passing candidate measured so far.
    pub fn best(&self) -> Option<&Candidate> {
        self.tried
            .iter()
            .filter(|c| self.passes(c))
            .min_by(|a, b| self.cost(a).total_cmp(&self.cost(b)))
    }

    /// The local moves around recipe `r`: each int8 group back to int4, then int4
    /// groups of 64 and 128.
    fn moves(r: &Recipe) -> Result<Vec<(Recipe, String)>> {
        let mut moves = Vec::new();
        for g in MATRIX_GROUPS {
            if r.quant.group_precision(g) == Precision::Int8 {
                let mut m = *r;
                m.set(&format!("{g}-precision"), Precision::Int4.name())?;
                moves.push((m, format!("local: {g} back to int4")));
            }
        }
        for gs in ["64", "128"] {
            let mut m = *r;
            m.set("group-size", gs)?;
            moves.push((m, format!("local: int4 groups of {gs}")));
        }
        Ok(moves)
    }

    /// Which part of the procedure the next `step` works on.
    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Start => "start",
            Phase::Sensitivity(_) => "sensitivity",
            Phase::Greedy(_) => "greedy",
            Phase::Local { .. } => "local moves",
            Phase::Done => "done",
        }
    }

    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Measures the procedure's next candidate and returns it (a recipe measured
    /// before comes back as it was), or `None` when the procedure has ended.
    pub fn step(&mut self) -> Result<Option<Candidate>> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return Ok(None),
                Phase::Start => {
                    let r = Recipe::parse("precision=int4&quant-method=gptq&gptq-order=act-order")?;
                    let c = self.measure(&r, "start")?;
                    self.cur = Some((r.normalized()?, c.clone()));
                    self.phase = Phase::Sensitivity(0);
                    return Ok(Some(c));
                }
                Phase::Sensitivity(i) => {
                    // One group at int4, the rest f32.
                    let g = MATRIX_GROUPS[i];
                    let r = Recipe::parse(&format!(
                        "quant-method=gptq&gptq-order=act-order&{g}-precision=int4"
                    ))?;
                    let c = self.measure(&r, &format!("sensitivity {g}"))?;
                    self.ranking.push((g, 1.0 - c.quality_ratio));
                    self.phase = if i + 1 < MATRIX_GROUPS.len() {
                        Phase::Sensitivity(i + 1)
                    } else {
                        self.ranking
                            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                        Phase::Greedy(0)
                    };
                    return Ok(Some(c));
                }
                Phase::Greedy(i) => {
                    // Raise the most sensitive groups to int8 until the gate passes.
                    let (cur_r, cur) = self.cur.clone().expect("the start was measured");
                    if self.passes(&cur) || i >= self.ranking.len() {
                        self.phase = Phase::Local {
                            moves: Self::moves(&cur_r)?,
                            next: 0,
                        };
                        continue;
                    }
                    let g = self.ranking[i].0;
                    let mut r = cur_r;
                    r.set(&format!("{g}-precision"), Precision::Int8.name())?;
                    let c = self.measure(&r, &format!("greedy: {g} int8"))?;
                    self.cur = Some((r.normalized()?, c.clone()));
                    self.phase = Phase::Greedy(i + 1);
                    return Ok(Some(c));
                }
                Phase::Local { moves, next } => {
                    // The first move that passes and costs less is kept; none: done.
                    let Some((r, step)) = moves.get(next).cloned() else {
                        return Ok(None);
                    };
                    let (_, cur) = self.cur.clone().expect("the start was measured");
                    let c = self.measure(&r, &step)?;
                    let better =
                        self.passes(&c) && (!self.passes(&cur) || self.cost(&c) < self.cost(&cur));
                    self.phase = if better {
                        let r = r.normalized()?;
                        self.cur = Some((r, c.clone()));
                        Phase::Local {
                            moves: Self::moves(&r)?,
                            next: 0,
                        }
                    } else {
                        Phase::Local {
                            moves,
                            next: next + 1,
                        }
                    };
                    return Ok(Some(c));
                }
            }
        }
    }

    /// Runs the whole procedure (see the module doc); `progress` sees each candidate.
    pub fn run(&mut self, progress: &mut dyn FnMut(&Candidate)) -> Result<Option<Candidate>> {
        while let Some(c) = self.step()? {
            progress(&c);
        }
        Ok(self.best().cloned())
    }
}
