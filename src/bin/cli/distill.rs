//! `tinyopt distill`: trains a student of any shape against a teacher model's softened
//! outputs (`tinyopt::train::distill`), with `train`'s data, schedule, progress,
//! checkpoints and resume; the student's file records its teacher and settings.

use crate::args::Args;
use crate::corpus;
use crate::train::{check_flags_match, drive};
use tinyopt::train::distill::{sha256_hex, DistillOptions, Teacher};
use tinyopt::train::{TrainOptions, Trainer};

const VALUED: &[&str] = &[
    "teacher",
    "corpus",
    "out",
    "n-layer",
    "n-head",
    "d-model",
    "ctx",
    "steps",
    "batch",
    "lr",
    "warmup",
    "weight-decay",
    "seed",
    "temperature",
    "alpha",
    "eval-every",
    "ckpt-every",
    "checkpoint",
];

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("distill", raw, VALUED, &["resume"])?;
    let teacher_path = a
        .str("teacher")
        .ok_or("distill: --teacher MODEL is required")?;
    let corpus_path = a
        .str("corpus")
        .ok_or("distill: --corpus FILE is required")?;
    let out = a.str("out").ok_or("distill: --out PATH is required")?;
    let ckpt_path = a
        .str("checkpoint")
        .map(String::from)
        .unwrap_or_else(|| format!("{out}.ckpt"));
    let eval_every: usize = a.get("eval-every", 250)?;
    let ckpt_every: usize = a.get("ckpt-every", 250)?;
    let text = corpus::read(corpus_path)?;
    let bytes = std::fs::read(teacher_path)
        .map_err(|e| format!("cannot read teacher {teacher_path}: {e}"))?;
    let teacher = Teacher::from_bytes(&bytes).map_err(|e| format!("{teacher_path}: {e}"))?;

    let dd = DistillOptions::default();
    let dopts = DistillOptions {
        temperature: a.get("temperature", dd.temperature)?,
        alpha: a.get("alpha", dd.alpha)?,
    };
    let d = TrainOptions::default();
    let steps = a.get("steps", d.steps)?;
    let mut opts = TrainOptions {
        steps,
        batch: a.get("batch", d.batch)?,
        lr: a.get("lr", d.lr)?,
        // Short runs warm up over a tenth of their steps at most, as in `train`.
        warmup: a.get("warmup", d.warmup.min(steps / 10).max(1))?,
        weight_decay: a.get("weight-decay", d.weight_decay)?,
        seed: a.get("seed", d.seed)?,
        ..d
    };
    opts.cfg.n_layer = a.get("n-layer", d.cfg.n_layer)?;
    opts.cfg.n_head = a.get("n-head", d.cfg.n_head)?;
    opts.cfg.d_model = a.get("d-model", d.cfg.d_model)?;
    opts.cfg.ctx = a.get("ctx", d.cfg.ctx)?;

    let mut tr = if a.flag("resume") {
        let ck = std::fs::read(&ckpt_path)
            .map_err(|e| format!("--resume: cannot read checkpoint {ckpt_path}: {e}"))?;
        let tr = Trainer::resume_distill(&ck, &text, teacher)
            .map_err(|e| format!("{ckpt_path}: {e}"))?;
        check_flags_match(&a, &tr.opts)?;
        let have = tr.distill_options().expect("a distillation checkpoint");
        for (name, given, had) in [
            ("temperature", dopts.temperature, have.temperature),
            ("alpha", dopts.alpha, have.alpha),
        ] {
            if a.str(name).is_some() && given != had {
                return Err(format!(
                    "--resume: --{name} {given} differs from the checkpoint's {had}; drop the flag or start a new run"
                ));
            }
        }
        eprintln!(
            "resuming from {ckpt_path} at step {}/{}",
            tr.step_count(),
            tr.opts.steps
        );
        tr
    } else {
        Trainer::distill(opts, dopts, &text, teacher).map_err(|e| format!("{corpus_path}: {e}"))?
    };
    let o = tr.distill_options().expect("distilling");
    eprintln!(
        "teacher {teacher_path} (sha256 {}); temperature {}, alpha {}",
        &sha256_hex(&bytes)[..16],
        o.temperature,
        o.alpha
    );
    drive(&mut tr, &text, out, &ckpt_path, eval_every, ckpt_every)
}
