//! Turning `--precision` and friends into a quantized model with measured quality.

use crate::args::Args;
use tinyopt::model::Gpt;
use tinyopt::quality::{self, Agreement};
use tinyopt::quant::{quantize_model, ActCalib, Clip, Precision, QuantConfig};

/// Options shared by every command that quantizes.
pub const VALUED: [&str; 5] = ["precision", "group-size", "clip", "act-calib", "percentile"];
pub const FLAGS: [&str; 1] = ["keep-f32-ends"];

pub use tinyopt::quality::{CALIB_SEED, EVAL_LEN, EVAL_SEED, EVAL_SEQS};

pub fn config(a: &Args) -> Result<QuantConfig, String> {
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
    };
    qc.validate().map_err(|e| e.to_string())?;
    Ok(qc)
}

/// Quantizes `base` (calibrating if the config asks for static scales) and measures
/// its agreement with `base` on the fixed evaluation set.
pub fn prepare(base: &Gpt, qc: &QuantConfig) -> Result<(Gpt, Agreement), String> {
    if qc.precision == Precision::F32 {
        let agree = Agreement {
            kld: 0.0,
            top1_agreement: 1.0,
            positions: 0,
        };
        return Ok((base.clone(), agree));
    }
    let e = |e: tinyopt::Error| e.to_string();
    let calib = if qc.precision.quantizes_activations() && qc.act != ActCalib::Dynamic {
        let seqs = quality::eval_set(base, EVAL_SEQS, EVAL_LEN, CALIB_SEED).map_err(e)?;
        Some(quality::calibrate(base, &seqs).map_err(e)?)
    } else {
        None
    };
    let m = quantize_model(base, qc, calib.as_ref(), None).map_err(e)?;
    let seqs = quality::eval_set(base, EVAL_SEQS, EVAL_LEN, EVAL_SEED).map_err(e)?;
    let agree = quality::compare(base, &m, &seqs).map_err(e)?;
    Ok((m, agree))
}
