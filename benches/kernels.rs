//! `cargo bench --bench kernels`: the kernel table for the default config, with the
//! library's own timer (no criterion). The same rows as `tinyopt kernels`.

use tinyopt::model::Config;
use tinyopt::profile::kernel_bench::{cases, run_case, TABLE_HEADER};
use tinyopt::profile::Timer;

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
}
