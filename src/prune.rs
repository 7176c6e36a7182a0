//! Pruning: unstructured magnitude pruning (zeros inside matrices, then optionally a
//! sparse format so the zeros cost nothing) and structured pruning (whole MLP neurons
//! and attention heads removed, leaving physically smaller dense matrices).
//! Works on the transformer blocks' matrices; embeddings and the LM head are kept.

use crate::error::{input_err, Result};
use crate::kernels::sell::Sell;
use crate::kernels::sparse::Csr;
use crate::model::gpt::Block;
use crate::model::Gpt;
use crate::weights::{Act, Matrix, Storage};
use serde::{Deserialize, Serialize};

crate::choice_enum! {
    /// What pruning removes.
    pub enum PruneKind ("prune kind") {
        None = "none",
        /// Smallest-magnitude weights set to zero.
        Unstructured = "unstructured",
        /// Least important MLP neurons (and optionally heads) removed.
        Structured = "structured",
    }
}

crate::choice_enum! {
    /// Where an unstructured threshold comes from.
    pub enum Scope ("prune scope") {
        /// One threshold over all block matrices: layers that matter less lose more.
        Global = "global",
        /// Each matrix loses the same fraction.
        PerMatrix = "per-matrix",
    }
}

crate::choice_enum! {
    /// How unstructured-pruned matrices are stored. CSR is the default: zeros only save
    /// time and bytes in a sparse format, and CSR composes with int8 and wins in wasm.
    pub enum SparseFormat ("sparse format") {
        /// Compressed sparse rows: only nonzeros and their column indices.
        Csr = "csr",
        /// Zeros stay in the dense matrix: same bytes, same speed.
        Dense = "dense",
        /// Column-blocked sliced ELLPACK: 16-row slices, 64-column blocks, padded slots
        /// (fast with AVX-512's register permute; f32 values only).
        Sell = "sell",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PruneConfig {
    pub kind: PruneKind,
    /// Fraction removed: of weights (unstructured) or of MLP neurons (structured), 0..=0.95.
    #[serde(serialize_with = "crate::choice::f32_decimal")]
    pub ratio: f32,
    /// Structured only: fraction of attention heads removed per layer, 0..=0.75.
    #[serde(serialize_with = "crate::choice::f32_decimal")]
    pub heads: f32,
    pub scope: Scope,
    pub format: SparseFormat,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            kind: PruneKind::None,
            ratio: 0.0,
            heads: 0.0,
            scope: Scope::Global,
            format: SparseFormat::default(),
        }
    }
}

impl PruneConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=0.95).contains(&self.ratio) {
            return Err(input_err(format!(
                "prune ratio must be in 0..=0.95, not {}",
                self.ratio
            )));
        }
        if !(0.0..=0.75).contains(&self.heads) {
            return Err(input_err(format!(
                "head prune ratio must be in 0..=0.75, not {}",
                self.heads
            )));
        }
        Ok(())
    }
}

/// What pruning achieved, counted exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PruneStats {
    /// Zero (or removed) block weights / block weights before pruning.
    pub sparsity: f64,
    pub removed: usize,
    pub total: usize,
}

fn block_mats(b: &mut Block) -> [&mut Matrix; 4] {
    [&mut b.w_qkv, &mut b.w_o, &mut b.w_up, &mut b.w_down]
}

fn dense_mut(m: &mut Matrix) -> Result<&mut Vec<f32>> {
    match &mut m.data {
        Storage::F32(v) => Ok(v),
        _ => Err(input_err(
            "pruning works on f32 matrices: prune before quantizing",
        )),
    }
}

/// The magnitude below which `ratio` of `values` fall (exactly `ratio·n` of them when
/// values are distinct). Returns the count to remove along with the threshold.
fn threshold(mut abs: Vec<f32>, ratio: f32) -> (f32, usize) {
    let n_remove = ((abs.len() as f64) * ratio as f64).round() as usize;
    if n_remove == 0 {
        return (0.0, 0);
    }
    let (_, t, _) = abs.select_nth_unstable_by(n_remove - 1, |a, b| a.total_cmp(b));
    (*t, n_remove)
}

