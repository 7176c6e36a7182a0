//! `tinyopt kernels`: every matrix kernel on the model's own shapes, timed.

use crate::args::Args;
use crate::load;
use tinyopt::profile::kernel_bench::{cases, run_case, TABLE_HEADER};
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
        println!("{TABLE_HEADER}");
    }
    for case in cases(&model.cfg, a.get("prefill", 64)?) {
        for r in run_case(&case, &timer) {
            if json {
                println!("{}", serde_json::to_string(&r).expect("row serialises"));
            } else {
                println!("{}", r.table_line());
            }
        }
    }
    Ok(())
}
