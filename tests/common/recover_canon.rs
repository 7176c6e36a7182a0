//! The recovery run the native and the browser tests both make: a tiny random teacher,
//! pruned, then distilled back for a few steps on its own samples. Equal weight hashes
//! (checked in at tests/fixtures/recover.json) mean the trainer has the same bits in both.

use tinyopt::model::tokenizer::DEFAULT_VOCAB;
use tinyopt::model::{Config, Gpt, Tokenizer};
use tinyopt::prune::{PruneConfig, PruneKind};
use tinyopt::train::recover::{RecoverOptions, Recovery};

/// (prune kind, weights sha256 after the steps, top-1 agreement after, in 1e-6).
pub fn runs() -> Vec<(String, String, u64)> {
    let cfg = Config {
        vocab: 65,
        ctx: 16,
        n_layer: 2,
        n_head: 2,
        d_model: 36,
    };
    let teacher = Gpt::random(cfg, Tokenizer::new(DEFAULT_VOCAB).unwrap(), 7).unwrap();
    [PruneKind::Unstructured, PruneKind::Structured]
        .into_iter()
        .map(|kind| {
            let opts = RecoverOptions {
                prune: PruneConfig {
                    kind,
                    ratio: 0.6,
                    ..PruneConfig::default()
                },
                steps: 4,
                batch: 3,
                warmup: 2,
                samples: 6,
                seed: 11,
                lr: 1e-3,
                temperature: 1.0,
                alpha: 0.9,
            };
            let mut rec = Recovery::new(&teacher, opts).unwrap();
            while !rec.done() {
                rec.step().unwrap();
            }
            let q = rec.quality(&rec.model().unwrap()).unwrap();
            (
                kind.name().to_string(),
                rec.weights_sha256(),
                (q.top1_agreement * 1e6).round() as u64,
            )
        })
        .collect()
}

/// The checked-in expectation, in the shape `runs` returns.
pub fn expected() -> Vec<(String, String, u64)> {
    serde_json::from_str(include_str!("../fixtures/recover.json")).unwrap()
}