/// Zeros the smallest-magnitude weights, exactly `ratio` of them (ties broken by order).
fn prune_unstructured(m: &mut Gpt, cfg: &PruneConfig) -> Result<PruneStats> {
    let mut stats = PruneStats::default();
    let zero_below = |w: &mut [f32], t: f32, mut budget: usize| -> usize {
        // Strictly smaller first, then ties at the threshold until the budget is spent.
        let mut removed = 0;
        for v in w.iter_mut() {
            if v.abs() < t && budget > 0 {
                *v = 0.0;
                budget -= 1;
                removed += 1;
            }
        }
        for v in w.iter_mut() {
            if *v != 0.0 && v.abs() == t && budget > 0 {
                *v = 0.0;
                budget -= 1;
                removed += 1;
            }
        }
        removed
    };
    match cfg.scope {
        Scope::PerMatrix => {
            for b in m.blocks.iter_mut() {
                for mat in block_mats(b) {
                    let w = dense_mut(mat)?;
                    let (t, n) = threshold(w.iter().map(|v| v.abs()).collect(), cfg.ratio);
                    stats.removed += zero_below(w, t, n);
                    stats.total += w.len();
                }
            }
        }
        Scope::Global => {
            let mut all = Vec::new();
            for b in m.blocks.iter_mut() {
                for mat in block_mats(b) {
                    all.extend(dense_mut(mat)?.iter().map(|v| v.abs()));
                }
            }
            stats.total = all.len();
            let (t, mut budget) = threshold(all, cfg.ratio);
            // Strictly-below values everywhere first, then ties, so the count is exact.
            let below: usize = m
                .blocks
                .iter_mut()
                .flat_map(|b| {
                    block_mats(b)
                        .map(|mat| dense_mut(mat).map(|w| w.iter().filter(|v| v.abs() < t).count()))
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .sum();
            let mut ties_left = budget.saturating_sub(below);
            for b in m.blocks.iter_mut() {
                for mat in block_mats(b) {
                    let w = dense_mut(mat)?;
                    for v in w.iter_mut() {
                        if v.abs() < t && budget > 0 {
                            *v = 0.0;
                            budget -= 1;
                            stats.removed += 1;
                        } else if *v != 0.0 && v.abs() == t && ties_left > 0 && budget > 0 {
                            *v = 0.0;
                            ties_left -= 1;
                            budget -= 1;
                            stats.removed += 1;
                        }
                    }
                }
            }
        }
    }
    stats.sparsity = stats.removed as f64 / stats.total.max(1) as f64;
    Ok(stats)
}

fn l2(xs: impl Iterator<Item = f32>) -> f32 {
    xs.map(|x| x * x).sum::<f32>().sqrt()
}

/// Indices of the `keep` largest scores, in ascending index order.
fn top_indices(scores: &[f32], keep: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut kept = order[..keep].to_vec();
    kept.sort_unstable();
    kept
}

/// Removes MLP neurons (importance: ‖w_up row‖·‖w_down column‖; removed in steps of
/// 32 neurons where the layer allows) and attention heads
/// (importance: ‖its Q, K, V rows‖·‖its w_o columns‖), per layer.
/// With `in_place`, the removed neurons' and heads' weights and biases are zeroed
/// instead, keeping every shape (what fine-tuning needs).
fn prune_structured(m: &mut Gpt, cfg: &PruneConfig, in_place: bool) -> Result<PruneStats> {
    let d = m.cfg.d_model;
    let hd = m.cfg.head_dim();
    let mut stats = PruneStats::default();
    for b in m.blocks.iter_mut() {
        let before = b.w_qkv.rows * b.w_qkv.cols
            + b.w_o.rows * b.w_o.cols
            + b.w_up.rows * b.w_up.cols
            + b.w_down.rows * b.w_down.cols;
        // MLP neurons.
        let f = b.w_up.rows;
        let up = dense_mut(&mut b.w_up)?.clone(); // (f, d)
        let down = dense_mut(&mut b.w_down)?.clone(); // (d, f)
        let score: Vec<f32> = (0..f)
            .map(|j| {
                l2(up[j * d..(j + 1) * d].iter().copied()) * l2((0..d).map(|r| down[r * f + j]))
            })
            .collect();
        // Neurons go in steps of 32 (when the layer is that wide) so every kernel,
        // int4 groups included, still sees whole blocks.
        let step = if f >= 64 && f % 32 == 0 { 32 } else { 1 };
        let keep_n = (((f as f64) * (1.0 - cfg.ratio as f64) / step as f64).round() as usize
            * step)
            .max(step);
        let keep = top_indices(&score, keep_n);
        if in_place {
            let removed: Vec<usize> = (0..f).filter(|j| keep.binary_search(j).is_err()).collect();
            let up = dense_mut(&mut b.w_up)?;
            for &j in &removed {
                up[j * d..(j + 1) * d].fill(0.0);
                b.b_up[j] = 0.0;
            }
            let down = dense_mut(&mut b.w_down)?;
            for r in 0..d {
                for &j in &removed {
                    down[r * f + j] = 0.0;
                }
            }
            stats.total += before;
            stats.removed += removed.len() * 2 * d;
            continue;
        }
        let new_up: Vec<f32> = keep
            .iter()
            .flat_map(|&j| up[j * d..(j + 1) * d].iter().copied())
            .collect();
        let new_down: Vec<f32> = (0..d)
            .flat_map(|r| keep.iter().map(move |&j| (r, j)))
            .map(|(r, j)| down[r * f + j])
            .collect();
        b.b_up = keep.iter().map(|&j| b.b_up[j]).collect();
        b.w_up = Matrix::dense(keep.len(), d, new_up);
        b.w_down = Matrix::dense(d, keep.len(), new_down);

        // Attention heads.
        let nh = b.w_qkv.rows / (3 * hd);
        let dq = nh * hd;
        let keep_h = ((nh as f64) * (1.0 - cfg.heads as f64)).round().max(1.0) as usize;
        if keep_h < nh {
            let qkv = dense_mut(&mut b.w_qkv)?.clone(); // (3dq, d)
            let wo = dense_mut(&mut b.w_o)?.clone(); // (d, dq)
            let rows_of = |h: usize| {
                (0..3).flat_map(move |part| part * dq + h * hd..part * dq + (h + 1) * hd)
            };
            let score: Vec<f32> = (0..nh)
                .map(|h| {
                    let a = l2(rows_of(h).flat_map(|r| qkv[r * d..(r + 1) * d].iter().copied()));
                    let o = l2((0..d)
                        .flat_map(|r| wo[r * dq + h * hd..r * dq + (h + 1) * hd].iter().copied()));
                    a * o
                })
                .collect();
            let kept = top_indices(&score, keep_h);
            let ndq = kept.len() * hd;
            // Rows of the new QKV: Q of kept heads, then K, then V.
            let mut new_qkv = Vec::with_capacity(3 * ndq * d);
            let mut new_bqkv = Vec::with_capacity(3 * ndq);
            for part in 0..3 {
                for &h in &kept {
                    for r in part * dq + h * hd..part * dq + (h + 1) * hd {
                        new_qkv.extend_from_slice(&qkv[r * d..(r + 1) * d]);
                        new_bqkv.push(b.b_qkv[r]);
                    }
                }
            }
            let new_wo: Vec<f32> = (0..d)
                .flat_map(|r| {
                    kept.iter()
                        .flat_map(move |&h| r * dq + h * hd..r * dq + (h + 1) * hd)
                })
                .map(|i| wo[i])
                .collect();
            b.w_qkv = Matrix::dense(3 * ndq, d, new_qkv);
            b.b_qkv = new_bqkv;
            b.w_o = Matrix::dense(d, ndq, new_wo);
        }
        let after = b.w_qkv.rows * b.w_qkv.cols
            + b.w_o.rows * b.w_o.cols
            + b.w_up.rows * b.w_up.cols
            + b.w_down.rows * b.w_down.cols;
        stats.total += before;
        stats.removed += before - after;
    }
    stats.sparsity = stats.removed as f64 / stats.total.max(1) as f64;
    Ok(stats)
}

/// Prunes a copy of `base` (which must hold f32 block matrices).
pub fn prune_model(base: &Gpt, cfg: &PruneConfig) -> Result<(Gpt, PruneStats)> {
    cfg.validate()?;
    let mut m = base.clone();
    let stats = match cfg.kind {
        PruneKind::None => return Ok(record_unpruned(m, cfg)),
        PruneKind::Unstructured => prune_unstructured(&mut m, cfg)?,
        PruneKind::Structured => prune_structured(&mut m, cfg, false)?,
    };
    m.meta.insert(
        "prune".into(),
        serde_json::to_string(cfg).expect("config serialises"),
    );
    Ok((m, stats))
}

/// `prune_model` with `PruneKind::None` on a model already copied (or built) from the
/// base: records the config and counts the block weights, with nothing removed. Lets
/// `recipe::build` skip a copy of the whole model when it does not prune.
pub fn record_unpruned(mut m: Gpt, cfg: &PruneConfig) -> (Gpt, PruneStats) {
    let total = m
        .blocks
        .iter_mut()
        .map(|b| block_mats(b).iter().map(|x| x.rows * x.cols).sum::<usize>())
        .sum();
    m.meta.insert(
        "prune".into(),
        serde_json::to_string(cfg).expect("config serialises"),
    );
    let stats = PruneStats {
        sparsity: 0.0,
        removed: 0,
        total,
    };
    (m, stats)
}

/// Like `prune_model`, but structured pruning zeroes the removed MLP neurons (their
/// w_up rows, biases and w_down columns) in place, keeping every shape: the form the
/// trainer fine-tunes, and `prune_model` with the same config then removes exactly
/// those neurons. Head pruning is not supported in place.
pub fn prune_model_in_place(base: &Gpt, cfg: &PruneConfig) -> Result<(Gpt, PruneStats)> {
    if cfg.kind != PruneKind::Structured {
        return prune_model(base, cfg);
    }
    cfg.validate()?;
    if cfg.heads > 0.0 {
        return Err(input_err(
            "head pruning cannot be done in place; fine-tune with MLP neurons only",
        ));
    }
    let mut m = base.clone();
    let stats = prune_structured(&mut m, cfg, true)?;
    Ok((m, stats))
}

/// Converts a matrix with zeros into `format` (CSR: f32 or int8 values; SELL: f32);
/// `Dense` leaves it as it is.
pub fn to_sparse(m: &Matrix, format: SparseFormat) -> Result<Matrix> {
    let data = match (format, &m.data) {
        (SparseFormat::Dense, d) => d.clone(),
        (SparseFormat::Csr, Storage::F32(w)) => {
            Storage::CsrF32(Csr::from_dense(m.rows, m.cols, w)?)
        }
        // Only weight-only int8 (W8A32): the CSR kernel takes f32 activations, so
        // converting a W8A8 matrix would silently run another scheme.
        (
            SparseFormat::Csr,
            Storage::Int8 {
                codes,
                scales,
                act: Act::F32,
            },
        ) => Storage::CsrInt8 {
            codes: Csr::from_dense(m.rows, m.cols, codes)?,
            scales: scales.clone(),
        },
        (SparseFormat::Sell, Storage::F32(w)) => {
            Storage::SellF32(Sell::from_dense(m.rows, m.cols, w))
        }
        (f, _) => {
            let (name, with, hint) = match f {
                SparseFormat::Sell => ("SELL", "f32 weights", " (CSR holds int8 values)"),
                _ => ("CSR", "f32 and int8 (W8A32) weights", ""),
            };
            return Err(input_err(format!(
                "{name}: the sparse format composes with {with}, not {}{hint}",
                m.format_name()
            )));
        }
    };
    Ok(Matrix {
        rows: m.rows,
        cols: m.cols,
        data,
    })
}

/// Stores every block matrix of `m` in `format`.
pub fn sparsify_blocks(m: &mut Gpt, format: SparseFormat) -> Result<()> {
    for b in m.blocks.iter_mut() {
        for mat in block_mats(b) {
            *mat = to_sparse(mat, format)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Kernel;
    use crate::model::{Config, Tokenizer};

    fn small() -> Gpt {
        let cfg = Config {
            vocab: 65,
            ctx: 16,
            n_layer: 2,
            n_head: 4,
            d_model: 32,
        };
        Gpt::random(
            cfg,
            Tokenizer::new(crate::model::tokenizer::DEFAULT_VOCAB).unwrap(),
            11,
        )
        .unwrap()
    }

    #[test]
    fn unstructured_sparsity_is_exact_for_both_scopes() {
        let base = small();
        for scope in [Scope::Global, Scope::PerMatrix] {
            for ratio in [0.0, 0.5, 0.9] {
                let cfg = PruneConfig {
                    kind: PruneKind::Unstructured,
                    ratio,
                    scope,
                    ..PruneConfig::default()
                };
                let (m, st) = prune_model(&base, &cfg).unwrap();
                let zeros: usize = m
                    .blocks
                    .iter()
                    .map(|b| {
                        [&b.w_qkv, &b.w_o, &b.w_up, &b.w_down]
                            .iter()
                            .map(|x| x.to_f32().iter().filter(|v| **v == 0.0).count())
                            .sum::<usize>()
                    })
                    .sum();
                assert_eq!(zeros, st.removed, "{scope:?} {ratio}");
                let want = (st.total as f64 * ratio as f64).round() as usize;
                assert_eq!(st.removed, want, "{scope:?} {ratio}");
            }
        }
    }

    /// In place keeps the shapes and computes the same function; pruning the in-place
    /// model again removes exactly the zeroed neurons.
    #[test]
    fn structured_in_place_matches_removal() {
        let base = small();
        let cfg = PruneConfig {
            kind: PruneKind::Structured,
            ratio: 0.5,
            ..PruneConfig::default()
        };
        let (removed, st) = prune_model(&base, &cfg).unwrap();
        let (zeroed, st_in) = prune_model_in_place(&base, &cfg).unwrap();
        assert_eq!(st, st_in);
        assert_eq!(zeroed.blocks[0].w_up.rows, base.blocks[0].w_up.rows);
        let (again, _) = prune_model(&zeroed, &cfg).unwrap();
        assert_eq!(again.named_tensors(), removed.named_tensors());
        let heads = PruneConfig { heads: 0.5, ..cfg };
        assert!(prune_model_in_place(&base, &heads).is_err());
    }

    #[test]
    fn csr_model_matches_dense_pruned_model_and_is_smaller() {
        let base = small();
        let cfg = PruneConfig {
            kind: PruneKind::Unstructured,
            ratio: 0.9,
            ..PruneConfig::default()
        };
        let (dense, _) = prune_model(&base, &cfg).unwrap();
        for format in [SparseFormat::Csr, SparseFormat::Sell] {
            let mut sparse = dense.clone();
            sparsify_blocks(&mut sparse, format).unwrap();
            assert!(sparse.weight_bytes() < dense.weight_bytes(), "{format:?}");
            assert_eq!(
                sparse.blocks[0].w_up.to_f32(),
                dense.blocks[0].w_up.to_f32()
            );
            let x: Vec<f32> = (0..32).map(|i| (i as f32).sin()).collect();
            let (mut a, mut b) = (vec![0.0; 128], vec![0.0; 128]);
            dense.blocks[0].w_up.matvec(Kernel::Simd, &x, None, &mut a);
            sparse.blocks[0].w_up.matvec(Kernel::Simd, &x, None, &mut b);
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-5, "{format:?}");
            }
        }
    }

    #[test]
    fn sparse_formats_refuse_what_they_cannot_hold() {
        let (m, _) = prune_model(&small(), &PruneConfig::default()).unwrap();
        let q = crate::quant::quantize_model(
            &m,
            &crate::quant::QuantConfig {
                precision: crate::quant::Precision::Int8,
                ..Default::default()
            },
            None,
            None,
        )
        .unwrap();
        let mut csr = q.clone();
        sparsify_blocks(&mut csr, SparseFormat::Csr).unwrap();
        assert_eq!(csr.blocks[0].w_up.format_name(), "csr-int8");
        let e = sparsify_blocks(&mut q.clone(), SparseFormat::Sell)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SELL: the sparse format composes with f32 weights, not int8"),
            "{e}"
        );
        assert_eq!(SparseFormat::parse("sell").unwrap(), SparseFormat::Sell);
        assert!(SparseFormat::parse("ell")
            .unwrap_err()
            .to_string()
            .contains("csr, dense, sell"));
    }

    #[test]
    fn structured_pruning_shrinks_matrices_and_still_runs() {
        let base = small();
        let cfg = PruneConfig {
            kind: PruneKind::Structured,
            ratio: 0.5,
            heads: 0.5,
            ..PruneConfig::default()
        };
        let (m, st) = prune_model(&base, &cfg).unwrap();
        assert_eq!(m.blocks[0].w_up.rows, 64);
        assert_eq!(m.blocks[0].w_down.cols, 64);
        assert_eq!(m.blocks[0].w_qkv.rows, 3 * 16);
        assert_eq!(m.blocks[0].w_o.cols, 16);
        assert!(m.weight_bytes() < base.weight_bytes());
        assert!((st.sparsity - 0.5).abs() < 1e-9, "{}", st.sparsity);
        let mut g =
            crate::model::Generator::new(&m, "AB", crate::model::GenOptions::default()).unwrap();
        assert!(g.step(&m).unwrap().is_some());
        // Pruning nothing structurally is the identity.
        let none = PruneConfig {
            kind: PruneKind::Structured,
            ..PruneConfig::default()
        };
        let (same, _) = prune_model(&base, &none).unwrap();
        assert_eq!(same.blocks, base.blocks);
    }
}
