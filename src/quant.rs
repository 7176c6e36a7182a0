//! Quantization: dense f32 weights → f16, int8 (per-row scales) or int4 (group-wise),
//! with weight clipping chosen by max-abs or by an error-minimising search, and static
//! activation scales calibrated on sample sequences (min-max or a percentile).
//! Knows matrices and the model's list of them, not how the model computes.

use crate::error::{input_err, Result};
use crate::kernels::int4;
use crate::model::gpt::ActObserver;
use crate::model::Gpt;
pub use crate::weights::Precision;
use crate::weights::{Act, Matrix, Storage};
use half::f16;
use serde::{Deserialize, Serialize};

crate::choice_enum! {
    /// How the weight range is chosen before rounding.
    pub enum Clip ("clip") {
        /// Scale from the largest |w|: no clipping, coarse steps if there are outliers.
        MaxAbs = "max-abs",
        /// Try clip ratios from 1.0 down to 0.5 (steps of 0.025) and keep the one with least
        /// squared error.
        Search = "search",
    }
}

crate::choice_enum! {
    /// How weights become integer codes.
    pub enum QuantMethod ("quantization method") {
        /// Round to nearest: each weight on its own.
        Rtn = "rtn",
        /// GPTQ (Frantar et al. 2022): column by column, each rounding error is
        /// compensated in the columns not yet quantized, weighted by the inverse Hessian
        /// of the matrix's calibration inputs (see `gptq`).
        Gptq = "gptq",
    }
}

crate::choice_enum! {
    /// The column order GPTQ quantizes in.
    pub enum GptqOrder ("gptq order") {
        /// Left to right; each int4 group's scale is chosen when GPTQ reaches it.
        Columns = "columns",
        /// Largest Hessian diagonal first ("act-order"); group scales are fixed up front
        /// from the unmodified weights, so the packed groups stay contiguous.
        ActOrder = "act-order",
    }
}

crate::choice_enum! {
    /// How activations get their int8 scale (for the precisions that quantize them).
    pub enum ActCalib ("activation calibration") {
        /// Per token at run time, from that token's own max |x|.
        Dynamic = "dynamic",
        /// One scale per matrix from the largest |x| seen in calibration.
        MinMax = "min-max",
        /// One scale per matrix from a percentile of |x| seen in calibration (outliers clip).
        Percentile = "percentile",
    }
}

/// Precisions of single matrix groups, each overriding what the body's `precision`
/// (or, for the ends, `ends_precision` / `quantize_ends`) would give; `None`: follow.
/// Mixed precision chosen per matrix from its measured sensitivity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixPrecisions {
    /// The token and position embeddings (`wte`, `wpe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed: Option<Precision>,
    /// The LM head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<Precision>,
    /// Every block's attention input projection (`h.*.attn.qkv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qkv: Option<Precision>,
    /// Every block's attention output projection (`h.*.attn.proj`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attn_out: Option<Precision>,
    /// Every block's MLP up projection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlp_up: Option<Precision>,
    /// Every block's MLP down projection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mlp_down: Option<Precision>,
}

/// The matrix groups a recipe can give their own precision, by the recipe key's stem
/// (`qkv` → `qkv-precision`).
pub const MATRIX_GROUPS: [&str; 6] = ["embed", "head", "qkv", "attn-out", "mlp-up", "mlp-down"];

impl MatrixPrecisions {
    /// The override of group `g` (a `MATRIX_GROUPS` stem).
    pub fn get(&self, g: &str) -> Option<Precision> {
        *self.slot(g)
    }

    pub fn slot(&self, g: &str) -> &Option<Precision> {
        match g {
            "embed" => &self.embed,
            "head" => &self.head,
            "qkv" => &self.qkv,
            "attn-out" => &self.attn_out,
            "mlp-up" => &self.mlp_up,
            "mlp-down" => &self.mlp_down,
            _ => unreachable!("a matrix group: {g}"),
        }
    }

    pub fn slot_mut(&mut self, g: &str) -> &mut Option<Precision> {
        match g {
            "embed" => &mut self.embed,
            "head" => &mut self.head,
            "qkv" => &mut self.qkv,
            "attn-out" => &mut self.attn_out,
            "mlp-up" => &mut self.mlp_up,
            "mlp-down" => &mut self.mlp_down,
            _ => unreachable!("a matrix group: {g}"),
        }
    }
}

