//! `tinyopt finetune`: prunes the model, then trains it briefly with the pruned weights
//! held at zero, and reports how much of the lost quality came back.

use crate::corpus;
use crate::load::ModelArg;
use crate::recipe::{Pruning, RecipeArgs};
use crate::train::{hms, write_atomic, Progress};
use crate::values;
use tinyopt::clock;
use tinyopt::eval;
use tinyopt::model::{io, Gpt};
use tinyopt::prune::{prune_model, prune_model_in_place, PruneKind, SparseFormat};
use tinyopt::quality;
use tinyopt::train::{TrainOptions, Trainer};

#[derive(clap::Args)]
pub struct Args {
    /// UTF-8 text the model was trained on (its held-out 10% measures the quality)
    #[arg(long, value_name = "FILE")]
    corpus: String,
    /// Write the fine-tuned model here (safetensors)
    #[arg(long, value_name = "PATH")]
    out: Option<String>,
    /// Fine-tuning steps
    #[arg(long, value_name = "S", default_value_t = 200, value_parser = values::count)]
    steps: usize,
    /// Sequences per step
    #[arg(long, value_name = "B", default_value_t = 16, value_parser = values::count)]
    batch: usize,
    /// Peak learning rate
    #[arg(long, value_name = "LR", default_value_t = 5e-4, allow_negative_numbers = true,
          value_parser = values::positive)]
    lr: f32,
    /// Warm-up steps [default: steps/20, at least 1]
    #[arg(long, value_name = "W", value_parser = values::whole)]
    warmup: Option<usize>,
    /// Seed of the batch sampling
    #[arg(long, value_name = "S", default_value_t = 1337)]
    seed: u64,
    /// Held-out loss every N steps (0: never)
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = values::whole)]
    eval_every: usize,
    /// Print one JSON line per stage
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    prune: RecipeArgs<Pruning>,
    #[command(flatten)]
    model: ModelArg,
}

/// One row of the before/after table.
#[derive(serde::Serialize)]
struct Row {
    stage: String,
    val_loss: f64,
    perplexity: f64,
    kld: f64,
    top1_agreement: f64,
}

pub fn run(a: Args) -> Result<(), String> {
    let corpus_path = &a.corpus;
    let mut pc = a.prune.recipe.prune;
    if pc.kind == PruneKind::None || pc.ratio <= 0.0 {
        return Err("finetune: give --prune R (0 < R <= 0.95) to have something to recover".into());
    }
    pc.format = SparseFormat::Dense;
    let base = a.model.load()?;
    let text = corpus::read(corpus_path)?;
    let steps = a.steps;
    let opts = TrainOptions {
        steps,
        batch: a.batch,
        lr: a.lr,
        warmup: a.warmup.unwrap_or((steps / 20).max(1)),
        seed: a.seed,
        ..TrainOptions::default()
    };
    let eval_every = a.eval_every;

    let (zeroed, stats) = prune_model_in_place(&base, &pc).map_err(|e| e.to_string())?;
    eprintln!(
        "pruned {} ({:.1}% of block weights); measuring quality on the held-out 10%...",
        pc.kind.name(),
        100.0 * stats.sparsity
    );
    let seqs = quality::fixed_eval_set(&base).map_err(|e| e.to_string())?;
    let row = |stage: &str, m: &Gpt| -> Result<Row, String> {
        let ev = eval::evaluate_corpus(m, &text).map_err(|e| e.to_string())?;
        let ag = quality::compare(&base, m, &seqs).map_err(|e| e.to_string())?;
        Ok(Row {
            stage: stage.to_string(),
            val_loss: ev.val_loss,
            perplexity: ev.perplexity,
            kld: ag.kld,
            top1_agreement: ag.top1_agreement,
        })
    };
    // Structured: measure the physically smaller model the zeroed one stands for.
    let final_form = |m: &Gpt| -> Result<Gpt, String> {
        match pc.kind {
            PruneKind::Structured => prune_model(m, &pc).map(|r| r.0).map_err(|e| e.to_string()),
            _ => Ok(m.clone()),
        }
    };
    let mut rows = vec![
        row("unpruned", &base)?,
        row("pruned", &final_form(&zeroed)?)?,
    ];

    let mut tr = Trainer::finetune(opts, &text, &zeroed).map_err(|e| e.to_string())?;
    eprintln!(
        "fine-tuning {} steps x {} sequences of {} (lr {}, warmup {}), {} weights held at zero",
        opts.steps,
        opts.batch,
        base.cfg.ctx,
        opts.lr,
        opts.warmup,
        tr.frozen_count()
    );
    let mut progress = Progress::new();
    let t0 = clock::now_ms();
    while tr.step_count() < opts.steps {
        let info = tr.step().map_err(|e| e.to_string())?;
        let secs = (clock::now_ms() - t0) / 1e3;
        let eta = (opts.steps - info.step) as f64 * secs / info.step as f64;
        let line = format!(
            "step {:>4}/{} | loss {:.4} | lr {:.2e} | ETA {}",
            info.step,
            opts.steps,
            info.loss,
            info.lr,
            hms(eta)
        );
        progress.step(&line, info.step == 1 || info.step == opts.steps);
        if eval_every > 0 && info.step % eval_every == 0 {
            let v = tr.val_loss();
            progress.note(&format!("step {:>4}: val loss {v:.4}", info.step));
        }
    }
    progress.finish();
    let tuned = tr.model().map_err(|e| e.to_string())?;
    rows.push(row(
        &format!("pruned + fine-tuned {} steps", opts.steps),
        &final_form(&tuned)?,
    )?);

    if let Some(out) = &a.out {
        // Structured: the smaller model itself; unstructured: dense with its zeros
        // (`--sparse-format csr` at load time stores only the nonzeros).
        let mut m = final_form(&tuned)?;
        m.meta
            .insert("finetune_steps".into(), opts.steps.to_string());
        m.meta.insert(
            "finetune_val_loss".into(),
            format!("{:.4}", rows[2].val_loss),
        );
        write_atomic(out, &io::save(&m).map_err(|e| e.to_string())?)?;
        eprintln!("wrote {out} ({} weight bytes)", m.weight_bytes());
    }

    if a.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r).expect("row serialises"));
        }
        return Ok(());
    }
    println!(
        "{:<32} {:>9} {:>11} {:>10} {:>8}",
        "", "val loss", "perplexity", "KL", "top-1"
    );
    for r in &rows {
        println!(
            "{:<32} {:>9.4} {:>11.3} {:>10.4} {:>7.1}%",
            r.stage,
            r.val_loss,
            r.perplexity,
            r.kld,
            100.0 * r.top1_agreement
        );
    }
    println!(
        "(val loss on the held-out 10% of {corpus_path}; KL and top-1 against the unpruned model on the fixed evaluation set; {:.1}% of block weights pruned, {})",
        100.0 * stats.sparsity,
        pc.kind.name()
    );
    Ok(())
}
