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

/// A search in progress: the candidates measured so far.
pub struct Search<'a> {
    base: &'a Gpt,
    suite: Suite,
    calib: ActObserver,
    min_ratio: f64,
    objective: Objective,
    pub tried: Vec<Candidate>,
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

impl<'a> Search<'a> {
    /// A search over recipes of `base`, passing when the perplexity ratio is at least
    /// `min_ratio` (0.99: the benchmark's lower tier).
    pub fn new(base: &'a Gpt, min_ratio: f64, objective: Objective) -> Result<Search<'a>> {
        let seqs = crate::quality::eval_set(
            base,
            crate::quality::EVAL_SEQS,
            crate::quality::EVAL_LEN,
            crate::quality::CALIB_SEED,
        )?;
        Ok(Search {
            base,
            suite: Suite::v1(),
            calib: crate::quality::calibrate(base, &seqs)?,
            min_ratio,
            objective,
            tried: Vec::new(),
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
            crate::clock::time_ms(|| recipe::build(self.base, &r, Some(&self.calib)));
        let (m, _) = built?;
        let q = quality_of(&self.suite, self.base, &m)?;
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

    /// Runs the whole procedure (see the module doc); `progress` sees each candidate.
    pub fn run(&mut self, progress: &mut dyn FnMut(&Candidate)) -> Result<Option<Candidate>> {
        let start = Recipe::parse("precision=int4&quant-method=gptq&gptq-order=act-order")?;
        let mut cur = self.measure(&start, "start")?;
        progress(&cur);
        let mut cur_r = start;

        // Sensitivity ranking: one group at int4, the rest f32.
        let mut ranking: Vec<(&str, f64)> = Vec::new();
        for g in MATRIX_GROUPS {
            let r = Recipe::parse(&format!(
                "quant-method=gptq&gptq-order=act-order&{g}-precision=int4"
            ))?;
            let c = self.measure(&r, &format!("sensitivity {g}"))?;
            progress(&c);
            ranking.push((g, 1.0 - c.quality_ratio));
        }
        ranking.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));

        // Greedy: raise the most sensitive groups to int8 until the gate passes.
        for &(g, _) in &ranking {
            if self.passes(&cur) {
                break;
            }
            let mut r = cur_r;
            r.set(&format!("{g}-precision"), Precision::Int8.name())?;
            cur = self.measure(&r, &format!("greedy: {g} int8"))?;
            progress(&cur);
            cur_r = r.normalized()?;
        }

        // Local moves.
        loop {
            let mut moves: Vec<(Recipe, String)> = Vec::new();
            for g in MATRIX_GROUPS {
                if cur_r.quant.group_precision(g) == Precision::Int8 {
                    let mut r = cur_r;
                    r.set(&format!("{g}-precision"), Precision::Int4.name())?;
                    moves.push((r, format!("local: {g} back to int4")));
                }
            }
            for gs in ["64", "128"] {
                let mut r = cur_r;
                r.set("group-size", gs)?;
                moves.push((r, format!("local: int4 groups of {gs}")));
            }
            let mut improved = false;
            for (r, step) in moves {
                let c = self.measure(&r, &step)?;
                progress(&c);
                let better =
                    self.passes(&c) && (!self.passes(&cur) || self.cost(&c) < self.cost(&cur));
                if better {
                    cur = c;
                    cur_r = r.normalized()?;
                    improved = true;
                    break;
                }
            }
            if !improved {
                break;
            }
        }
        Ok(self.best().cloned())
    }
}