/// The group (a `MATRIX_GROUPS` stem) a matrix name belongs to.
pub fn group_of(name: &str) -> &'static str {
    match name {
        "wte" | "wpe" => "embed",
        "head" => "head",
        n if n.ends_with("attn.qkv") => "qkv",
        n if n.ends_with("attn.proj") => "attn-out",
        n if n.ends_with("mlp.up") => "mlp-up",
        _ => "mlp-down",
    }
}

/// Everything a quantized model is made from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantConfig {
    pub precision: Precision,
    /// Int4 group size along a row: 32, 64 or 128.
    pub group_size: usize,
    pub clip: Clip,
    pub act: ActCalib,
    /// Percentile of |x| for `ActCalib::Percentile`, e.g. 99.9.
    #[serde(serialize_with = "crate::choice::f32_decimal")]
    pub percentile: f32,
    /// Quantize the embeddings and the LM head too (the sensitive ends), or keep them f32.
    pub quantize_ends: bool,
    /// Precision of the ends when they are quantized; `None`: the same as the body.
    /// Mixed precision (int4 body, int8 ends) keeps every matrix quantized while the
    /// most sensitive ones get finer steps.
    pub ends_precision: Option<Precision>,
    /// Round to nearest, or GPTQ error compensation (int8 and int4 matrices). Left out
    /// of the JSON at its default so recipes from before it keep their ids.
    #[serde(skip_serializing_if = "is_default")]
    pub method: QuantMethod,
    /// GPTQ's column order (only with `method: gptq`).
    #[serde(skip_serializing_if = "is_default")]
    pub gptq_order: GptqOrder,
    /// Per-group precisions (mixed precision beyond the ends).
    #[serde(skip_serializing_if = "is_default")]
    pub per_matrix: MatrixPrecisions,
}

/// For `skip_serializing_if`: a field at its default is not written.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig {
            precision: Precision::F32,
            group_size: 32,
            clip: Clip::MaxAbs,
            act: ActCalib::Dynamic,
            percentile: 99.9,
            quantize_ends: true,
            ends_precision: None,
            method: QuantMethod::Rtn,
            gptq_order: GptqOrder::Columns,
            per_matrix: MatrixPrecisions::default(),
        }
    }
}

impl QuantConfig {
    /// Whether quantizing needs activation statistics: static int8 activation scales,
    /// in the body or in quantized ends of their own precision.
    pub fn needs_calibration(&self) -> bool {
        let quantizes = self.used().iter().any(|p| p.quantizes_activations());
        (quantizes && self.act != ActCalib::Dynamic) || self.method == QuantMethod::Gptq
    }

    /// The precision group `g` (a `MATRIX_GROUPS` stem) is quantized to, before any
    /// override: the body's, or for the ends `ends_precision`/f32/the body's.
    pub fn group_default(&self, g: &str) -> Precision {
        match g {
            _ if self.precision == Precision::F32 => Precision::F32,
            "embed" | "head" if !self.quantize_ends => Precision::F32,
            "embed" | "head" => self.ends_precision.unwrap_or(self.precision),
            _ => self.precision,
        }
    }

    /// The precision of group `g`, overrides included.
    pub fn group_precision(&self, g: &str) -> Precision {
        self.per_matrix
            .get(g)
            .unwrap_or_else(|| self.group_default(g))
    }

    /// The precision matrix `name` is quantized to.
    pub fn precision_for(&self, name: &str) -> Precision {
        self.group_precision(group_of(name))
    }

