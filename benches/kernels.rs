//! `cargo bench --bench kernels`: the kernel table for the default config, with the
//! library's own timer (no criterion). The same rows as `tinyopt kernels`; then the
//! sparse matvecs (CSR, SELL) against dense at 90 % sparsity, as `tinyopt prune-report`.

use tinyopt::model::Config;
use tinyopt::profile::kernel_bench::{cases, run_case, TABLE_HEADER};
use tinyopt::profile::Timer;
use tinyopt::sparsity_sweep::point;

fn main() {
    // `cargo bench` passes `--bench`; a filter word limits the shapes.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let timer = Timer::default();
    println!("{TABLE_HEADER}");
    for case in cases(&Config::default(), 64) {
        if filter.as_deref().is_some_and(|f| !case.shape.contains(f)) {
            continue;
        }
        for r in run_case(&case, &timer) {
            println!("{}", r.table_line());
        }
    }
    let d = Config::default().d_model;
    println!("\nsparse matvec at 90 % sparsity (the three alternating; median µs, × dense, bytes % of dense)");
    for (rows, cols) in [(512, 512), (4 * d, d), (d, 4 * d)] {
        let p = point(rows, cols, 0.9, &timer);
        let say = |f: &tinyopt::sparsity_sweep::FormatPoint| {
            format!(
                "{:7.2} µs ×{:5.2} {:5.1} %",
                1e3 * f.ms,
                f.speedup,
                100.0 * f.bytes as f64 / p.dense.bytes as f64
            )
        };
        println!(
            "{:>4}×{:<4} dense {}  csr {}  sell {}",
            rows,
            cols,
            say(&p.dense),
            say(&p.csr),
            say(&p.sell)
        );
    }
}
