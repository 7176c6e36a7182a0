//! `tinyopt train`: trains the GPT on a UTF-8 corpus, shows progress on stderr,
//! checkpoints every N steps and writes the model with its training facts.

use crate::corpus;
use crate::values;
use clap::parser::ValueSource;
use clap::ArgMatches;
use std::io::{IsTerminal, Write};
use tinyopt::clock;
use tinyopt::eval;
use tinyopt::model::io;
use tinyopt::train::distill::sha256_hex;
use tinyopt::train::{TrainOptions, Trainer};

fn d() -> TrainOptions {
    TrainOptions::default()
}

#[derive(clap::Args)]
pub struct Args {
    /// UTF-8 text to train on (its last 10% is held out)
    #[arg(long, value_name = "FILE")]
    corpus: String,
    /// Where the trained model goes (safetensors)
    #[arg(long, value_name = "PATH")]
    out: String,
    /// Transformer blocks
    #[arg(long, value_name = "N", default_value_t = d().cfg.n_layer, value_parser = values::count)]
    n_layer: usize,
    /// Attention heads per block
    #[arg(long, value_name = "H", default_value_t = d().cfg.n_head, value_parser = values::count)]
    n_head: usize,
    /// Width of the residual stream
    #[arg(long, value_name = "D", default_value_t = d().cfg.d_model, value_parser = values::count)]
    d_model: usize,
    /// Context length in characters
    #[arg(long, value_name = "T", default_value_t = d().cfg.ctx, value_parser = values::count)]
    ctx: usize,
    /// Optimizer steps
    #[arg(long, value_name = "S", default_value_t = d().steps, value_parser = values::count)]
    steps: usize,
    /// Sequences per step
    #[arg(long, value_name = "B", default_value_t = d().batch, value_parser = values::count)]
    batch: usize,
    /// Peak learning rate (the cosine ends at a tenth of it)
    #[arg(long, value_name = "LR", default_value_t = d().lr, allow_negative_numbers = true,
          value_parser = values::positive)]
    lr: f32,
    /// Warm-up steps [default: 100, or steps/10 if fewer, at least 1]
    #[arg(long, value_name = "W", value_parser = values::whole)]
    warmup: Option<usize>,
    /// AdamW weight decay
    #[arg(long, value_name = "WD", default_value_t = d().weight_decay,
          allow_negative_numbers = true, value_parser = values::non_negative)]
    weight_decay: f32,
    /// Seed of the initialisation and the batch sampling
    #[arg(long, value_name = "S", default_value_t = d().seed)]
    seed: u64,
    /// Held-out loss every N steps (0: only at the end)
    #[arg(long, value_name = "N", default_value_t = 250, value_parser = values::whole)]
    eval_every: usize,
    /// Checkpoint every N steps (0: only at the end)
    #[arg(long, value_name = "N", default_value_t = 250, value_parser = values::whole)]
    ckpt_every: usize,
    /// Checkpoint file [default: <out>.ckpt]
    #[arg(long, value_name = "PATH")]
    checkpoint: Option<String>,
    /// Continue from the checkpoint (its options rule; given ones must agree)
    #[arg(long)]
    resume: bool,
}

/// A run's options as given (`train` and `distill` share them).
pub struct Run {
    pub text: String,
    pub opts: TrainOptions,
    pub ckpt_path: String,
}

impl Args {
    /// Reads the corpus and turns the options into the trainer's.
    pub fn run_options(&self) -> Result<Run, String> {
        let a = self;
        let text = corpus::read(&a.corpus)?;
        let ckpt_path = a
            .checkpoint
            .clone()
            .unwrap_or_else(|| format!("{}.ckpt", a.out));
        Ok(Run {
            text,
            opts: a.options(),
            ckpt_path,
        })
    }

    fn options(&self) -> TrainOptions {
        let a = self;
        let d = d();
    let steps = a.steps;
    let mut opts = TrainOptions {
        steps,
        batch: a.batch,
        lr: a.lr,
        // Short runs warm up over a tenth of their steps at most.
        warmup: a.warmup.unwrap_or(d.warmup.min(steps / 10).max(1)),
        weight_decay: a.weight_decay,
        seed: a.seed,
        ..d
    };
    opts.cfg.n_layer = a.n_layer;
    opts.cfg.n_head = a.n_head;
    opts.cfg.d_model = a.d_model;
    opts.cfg.ctx = a.ctx;
    opts
    }

    pub fn corpus(&self) -> &str {
        &self.corpus
    }

    pub fn resume(&self) -> bool {
        self.resume
    }

    /// Runs `tr` to the end (see `drive`) with this command's progress settings.
    pub fn drive(&self, tr: &mut Trainer, run: &Run) -> Result<(), String> {
        drive(tr, &run.text, &self.out, &run.ckpt_path, self.eval_every, self.ckpt_every)
    }
}

/// `m`: the command's matches, to tell a given option from a default on `--resume`.
pub fn run(a: Args, m: &ArgMatches) -> Result<(), String> {
    let Run {
        text,
        opts,
        ckpt_path,
    } = a.run_options()?;
    let corpus_path = &a.corpus;
    let mut tr = if a.resume {
        let bytes = std::fs::read(&ckpt_path)
            .map_err(|e| format!("--resume: cannot read checkpoint {ckpt_path}: {e}"))?;
        let tr = Trainer::resume(&bytes, &text).map_err(|e| format!("{ckpt_path}: {e}"))?;
        check_flags_match(m, &opts, &tr.opts)?;
        eprintln!(
            "resuming from {ckpt_path} at step {}/{}",
            tr.step_count(),
            tr.opts.steps
        );
        tr
    } else {
        Trainer::new(opts, &text).map_err(|e| format!("{corpus_path}: {e}"))?
    };
    drive(
        &mut tr,
        &text,
        &a.out,
        &ckpt_path,
        a.eval_every,
        a.ckpt_every,
    )
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

/// On `--resume`, the checkpoint's options (`have`) rule; an option given explicitly
/// (`given`, read from the command line) must agree.
pub fn check_flags_match(
    m: &ArgMatches,
    given: &TrainOptions,
    have: &TrainOptions,
) -> Result<(), String> {
    let values = |o: &TrainOptions| -> [String; 10] {
        [
            o.cfg.n_layer.to_string(),
            o.cfg.n_head.to_string(),
            o.cfg.d_model.to_string(),
            o.cfg.ctx.to_string(),
            o.steps.to_string(),
            o.batch.to_string(),
            o.lr.to_string(),
            o.warmup.to_string(),
            o.weight_decay.to_string(),
            o.seed.to_string(),
        ]
    };
    // The argument ids (fields of `Args`) of those values.
    let ids = [
        "n_layer",
        "n_head",
        "d_model",
        "ctx",
        "steps",
        "batch",
        "lr",
        "warmup",
        "weight_decay",
        "seed",
    ];
    for ((id, given), have) in ids.iter().zip(values(given)).zip(values(have)) {
        if m.value_source(id) == Some(ValueSource::CommandLine) {
            let same = match (given.parse::<f64>(), have.parse::<f64>()) {
                (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                _ => given == have,
            };
            if !same {
                let name = id.replace('_', "-");
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
