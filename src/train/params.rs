//! All trainable parameters live in one flat `Vec<f32>`; gradients and the AdamW
//! moments are flat vectors of the same layout. One buffer makes the optimiser,
//! gradient clipping and checkpoints a loop over a slice, and the named ranges below
//! give each layer its view. The order and names are exactly `Gpt::named_tensors`.

use crate::error::{input_err, Result};
use crate::model::{Config, Gpt, Tokenizer};
use std::collections::HashMap;
use std::ops::Range;

/// Where one block's tensors sit in the flat buffer.
#[derive(Clone, Debug)]
pub struct BlockRanges {
    pub ln1_g: Range<usize>,  // (d)
    pub ln1_b: Range<usize>,  // (d)
    pub qkv_w: Range<usize>,  // (3d, d)
    pub qkv_b: Range<usize>,  // (3d)
    pub proj_w: Range<usize>, // (d, d)
    pub proj_b: Range<usize>, // (d)
    pub ln2_g: Range<usize>,  // (d)
    pub ln2_b: Range<usize>,  // (d)
    pub up_w: Range<usize>,   // (4d, d)
    pub up_b: Range<usize>,   // (4d)
    pub down_w: Range<usize>, // (d, 4d)
    pub down_b: Range<usize>, // (d)
}

/// One named tensor of the layout.
#[derive(Clone, Debug)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub range: Range<usize>,
}

impl TensorSpec {
    /// AdamW decays matrices (embeddings, projections, head) but not biases or
    /// LayerNorm gains, which would only be pulled towards zero for no benefit.
    pub fn decays(&self) -> bool {
        self.shape.len() == 2
    }
}

/// The flat layout of a config's parameters.
#[derive(Clone, Debug)]
pub struct Layout {
    pub cfg: Config,
    pub wte: Range<usize>, // (vocab, d)
    pub wpe: Range<usize>, // (ctx, d)
    pub blocks: Vec<BlockRanges>,
    pub lnf_g: Range<usize>, // (d)
    pub lnf_b: Range<usize>, // (d)
    pub head: Range<usize>,  // (vocab, d)
    pub tensors: Vec<TensorSpec>,
    pub total: usize,
}

impl Layout {
    pub fn new(cfg: Config) -> Layout {
        let (d, f, v) = (cfg.d_model, cfg.d_ff(), cfg.vocab);
        let mut tensors = Vec::new();
        let mut total = 0;
        let mut add = |name: String, shape: Vec<usize>| -> Range<usize> {
            let n: usize = shape.iter().product();
            let range = total..total + n;
            total += n;
            tensors.push(TensorSpec {
                name,
                shape,
                range: range.clone(),
            });
            range
        };
        let wte = add("wte".into(), vec![v, d]);
        let wpe = add("wpe".into(), vec![cfg.ctx, d]);
        let mut blocks = Vec::new();
        for i in 0..cfg.n_layer {
            let mut a = |s: &str, shape: Vec<usize>| add(format!("h.{i}.{s}"), shape);
            blocks.push(BlockRanges {
                ln1_g: a("ln1.g", vec![d]),
                ln1_b: a("ln1.b", vec![d]),
                qkv_w: a("attn.qkv.w", vec![3 * d, d]),
                qkv_b: a("attn.qkv.b", vec![3 * d]),
                proj_w: a("attn.proj.w", vec![d, d]),
                proj_b: a("attn.proj.b", vec![d]),
                ln2_g: a("ln2.g", vec![d]),
                ln2_b: a("ln2.b", vec![d]),
                up_w: a("mlp.up.w", vec![f, d]),
                up_b: a("mlp.up.b", vec![f]),
                down_w: a("mlp.down.w", vec![d, f]),
                down_b: a("mlp.down.b", vec![d]),
            });
        }
        let lnf_g = add("lnf.g".into(), vec![d]);
        let lnf_b = add("lnf.b".into(), vec![d]);
        let head = add("head.w".into(), vec![v, d]);
        Layout {
            cfg,
            wte,
            wpe,
            blocks,
            lnf_g,
            lnf_b,
            head,
            tensors,
            total,
        }
    }

    /// The model's parameters as one flat vector in this layout.
    pub fn flatten(&self, model: &Gpt) -> Result<Vec<f32>> {
        let named = model.named_tensors();
        if named.len() != self.tensors.len() || model.cfg != self.cfg {
            return Err(input_err("the model does not match the training layout"));
        }
        let mut flat = Vec::with_capacity(self.total);
        for ((name, shape, data), spec) in named.into_iter().zip(&self.tensors) {
            if name != spec.name || shape != spec.shape {
                return Err(input_err(format!(
                    "tensor {name:?} {shape:?} does not match layout {:?} {:?}",
                    spec.name, spec.shape
                )));
            }
            flat.extend_from_slice(&data);
        }
        Ok(flat)
    }

    /// An inference model holding a copy of `flat`.
    pub fn to_gpt(&self, tokenizer: Tokenizer, flat: &[f32]) -> Result<Gpt> {
        let map: HashMap<String, (Vec<usize>, Vec<f32>)> = self
            .tensors
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    (t.shape.clone(), flat[t.range.clone()].to_vec()),
                )
            })
            .collect();
        Gpt::from_named(self.cfg, tokenizer, map)
    }
}

/// Two disjoint mutable ranges of one buffer (`a` must end before `b` starts).
pub fn two_mut(buf: &mut [f32], a: Range<usize>, b: Range<usize>) -> (&mut [f32], &mut [f32]) {
    assert!(a.end <= b.start, "ranges overlap or are out of order");
    let (lo, hi) = buf.split_at_mut(b.start);
    (&mut lo[a], &mut hi[..b.end - b.start])
}
