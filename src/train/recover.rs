//! Data-free recovery of a pruned model: the unpruned teacher writes the training text
//! itself (seeded samples), and the pruned student is distilled from the teacher's
//! logits on it (α·T²·KL + (1−α)·CE, `distill`) with its pruned weights held at zero.
//! Nothing is downloaded, so the page runs the same recovery as `tinyopt recover`,
//! with the same bits (the trainer and the teacher use canonical-order kernels only).

use super::data::Corpus;
use super::distill::{sha256_hex, Distill, DistillOptions, Teacher};
use super::{StepInfo, TrainOptions, Trainer};
use crate::detmath;
use crate::error::{input_err, Result};
use crate::kernels::Kernel;
use crate::model::{io, Gpt};
use crate::prune::{prune_model, prune_model_in_place, PruneConfig, PruneKind, PruneStats};
use crate::quality;
use serde::{Deserialize, Serialize};

/// Everything that shapes a recovery's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoverOptions {
    pub prune: PruneConfig,
    pub steps: usize,
    /// Sequences of `ctx` characters per step.
    pub batch: usize,
    pub lr: f32,
    pub warmup: usize,
    /// Sequences the teacher samples as training text (each `ctx` characters).
    pub samples: usize,
    pub seed: u64,
    pub temperature: f32,
    pub alpha: f32,
}

impl Default for RecoverOptions {
    fn default() -> Self {
        RecoverOptions {
            prune: PruneConfig {
                kind: PruneKind::Unstructured,
                ratio: 0.7,
                ..PruneConfig::default()
            },
            steps: 200,
            batch: 8,
            lr: 3e-3,
            warmup: 5,
            samples: 64,
            seed: 1337,
            temperature: 1.0,
            alpha: 1.0,
        }
    }
}

/// The teacher's samples use seeds from here on: far from the evaluation and
/// calibration seeds (`quality::EVAL_SEED`, `CALIB_SEED`), so recovery never trains
/// on the text it is measured on.
const DATA_SEED_BASE: u64 = 1 << 40;

/// Quality of a model against the teacher on the fixed evaluation set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Quality {
    /// Fraction of positions where the model's top next character is the teacher's.
    pub top1_agreement: f64,
    /// Mean KL(teacher ‖ model), nats per character.
    pub kld: f64,
    /// exp(mean NLL) of the evaluation set's next characters (text the teacher sampled).
    pub perplexity: f64,
}

/// A recovery in progress.
pub struct Recovery {
    pub opts: RecoverOptions,
    teacher: Gpt,
    pub trainer: Trainer,
    pub stats: PruneStats,
    eval: Vec<Vec<u32>>,
    /// The pruned model before any step, in its final form.
    pruned: Gpt,
}

/// A recovery being set up: the model pruned, the teacher's samples drawn one at a
/// time (`sample_one`), so the page can show progress and stop between them.
pub struct Setup {
    opts: RecoverOptions,
    teacher: Gpt,
    zeroed: Gpt,
    stats: PruneStats,
    seqs: Vec<Vec<u32>>,
}

impl Setup {
    /// Draws the next teacher sample; false once all `opts.samples` are drawn.
    pub fn sample_one(&mut self) -> Result<bool> {
        let i = self.seqs.len();
        if i < self.opts.samples {
            let first = data_seed(self.opts.seed) + i as u64;
            let ctx = self.teacher.cfg.ctx;
            self.seqs
                .extend(quality::eval_set(&self.teacher, 1, ctx, first)?);
        }
        Ok(self.seqs.len() < self.opts.samples)
    }

    /// (samples drawn, samples wanted).
    pub fn progress(&self) -> (usize, usize) {
        (self.seqs.len(), self.opts.samples)
    }

    /// The distilling trainer on the samples (drawing any still missing).
    pub fn finish(mut self) -> Result<Recovery> {
        while self.sample_one()? {}
        let opts = self.opts;
        let teacher = self.teacher;
        let tokens: Vec<u32> = self.seqs.concat();
        let corpus = Corpus::from_tokens(teacher.tokenizer.clone(), tokens, teacher.cfg.ctx)?;
        let topts = TrainOptions {
            steps: opts.steps,
            batch: opts.batch,
            lr: opts.lr,
            warmup: opts.warmup,
            seed: opts.seed,
            ..TrainOptions::default()
        };
        let dopts = DistillOptions {
            temperature: opts.temperature,
            alpha: opts.alpha,
        };
        let mut trainer = Trainer::finetune_on(topts, corpus, &self.zeroed)?;
        trainer.attach(Distill {
            teacher: Teacher {
                sha256: sha256_hex(&io::save(&teacher)?),
                model: teacher.clone(),
            },
            opts: dopts,
        })?;
        let eval = quality::fixed_eval_set(&teacher)?;
        let pruned = final_form(&self.zeroed, &opts.prune)?;
        Ok(Recovery {
            opts,
            teacher,
            trainer,
            stats: self.stats,
            eval,
            pruned,
        })
    }
}

