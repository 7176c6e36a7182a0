//! When does sparsity pay? Times the dense f32 SIMD matvec against the CSR kernel on the
//! same matrix pruned to increasing sparsity, so the crossover can be read off.

use crate::kernels::Kernel;
use crate::profile::timer::Timer;
use crate::prune::to_csr;
use crate::rng::Rng;
use crate::weights::Matrix;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub rows: usize,
    pub cols: usize,
    pub sparsity: f64,
    pub dense_ms: f64,
    pub sparse_ms: f64,
    /// dense_ms / sparse_ms: above 1, the sparse kernel wins.
    pub speedup: f64,
    pub dense_bytes: usize,
    pub sparse_bytes: usize,
}

/// The sparsities a sweep visits.
pub const SPARSITIES: [f64; 12] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// One point: a seeded random (rows, cols) matrix with `sparsity` of its entries zeroed
/// at random positions, timed both ways.
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
    let dense = Matrix::dense(rows, cols, w);
    let sparse = to_csr(&dense).expect("f32 converts");
    let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut y = vec![0.0f32; rows];
    let d = timer.measure(|| dense.matvec(Kernel::Simd, &x, None, &mut y));
    let s = timer.measure(|| sparse.matvec(Kernel::Simd, &x, None, &mut y));
    let zeros = dense.to_f32().iter().filter(|v| **v == 0.0).count();
    SweepRow {
        rows,
        cols,
        sparsity: zeros as f64 / (rows * cols) as f64,
        dense_ms: d.median_ms,
        sparse_ms: s.median_ms,
        speedup: d.median_ms / s.median_ms,
        dense_bytes: dense.bytes(),
        sparse_bytes: sparse.bytes(),
    }
}

/// The lowest swept sparsity from which the sparse kernel stays faster, if any.
pub fn crossover(rows: &[SweepRow]) -> Option<f64> {
    let mut best = None;
    for r in rows.iter().rev() {
        if r.speedup > 1.0 {
            best = Some(r.sparsity);
        } else {
            break;
        }
    }
    best
}
