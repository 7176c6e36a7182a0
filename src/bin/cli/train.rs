//! `tinyopt train`: trains the GPT on a UTF-8 corpus, shows progress on stderr,
//! checkpoints every N steps and writes the model with its training facts.

use crate::args::Args;
use crate::corpus;
use std::io::{IsTerminal, Write};
use tinyopt::clock;
use tinyopt::eval;
use tinyopt::model::io;
use tinyopt::train::distill::sha256_hex;
use tinyopt::train::{TrainOptions, Trainer};

const VALUED: &[&str] = &[
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
    "eval-every",
    "ckpt-every",
    "checkpoint",
];

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("train", raw, VALUED, &["resume"])?;
    let corpus_path = a.str("corpus").ok_or("train: --corpus FILE is required")?;
    let out = a.str("out").ok_or("train: --out PATH is required")?;
    let ckpt_path = a
        .str("checkpoint")
        .map(String::from)
        .unwrap_or_else(|| format!("{out}.ckpt"));
    let eval_every: usize = a.get("eval-every", 250)?;
    let ckpt_every: usize = a.get("ckpt-every", 250)?;
    let text = corpus::read(corpus_path)?;

    let d = TrainOptions::default();
    let steps = a.get("steps", d.steps)?;
    let mut opts = TrainOptions {
        steps,
        batch: a.get("batch", d.batch)?,
        lr: a.get("lr", d.lr)?,
        // Short runs warm up over a tenth of their steps at most.
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
        let bytes = std::fs::read(&ckpt_path)
            .map_err(|e| format!("--resume: cannot read checkpoint {ckpt_path}: {e}"))?;
        let tr = Trainer::resume(&bytes, &text).map_err(|e| format!("{ckpt_path}: {e}"))?;
        check_flags_match(&a, &tr.opts)?;
        eprintln!(
            "resuming from {ckpt_path} at step {}/{}",
            tr.step_count(),
            tr.opts.steps
        );
        tr
    } else {
        Trainer::new(opts, &text).map_err(|e| format!("{corpus_path}: {e}"))?
    };
    drive(&mut tr, &text, out, &ckpt_path, eval_every, ckpt_every)
}

