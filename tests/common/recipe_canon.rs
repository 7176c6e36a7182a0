//! Recipes measured the same way on both faces: the native test pins the rows in
//! `tests/fixtures/recipes.json` and the browser test must reproduce them bit for bit
//! (same `recipe_id`, same storage census, same KL and top-1 bits).

use serde::{Deserialize, Serialize};
use tinyopt::model::tokenizer::DEFAULT_VOCAB;
use tinyopt::model::{Config, Gpt, Tokenizer};
use tinyopt::quality;
use tinyopt::recipe::{self, Recipe};

/// Page queries covering every precision, both pruning kinds, both sparse formats that
/// compose with quantization, static calibration, mixed-precision ends, a kernel and
/// GPTQ (both orders, with pruning) and per-group precisions; each packed KV cache (its
/// dequantize-on-read kernels must match across faces too).
pub const RECIPES: [&str; 15] = [
    "",
    "precision=f16&kernel=naive",
    "precision=int8&prune=0.9&sparse-format=csr",
    "precision=int8-dynamic&act-calib=min-max",
    "precision=int4&group-size=64&clip=search&ends-precision=int8",
    "prune=0.5&prune-scope=per-matrix&sparse-format=sell",
    "precision=int8-dynamic&prune=0.5&prune-kind=structured&prune-heads=0.5",
    "precision=int4&act-calib=percentile&percentile=99&keep-f32-ends=1",
    "prune=0.7",
    "precision=int4&quant-method=gptq&ends-precision=int8",
    "precision=int4&quant-method=gptq&gptq-order=act-order&group-size=64&clip=search",
    "precision=int8&quant-method=gptq&prune=0.5",
    "precision=int4&quant-method=gptq&head-precision=int8&mlp-down-precision=int8-dynamic",
    "kv-precision=int8",
    "precision=int8&kv-precision=f16",
];

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub query: String,
    pub recipe_id: String,
    pub storage: String,
    pub kld_bits: u64,
    pub top1_bits: u64,
}

/// A small seeded model (rows of 64, so int4 groups of 64 fit).
pub fn tiny() -> Gpt {
    let cfg = Config {
        vocab: 65,
        ctx: 32,
        n_layer: 2,
        n_head: 2,
        d_model: 64,
    };
    Gpt::random(cfg, Tokenizer::new(DEFAULT_VOCAB).unwrap(), 7).unwrap()
}

/// Builds `query`'s recipe from `base` (calibrating when it asks) and measures it.
pub fn measure(base: &Gpt, query: &str) -> Row {
    let r = Recipe::parse(query).unwrap();
    let seqs = quality::eval_set(base, 2, 24, quality::EVAL_SEED).unwrap();
    let calib = r.needs_calibration().then(|| {
        let c = quality::eval_set(base, 2, 24, quality::CALIB_SEED).unwrap();
        quality::calibrate(base, &c).unwrap()
    });
    let (m, _) = recipe::build(base, &r, calib.as_ref()).unwrap();
    let a = quality::compare(base, &m, &seqs).unwrap();
    Row {
        query: query.into(),
        recipe_id: r.id().unwrap(),
        storage: m
            .storage_census()
            .iter()
            .map(|(f, n)| format!("{n} {f}"))
            .collect::<Vec<_>>()
            .join(", "),
        kld_bits: a.kld.to_bits(),
        top1_bits: a.top1_agreement.to_bits(),
    }
}

pub fn rows() -> Vec<Row> {
    let base = tiny();
    RECIPES.iter().map(|q| measure(&base, q)).collect()
}
