//! Knowledge distillation: the trainer's student learns from a teacher's softened
//! output distribution as well as from the next character.
//!
//! Per position, with student logits `z`, teacher logits `u`, temperature `T` and mix `α`:
//!
//! ```text
//! loss = α · T² · KL(softmax(u/T) ‖ softmax(z/T)) + (1 − α) · CE(softmax(z), target)
//! ```
//!
//! `T²` keeps the soft term's gradient on the scale of the hard one as `T` grows
//! (Hinton et al. 2015): `∂/∂z [T² · KL] = T · (softmax(z/T) − softmax(u/T))`. The
//! teacher is the *inference* model (`Gpt::forward`, `Logits::All`), so any model file
//! can teach; the student is the trainer's own model, and this term's gradient is added
//! into the logits' gradient inside `model::backward`, which then runs unchanged.

use super::checkpoint::DistillRecord;
use super::{checkpoint, TrainOptions, Trainer};
use crate::error::{input_err, Result};
use crate::kernels::Kernel;
use crate::model::ops;
use crate::model::{io, Gpt, KvCache, Logits, Scratch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The distillation settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistillOptions {
    /// Softening temperature, > 0; higher shows more of the teacher's ranking of
    /// unlikely characters.
    pub temperature: f32,
    /// Weight of the soft (teacher) term, in 0..=1; 0 is plain training.
    pub alpha: f32,
}

impl Default for DistillOptions {
    fn default() -> Self {
        DistillOptions {
            temperature: 2.0,
            alpha: 0.5,
        }
    }
}

impl DistillOptions {
    pub fn validate(&self) -> Result<()> {
        let t = self.temperature;
        if !(t.is_finite() && t > 0.0) {
            return Err(input_err(format!(
                "--temperature must be a positive number, got {t}"
            )));
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(input_err(format!(
                "--alpha must be between 0 and 1, got {}",
                self.alpha
            )));
        }
        Ok(())
    }
}

/// A teacher model and the sha256 of the file it came from (recorded in checkpoints
/// and in the student, so a run can only resume against the same teacher).
pub struct Teacher {
    pub model: Gpt,
    pub sha256: String,
}

impl Teacher {
    /// Loads a model file's bytes as a teacher. It runs with the `simd` kernel, whose
    /// canonical summation order gives the soft targets the same bits in wasm.
    pub fn from_bytes(bytes: &[u8]) -> Result<Teacher> {
        let mut model = io::load(bytes)?;
        model.kernel = Kernel::Simd;
        Ok(Teacher {
            model,
            sha256: sha256_hex(bytes),
        })
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The teacher and settings a distilling trainer carries.
pub struct Distill {
    pub teacher: Teacher,
    pub opts: DistillOptions,
}

/// One shard's buffers for the teacher's forward.
pub(super) struct TeacherBufs {
    pub logits: Vec<f32>, // (cap_b * ctx, vocab) teacher logits of the shard's batch
    kv: KvCache,
    scratch: Scratch,
}

impl TeacherBufs {
    pub fn new(teacher: &Gpt, rows: usize) -> TeacherBufs {
        TeacherBufs {
            logits: vec![0.0; rows * teacher.cfg.vocab],
            kv: KvCache::new(&teacher.cfg),
            scratch: Scratch::new(&teacher.cfg),
        }
    }

    /// Teacher logits of `xs` (bsz, t) into `self.logits[..bsz*t*vocab]`, each
    /// sequence from position 0 like the student sees it.
    pub fn run(&mut self, teacher: &Gpt, xs: &[u32], t: usize) -> Result<()> {
        let v = teacher.cfg.vocab;
        for (i, seq) in xs.chunks_exact(t).enumerate() {
            self.kv.clear();
            teacher.forward(seq, &mut self.kv, &mut self.scratch, Logits::All)?;
            self.logits[i * t * v..(i + 1) * t * v].copy_from_slice(&self.scratch.logits[..t * v]);
        }
        Ok(())
    }
}

/// Softmax of `z / temp` into `out`, returning log Σ exp(z/temp) for the log-probs.
fn soft(out: &mut [f32], z: &[f32], temp: f32) -> f32 {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) / temp;
    let mut sum = 0.0f32;
    for (o, &x) in out.iter_mut().zip(z) {
        *o = ops::exp(x / temp - max);
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
    max + crate::detmath::ln(sum as f64) as f32
}

/// Σ over rows of KL(softmax(teacher/T) ‖ softmax(student/T)); both (n, v).
pub fn kl_sum(student: &[f32], teacher: &[f32], temp: f32, v: usize) -> f64 {
    let (mut ps, mut pt) = (vec![0.0f32; v], vec![0.0f32; v]); // (v) each
    let mut total = 0.0f64;
    for (zs, zt) in student.chunks_exact(v).zip(teacher.chunks_exact(v)) {
        let lse_s = soft(&mut ps, zs, temp);
        let lse_t = soft(&mut pt, zt, temp);
        let mut kl = 0.0f64;
        for j in 0..v {
            if pt[j] > 0.0 {
                let log_pt = zt[j] / temp - lse_t;
                let log_ps = zs[j] / temp - lse_s;
                kl += pt[j] as f64 * (log_pt - log_ps) as f64;
            }
        }
        total += kl;
    }
    total
}

/// In place: `dlogits` (n, v), the hard loss's gradient, becomes the mixed loss's:
/// `(1 − α) · dlogits + α · T · scale · (softmax(student/T) − softmax(teacher/T))`.
pub fn mix_dlogits(
    dlogits: &mut [f32],
    student: &[f32],
    teacher: &[f32],
    o: DistillOptions,
    v: usize,
    scale: f32,
) {
    let (mut ps, mut pt) = (vec![0.0f32; v], vec![0.0f32; v]); // (v) each
    let (hard, k) = (1.0 - o.alpha, o.alpha * o.temperature * scale);
    for ((dl, zs), zt) in dlogits
        .chunks_exact_mut(v)
        .zip(student.chunks_exact(v))
        .zip(teacher.chunks_exact(v))
    {
        soft(&mut ps, zs, o.temperature);
        soft(&mut pt, zt, o.temperature);
        for j in 0..v {
            dl[j] = hard * dl[j] + k * (ps[j] - pt[j]);
        }
    }
}

impl Trainer {
    /// A fresh student of `opts.cfg` (vocabulary from the corpus) learning from `teacher`.
    pub fn distill(
        opts: TrainOptions,
        dopts: DistillOptions,
        text: &str,
        teacher: Teacher,
    ) -> Result<Trainer> {
        dopts.validate()?;
        let mut t = Trainer::new(opts, text)?;
        t.attach(Distill {
            teacher,
            opts: dopts,
        })?;
        Ok(t)
    }

    /// Continues a distillation run; `teacher` must be the file it started with.
    pub fn resume_distill(checkpoint: &[u8], text: &str, teacher: Teacher) -> Result<Trainer> {
        let d = checkpoint::decode(checkpoint)?;
        let Some(rec) = d.header.distill.clone() else {
            return Err(input_err(
                "the checkpoint is a plain training run, not a distillation; resume it with tinyopt train",
            ));
        };
        if rec.teacher_sha256 != teacher.sha256 {
            return Err(input_err(format!(
                "the checkpoint was distilled from another teacher (sha256 {}), not this one ({})",
                rec.teacher_sha256, teacher.sha256
            )));
        }
        let opts = DistillOptions {
            temperature: rec.temperature,
            alpha: rec.alpha,
        };
        opts.validate()?;
        let mut t = Trainer::from_decoded(d, text)?;
        t.attach(Distill { teacher, opts })?;
        Ok(t)
    }

    pub(super) fn attach(&mut self, d: Distill) -> Result<()> {
        let (tc, sc) = (d.teacher.model.cfg, self.opts.cfg);
        if d.teacher.model.tokenizer.vocab_string() != self.corpus.tokenizer.vocab_string() {
            return Err(input_err(
                "the teacher's vocabulary differs from the corpus's characters; distill on the corpus the teacher was trained on",
            ));
        }
        if tc.ctx < sc.ctx {
            return Err(input_err(format!(
                "the student's context ({}) is longer than the teacher's ({})",
                sc.ctx, tc.ctx
            )));
        }
        let rows = self.workers[0].acts.capacity() * sc.ctx;
        for w in &mut self.workers {
            w.teacher = Some(TeacherBufs::new(&d.teacher.model, rows));
        }
        self.distill = Some(d);
        Ok(())
    }

    /// The distillation settings, if this run has a teacher.
    pub fn distill_options(&self) -> Option<DistillOptions> {
        self.distill.as_ref().map(|d| d.opts)
    }

    pub(super) fn distill_record(&self) -> Option<DistillRecord> {
        self.distill.as_ref().map(|d| DistillRecord {
            teacher_sha256: d.teacher.sha256.clone(),
            temperature: d.opts.temperature,
            alpha: d.opts.alpha,
        })
    }

    /// What a student's file records about its teacher (empty without one).
    pub fn distill_facts(&self) -> Vec<(String, String)> {
        let Some(d) = &self.distill else {
            return Vec::new();
        };
        let tc = d.teacher.model.cfg;
        vec![
            ("distill_teacher_sha256".into(), d.teacher.sha256.clone()),
            (
                "distill_teacher_config".into(),
                serde_json::to_string(&tc).expect("config serialises"),
            ),
            ("distill_temperature".into(), d.opts.temperature.to_string()),
            ("distill_alpha".into(), d.opts.alpha.to_string()),
            (
                "distill_loss".into(),
                "alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * cross-entropy(next char)".into(),
            ),
            (
                "trainer".into(),
                "tinyopt distill (hand-written backward, AdamW, warmup + cosine; teacher = inference forward)".into(),
            ),
        ]
    }
}
