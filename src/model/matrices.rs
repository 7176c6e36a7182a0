//! The model's registry of weight matrices: their names, access by name, which are the
//! sensitive ends, and a census of the storage formats they are held in. Transforms
//! (quantization, pruning), I/O and the faces all address matrices through this.

use super::gpt::Block;
use super::Gpt;
use crate::weights::Matrix;
use std::collections::BTreeMap;

/// The four matrices of every block, as named after `h.{layer}.`.
pub const BLOCK_MATRICES: [&str; 4] = ["attn.qkv", "attn.proj", "mlp.up", "mlp.down"];

/// Names of the model's weight matrices: the blocks' in order, then `head`, `wte`, `wpe`
/// (the index is the matrix's `mat_id` where it has one).
pub fn matrix_names(n_layer: usize) -> Vec<String> {
    let mut v = Vec::with_capacity(4 * n_layer + 3);
    for l in 0..n_layer {
        for s in BLOCK_MATRICES {
            v.push(format!("h.{l}.{s}"));
        }
    }
    v.extend(["head", "wte", "wpe"].map(String::from));
    v
}

/// Whether a matrix is one of the sensitive ends (embeddings, LM head).
pub fn is_end(name: &str) -> bool {
    matches!(name, "wte" | "wpe" | "head")
}

impl Gpt {
    /// A matrix by name (see `matrix_names`).
    pub fn matrix(&self, name: &str) -> Option<&Matrix> {
        match name {
            "head" => return Some(&self.head),
            "wte" => return Some(&self.wte),
            "wpe" => return Some(&self.wpe),
            _ => {}
        }
        let (l, which) = name.strip_prefix("h.")?.split_once('.')?;
        let b = self.blocks.get(l.parse::<usize>().ok()?)?;
        match which {
            "attn.qkv" => Some(&b.w_qkv),
            "attn.proj" => Some(&b.w_o),
            "mlp.up" => Some(&b.w_up),
            "mlp.down" => Some(&b.w_down),
            _ => None,
        }
    }

    /// A copy of the model whose matrices are `f(name, matrix)` (`None`: a plain copy).
    /// Quantizing through this never copies the f32 weights it is about to replace.
    pub fn map_matrices(
        &self,
        mut f: impl FnMut(&str, &Matrix) -> crate::error::Result<Option<Matrix>>,
    ) -> crate::error::Result<Gpt> {
        let mut g = |name: &str, m: &Matrix| -> crate::error::Result<Matrix> {
            Ok(f(name, m)?.unwrap_or_else(|| m.clone()))
        };
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (l, b) in self.blocks.iter().enumerate() {
            let [qkv, proj, up, down] = BLOCK_MATRICES.map(|s| format!("h.{l}.{s}"));
            blocks.push(Block {
                ln1_g: b.ln1_g.clone(),
                ln1_b: b.ln1_b.clone(),
                w_qkv: g(&qkv, &b.w_qkv)?,
                b_qkv: b.b_qkv.clone(),
                w_o: g(&proj, &b.w_o)?,
                b_o: b.b_o.clone(),
                ln2_g: b.ln2_g.clone(),
                ln2_b: b.ln2_b.clone(),
                w_up: g(&up, &b.w_up)?,
                b_up: b.b_up.clone(),
                w_down: g(&down, &b.w_down)?,
                b_down: b.b_down.clone(),
            });
        }
        Ok(Gpt {
            cfg: self.cfg,
            tokenizer: self.tokenizer.clone(),
            head: g("head", &self.head)?,
            wte: g("wte", &self.wte)?,
            wpe: g("wpe", &self.wpe)?,
            blocks,
            lnf_g: self.lnf_g.clone(),
            lnf_b: self.lnf_b.clone(),
            kernel: self.kernel,
            kv_precision: self.kv_precision,
            meta: self.meta.clone(),
        })
    }

    /// Mutable access to a matrix by name (see `matrix_names`).
    pub fn matrix_mut(&mut self, name: &str) -> Option<&mut Matrix> {
        match name {
            "head" => return Some(&mut self.head),
            "wte" => return Some(&mut self.wte),
            "wpe" => return Some(&mut self.wpe),
            _ => {}
        }
        let (l, which) = name.strip_prefix("h.")?.split_once('.')?;
        let b = self.blocks.get_mut(l.parse::<usize>().ok()?)?;
        match which {
            "attn.qkv" => Some(&mut b.w_qkv),
            "attn.proj" => Some(&mut b.w_o),
            "mlp.up" => Some(&mut b.w_up),
            "mlp.down" => Some(&mut b.w_down),
            _ => None,
        }
    }

    /// How many weight matrices are held in each storage format, read off the matrices
    /// themselves: what a report says ran is what the model holds, not what a recipe asked.
    pub fn storage_census(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for name in matrix_names(self.cfg.n_layer) {
            let m = self.matrix(&name).expect("every listed matrix exists");
            *counts.entry(m.format_name()).or_insert(0) += 1;
        }
        counts
    }

    /// The storage format of the block matrices and of the ends, as `census` does.
    pub fn storage_of(&self, end: bool) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for name in matrix_names(self.cfg.n_layer) {
            if is_end(&name) == end {
                let m = self.matrix(&name).expect("every listed matrix exists");
                *counts.entry(m.format_name()).or_insert(0) += 1;
            }
        }
        counts
    }
}