/// Runs `tr` to its last step with progress and checkpoints, then measures it and
/// writes the model with its training facts (and a student's teacher, if distilling).
pub fn drive(
    tr: &mut Trainer,
    text: &str,
    out: &str,
    ckpt_path: &str,
    eval_every: usize,
    ckpt_every: usize,
) -> Result<(), String> {
    let o = tr.opts;
    let (n_train, n_val) = tr.split_sizes();
    eprintln!(
        "model {:?}, {} parameters; corpus {} characters: {} train, {} held out; batch {} x {} = {} tokens/step; lr {} (warmup {}, cosine to {}); seed {}",
        o.cfg,
        tr.n_params(),
        n_train + n_val,
        n_train,
        n_val,
        o.batch,
        o.cfg.ctx,
        o.batch * o.cfg.ctx,
        o.lr,
        o.warmup,
        o.lr * 0.1,
        o.seed
    );

    let mut progress = Progress::new();
    let t0 = clock::now_ms();
    let (base_ms, step0) = (tr.elapsed_ms, tr.step_count());
    let mut last_val = f64::NAN;
    while tr.step_count() < o.steps {
        let info = tr.step().map_err(|e| e.to_string())?;
        let now = clock::now_ms();
        tr.elapsed_ms = base_ms + (now - t0);
        let done = info.step == o.steps;
        let session_steps = (info.step - step0) as f64;
        let secs = (now - t0) / 1e3;
        let tok_s = session_steps * (o.batch * o.cfg.ctx) as f64 / secs;
        let eta = (o.steps - info.step) as f64 * secs / session_steps;
        let parts = match info.kl {
            Some(kl) => format!(" (ce {:.4}, kl {kl:.4})", info.xent),
            None => String::new(),
        };
        let line = format!(
            "step {:>5}/{} | loss {:.4}{parts} | lr {:.2e} | grad norm {:.2} | {:.0} tok/s | ETA {}",
            info.step,
            o.steps,
            info.loss,
            info.lr,
            info.grad_norm,
            tok_s,
            hms(eta)
        );
        progress.step(&line, info.step == step0 + 1 || done);
        if (eval_every > 0 && info.step % eval_every == 0) || done {
            let (v, ms) = clock::time_ms(|| tr.val_loss());
            last_val = v;
            progress.note(&format!(
                "step {:>5}: train loss {:.4}, val loss {:.4} ({:.1} s)",
                info.step,
                info.loss,
                v,
                ms / 1e3
            ));
        }
        if (ckpt_every > 0 && info.step % ckpt_every == 0) || done {
            write_atomic(ckpt_path, &tr.checkpoint())?;
        }
    }
    progress.finish();

    let mut model = tr.model().map_err(|e| e.to_string())?;
    eprintln!("evaluating the held-out 10% with the inference model...");
    let r = eval::evaluate_corpus(&model, text).map_err(|e| e.to_string())?;
    let secs = tr.elapsed_ms / 1e3;
    let facts: Vec<(&str, String)> = vec![
        ("val_loss", format!("{:.4}", r.val_loss)),
        ("val_perplexity", format!("{:.3}", r.perplexity)),
        ("val_protocol", format!("held-out last 10% of characters, non-overlapping windows of {} inputs, inference forward", o.cfg.ctx)),
        ("train_tokens", tr.tokens_seen.to_string()),
        ("steps", o.steps.to_string()),
        ("batch", o.batch.to_string()),
        ("lr", o.lr.to_string()),
        ("warmup", o.warmup.to_string()),
        ("weight_decay", o.weight_decay.to_string()),
        ("seed", o.seed.to_string()),
        ("corpus_sha256", sha256_hex(text.as_bytes())),
        ("corpus_bytes", text.len().to_string()),
        ("train_seconds", format!("{secs:.1}")),
        ("train_tokens_per_s", format!("{:.0}", tr.tokens_seen as f64 / secs)),
        ("trainer", "tinyopt train (hand-written backward, AdamW, warmup + cosine)".to_string()),
    ];
    for (k, v) in facts {
        model.meta.insert(k.to_string(), v);
    }
    model.meta.extend(tr.distill_facts());
    let bytes = io::save(&model).map_err(|e| e.to_string())?;
    write_atomic(out, &bytes)?;
    let estimate = if last_val.is_finite() {
        format!("; trainer's last estimate {last_val:.4}")
    } else {
        String::new()
    };
    println!(
        "wrote {out}: val_loss {:.4} nats/char (perplexity {:.3}{estimate}), {} steps, {} tokens in {}",
        r.val_loss,
        r.perplexity,
        o.steps,
        tr.tokens_seen,
        hms(secs)
    );
    Ok(())
}

/// On `--resume`, the checkpoint's options rule; a flag given explicitly must agree.
pub fn check_flags_match(a: &Args, o: &TrainOptions) -> Result<(), String> {
    let checks: [(&str, String); 10] = [
        ("n-layer", o.cfg.n_layer.to_string()),
        ("n-head", o.cfg.n_head.to_string()),
        ("d-model", o.cfg.d_model.to_string()),
        ("ctx", o.cfg.ctx.to_string()),
        ("steps", o.steps.to_string()),
        ("batch", o.batch.to_string()),
        ("lr", o.lr.to_string()),
        ("warmup", o.warmup.to_string()),
        ("weight-decay", o.weight_decay.to_string()),
        ("seed", o.seed.to_string()),
    ];
    for (name, have) in checks {
        if let Some(given) = a.str(name) {
            let same = match (given.parse::<f64>(), have.parse::<f64>()) {
                (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                _ => given == have,
            };
            if !same {
                return Err(format!(
                    "--resume: --{name} {given} differs from the checkpoint's {have}; drop the flag or start a new run"
                ));
            }
        }
    }
    Ok(())
}

/// Step lines on stderr: rewritten in place on a terminal, otherwise one every 10 s
/// (and whenever asked), so a log stays short.
pub struct Progress {
    tty: bool,
    last_print: f64,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            last_print: clock::now_ms(),
        }
    }

    /// The current step's line; `force` prints it in a log too.
    pub fn step(&mut self, line: &str, force: bool) {
        let now = clock::now_ms();
        if self.tty {
            eprint!("\r\x1b[K{line}");
        } else if force || now - self.last_print > 10_000.0 {
            eprintln!("{line}");
            self.last_print = now;
        }
        let _ = std::io::stderr().flush();
    }

    /// A line that stays (an evaluation), below the step line.
    pub fn note(&mut self, line: &str) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!("{line}");
    }

    /// Ends the rewritten line on a terminal.
    pub fn finish(&mut self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// Writes via a temporary file and a rename, so an interrupted write leaves the old file.
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<(), String> {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot rename {tmp} to {path}: {e}"))
}

pub fn hms(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
