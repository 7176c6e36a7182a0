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
        recipe_label(&rc, &r),
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

/// "recipe 1a58e7c8d3f7 (--precision int8-dynamic), storage 19 int8-w8a8; " or "" for
/// the model as loaded: the recipe's own spelling and what the model holds.
fn recipe_label(rc: &tinyopt::recipe::Recipe, r: &tinyopt::profile::ProfileReport) -> String {
    if rc.is_identity() {
        return String::new();
    }
    format!(
        "recipe {} ({}), storage {}; ",
        rc.id().unwrap_or_default(),
        rc.to_cli_args().join(" "),
        crate::bench::storage_label(&r.storage)
    )
}
