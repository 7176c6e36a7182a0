//! The sparse kernels' summation orders spelled out on a dense matrix, and awkward test
//! matrices, shared by the native (`tests/sparse_kernels.rs`) and the browser
//! (`tests/web_kernels.rs`) tests: every path must give these bits exactly.
#![allow(dead_code)]

use tinyopt::prune::{to_sparse, SparseFormat};
use tinyopt::weights::{Act, Matrix, Storage};

/// (rows, cols, fraction of zeros): rows not a multiple of 16, columns not a multiple
/// of 32, single rows and columns, 0 % and 100 % sparsity.
pub const SHAPES: [(usize, usize, f64); 9] = [
    (1, 1, 0.0),
    (17, 33, 0.5),
    (31, 70, 0.9),
    (16, 32, 0.0),
    (16, 32, 1.0),
    (40, 100, 0.95),
    (3, 600, 0.7),
    (64, 64, 0.9),
    (130, 257, 0.8),
];

/// A seeded (rows, cols) matrix with about `sparsity` zeros; row 1 (if any) is empty
/// and row 2 (if any) fully dense.
pub fn matrix(rows: usize, cols: usize, sparsity: f64) -> Vec<f32> {
    let mut h: u64 = (rows * 1000 + cols) as u64 ^ 0x9e37_79b9_7f4a_7c15;
    (0..rows * cols)
        .map(|i| {
            h = h
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (h >> 40) as f64 / (1u64 << 24) as f64;
            let r = i / cols;
            let keep = r == 2 || (r != 1 && u >= sparsity);
            if keep {
                ((i as f32) * 0.731).sin() + 0.01
            } else {
                0.0
            }
        })
        .collect()
}

pub fn x_of(cols: usize) -> Vec<f32> {
    (0..cols).map(|i| (i as f32 * 0.37).cos()).collect()
}

pub fn bias_of(rows: usize) -> Vec<f32> {
    (0..rows).map(|i| (i as f32 - 3.0) * 0.125).collect()
}

/// CSR's order for one row: 16 lanes over full chunks, the lane tree, the tail.
fn csr_row(terms: &[f32]) -> f32 {
    let n16 = terms.len() / 16 * 16;
    let mut l = [0.0f32; 16];
    for c in terms[..n16].chunks_exact(16) {
        for q in 0..16 {
            l[q] += c[q];
        }
    }
    let h: Vec<f32> = (0..8).map(|i| l[i] + l[i + 8]).collect();
    let q: Vec<f32> = (0..4).map(|i| h[i] + h[i + 4]).collect();
    let mut s = (q[0] + q[2]) + (q[1] + q[3]);
    for t in &terms[n16..] {
        s += t;
    }
    s
}

/// CSR of a dense (rows, cols) `w` (the products in column order), then × scale, + bias.
pub fn csr_ref(
    w: &[f32],
    cols: usize,
    x: &[f32],
    scales: Option<&[f32]>,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    w.chunks_exact(cols)
        .enumerate()
        .map(|(r, row)| {
            let terms: Vec<f32> = row
                .iter()
                .zip(x)
                .filter(|(v, _)| **v != 0.0)
                .map(|(v, xv)| v * xv)
                .collect();
            let mut s = csr_row(&terms);
            if let Some(sc) = scales {
                s *= sc[r];
            }
            bias.map_or(s, |b| s + b[r])
        })
        .collect()
}

/// SELL's order: per row from 0.0, over 64-column blocks, the row's nonzeros in order,
/// then padding products 0.0·x[block start] up to the slice's longest row in the block.
pub fn sell_ref(w: &[f32], rows: usize, cols: usize, x: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    (0..rows)
        .map(|r| {
            let s0 = r / 16 * 16;
            let mut s = 0.0f32;
            let block = tinyopt::kernels::sell::BLOCK;
            for c0 in (0..cols).step_by(block) {
                let c1 = cols.min(c0 + block);
                let nz = |r: usize| (c0..c1).filter(|&c| w[r * cols + c] != 0.0).count();
                let len = (s0..rows.min(s0 + 16)).map(nz).max().unwrap_or(0);
                for c in (c0..c1).filter(|&c| w[r * cols + c] != 0.0) {
                    s += w[r * cols + c] * x[c];
                }
                for _ in nz(r)..len {
                    s += 0.0 * x[c0];
                }
            }
            bias.map_or(s, |b| s + b[r])
        })
        .collect()
}

/// Per-row int8 codes of `w` (max-abs / 127) as an int8 matrix, with the codes and the
/// scales (the f16 values the matrix holds) as f32.
pub fn int8_of(w: &[f32], rows: usize, cols: usize) -> (Matrix, Vec<f32>, Vec<f32>) {
    let mut codes = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(rows);
    for row in w.chunks_exact(cols) {
        let m = row.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let s = half::f16::from_f32(if m > 0.0 { m / 127.0 } else { 1.0 });
        codes.extend(
            row.iter()
                .map(|v| (v / s.to_f32()).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(s);
    }
    let wide = scales.iter().map(|s| s.to_f32()).collect();
    let codes_f32 = codes.iter().map(|&c| c as f32).collect();
    let data = Storage::Int8 {
        codes,
        scales,
        act: Act::F32,
    };
    (Matrix { rows, cols, data }, codes_f32, wide)
}

/// Every sparse kernel on every shape, with and without bias, against the spelled-out
/// orders: `Ok` or the first mismatch.
pub fn check_all() -> Result<(), String> {
    for &(rows, cols, sp) in &SHAPES {
        let w = matrix(rows, cols, sp);
        let (x, b) = (x_of(cols), bias_of(rows));
        let dense = Matrix::dense(rows, cols, w.clone());
        let (q, codes, qs) = int8_of(&w, rows, cols);
        for bias in [None, Some(&b[..])] {
            let cases = [
                (
                    "csr",
                    to_sparse(&dense, SparseFormat::Csr),
                    csr_ref(&w, cols, &x, None, bias),
                ),
                (
                    "sell",
                    to_sparse(&dense, SparseFormat::Sell),
                    sell_ref(&w, rows, cols, &x, bias),
                ),
                (
                    "csr-int8",
                    to_sparse(&q, SparseFormat::Csr),
                    csr_ref(&codes, cols, &x, Some(&qs), bias),
                ),
            ];
            for (name, m, want) in cases {
                let m = m.map_err(|e| e.to_string())?;
                let mut y = vec![f32::NAN; rows];
                m.matvec(tinyopt::kernels::Kernel::Simd, &x, bias, &mut y);
                for (r, (g, e)) in y.iter().zip(&want).enumerate() {
                    if g.to_bits() != e.to_bits() {
                        return Err(format!(
                            "{name} {rows}x{cols} sparsity {sp} bias {}: row {r}: {g} != {e}",
                            bias.is_some()
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
