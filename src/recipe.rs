//! baseline model + recipe → model. The one transformation both faces call.
//! Order: prune (on f32), then quantize, then pick the storage for the zeros.

use crate::error::Result;
use crate::kernels::Kernel;
use crate::model::gpt::ActObserver;
use crate::model::Gpt;
use crate::prune::{
    prune_model, sparsify_blocks, PruneConfig, PruneKind, PruneStats, SparseFormat,
};
use crate::quant::{quantize_model, QuantConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipe {
    pub quant: QuantConfig,
    pub prune: PruneConfig,
    pub kernel: Kernel,
}

/// Applies `r` to a copy of `base`. `calib` holds activation statistics of `base`
/// when the recipe asks for static activation scales.
pub fn build(base: &Gpt, r: &Recipe, calib: Option<&ActObserver>) -> Result<(Gpt, PruneStats)> {
    let (pruned, stats) = prune_model(base, &r.prune)?;
    let mut m = quantize_model(&pruned, &r.quant, calib, None)?;
    if r.prune.kind == PruneKind::Unstructured && r.prune.format != SparseFormat::Dense {
        sparsify_blocks(&mut m, r.prune.format)?;
    }
    m.kernel = r.kernel;
    Ok((m, stats))
}