impl Recovery {
    /// Prunes `teacher` by `opts.prune`, samples the training text from it and sets up
    /// the distilling trainer (pruned weights frozen at zero).
    pub fn new(teacher: &Gpt, opts: RecoverOptions) -> Result<Recovery> {
        Recovery::begin(teacher, opts)?.finish()
    }

    /// `new` in stages: the pruning now, the samples and the trainer from the `Setup`.
    pub fn begin(teacher: &Gpt, opts: RecoverOptions) -> Result<Setup> {
        let mut pc = opts.prune;
        if pc.kind == PruneKind::None || pc.ratio <= 0.0 {
            return Err(input_err(
                "recover needs a pruning to recover from: give a prune ratio above 0",
            ));
        }
        if opts.samples < 2 {
            return Err(input_err("recover needs at least 2 teacher samples"));
        }
        if opts.steps == 0 || opts.batch == 0 {
            return Err(input_err(
                "recover needs at least 1 step of at least 1 sequence",
            ));
        }
        DistillOptions {
            temperature: opts.temperature,
            alpha: opts.alpha,
        }
        .validate()?;
        pc.format = crate::prune::SparseFormat::Dense;
        let mut teacher = teacher.clone();
        teacher.kernel = Kernel::Simd;
        let (zeroed, stats) = prune_model_in_place(&teacher, &pc)?;
        Ok(Setup {
            opts: RecoverOptions { prune: pc, ..opts },
            teacher,
            zeroed,
            stats,
            seqs: Vec::new(),
        })
    }

    /// One distillation step.
    pub fn step(&mut self) -> Result<StepInfo> {
        self.trainer.step()
    }

    /// Fits the schedule to a time budget once the warmup has run (`schedule::fit_steps`
    /// at the pace of the steps so far, at most `opts.steps`): the cosine then ends as the
    /// budget does. Returns the new length, which the model file records, so
    /// `tinyopt recover --steps N` replays the run. Callers time the steps.
    pub fn fit_to_budget(&mut self, elapsed_ms: f64, budget_ms: f64) -> Result<usize> {
        let done = self.trainer.step_count();
        let total = super::schedule::fit_steps(done, elapsed_ms, budget_ms, self.opts.steps);
        self.trainer.set_total_steps(total)?;
        self.opts.steps = total;
        Ok(total)
    }

    /// Steps after which `fit_to_budget` is called: the warmup (at least one step).
    pub fn fit_after(&self) -> usize {
        self.opts.warmup.max(1)
    }

    pub fn done(&self) -> bool {
        self.trainer.step_count() >= self.opts.steps
    }

    /// `m` against the teacher on the fixed evaluation set.
    pub fn quality(&self, m: &Gpt) -> Result<Quality> {
        let ag = quality::compare(&self.teacher, m, &self.eval)?;
        Ok(Quality {
            top1_agreement: ag.top1_agreement,
            kld: ag.kld,
            perplexity: detmath::exp(quality::nll(m, &self.eval)?),
        })
    }

    pub fn teacher(&self) -> &Gpt {
        &self.teacher
    }

    /// The pruned model before recovery (structured: physically smaller).
    pub fn pruned(&self) -> &Gpt {
        &self.pruned
    }

    /// The recovered model in its final form (unstructured: dense with its zeros;
    /// structured: the removed neurons gone), recording how it was made.
    pub fn model(&self) -> Result<Gpt> {
        let mut m = final_form(&self.trainer.model()?, &self.opts.prune)?;
        m.meta = self.teacher.meta.clone();
        m.meta.insert(
            "prune".into(),
            serde_json::to_string(&self.opts.prune).expect("config serialises"),
        );
        m.meta.insert(
            "recover".into(),
            serde_json::to_string(&RecoverRecord {
                opts: self.opts,
                steps_done: self.trainer.step_count(),
                teacher_sha256: sha256_hex(&io::save(&self.teacher)?),
                weights_sha256: self.weights_sha256(),
            })
            .expect("record serialises"),
        );
        Ok(m)
    }

    /// sha256 of the trainer's parameters (little-endian f32 bits): equal natively and
    /// in wasm for the same options and steps.
    pub fn weights_sha256(&self) -> String {
        let bytes: Vec<u8> = self
            .trainer
            .params()
            .iter()
            .flat_map(|p| p.to_le_bytes())
            .collect();
        sha256_hex(&bytes)
    }
}

/// What a recovered model's file records about its recovery.
#[derive(Serialize)]
struct RecoverRecord {
    opts: RecoverOptions,
    steps_done: usize,
    teacher_sha256: String,
    weights_sha256: String,
}

/// Structured pruning's zeroed neurons removed; anything else as it is.
fn final_form(m: &Gpt, pc: &PruneConfig) -> Result<Gpt> {
    match pc.kind {
        PruneKind::Structured => Ok(prune_model(m, pc)?.0),
        _ => Ok(m.clone()),
    }
}

/// The first seed of the teacher's samples for run seed `seed`.
fn data_seed(seed: u64) -> u64 {
    DATA_SEED_BASE.wrapping_add(seed.wrapping_mul(1 << 20))
}