    /// Every precision some group is quantized to (f32 included), in `MATRIX_GROUPS` order.
    pub fn used(&self) -> Vec<Precision> {
        let mut v: Vec<Precision> = Vec::new();
        for g in MATRIX_GROUPS {
            let p = self.group_precision(g);
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    pub fn validate(&self) -> Result<()> {
        if ![32, 64, 128].contains(&self.group_size) {
            return Err(input_err(format!(
                "group size must be 32, 64 or 128, not {}",
                self.group_size
            )));
        }
        if !(50.0..=100.0).contains(&self.percentile) {
            return Err(input_err(format!(
                "percentile must be in 50..=100, not {}",
                self.percentile
            )));
        }
        Ok(())
    }
}

/// The precision a model was quantized to (from its `quant` metadata; f32 if none).
pub fn precision_of(m: &Gpt) -> Precision {
    m.meta
        .get("quant")
        .and_then(|q| serde_json::from_str::<QuantConfig>(q).ok())
        .map(|q| q.precision)
        .unwrap_or_default()
}

/// Clip ratios tried by `Clip::Search`.
const SEARCH_RATIOS: [f32; 21] = [
    1.0, 0.975, 0.95, 0.925, 0.9, 0.875, 0.85, 0.825, 0.8, 0.775, 0.75, 0.725, 0.7, 0.675, 0.65,
    0.625, 0.6, 0.575, 0.55, 0.525, 0.5,
];

/// The code range of a format: -qmax..=qmax, or with `extra_neg` -(qmax+1)..=qmax
/// (all 16 int4 levels: the scale then fits whichever side is larger without clipping
/// the other).
pub(crate) fn code_range(qmax: f32, extra_neg: bool) -> (f32, f32) {
    (if extra_neg { -(qmax + 1.0) } else { -qmax }, qmax)
}

/// The integer code of `v` at step `sf` (nearest, ties away from zero, clamped to the
/// range): `(v / sf).round().clamp(qmin, qmax)` bit for bit, NaN included, in plain
/// comparisons and conversions that vectorise (`round` is a libm call per element).
#[inline]
pub(crate) fn code_of(v: f32, sf: f32, (qmin, qmax): (f32, f32)) -> f32 {
    let x = v / sf;
    // Every code range lies within ±256, so clamping first changes no result.
    let c = x.clamp(-256.0, 256.0);
    let t = c as i32; // toward zero; NaN gives 0
    let f = c - t as f32; // exact: the fraction of a number below 2^8
    let r = (t + (f >= 0.5) as i32 - (f <= -0.5) as i32) as f32;
    if x.is_nan() {
        x
    } else {
        r.clamp(qmin, qmax)
    }
}

/// The f16 scale of one run of weights: from its largest magnitude, times the clip
/// ratio (of `Clip::Search`'s) that rounds the run with the least squared error.
pub(crate) fn choose_scale(w: &[f32], qmax: f32, extra_neg: bool, clip: Clip) -> f16 {
    let range @ (qmin, _) = code_range(qmax, extra_neg);
    let (mpos, mneg) = w
        .iter()
        .fold((0.0f32, 0.0f32), |(p, n), &v| (p.max(v), n.max(-v)));
    let base = (mpos / qmax).max(mneg / -qmin);
    if base == 0.0 {
        return f16::from_f32(1.0);
    }
    // Max-abs has one candidate: it wins unless its squared error is not below infinity,
    // which needs a zero or infinite scale or weights large enough to overflow the sum
    // (|w| ≤ 1e15 keeps every square ≤ 1e30 and any row's sum finite). Skip the sum then.
    if clip == Clip::MaxAbs {
        let s = f16::from_f32(base);
        let sf = s.to_f32();
        if sf != 0.0 && sf.is_finite() && mpos.max(mneg) <= 1e15 {
            return s;
        }
    }
    let ratios: &[f32] = match clip {
        Clip::MaxAbs => &SEARCH_RATIOS[..1],
        Clip::Search => &SEARCH_RATIOS,
    };
    let mut best = (f32::INFINITY, f16::from_f32(1.0));
    for &r in ratios {
        let s = f16::from_f32(base * r);
        let sf = s.to_f32();
        if sf == 0.0 {
            continue;
        }
        let err: f32 = w
            .iter()
            .map(|&v| {
                let q = code_of(v, sf, range);
                (v - q * sf) * (v - q * sf)
            })
            .sum();
        if err < best.0 {
            best = (err, s);
        }
    }
    best.1
}

/// Symmetric quantization of one run of weights to codes in -qmax..=qmax with one
/// f16 scale. Codes are computed against the *stored* (f16-rounded) scale.
fn quantize_run(w: &[f32], qmax: f32, extra_neg: bool, clip: Clip, codes: &mut [i8]) -> f16 {
    // An all-zero run needs no special case: its scale is 1 and every code 0.
    let s = choose_scale(w, qmax, extra_neg, clip);
    let (sf, range) = (s.to_f32(), code_range(qmax, extra_neg));
    for (c, &v) in codes.iter_mut().zip(w) {
        *c = code_of(v, sf, range) as i8;
    }
    s
}

/// Int8 storage from codes (rows, cols) and one scale per row.
pub(crate) fn pack_int8(
    codes: Vec<i8>,
    scales: Vec<f16>,
    precision: Precision,
    act_scale: Option<f32>,
) -> Storage {
    let act = match (precision, act_scale) {
        (Precision::Int8, _) => Act::F32,
        (_, Some(s)) => Act::Static(s),
        (_, None) => Act::Dynamic,
    };
    Storage::Int8 { codes, scales, act }
}

/// Int4 storage from codes (rows, cols) and row-major group scales (rows, cols/g).
pub(crate) fn pack_int4(
    codes: &[i8],
    scales: &[f16],
    rows: usize,
    cols: usize,
    g: usize,
    act_scale: Option<f32>,
) -> Storage {
    let mut packed = vec![0u8; rows * cols / 2]; // (rows, cols/2)
    for (prow, crow) in packed
        .chunks_exact_mut(cols / 2)
        .zip(codes.chunks_exact(cols))
    {
        for (b, blk) in crow.chunks_exact(int4::BLOCK).enumerate() {
            int4::pack_block(blk, &mut prow[b * 16..(b + 1) * 16]);
        }
    }
    Storage::Int4 {
        packed,
        scales_t: int4::scales_group_major(scales, rows, cols / g),
        group: g,
        act_scale,
    }
}

/// Checks that an int4 group fits the row length.
pub(crate) fn check_group(g: usize, cols: usize) -> Result<()> {
    if !cols.is_multiple_of(g) || !g.is_multiple_of(int4::BLOCK) {
        return Err(input_err(format!(
            "int4 group {g} does not divide the row length {cols}"
        )));
    }
    Ok(())
}

/// Converts one dense matrix. `act_scale` is a calibrated static activation scale.
pub fn quantize_matrix(m: &Matrix, qc: &QuantConfig, act_scale: Option<f32>) -> Result<Matrix> {
    if qc.precision == Precision::F32 {
        return Ok(m.clone()); // nothing to do, whatever the matrix holds
    }
    let Storage::F32(w) = &m.data else {
        return Err(input_err(format!(
            "can only quantize f32 matrices, this one is {}",
            m.format_name()
        )));
    };
    let (rows, cols) = (m.rows, m.cols);
    let data = match qc.precision {
        Precision::F32 => Storage::F32(w.clone()),
        Precision::F16 => {
            if w.iter().any(|v| v.abs() > 65504.0) {
                return Err(input_err("a weight exceeds the f16 range (65504)"));
            }
            Storage::F16(w.iter().map(|&v| f16::from_f32(v)).collect())
        }
        Precision::Int8 | Precision::Int8Dynamic => {
            let mut codes = vec![0i8; rows * cols];
            let scales = w
                .chunks_exact(cols)
                .zip(codes.chunks_exact_mut(cols))
                .map(|(wr, cr)| quantize_run(wr, 127.0, false, qc.clip, cr))
                .collect();
            pack_int8(codes, scales, qc.precision, act_scale)
        }
        Precision::Int4 => {
            let g = qc.group_size;
            check_group(g, cols)?;
            let mut codes = vec![0i8; rows * cols]; // (rows, cols)
            let mut scales = Vec::with_capacity(rows * cols / g); // (rows, cols/g)
            for (wg, cg) in w.chunks_exact(g).zip(codes.chunks_exact_mut(g)) {
                scales.push(quantize_run(wg, 7.0, true, qc.clip, cg));
            }
            pack_int4(&codes, &scales, rows, cols, g, act_scale)
        }
    };
    Ok(Matrix { rows, cols, data })
}

/// Per-matrix static activation scales from calibration statistics.
pub fn act_scales(obs: &ActObserver, qc: &QuantConfig) -> Vec<Option<f32>> {
    obs.x
        .iter()
        .map(|a| {
            if a.is_empty() {
                return None;
            }
            let v = match qc.act {
                ActCalib::Dynamic => return None,
                ActCalib::MinMax => a.iter().fold(0.0f32, |m, &x| m.max(x.abs())),
                ActCalib::Percentile => {
                    let mut s: Vec<f32> = a.iter().map(|v| v.abs()).collect();
                    let idx = (((qc.percentile / 100.0) * (s.len() - 1) as f32).round() as usize)
                        .min(s.len() - 1);
                    let (_, p, _) = s.select_nth_unstable_by(idx, |x, y| x.total_cmp(y));
                    *p
                }
            };
            Some(if v > 0.0 { v / 127.0 } else { 1.0 })
        })
        .collect()
}

/// Quantizes every selected matrix of `base`. `calib` is needed for static activation
/// scales (`ActCalib::MinMax` / `Percentile`) and for GPTQ (its sequences run again
/// through the model as it is quantized); `only` restricts the change to one matrix
/// (per-layer sensitivity).
///
/// GPTQ goes stage by stage (each block's four matrices, then the head): a stage's
/// Hessians come from running the calibration sequences through the model with every
/// earlier stage already quantized, so each stage also compensates what came before.
/// The embeddings are lookups, not products: they have no Hessian and are rounded.
pub fn quantize_model(
    base: &Gpt,
    qc: &QuantConfig,
    calib: Option<&ActObserver>,
    only: Option<&str>,
) -> Result<Gpt> {
    qc.validate()?;
    let used = qc.used();
    if used == [Precision::F32] && only.is_none() {
        return Ok(base.clone()); // keep the model, and its own `quant` record, as it is
    }
    let act_quantized = used.iter().any(|p| p.quantizes_activations())
        || (only.is_some() && qc.precision.quantizes_activations());
    if act_quantized && qc.act != ActCalib::Dynamic && calib.is_none() {
        return Err(input_err("static activation scales need calibration data"));
    }
    let gptq = qc.method == QuantMethod::Gptq;
    let seqs = match (gptq, calib) {
        (false, _) => &[][..],
        (true, Some(c)) if !c.seqs.is_empty() => &c.seqs[..],
        (true, _) => return Err(input_err("GPTQ needs calibration sequences")),
    };
    let scales = match (calib, act_quantized) {
        (Some(c), true) => act_scales(c, qc),
        _ => Vec::new(),
    };
    let n_layer = base.cfg.n_layer;
    let names = crate::model::matrix_names(n_layer);
    if !gptq {
        // Each matrix on its own: quantize straight from `base`, copying only the rest.
        let mut m = base.map_matrices(|name, mat| {
            let precision = qc.precision_for(name);
            if only.is_some_and(|o| o != name) || precision == Precision::F32 {
                return Ok(None);
            }
            let id = names.iter().position(|n| n == name).expect("listed");
            let act = scales.get(id).copied().flatten();
            quantize_matrix(mat, &QuantConfig { precision, ..*qc }, act).map(Some)
        })?;
        m.meta.insert(
            "quant".into(),
            serde_json::to_string(qc).expect("config serialises"),
        );
        return Ok(m);
    }
    let mut m = base.clone();
    // GPTQ's view of the model being quantized: the inputs of each matrix, observed
    // again at the start of each stage (earlier stages have changed since).
    let mut seen: Option<ActObserver> = None;
    let mut stage = usize::MAX;
    for (id, name) in names.iter().enumerate() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let precision = qc.precision_for(name);
        if precision == Precision::F32 {
            continue;
        }
        let act = scales.get(id).copied().flatten();
        let here = QuantConfig { precision, ..*qc };
        let compensated = gptq
            && id <= 4 * n_layer
            && matches!(
                here.precision,
                Precision::Int8 | Precision::Int8Dynamic | Precision::Int4
            );
        let new = if compensated {
            if id / 4 != stage {
                stage = id / 4;
                seen = Some(crate::quality::calibrate(&m, seqs)?);
            }
            let x = &seen.as_ref().expect("observed above").x[id];
            let mat = m.matrix(name).expect("every listed matrix exists");
            let h = crate::gptq::hessian(x, mat.cols);
            crate::gptq::quantize_matrix(mat, &here, &h, act)?
        } else {
            quantize_matrix(m.matrix(name).expect("listed"), &here, act)?
        };
        *m.matrix_mut(name).expect("every listed matrix exists") = new;
    }
    m.meta.insert(
        "quant".into(),
        serde_json::to_string(qc).expect("config serialises"),
    );
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_of_rounds_as_round_then_clamp_does() {
        // Ties, near-ties, both signs, beyond the range, and non-finite inputs.
        let mut xs: Vec<f32> = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0];
        for i in -2000..=2000 {
            let v = i as f32 * 0.25;
            xs.extend([
                v,
                f32::from_bits(v.to_bits() + 1),
                f32::from_bits(v.to_bits().max(1) - 1),
            ]);
        }
        xs.extend([
            1e9,
            -1e9,
            255.5,
            -255.5,
            256.5,
            -300.2,
            0.49999997,
            -0.49999997,
        ]);
        for range in [(-7.0, 7.0), (-8.0, 7.0), (-127.0, 127.0), (-128.0, 127.0)] {
            for &x in &xs {
                let want = x.round().clamp(range.0, range.1);
                let got = code_of(x, 1.0, range);
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "{x}: {got} vs {want}"
                );
            }
        }
    }

    fn dense(rows: usize, cols: usize) -> Matrix {
        let w = (0..rows * cols)
            .map(|i| ((i as f32 * 0.618).fract() - 0.5) * 0.1 + if i % 97 == 0 { 0.4 } else { 0.0 })
            .collect();
        Matrix::dense(rows, cols, w)
    }

    fn rel_err(a: &[f32], b: &[f32]) -> f32 {
        let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f32 = a.iter().map(|x| x * x).sum();
        (num / den).sqrt()
    }

    #[test]
    fn formats_are_packed_and_close_to_the_original() {
        let m = dense(16, 128);
        let w = m.to_f32();
        let q = |p, clip| {
            let qc = QuantConfig {
                precision: p,
                clip,
                ..QuantConfig::default()
            };
            quantize_matrix(&m, &qc, None).unwrap()
        };
        let f16m = q(Precision::F16, Clip::MaxAbs);
        let i8m = q(Precision::Int8, Clip::MaxAbs);
        let i4m = q(Precision::Int4, Clip::MaxAbs);
        assert_eq!(f16m.bytes(), 16 * 128 * 2);
        assert_eq!(i8m.bytes(), 16 * 128 + 16 * 2);
        assert_eq!(i4m.bytes(), 16 * 64 + 16 * 4 * 2);
        assert!(rel_err(&w, &f16m.to_f32()) < 1e-3);
        assert!(rel_err(&w, &i8m.to_f32()) < 0.02);
        assert!(
            rel_err(&w, &i4m.to_f32()) < 0.5,
            "int4 error {}",
            rel_err(&w, &i4m.to_f32())
        );
        // The search never does worse than max-abs, and beats it with outliers present.
        let i4s = q(Precision::Int4, Clip::Search);
        assert!(rel_err(&w, &i4s.to_f32()) < rel_err(&w, &i4m.to_f32()));
    }

    #[test]
    fn quantized_products_match_the_dequantized_reference() {
        let m = dense(12, 128);
        let x: Vec<f32> = (0..128).map(|i| (i as f32 * 0.3).sin()).collect();
        for &p in Precision::ALL {
            let qc = QuantConfig {
                precision: p,
                ..QuantConfig::default()
            };
            let q = quantize_matrix(&m, &qc, None).unwrap();
            let deq = q.to_f32();
            let mut y = vec![0.0; 12];
            q.matvec(crate::kernels::Kernel::Simd, &x, None, &mut y);
            for r in 0..12 {
                let want: f32 = (0..128).map(|j| deq[r * 128 + j] * x[j]).sum();
                let mag: f32 = (0..128).map(|j| (deq[r * 128 + j] * x[j]).abs()).sum();
                // f32/f16/W8A32 are exact up to float rounding; int8 activations add
                // at most half a step (1/254 of max|x|) per element.
                let tol = if p.quantizes_activations() {
                    0.01 * mag
                } else {
                    1e-5 * mag
                };
                assert!(
                    (y[r] - want).abs() <= tol + 1e-6,
                    "{p:?} row {r}: {} vs {want}",
                    y[r]
                );
            }
        }
    }

    #[test]
    fn bad_configs_are_errors() {
        assert!(Precision::parse("int3")
            .unwrap_err()
            .to_string()
            .contains("int8-dynamic"));
        let qc = QuantConfig {
            group_size: 48,
            ..QuantConfig::default()
        };
        assert!(qc.validate().is_err());
    }
}
