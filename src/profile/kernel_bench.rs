//! The kernel table: every kernel on the model's own matrix shapes and on a 512x512
//! matrix-vector product, in GFLOP/s with spread and speedup over `naive`.
//!
//! Shapes: Y (m, n) = X (m, k) · Wᵀ, W (n, k). `matvec` is a decode step (m = 1),
//! `matmul` a prefill of m tokens. FLOPs = 2·m·n·k (the bias adds are not counted).

use super::timer::{Timer, Timing};
use crate::kernels::{self, Kernel};
use crate::model::Config;
use crate::rng::Rng;
use serde::Serialize;

/// One matrix product to time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Case {
    /// Which weight: `qkv`, `attn_out`, `mlp_up`, `mlp_down`, `lm_head`, or `square512`.
    pub shape: String,
    /// `matvec` (m = 1) or `matmul`.
    pub op: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl Case {
    fn new(shape: &str, m: usize, k: usize, n: usize) -> Case {
        Case {
            shape: shape.into(),
            op: if m == 1 { "matvec" } else { "matmul" },
            m,
            k,
            n,
        }
    }

    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// One line of `tinyopt kernels --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub kernel: &'static str,
    /// The code that ran (`Kernel::path`): which SIMD path the dispatch took here.
    pub path: &'static str,
    pub shape: String,
    pub op: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// At the median time.
    pub gflops: f64,
    pub ms_p50: f64,
    pub ms_p90: f64,
    pub ms_iqr: f64,
    /// naive's median time / this kernel's.
    pub speedup_vs_naive: f64,
    pub reps: usize,
    pub runs: usize,
}

/// Column titles of the human-readable kernel table (`Row::table_line`).
pub const TABLE_HEADER: &str =
    "shape      op         m     k     n  kernel    GFLOP/s     ms p50     ms p90    ms iqr   x naive  path";

impl Row {
    /// One line of the human-readable kernel table, under `TABLE_HEADER`.
    pub fn table_line(&self) -> String {
        format!(
            "{:<10} {:<7} {:>4} {:>5} {:>5}  {:<8} {:>8.2} {:>10.4} {:>10.4} {:>9.4} {:>8.1}x  {}",
            self.shape,
            self.op,
            self.m,
            self.k,
            self.n,
            self.kernel,
            self.gflops,
            self.ms_p50,
            self.ms_p90,
            self.ms_iqr,
            self.speedup_vs_naive,
            self.path
        )
    }
}

/// The 512x512 matvec, then each of the model's weights as a decode matvec and as a
/// prefill matmul of `prefill` tokens (clamped to the context).
pub fn cases(cfg: &Config, prefill: usize) -> Vec<Case> {
    let (d, f, v) = (cfg.d_model, cfg.d_ff(), cfg.vocab);
    let weights = [
        ("qkv", d, 3 * d),
        ("attn_out", d, d),
        ("mlp_up", d, f),
        ("mlp_down", f, d),
        ("lm_head", d, v),
    ];
    let mut out = vec![Case::new("square512", 1, 512, 512)];
    for m in [1, prefill.clamp(2, cfg.ctx.max(2))] {
        for (name, k, n) in weights {
            out.push(Case::new(name, m, k, n));
        }
    }
    out
}

/// Times every kernel on `case` (naive first, for the speedups).
pub fn run_case(case: &Case, timer: &Timer) -> Vec<Row> {
    let mut rng = Rng::new(0x6b65726e);
    let (m, k, n) = (case.m, case.k, case.n);
    let w: Vec<f32> = (0..n * k).map(|_| rng.normal() * 0.05).collect(); // (n, k)
    let x: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect(); // (m, k)
    let b: Vec<f32> = (0..n).map(|_| rng.normal() * 0.01).collect(); // (n)
    let mut y = vec![0.0f32; m * n]; // (m, n)
    let mut naive_ms = f64::NAN;
    Kernel::table()
        .into_iter()
        .map(|kernel| {
            let t: Timing = timer.measure(|| {
                kernels::matmul(kernel, &w, &x, Some(&b), &mut y, k);
                std::hint::black_box(&mut y);
            });
            if kernel == Kernel::Naive {
                naive_ms = t.median_ms;
            }
            Row {
                kernel: kernel.name(),
                path: kernel.path(m, k),
                shape: case.shape.clone(),
                op: case.op,
                m,
                k,
                n,
                gflops: case.flops() / (t.median_ms * 1e6),
                ms_p50: t.median_ms,
                ms_p90: t.p90_ms,
                ms_iqr: t.iqr_ms,
                speedup_vs_naive: naive_ms / t.median_ms,
                reps: t.reps,
                runs: t.runs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_weight_and_kernel() {
        let cs = cases(&Config::default(), 64);
        assert_eq!(cs.len(), 11);
        assert_eq!(
            (cs[0].m, cs[0].k, cs[0].n, cs[0].op),
            (1, 512, 512, "matvec")
        );
        assert!(cs
            .iter()
            .any(|c| c.shape == "mlp_down" && c.m == 64 && c.k == 512 && c.n == 128));
        let quick = Timer {
            warmup: 0,
            runs: 2,
            min_sample_ms: 0.0,
        };
        let rows = run_case(&Case::new("tiny", 3, 8, 5), &quick);
        let names: Vec<_> = rows.iter().map(|r| r.kernel).collect();
        assert_eq!(names, ["naive", "blocked", "simd", "library"]);
        assert!(rows.iter().all(|r| r.op == "matmul" && r.runs == 2));
    }
}
