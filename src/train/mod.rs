//! The trainer (native and wasm, the same bits): hand-written forward and backward passes for the GPT, AdamW,
//! a warmup + cosine schedule, and checkpoints that resume bit-for-bit.
//!
//! **Approach (llm.c style).** There is no autograd. The training forward
//! (`model::forward`) runs the same math as the inference `Gpt::forward`, but batched
//! as `(B*T, C)` matrices, and saves every activation the backward needs in
//! preallocated buffers (`model::Acts`). The backward (`model::backward`) walks the
//! layers in reverse, calling one hand-derived backward per layer (`layers`:
//! softmax-cross-entropy, linear, GELU, attention, LayerNorm, embeddings); each is
//! checked against finite differences in `tests/train.rs`. The residual stream's
//! gradient lives in one buffer that every sub-layer adds into.
//!
//! **Data.** The vocabulary is the sorted distinct characters of the whole corpus
//! (`Tokenizer::from_corpus`). The first 90% of characters train, the last 10% are
//! held out (`eval::split_point`). A step samples `batch` windows of `ctx` characters
//! at uniformly random offsets in the training part (seeded RNG).
//!
//! **Parallelism and determinism.** A batch is cut into `SHARDS` fixed shards, each run
//! forward and backward on its own thread with its own activations and gradients; the
//! shard gradients are then summed in a fixed order. The shard count does not depend
//! on the machine, so the same seed gives the same loss curve bit for bit, and a run
//! resumed from a checkpoint (parameters, AdamW moments, step, RNG state) continues
//! exactly as if never interrupted.
//!
//! **Optimiser.** AdamW with weight decay on matrices only, learning rate warmed up
//! linearly then decayed by a half cosine to a tenth of its peak, and the gradient
//! clipped to a global L2 norm.

pub mod adamw;
pub mod checkpoint;
pub mod data;
pub mod distill;
pub mod gemm;
pub mod layers;
pub mod model;
pub mod params;
pub mod recover;
pub mod schedule;
mod shards;

use crate::error::{input_err, Result};
use crate::model::{Config, Gpt, Tokenizer};
use crate::rng::Rng;
use adamw::AdamW;
use data::Corpus;
use distill::{Distill, TeacherBufs};
use model::Acts;
use params::Layout;
use serde::{Deserialize, Serialize};

/// Shards per batch, one thread each natively (run in turn in wasm). Fixed, so results do not depend on the machine.
pub const SHARDS: usize = 2;

/// Everything that shapes the numbers a run produces.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Model shape; `vocab` is replaced by the corpus's vocabulary size.
    pub cfg: Config,
    pub steps: usize,
    /// Sequences of `ctx` characters per step.
    pub batch: usize,
    /// Peak learning rate; the cosine ends at a tenth of it.
    pub lr: f32,
    pub warmup: usize,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// Global gradient-norm limit (0 disables clipping).
    pub grad_clip: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            cfg: Config::default(),
            steps: 3000,
            batch: 32,
            lr: 2e-3,
            warmup: 100,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.99,
            grad_clip: 1.0,
            seed: 1337,
        }
    }
}

impl TrainOptions {
    /// Checks everything but `cfg`, whose vocabulary comes from the corpus.
    fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.batch == 0 {
            return Err(input_err("--steps and --batch must be at least 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(input_err(format!("--lr must be positive, got {}", self.lr)));
        }
        Ok(())
    }
}

/// What one optimisation step did.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// Steps completed, this one included.
    pub step: usize,
    /// Mean training loss of the batch, nats per character.
    pub loss: f32,
    pub lr: f32,
    /// Gradient norm before clipping.
    pub grad_norm: f32,
    /// Mean hard cross-entropy of the batch (equals `loss` without a teacher).
    pub xent: f32,
    /// Distilling: mean KL(teacher ‖ student) at the temperature, before α · T².
    pub kl: Option<f32>,
}

/// One thread's activations and gradient.
struct Worker {
    acts: Acts,
    grads: Vec<f32>, // (n_params)
    /// Distilling: the teacher's forward buffers.
    teacher: Option<TeacherBufs>,
}

/// A training run in memory.
pub struct Trainer {
    pub opts: TrainOptions,
    layout: Layout,
    corpus: Corpus,
    params: Vec<f32>, // (n_params)
    grads: Vec<f32>,  // (n_params)
    m: Vec<f32>,      // (n_params) AdamW first moments
    v: Vec<f32>,      // (n_params) AdamW second moments
    step: usize,
    rng: Rng,
    pub tokens_seen: u64,
    /// Wall time spent training, kept by the caller (the library has no clock policy).
    pub elapsed_ms: f64,
    workers: Vec<Worker>,
    x: Vec<u32>, // (batch, ctx)
    y: Vec<u32>, // (batch, ctx)
    /// Fine-tuning a pruned model: parameter indices held at zero after every step.
    frozen: Vec<usize>,
    /// Distillation: the teacher and its settings.
    distill: Option<Distill>,
    /// Summed (hard cross-entropy, KL) of the last `loss_and_grad`.
    last_parts: (f64, f64),
}

