//! `tinyopt profile`: where a decode step's time goes, per op, with FLOPs and memory.

use crate::load::ModelArg;
use crate::recipe::{self, RecipeArgs};
use crate::values;
use tinyopt::profile::profile;

#[derive(clap::Args)]
pub struct Args {
    /// Print the report as one JSON line
    #[arg(long)]
    json: bool,
    /// Decode steps per run, from position 0 [default: the model's context length]
    #[arg(long, value_name = "N", value_parser = values::count)]
    tokens: Option<usize>,
    /// Runs of the decode steps
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = values::count)]
    runs: usize,
    #[command(flatten)]
    recipe: RecipeArgs,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let base = a.model.load()?;
    // Any recipe `bench` takes: profile the quantized or pruned model it builds.
    let rc = a.recipe.recipe;
    let (model, _) = recipe::build(&base, &rc).map_err(|e| format!("profile: {e}"))?;
    let tokens = a.tokens.unwrap_or(model.cfg.ctx);
    let r = profile(&model, tokens, a.runs).map_err(|e| e.to_string())?;
    if a.json {
        println!("{}", serde_json::to_string(&r).expect("report serialises"));
        return Ok(());
    }
    println!(
        "{}kernel {}, {} decode steps (positions 0..{}) x {} runs; {} steps kept, {} dropped as disturbed",
        recipe_label(&rc),
        r.kernel,
        r.tokens,
        r.tokens,
        r.runs,
        r.steps_kept,
        r.steps_dropped
    );
    println!(
        "{:<16} {:>10} {:>7} {:>12} {:>8}",
        "op", "ms/token", "share", "FLOPs/token", "GFLOP/s"
    );
    for o in &r.ops {
        println!(
            "{:<16} {:>10.4} {:>6.1}% {:>12.0} {:>8.2}",
            o.op,
            o.ms_per_token,
            100.0 * o.share,
            o.flops_per_token,
            o.gflops
        );
    }
    println!(
        "{:<16} {:>10.4} {:>6.1}%  (measured total {:.4} ms/token: p50 {:.4}, p90 {:.4}, p99 {:.4}, IQR {:.4})",
        "sum of ops",
        r.sum_ms_per_token,
        100.0 * r.sum_ms_per_token / r.total_ms_per_token,
        r.total_ms_per_token,
        r.token_ms.median_ms,
        r.token_ms.p90_ms,
        r.token_ms.p99_ms,
        r.token_ms.iqr_ms
    );
    println!(
        "FLOPs/token {:.0} (mean; {} at position 0), {:.2} GFLOP/s overall",
        r.flops_per_token, r.flops_per_token_pos0, r.gflops
    );
    println!("memory:");
    for e in &r.memory.entries {
        println!("  {:<14} {:>12} B  {}", e.kind, e.bytes, e.detail);
    }
    Ok(())
}

/// "int8-dynamic, structured 50% pruned, " or "" for the plain f32 model.
fn recipe_label(rc: &tinyopt::recipe::Recipe) -> String {
    use tinyopt::prune::PruneKind;
    let mut parts = Vec::new();
    if rc.quant.precision != tinyopt::quant::Precision::F32 {
        parts.push(rc.quant.precision.name().to_string());
    }
    if rc.prune.kind != PruneKind::None {
        let format = if rc.prune.kind == PruneKind::Unstructured {
            format!(", {} storage", rc.prune.format.name())
        } else {
            String::new()
        };
        parts.push(format!(
            "{} {:.0}% pruned{format}",
            rc.prune.kind.name(),
            100.0 * rc.prune.ratio,
        ));
    }
    parts.iter().map(|p| format!("{p}, ")).collect()
}
