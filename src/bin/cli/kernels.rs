//! `tinyopt kernels`: every matrix kernel on the model's own shapes, timed.

use crate::args::Args;
use crate::load;
use tinyopt::profile::kernel_bench::{cases, run_case};
use tinyopt::profile::Timer;

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("kernels", raw, &["model", "prefill", "runs"], &["json"])?;
    let model = load::model(a.str("model"))?;
    let timer = Timer {
        runs: a.get("runs", Timer::default().runs)?,
        ..Timer::default()
    };
    let json = a.flag("json");
    if !json {
        println!("Y (m x n) = X (m x k) · Wᵀ; matvec is m = 1; GFLOP/s = 2mnk / median time");
        println!(
            "{:<10} {:<7} {:>4} {:>5} {:>5}  {:<8} {:>8} {:>10} {:>10} {:>9}",
            "shape", "op", "m", "k", "n", "kernel", "GFLOP/s", "ms p50", "ms p90", "x naive"
        );
    }
    for case in cases(&model.cfg, a.get("prefill", 64)?) {
        for r in run_case(&case, &timer) {
            if json {
                println!("{}", serde_json::to_string(&r).expect("row serialises"));
            } else {
                println!(
                    "{:<10} {:<7} {:>4} {:>5} {:>5}  {:<8} {:>8.2} {:>10.4} {:>10.4} {:>8.1}x",
                    r.shape,
                    r.op,
                    r.m,
                    r.k,
                    r.n,
                    r.kernel,
                    r.gflops,
                    r.ms_p50,
                    r.ms_p90,
                    r.speedup_vs_naive
                );
            }
        }
    }
    Ok(())
}
