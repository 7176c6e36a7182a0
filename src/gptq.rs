//! GPTQ (Frantar et al. 2022): int8/int4 rounding that compensates each error.
//!
//! Rounding a weight to its nearest code changes the matrix's output by
//! (w − q)·x. GPTQ quantizes one input column at a time and spreads that column's
//! error over the columns not yet quantized, in the proportions that cancel it best on
//! the calibration inputs: the inverse of the Hessian H = 2·Σₜ xₜ·xₜᵀ of the layer's
//! squared output error. Done with the upper Cholesky factor U of H⁻¹ (row i of U holds
//! the update of column i's error), in blocks of columns whose updates to the rest are
//! applied once per block (lazy batch updates).
//!
//! The result is ordinary packed int8/int4 storage with the same kernels, so speed and
//! labels do not change: only which codes are stored. Weights that are exactly zero
//! (pruned) keep code 0, so pruning's sparsity survives. Deterministic on every target:
//! f64 adds, multiplies, divides and square roots (exact in IEEE) in a fixed order, no
//! libm, no maps.

use crate::error::{input_err, Result};
use crate::quant::{
    check_group, choose_scale, code_of, code_range, pack_int4, pack_int8, GptqOrder, Precision,
    QuantConfig,
};
use crate::weights::{Matrix, Storage};
use half::f16;

/// Damping added to H's diagonal, as a fraction of its mean (the paper's 1 %).
pub const DAMP: f64 = 0.01;
/// Columns per lazy-update block.
pub const BLOCK: usize = 128;

/// H = 2·Σₜ xₜ·xₜᵀ over the calibration tokens: x (tokens, cols) → (cols, cols).
/// Each entry sums its products in token order (f32 × f32 is exact in f64).
pub fn hessian(x: &[f32], cols: usize) -> Vec<f64> {
    let mut h = vec![0.0f64; cols * cols]; // (cols, cols), lower triangle first
    for xt in x.chunks_exact(cols) {
        for (i, &xi) in xt.iter().enumerate() {
            if xi == 0.0 {
                continue; // adds only zeros (exactly: the sums start at +0)
            }
            let xi = xi as f64;
            let row = &mut h[i * cols..i * cols + i + 1];
            for (hij, &xj) in row.iter_mut().zip(&xt[..=i]) {
                *hij += xi * xj as f64;
            }
        }
    }
    for i in 0..cols {
        for j in 0..=i {
            let v = 2.0 * h[i * cols + j];
            h[i * cols + j] = v;
            h[j * cols + i] = v;
        }
    }
    h
}

/// The lower Cholesky factor L of a symmetric positive definite a (n, n): a = L·Lᵀ.
/// `None` if a is not positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n]; // (n, n)
    for j in 0..n {
        let mut s = a[j * n + j];
        for k in 0..j {
            s -= l[j * n + k] * l[j * n + k];
        }
        if s.is_nan() || s <= 0.0 {
            return None;
        }
        let d = s.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / d;
        }
    }
    Some(l)
}

/// The upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ·U), (n, n) row-major; `None` if H is
/// not positive definite.
fn inverse_cholesky_upper(h: &[f64], n: usize) -> Option<Vec<f64>> {
    let l = cholesky(h, n)?;
    // L⁻¹, lower triangular, by forward substitution one column at a time.
    let mut li = vec![0.0f64; n * n]; // (n, n)
    for c in 0..n {
        li[c * n + c] = 1.0 / l[c * n + c];
        for i in c + 1..n {
            let mut s = 0.0;
            for k in c..i {
                s += l[i * n + k] * li[k * n + c];
            }
            li[i * n + c] = -s / l[i * n + i];
        }
    }
    // H⁻¹ = L⁻ᵀ·L⁻¹: entry (i, j) sums over k ≥ max(i, j).
    let mut hinv = vec![0.0f64; n * n]; // (n, n)
    for i in 0..n {
        for j in 0..=i {
            let mut s = 0.0;
            for k in i..n {
                s += li[k * n + i] * li[k * n + j];
            }
            hinv[i * n + j] = s;
            hinv[j * n + i] = s;
        }
    }
    let l2 = cholesky(&hinv, n)?;
    let mut u = vec![0.0f64; n * n]; // (n, n) = L2ᵀ
    for i in 0..n {
        for j in 0..=i {
            u[j * n + i] = l2[i * n + j];
        }
    }
    Some(u)
}

