//! `cargo bench --bench kernels`: the kernel table for the default config, with the
//! library's own timer (no criterion). The same rows as `tinyopt kernels`.

use tinyopt::model::Config;
use tinyopt::profile::kernel_bench::{cases, run_case};
use tinyopt::profile::Timer;

fn main() {
    // `cargo bench` passes `--bench`; a filter word limits the shapes.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let timer = Timer::default();
    println!(
        "{:<10} {:<7} {:>4} {:>5} {:>5}  {:<8} {:>8} {:>10} {:>10} {:>9}",
        "shape", "op", "m", "k", "n", "kernel", "GFLOP/s", "ms p50", "ms iqr", "x naive"
    );
    for case in cases(&Config::default(), 64) {
        if filter.as_deref().is_some_and(|f| !case.shape.contains(f)) {
            continue;
        }
        for r in run_case(&case, &timer) {
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
                r.ms_iqr,
                r.speedup_vs_naive
            );
        }
    }
}
