//! `tinyopt kernels`: every matrix kernel on the model's own shapes, timed.

use crate::load::ModelArg;
use crate::values;
use tinyopt::profile::kernel_bench::{cases, run_case, TABLE_HEADER};
use tinyopt::profile::Timer;

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON line per kernel and shape
    #[arg(long)]
    json: bool,
    /// Rows of the prefill (matrix-matrix) cases
    #[arg(long, value_name = "M", default_value_t = 64, value_parser = values::count)]
    prefill: usize,
    /// Timed samples per case
    #[arg(long, value_name = "R", default_value_t = Timer::default().runs,
          value_parser = values::count)]
    runs: usize,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let model = a.model.load()?;
    let timer = Timer {
        runs: a.runs,
        ..Timer::default()
    };
    let json = a.json;
    if !json {
        println!("Y (m x n) = X (m x k) · Wᵀ; matvec is m = 1; GFLOP/s = 2mnk / median time");
        println!(
            "paths on this CPU: {}",
            tinyopt::kernels::paths_here(a.prefill, model.cfg.d_model)
        );
        println!("{TABLE_HEADER}");
    }
    for case in cases(&model.cfg, a.prefill) {
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