/// Quantizes one dense matrix (rows, cols) with GPTQ to `qc.precision` (int8,
/// int8-dynamic or int4) given its inputs' Hessian `h` (cols, cols). `act_scale` is a
/// calibrated static activation scale, as in `quant::quantize_matrix`.
pub fn quantize_matrix(
    m: &Matrix,
    qc: &QuantConfig,
    h: &[f64],
    act_scale: Option<f32>,
) -> Result<Matrix> {
    let Storage::F32(w) = &m.data else {
        return Err(input_err(format!(
            "GPTQ quantizes f32 matrices, this one is {}",
            m.format_name()
        )));
    };
    let (rows, n) = (m.rows, m.cols);
    if h.len() != n * n {
        return Err(input_err(format!(
            "GPTQ needs a ({n}, {n}) Hessian, got {} entries",
            h.len()
        )));
    }
    // int8: one scale per row (a "group" of the whole row); int4: groups along it.
    let (qmax, extra_neg, g, per_row) = match qc.precision {
        Precision::Int8 | Precision::Int8Dynamic => (127.0, false, n, true),
        Precision::Int4 => {
            check_group(qc.group_size, n)?;
            (7.0, true, qc.group_size, false)
        }
        p => return Err(input_err(format!("GPTQ makes int8 or int4 codes, not {p}"))),
    };
    let range = code_range(qmax, extra_neg);
    let ng = n / g;

    // Inputs never seen in calibration: no information, no coupling; a unit diagonal
    // keeps H invertible (their columns are rounded, their error not spread).
    let mut h = h.to_vec();
    for i in 0..n {
        if h[i * n + i] == 0.0 {
            h[i * n + i] = 1.0;
        }
    }
    let diag: Vec<f64> = (0..n).map(|i| h[i * n + i]).collect();
    let perm: Vec<usize> = match qc.gptq_order {
        GptqOrder::Columns => (0..n).collect(),
        GptqOrder::ActOrder => {
            let mut p: Vec<usize> = (0..n).collect();
            p.sort_by(|&a, &b| diag[b].total_cmp(&diag[a]).then(a.cmp(&b)));
            p
        }
    };
    // Permuted H, damped; more damping if rounding left it not positive definite.
    let mean = diag.iter().sum::<f64>() / n as f64;
    let mut hp = vec![0.0f64; n * n]; // (n, n) in quantization order
    for i in 0..n {
        for j in 0..n {
            hp[i * n + j] = h[perm[i] * n + perm[j]];
        }
    }
    let mut damp = DAMP * mean;
    let u = loop {
        let mut hd = hp.clone();
        for i in 0..n {
            hd[i * n + i] += damp;
        }
        if let Some(u) = inverse_cholesky_upper(&hd, n) {
            break u;
        }
        if damp > 1e6 * mean.max(1e-30) {
            return Err(input_err("GPTQ: the calibration Hessian is not usable"));
        }
        damp *= 10.0;
    };

    // Scales: per row (int8) or per group (int4). Left to right, an int4 group's scale
    // is chosen when GPTQ reaches it, from the weights as compensated so far; in
    // act-order the groups are visited out of order, so all are fixed up front.
    let mut scales = vec![f16::from_f32(1.0); rows * ng]; // (rows, ng)
    let up_front = per_row || qc.gptq_order == GptqOrder::ActOrder;
    if up_front {
        for (s, wg) in scales.iter_mut().zip(w.chunks_exact(g)) {
            *s = choose_scale(wg, qmax, extra_neg, qc.clip);
        }
    }

    let mut wp = vec![0.0f64; rows * n]; // (rows, n) columns in quantization order
    for r in 0..rows {
        for i in 0..n {
            wp[r * n + i] = w[r * n + perm[i]] as f64;
        }
    }
    let mut codes = vec![0i8; rows * n]; // (rows, cols) in the original order
    let mut group = vec![0.0f32; g];
    for b0 in (0..n).step_by(BLOCK) {
        let b1 = (b0 + BLOCK).min(n);
        let bw = b1 - b0;
        let mut err = vec![0.0f64; rows * bw]; // (rows, bw) scaled errors of this block
        for i in b0..b1 {
            let c = perm[i];
            let gi = c / g;
            if !up_front && c.is_multiple_of(g) {
                for r in 0..rows {
                    for (v, &x) in group.iter_mut().zip(&wp[r * n + i..r * n + i + g]) {
                        *v = x as f32;
                    }
                    scales[r * ng + gi] = choose_scale(&group, qmax, extra_neg, qc.clip);
                }
            }
            let d = u[i * n + i];
            let urow = &u[i * n..(i + 1) * n];
            for r in 0..rows {
                let wr = &mut wp[r * n..(r + 1) * n];
                let sf = scales[r * ng + gi].to_f32();
                // A weight pruned to zero stays zero (its error passes on like any other).
                let q = if w[r * n + c] == 0.0 {
                    0.0
                } else {
                    code_of(wr[i] as f32, sf, range)
                };
                codes[r * n + c] = q as i8;
                let e = (wr[i] - (q * sf) as f64) / d;
                err[r * bw + (i - b0)] = e;
                for j in i + 1..b1 {
                    wr[j] -= e * urow[j];
                }
            }
        }
        // The block's errors, applied to every later column at once.
        for r in 0..rows {
            let er = &err[r * bw..(r + 1) * bw];
            for j in b1..n {
                let mut s = 0.0;
                for (k, &e) in er.iter().enumerate() {
                    s += e * u[(b0 + k) * n + j];
                }
                wp[r * n + j] -= s;
            }
        }
    }
    let data = if per_row {
        pack_int8(codes, scales, qc.precision, act_scale)
    } else {
        pack_int4(&codes, &scales, rows, n, g, act_scale)
    };
    Ok(Matrix {
        rows,
        cols: n,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Clip;
    use crate::rng::Rng;

    /// Correlated inputs (tokens, cols) and a weight matrix (rows, cols).
    fn problem(rows: usize, cols: usize, tokens: usize) -> (Matrix, Vec<f32>) {
        let mut rng = Rng::new(7);
        let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal() * 0.05).collect();
        let mut x = Vec::with_capacity(tokens * cols);
        for _ in 0..tokens {
            let common = rng.normal();
            for j in 0..cols {
                x.push(rng.normal() * (1.0 + (j % 7) as f32) * 0.3 + common);
            }
        }
        (Matrix::dense(rows, cols, w), x)
    }

    /// Σ over tokens and rows of the output error ((W − Q)·x)².
    fn output_err(w: &Matrix, q: &Matrix, x: &[f32]) -> f64 {
        let (a, b) = (w.to_f32(), q.to_f32());
        let c = w.cols;
        let mut total = 0.0;
        for xt in x.chunks_exact(c) {
            for r in 0..w.rows {
                let d: f64 = (0..c)
                    .map(|j| (a[r * c + j] - b[r * c + j]) as f64 * xt[j] as f64)
                    .sum();
                total += d * d;
            }
        }
        total
    }

    #[test]
    fn cholesky_inverse_factor_reconstructs_the_inverse() {
        let (_, x) = problem(1, 8, 40);
        let mut h = hessian(&x, 8);
        for i in 0..8 {
            h[i * 8 + i] += 0.1;
        }
        let u = inverse_cholesky_upper(&h, 8).unwrap();
        // (Uᵀ·U)·H = I
        for i in 0..8 {
            for j in 0..8 {
                let mut s = 0.0;
                for k in 0..8 {
                    let hinv_ik: f64 = (0..8).map(|m| u[m * 8 + i] * u[m * 8 + k]).sum();
                    s += hinv_ik * h[k * 8 + j];
                }
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((s - want).abs() < 1e-9, "({i},{j}) = {s}");
            }
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn gptq_beats_rounding_on_the_calibration_inputs() {
        let (m, x) = problem(16, 128, 300);
        let h = hessian(&x, 128);
        for (precision, order, group_size) in [
            (Precision::Int4, GptqOrder::Columns, 32),
            (Precision::Int4, GptqOrder::ActOrder, 64),
            (Precision::Int4, GptqOrder::Columns, 128), // one group: the whole row
            (Precision::Int8, GptqOrder::Columns, 32),
        ] {
            let qc = QuantConfig {
                precision,
                gptq_order: order,
                group_size,
                clip: Clip::MaxAbs,
                ..QuantConfig::default()
            };
            let rtn = crate::quant::quantize_matrix(&m, &qc, None).unwrap();
            let gq = quantize_matrix(&m, &qc, &h, None).unwrap();
            assert_eq!(gq.bytes(), rtn.bytes(), "the same packed storage");
            assert_eq!(gq.format_name(), rtn.format_name());
            let (e_rtn, e_gptq) = (output_err(&m, &rtn, &x), output_err(&m, &gq, &x));
            assert!(
                e_gptq < 0.7 * e_rtn,
                "{precision:?} {order:?}: gptq {e_gptq} vs rtn {e_rtn}"
            );
            // The same inputs give the same bits.
            assert_eq!(quantize_matrix(&m, &qc, &h, None).unwrap(), gq);
        }
    }

    #[test]
    fn wrong_shapes_and_formats_are_errors() {
        let (m, x) = problem(4, 64, 10);
        let h = hessian(&x, 64);
        let qc = QuantConfig {
            precision: Precision::F16,
            ..QuantConfig::default()
        };
        assert!(quantize_matrix(&m, &qc, &h, None).is_err());
        let qc = QuantConfig {
            precision: Precision::Int4,
            ..QuantConfig::default()
        };
        assert!(quantize_matrix(&m, &qc, &h[..10], None).is_err());
    }
}
