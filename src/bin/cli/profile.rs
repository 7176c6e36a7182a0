//! `tinyopt profile`: where a decode step's time goes, per op, with FLOPs and memory.

use crate::args::Args;
use crate::load;
use tinyopt::kernels::Kernel;
use tinyopt::profile::profile;

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(
        "profile",
        raw,
        &["model", "kernel", "tokens", "runs"],
        &["json"],
    )?;
    let mut model = load::model(a.str("model"))?;
    if let Some(k) = a.str("kernel") {
        model.kernel = Kernel::from_name(k).map_err(|e| format!("profile: {e}"))?;
    }
    let tokens = a.get("tokens", model.cfg.ctx)?;
    let r = profile(&model, tokens, a.get("runs", 5)?).map_err(|e| e.to_string())?;
    if a.flag("json") {
        println!("{}", serde_json::to_string(&r).expect("report serialises"));
        return Ok(());
    }
    println!(
        "kernel {}, {} decode steps (positions 0..{}) x {} runs",
        r.kernel, r.tokens, r.tokens, r.runs
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
