//! Turning `--precision`, `--prune` and friends into a transformed model with its
//! quality measured against the loaded one.

use crate::args::Args;
use tinyopt::model::Gpt;
use tinyopt::prune::{PruneConfig, PruneKind, PruneStats, Scope, SparseFormat};
use tinyopt::quality::{self, Agreement};
use tinyopt::quant::{ActCalib, Clip, Precision, QuantConfig};
use tinyopt::recipe::{self, Recipe};

/// Options shared by every command that transforms the model.
pub const VALUED: [&str; 12] = [
    "precision",
    "ends-precision",
    "group-size",
    "clip",
    "act-calib",
    "percentile",
    "prune",
    "prune-kind",
    "prune-heads",
    "prune-scope",
    "sparse-format",
    "kernel",
];
pub const FLAGS: [&str; 1] = ["keep-f32-ends"];

pub fn quant_config(a: &Args) -> Result<QuantConfig, String> {
    let precision =
        Precision::parse(a.str("precision").unwrap_or("f32")).map_err(|e| e.to_string())?;
    let clip = match a.str("clip").unwrap_or("max-abs") {
        "max-abs" => Clip::MaxAbs,
        "search" => Clip::Search,
        o => return Err(format!("unknown --clip {o:?}; choose max-abs or search")),
    };
    let act = match a.str("act-calib").unwrap_or("dynamic") {
        "dynamic" => ActCalib::Dynamic,
        "minmax" => ActCalib::MinMax,
        "percentile" => ActCalib::Percentile,
        o => {
            return Err(format!(
                "unknown --act-calib {o:?}; choose dynamic, minmax or percentile"
            ))
        }
    };
    let qc = QuantConfig {
        precision,
        group_size: a.get("group-size", 32)?,
        clip,
        act,
        percentile: a.get("percentile", 99.9)?,
        quantize_ends: !a.flag("keep-f32-ends"),
        ends_precision: match a.str("ends-precision") {
            Some(p) => Some(Precision::parse(p).map_err(|e| e.to_string())?),
            None => None,
        },
    };
    qc.validate().map_err(|e| e.to_string())?;
    Ok(qc)
}

pub fn prune_config(a: &Args) -> Result<PruneConfig, String> {
    let ratio: f32 = a.get("prune", 0.0)?;
    let kind = match a.str("prune-kind") {
        Some(k) => PruneKind::parse(k).map_err(|e| e.to_string())?,
        None if ratio > 0.0 => PruneKind::Unstructured,
        None => PruneKind::None,
    };
    let scope = match a.str("prune-scope").unwrap_or("global") {
        "global" => Scope::Global,
        "per-matrix" => Scope::PerMatrix,
        o => {
            return Err(format!(
                "unknown --prune-scope {o:?}; choose global or per-matrix"
            ))
        }
    };
    let format = match a.str("sparse-format") {
        Some(f) => SparseFormat::parse(f).map_err(|e| e.to_string())?,
        // Unstructured zeros only save anything in a sparse format.
        None if kind == PruneKind::Unstructured => SparseFormat::Csr,
        None => SparseFormat::Dense,
    };
    let pc = PruneConfig {
        kind,
        ratio,
        heads: a.get("prune-heads", 0.0)?,
        scope,
        format,
    };
    pc.validate().map_err(|e| e.to_string())?;
    Ok(pc)
}

pub fn config(a: &Args) -> Result<Recipe, String> {
    let kernel = match a.str("kernel") {
        Some(k) => tinyopt::kernels::Kernel::from_name(k).map_err(|e| e.to_string())?,
        None => tinyopt::kernels::Kernel::default(),
    };
    Ok(Recipe {
        quant: quant_config(a)?,
        prune: prune_config(a)?,
        kernel,
    })
}

/// Builds the recipe's model (calibrating if it asks for static activation scales)
/// and measures its agreement with `base` on the fixed evaluation set.
pub fn prepare(base: &Gpt, r: &Recipe) -> Result<(Gpt, Agreement, PruneStats), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let (m, stats) = build(base, r)?;
    let agree = if r.quant.precision == Precision::F32 && r.prune.kind == PruneKind::None {
        Agreement {
            kld: 0.0,
            top1_agreement: 1.0,
            positions: 0,
        }
    } else {
        let seqs = quality::fixed_eval_set(base).map_err(e)?;
        quality::compare(base, &m, &seqs).map_err(e)?
    };
    Ok((m, agree, stats))
}

/// The recipe's model alone (calibrating if it asks for static activation scales).
pub fn build(base: &Gpt, r: &Recipe) -> Result<(Gpt, PruneStats), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let calib = quality::calibration_for(base, &r.quant).map_err(e)?;
    recipe::build(base, r, calib.as_ref()).map_err(e)
}
