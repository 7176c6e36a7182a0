//! `tinyopt recover`: prunes the model, then distills it back from the unpruned model
//! on text that model samples itself (no corpus), the same recovery the page runs.
//! Prints the loss curve and top-1 / KL / perplexity before and after.

use crate::load::ModelArg;
use crate::recipe::{Pruning, RecipeArgs};
use crate::train::{hms, write_atomic, Progress};
use crate::values;
use tinyopt::clock;
use tinyopt::model::io;
use tinyopt::prune::PruneKind;
use tinyopt::train::recover::{Quality, RecoverOptions, Recovery};

#[derive(clap::Args)]
pub struct Args {
    /// Write the recovered model here (safetensors; structured: the smaller model)
    #[arg(long, value_name = "PATH")]
    out: Option<String>,
    /// Distillation steps
    #[arg(long, value_name = "S", default_value_t = RecoverOptions::default().steps,
          value_parser = values::count)]
    steps: usize,
    /// A time budget of training seconds (0: none): after the warmup the schedule is
    /// fitted to it at the measured pace (at most --steps; the cosine ends with the
    /// budget), and training stops when it is spent
    #[arg(long, value_name = "SECS", default_value_t = 0.0, value_parser = values::non_negative)]
    seconds: f32,
    /// Stop after this many steps, keeping the schedule of --steps (what a page run cut
    /// short by its time budget did: reproduce it with the steps it took)
    #[arg(long, value_name = "N", value_parser = values::count)]
    stop_at: Option<usize>,
    /// Sequences per step
    #[arg(long, value_name = "B", default_value_t = RecoverOptions::default().batch,
          value_parser = values::count)]
    batch: usize,
    /// Peak learning rate
    #[arg(long, value_name = "LR", default_value_t = RecoverOptions::default().lr,
          allow_negative_numbers = true, value_parser = values::positive)]
    lr: f32,
    /// Warm-up steps
    #[arg(long, value_name = "W", default_value_t = RecoverOptions::default().warmup,
          value_parser = values::whole)]
    warmup: usize,
    /// Sequences of ctx characters the unpruned model samples as training text
    #[arg(long, value_name = "N", default_value_t = RecoverOptions::default().samples,
          value_parser = values::count)]
    samples: usize,
    /// Softening temperature of the distillation
    #[arg(long, value_name = "T", default_value_t = RecoverOptions::default().temperature,
          value_parser = values::positive)]
    temperature: f32,
    /// Weight of the soft (teacher) term, 0..=1
    #[arg(long, value_name = "A", default_value_t = RecoverOptions::default().alpha)]
    alpha: f32,
    /// Seed of the teacher's samples and the batches
    #[arg(long, value_name = "S", default_value_t = RecoverOptions::default().seed)]
    seed: u64,
    /// Quality against the unpruned model every N steps (0: only before and after)
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = values::whole)]
    eval_every: usize,
    /// Print JSON lines (one per step, then the table) instead of text
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    prune: RecipeArgs<Pruning>,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let pc = a.prune.recipe.prune;
    if pc.kind == PruneKind::None || pc.ratio <= 0.0 {
        return Err("recover: give --prune R (0 < R <= 0.95) to have something to recover".into());
    }
    let teacher = a.model.load()?;
    let opts = RecoverOptions {
        prune: pc,
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        warmup: a.warmup,
        samples: a.samples,
        seed: a.seed,
        temperature: a.temperature,
        alpha: a.alpha,
    };
    let e = |e: tinyopt::Error| e.to_string();
    let t_setup = clock::now_ms();
    let mut rec = Recovery::new(&teacher, opts).map_err(e)?;
    eprintln!(
        "pruned {} ({:.1}% of block weights, {} held at zero); the unpruned model sampled {} x {} characters in {:.1} s",
        pc.kind.name(),
        100.0 * rec.stats.sparsity,
        rec.trainer.frozen_count(),
        opts.samples,
        teacher.cfg.ctx,
        (clock::now_ms() - t_setup) / 1e3
    );
    let before = rec.quality(rec.pruned()).map_err(e)?;
    let print_q = |stage: &str, step: usize, q: &Quality, secs: f64, sha: Option<String>| {
        if a.json {
            println!(
                "{}",
                serde_json::json!({"stage": stage, "step": step, "seconds": secs,
                    "top1_agreement": q.top1_agreement, "kld": q.kld, "perplexity": q.perplexity,
                    "weights_sha256": sha})
            );
        }
    };
    print_q("pruned", 0, &before, 0.0, None);
    let mut progress = Progress::new();
    let t0 = clock::now_ms();
    let mut secs = 0.0;
    while !rec.done() {
        let info = rec.step().map_err(e)?;
        secs = (clock::now_ms() - t0) / 1e3;
        if a.json {
            println!(
                "{}",
                serde_json::json!({"step": info.step, "seconds": secs, "loss": info.loss,
                    "kl": info.kl, "xent": info.xent, "lr": info.lr})
            );
        } else {
            let eta = (rec.opts.steps - info.step) as f64 * secs / info.step as f64;
            let line = format!(
                "step {:>4}/{} | loss {:.4} | KL {:.4} | lr {:.2e} | {:.2} steps/s | ETA {}",
                info.step,
                rec.opts.steps,
                info.loss,
                info.kl.unwrap_or(0.0),
                info.lr,
                info.step as f64 / secs,
                hms(eta)
            );
            progress.step(&line, info.step == 1 || info.step == rec.opts.steps);
        }
        if a.eval_every > 0 && info.step % a.eval_every == 0 {
            let q = rec.quality(&rec.trainer.model().map_err(e)?).map_err(e)?;
            print_q("recovering", info.step, &q, secs, None);
            if !a.json {
                progress.note(&format!(
                    "step {:>4}: top-1 {:.1}% | KL {:.4}",
                    info.step,
                    100.0 * q.top1_agreement,
                    q.kld
                ));
            }
        }
        if a.seconds > 0.0 && info.step == rec.fit_after() {
            let total = rec
                .fit_to_budget(secs * 1e3, a.seconds as f64 * 1e3)
                .map_err(e)?;
            if a.json {
                println!("{}", serde_json::json!({"stage": "fitted", "step": info.step, "steps": total, "seconds": secs}));
            } else {
                progress.note(&format!(
                    "schedule fitted to {} s: {total} steps at {:.2} steps/s",
                    a.seconds,
                    info.step as f64 / secs
                ));
            }
        }
        if a.seconds > 0.0 && secs >= a.seconds as f64 {
            break;
        }
        if a.stop_at.is_some_and(|n| info.step >= n) {
            break;
        }
    }
    progress.finish();
    let steps = rec.trainer.step_count();
    let model = rec.model().map_err(e)?;
    let after = rec.quality(&model).map_err(e)?;
    let unpruned = rec.quality(rec.teacher()).map_err(e)?;
    print_q("recovered", steps, &after, secs, Some(rec.weights_sha256()));
    if let Some(out) = &a.out {
        write_atomic(out, &io::save(&model).map_err(e)?)?;
        eprintln!("wrote {out} ({} weight bytes)", model.weight_bytes());
    }
    if a.json {
        return Ok(());
    }
    println!(
        "{:<34} {:>7} {:>9} {:>11}",
        "", "top-1", "KL", "perplexity"
    );
    for (stage, q) in [
        ("unpruned".to_string(), unpruned),
        ("pruned".to_string(), before),
        (format!("recovered ({steps} steps, {secs:.1} s)"), after),
    ] {
        println!(
            "{:<34} {:>6.1}% {:>9.4} {:>11.3}",
            stage,
            100.0 * q.top1_agreement,
            q.kld,
            q.perplexity
        );
    }
    println!(
        "(top-1 and KL against the unpruned model on the fixed evaluation set, perplexity of its next characters; {:.1}% of block weights pruned, {}; {:.2} steps/s; weights sha256 {})",
        100.0 * rec.stats.sparsity,
        pc.kind.name(),
        steps as f64 / secs.max(1e-9),
        rec.weights_sha256()
    );
    Ok(())
}