impl Trainer {
    /// A fresh run on `text`, initialised like `Gpt::random` with `opts.seed`.
    pub fn new(mut opts: TrainOptions, text: &str) -> Result<Trainer> {
        opts.validate()?;
        let corpus = Corpus::new(text, opts.cfg.ctx)?;
        opts.cfg.vocab = corpus.tokenizer.len();
        opts.cfg.validate()?;
        let layout = Layout::new(opts.cfg);
        let init = Gpt::random(opts.cfg, corpus.tokenizer.clone(), opts.seed)?;
        let params = layout.flatten(&init)?;
        let n = layout.total;
        // The init consumed its own RNG; batches draw from a stream derived from the seed.
        let rng = Rng::new(opts.seed ^ 0xB47C_0000_0000_0001);
        Ok(Trainer::assemble(
            opts,
            layout,
            corpus,
            params,
            vec![0.0; n],
            vec![0.0; n],
            0,
            rng,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        opts: TrainOptions,
        layout: Layout,
        corpus: Corpus,
        params: Vec<f32>,
        m: Vec<f32>,
        v: Vec<f32>,
        step: usize,
        rng: Rng,
    ) -> Trainer {
        let n = layout.total;
        let shards = SHARDS.min(opts.batch);
        let cap = opts.batch.div_ceil(shards);
        let workers = (0..shards)
            .map(|_| Worker {
                acts: Acts::new(&opts.cfg, cap),
                grads: vec![0.0; n],
                teacher: None,
            })
            .collect();
        Trainer {
            opts,
            layout,
            corpus,
            params,
            grads: vec![0.0; n],
            m,
            v,
            step,
            rng,
            tokens_seen: 0,
            elapsed_ms: 0.0,
            workers,
            x: Vec::new(),
            y: Vec::new(),
            frozen: Vec::new(),
            distill: None,
            last_parts: (0.0, 0.0),
        }
    }

    /// Fine-tunes `model` (f32 matrices, full width for its config) on `text`, the
    /// corpus it was trained on. Every weight of the blocks' QKV, projection and MLP
    /// matrices that is exactly zero stays zero, so pruning's zeros survive and the rest
    /// learns to make up for them. (A removed neuron or head has zero weights in and
    /// out, so its biases get no gradient and need no mask.) `opts.cfg` comes from the
    /// model. The mask is not part of `checkpoint()`: fine-tunes are short, run them whole.
    pub fn finetune(opts: TrainOptions, text: &str, model: &Gpt) -> Result<Trainer> {
        let corpus = Corpus::new(text, model.cfg.ctx)?;
        if corpus.tokenizer.vocab_string() != model.tokenizer.vocab_string() {
            return Err(input_err(
                "the corpus's characters differ from the model's vocabulary; fine-tune on the corpus the model was trained on",
            ));
        }
        Trainer::finetune_on(opts, corpus, model)
    }

    /// `finetune` on a corpus already in the model's vocabulary.
    pub fn finetune_on(mut opts: TrainOptions, corpus: Corpus, model: &Gpt) -> Result<Trainer> {
        opts.validate()?;
        opts.cfg = model.cfg;
        let layout = Layout::new(opts.cfg);
        let params = layout.flatten(model)?;
        let mut frozen = Vec::new();
        for b in &layout.blocks {
            for r in [&b.qkv_w, &b.proj_w, &b.up_w, &b.down_w] {
                frozen.extend(r.clone().filter(|&i| params[i] == 0.0));
            }
        }
        let n = layout.total;
        let rng = Rng::new(opts.seed ^ 0xF1E7_0000_0000_0001);
        let mut t = Trainer::assemble(
            opts,
            layout,
            corpus,
            params,
            vec![0.0; n],
            vec![0.0; n],
            0,
            rng,
        );
        t.frozen = frozen;
        Ok(t)
    }

    /// Parameters held at zero (fine-tuning after pruning).
    pub fn frozen_count(&self) -> usize {
        self.frozen.len()
    }

    /// Continues a run from `checkpoint` bytes; `text` must be the same corpus.
    pub fn resume(checkpoint: &[u8], text: &str) -> Result<Trainer> {
        let d = checkpoint::decode(checkpoint)?;
        if d.header.distill.is_some() {
            return Err(input_err(
                "the checkpoint is a distillation run; resume it with tinyopt distill and its --teacher",
            ));
        }
        Trainer::from_decoded(d, text)
    }

    fn from_decoded(d: checkpoint::Decoded, text: &str) -> Result<Trainer> {
        let checkpoint::Decoded {
            header: h,
            params,
            m,
            v,
        } = d;
        h.opts.validate()?;
        h.opts.cfg.validate()?;
        let corpus = Corpus::new(text, h.opts.cfg.ctx)?;
        if corpus.fingerprint != h.corpus_fingerprint || corpus.tokenizer.vocab_string() != h.vocab
        {
            return Err(input_err(
                "the checkpoint was trained on a different corpus; resume with the same --corpus",
            ));
        }
        let layout = Layout::new(h.opts.cfg);
        if layout.total != h.n_params {
            return Err(input_err(
                "the checkpoint's tensors do not match its config",
            ));
        }
        let mut t = Trainer::assemble(
            h.opts,
            layout,
            corpus,
            params,
            m,
            v,
            h.step,
            Rng::from_state(h.rng_state),
        );
        t.tokens_seen = h.tokens_seen;
        t.elapsed_ms = h.elapsed_ms;
        Ok(t)
    }

    /// The run's state as checkpoint bytes (see `checkpoint`).
    pub fn checkpoint(&self) -> Vec<u8> {
        let h = checkpoint::Header {
            opts: self.opts,
            vocab: self.corpus.tokenizer.vocab_string(),
            corpus_fingerprint: self.corpus.fingerprint,
            step: self.step,
            rng_state: self.rng.state(),
            tokens_seen: self.tokens_seen,
            elapsed_ms: self.elapsed_ms,
            n_params: self.layout.total,
            distill: self.distill_record(),
        };
        checkpoint::encode(&h, &self.params, &self.m, &self.v)
    }

    /// Sets the schedule's length (`opts.steps`) while no step taken so far depended
    /// on it (within the warmup: `step <= max(warmup, 1)`), so the run has the same bits
    /// as one started with this length. For fitting a time budget (`schedule::fit_steps`).
    pub fn set_total_steps(&mut self, steps: usize) -> Result<()> {
        if self.step > self.opts.warmup.max(1) {
            return Err(input_err(format!(
                "the schedule's length can only change within the warmup ({} steps); {} are done",
                self.opts.warmup.max(1),
                self.step
            )));
        }
        if steps < self.step.max(1) {
            return Err(input_err(format!(
                "a schedule of {steps} steps is shorter than the {} already done",
                self.step
            )));
        }
        self.opts.steps = steps;
        Ok(())
    }

    /// Steps completed.
    pub fn step_count(&self) -> usize {
        self.step
    }

    pub fn n_params(&self) -> usize {
        self.layout.total
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.corpus.tokenizer
    }

    /// (train, held-out) token counts.
    pub fn split_sizes(&self) -> (usize, usize) {
        (self.corpus.train.len(), self.corpus.val.len())
    }

    /// The flat parameters (n_params).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The flat parameters (read/write: gradient checks perturb them).
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// The current parameters as an inference model (no metadata).
    pub fn model(&self) -> Result<Gpt> {
        self.layout
            .to_gpt(self.corpus.tokenizer.clone(), &self.params)
    }

    /// One optimisation step on a fresh random batch.
    pub fn step(&mut self) -> Result<StepInfo> {
        let o = self.opts;
        let t = o.cfg.ctx;
        let lr = schedule::lr_at(self.step, o.steps, o.warmup, o.lr, o.lr * 0.1);
        let (mut x, mut y) = (std::mem::take(&mut self.x), std::mem::take(&mut self.y));
        self.corpus.batch(&mut self.rng, o.batch, t, &mut x, &mut y);
        let total = self.loss_and_grad(&x, &y, t);
        self.x = x;
        self.y = y;
        let per = (o.batch * t) as f64;
        let loss = (total / per) as f32;
        if !loss.is_finite() {
            return Err(input_err(format!(
                "the loss became {loss} at step {}; try a lower --lr",
                self.step + 1
            )));
        }
        let grad_norm = adamw::clip_global_norm(&mut self.grads, o.grad_clip);
        let opt = AdamW {
            beta1: o.beta1,
            beta2: o.beta2,
            eps: 1e-8,
            weight_decay: o.weight_decay,
        };
        self.step += 1;
        opt.update(
            &self.layout.tensors,
            &mut self.params,
            &self.grads,
            &mut self.m,
            &mut self.v,
            lr,
            self.step as u64,
        );
        for &i in &self.frozen {
            self.params[i] = 0.0;
            self.m[i] = 0.0;
            self.v[i] = 0.0;
        }
        self.tokens_seen += (o.batch * t) as u64;
        Ok(StepInfo {
            step: self.step,
            loss,
            lr,
            grad_norm,
            xent: (self.last_parts.0 / per) as f32,
            kl: self
                .distill
                .as_ref()
                .map(|_| (self.last_parts.1 / per) as f32),
        })
    }

    /// Forward + backward of `x` (bsz, t) against targets `y` over the shards; leaves
    /// the gradient of the *mean* loss in `self.grads` and returns the summed loss
    /// (distilling: α·T²·KL + (1−α)·cross-entropy, summed over positions).
    pub fn loss_and_grad(&mut self, x: &[u32], y: &[u32], t: usize) -> f64 {
        let bsz = x.len() / t;
        let shards = self.workers.len().min(bsz);
        let scale = 1.0 / x.len() as f32;
        let v = self.opts.cfg.vocab;
        let (params, layout) = (&self.params, &self.layout);
        let distill = self.distill.as_ref();
        let parts: Vec<(f64, f64)> = shards::each(&mut self.workers[..shards], |i, w| {
            let (lo, hi) = (i * bsz / shards * t, (i + 1) * bsz / shards * t);
            let (xs, ys) = (&x[lo..hi], &y[lo..hi]);
            w.grads.fill(0.0);
            let nll = model::forward(params, layout, &mut w.acts, xs, Some(ys), t);
            // Distilling: the teacher's logits of the same windows, and the KL.
            let soft = match (distill, w.teacher.as_mut()) {
                (Some(d), Some(tb)) => {
                    tb.run(&d.teacher.model, xs, t)
                        .expect("teacher shapes were checked when it was attached");
                    let tl = &tb.logits[..xs.len() * v];
                    let kl =
                        distill::kl_sum(&w.acts.logits[..xs.len() * v], tl, d.opts.temperature, v);
                    Some((
                        model::Soft {
                            teacher: tl,
                            opts: d.opts,
                        },
                        kl,
                    ))
                }
                _ => None,
            };
            let kl = soft.as_ref().map_or(0.0, |s| s.1);
            model::backward(
                params,
                layout,
                &mut w.acts,
                &mut w.grads,
                xs,
                ys,
                t,
                scale,
                soft.map(|s| s.0),
            );
            (nll, kl)
        });
        self.grads.copy_from_slice(&self.workers[0].grads);
        for w in &self.workers[1..shards] {
            for (g, wg) in self.grads.iter_mut().zip(&w.grads) {
                *g += wg;
            }
        }
        let nll: f64 = parts.iter().map(|p| p.0).sum();
        let kl: f64 = parts.iter().map(|p| p.1).sum();
        self.last_parts = (nll, kl);
        match &self.distill {
            None => nll,
            Some(d) => {
                let (a, tt) = (d.opts.alpha as f64, d.opts.temperature as f64);
                a * tt * tt * kl + (1.0 - a) * nll
            }
        }
    }

    /// The gradient left by the last `step` or `loss_and_grad` (after clipping, if a step).
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// Logits (t, vocab) of one sequence through the training forward.
    pub fn logits(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let t = tokens.len();
        if t == 0 || t > self.opts.cfg.ctx {
            return Err(input_err("sequence must hold 1..=ctx tokens"));
        }
        let w = &mut self.workers[0];
        model::forward(&self.params, &self.layout, &mut w.acts, tokens, None, t);
        Ok(w.acts.logits[..t * self.opts.cfg.vocab].to_vec())
    }

    /// Mean loss on the held-out part with the training forward, using the windows of
    /// `eval::evaluate_tokens` (non-overlapping, `ctx` inputs each), split over shards.
    pub fn val_loss(&mut self) -> f64 {
        let ctx = self.opts.cfg.ctx;
        let val = &self.corpus.val;
        let cap = self.workers[0].acts.capacity();
        // Jobs: (first window start, windows, t); full windows in groups of `cap`.
        let mut jobs: Vec<(usize, usize, usize)> = Vec::new();
        let full = (val.len() - 1) / ctx;
        let mut w = 0;
        while w < full {
            let k = cap.min(full - w);
            jobs.push((w * ctx, k, ctx));
            w += k;
        }
        let rest = val.len() - 1 - full * ctx;
        if rest > 0 {
            jobs.push((full * ctx, 1, rest));
        }
        let shards = self.workers.len();
        let (params, layout) = (&self.params, &self.layout);
        let jobs = &jobs;
        let nlls: Vec<f64> = shards::each(&mut self.workers, |i, wk| {
            let mut sum = 0.0;
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for &(start, k, t) in jobs.iter().skip(i).step_by(shards) {
                x.clear();
                y.clear();
                for j in 0..k {
                    x.extend_from_slice(&val[start + j * t..start + (j + 1) * t]);
                    y.extend_from_slice(&val[start + j * t + 1..start + (j + 1) * t + 1]);
                }
                sum += model::forward(params, layout, &mut wk.acts, &x, Some(&y), t);
            }
            sum
        });
        nlls.iter().sum::<f64>() / (val.len() - 1) as f64
    }
}
