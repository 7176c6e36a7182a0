//! Turning `--precision`, `--prune` and friends into a transformed model with its
//! quality measured against the loaded one.

use crate::args::Args;
use tinyopt::model::Gpt;
use tinyopt::prune::PruneStats;
use tinyopt::quality::{self, Agreement};
use tinyopt::recipe::{self, Recipe};

/// Options shared by every command that transforms the model: the recipe's flat keys.
pub const VALUED: [&str; 13] = [
    "recipe",
    "precision",
    "group-size",
    "clip",
    "act-calib",
    "percentile",
    "ends-precision",
    "prune",
    "prune-kind",
    "prune-heads",
    "prune-scope",
    "sparse-format",
    "kernel",
];
pub const FLAGS: [&str; 1] = ["keep-f32-ends"];

pub fn config(a: &Args) -> Result<Recipe, String> {
    if let Some(text) = a.str("recipe") {
        if let Some(k) = tinyopt::recipe::KEYS
            .iter()
            .find(|k| a.str(k).is_some() || a.flag(k))
        {
            return Err(format!(
                "--recipe and --{k} both set the recipe: give one or the other"
            ));
        }
        return Recipe::parse(text).map_err(|e| e.to_string());
    }
    let mut r = Recipe::default();
    for k in tinyopt::recipe::KEYS {
        if let Some(v) = a.str(k) {
            r.set(k, v).map_err(|e| e.to_string())?;
        } else if k == "keep-f32-ends" && a.flag(k) {
            r.set(k, "1").map_err(|e| e.to_string())?;
        }
    }
    r.normalized().map_err(|e| e.to_string())
}

/// Builds the recipe's model (calibrating if it asks for static activation scales)
/// and measures its agreement with `base` on the fixed evaluation set.
pub fn prepare(base: &Gpt, r: &Recipe) -> Result<(Gpt, Agreement, PruneStats), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let (m, stats) = build(base, r)?;
    let agree = if r.is_identity() {
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
