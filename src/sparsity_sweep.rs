//! When does sparsity pay, and in which format? Times the dense f32 SIMD matvec, the CSR
//! kernel and the SELL kernel on the same matrix pruned to increasing sparsity, so each
//! format's crossover can be read off. The three run alternately, sample by sample, so
//! a slow moment of the machine hits them alike.

use crate::clock;
use crate::kernels::Kernel;
use crate::profile::timer::{Timer, Timing};
use crate::prune::{to_sparse, SparseFormat};
use crate::rng::Rng;
use crate::weights::Matrix;
use serde::Serialize;

/// One format's figures at one sparsity.
#[derive(Clone, Debug, Serialize)]
pub struct FormatPoint {
    /// Median time of one matvec.
    pub ms: f64,
    /// Interquartile range of the samples.
    pub iqr_ms: f64,
    /// Bytes of the matrix in this format, indices and padding included.
    pub bytes: usize,
    /// dense ms / this ms: above 1 the format beats dense.
    pub speedup: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub rows: usize,
    pub cols: usize,
    /// Achieved fraction of zeros.
    pub sparsity: f64,
    pub dense: FormatPoint,
    pub csr: FormatPoint,
    pub sell: FormatPoint,
}

impl SweepRow {
    /// The figures of `format`.
    pub fn format(&self, format: SparseFormat) -> &FormatPoint {
        match format {
            SparseFormat::Dense => &self.dense,
            SparseFormat::Csr => &self.csr,
            SparseFormat::Sell => &self.sell,
        }
    }
}

/// The sparsities a sweep visits.
pub const SPARSITIES: [f64; 12] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// Times every closure `timer.runs` times, alternating between them sample by sample;
/// each closure's repetitions per sample are calibrated by `timer` first.
fn measure_alternating(timer: &Timer, fs: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    let calib = Timer {
        warmup: timer.warmup,
        runs: 1,
        ..*timer
    };
    let reps: Vec<usize> = fs.iter_mut().map(|f| calib.measure(f).reps).collect();
    let mut samples = vec![Vec::with_capacity(timer.runs); fs.len()];
    for _ in 0..timer.runs.max(1) {
        for ((f, &n), s) in fs.iter_mut().zip(&reps).zip(samples.iter_mut()) {
            let t0 = clock::now_ms();
            for _ in 0..n {
                f();
            }
            s.push((clock::now_ms() - t0) / n as f64);
        }
    }
    samples
        .iter()
        .zip(&reps)
        .map(|(s, &n)| Timing::of(s, n))
        .collect()
}

/// One point: a seeded random (rows, cols) matrix with `sparsity` of its entries zeroed
/// at random positions, timed in every format.
pub fn point(rows: usize, cols: usize, sparsity: f64, timer: &Timer) -> SweepRow {
    let mut rng = Rng::new(rows as u64 * 31 + cols as u64);
    let w: Vec<f32> = (0..rows * cols)
        .map(|_| {
            let v = rng.normal() * 0.02;
            if (rng.next_f32() as f64) < sparsity {
                0.0
            } else {
                v
            }
        })
        .collect();
    let zeros = w.iter().filter(|v| **v == 0.0).count();
    let dense = Matrix::dense(rows, cols, w);
    let csr = to_sparse(&dense, SparseFormat::Csr).expect("f32 converts");
    let sell = to_sparse(&dense, SparseFormat::Sell).expect("f32 converts");
    let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
    // One output buffer per format: the three closures live at once.
    let mut ys = vec![vec![0.0f32; rows]; 3];
    let t = {
        let [yd, yc, ys_] = &mut ys[..] else {
            unreachable!()
        };
        let mut fd = || dense.matvec(Kernel::Simd, &x, None, yd);
        let mut fc = || csr.matvec(Kernel::Simd, &x, None, yc);
        let mut fs = || sell.matvec(Kernel::Simd, &x, None, ys_);
        measure_alternating(timer, &mut [&mut fd, &mut fc, &mut fs])
    };
    let at = |i: usize, m: &Matrix| FormatPoint {
        ms: t[i].median_ms,
        iqr_ms: t[i].iqr_ms,
        bytes: m.bytes(),
        speedup: t[0].median_ms / t[i].median_ms,
    };
    SweepRow {
        rows,
        cols,
        sparsity: zeros as f64 / (rows * cols) as f64,
        dense: at(0, &dense),
        csr: at(1, &csr),
        sell: at(2, &sell),
    }
}

/// The lowest swept sparsity from which `format` stays faster than dense, if any.
pub fn crossover(rows: &[SweepRow], format: SparseFormat) -> Option<f64> {
    let mut best = None;
    for r in rows.iter().rev() {
        if r.format(format).speedup > 1.0 {
            best = Some(r.sparsity);
        } else {
            break;
        }
    }
    best
}
