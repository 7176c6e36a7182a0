//! Model hyper-parameters.

use crate::error::{input_err, Result};
use serde::{Deserialize, Serialize};

/// Shape of the char-level GPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Number of distinct characters.
    pub vocab: usize,
    /// Context length: the most positions the model can see.
    pub ctx: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub d_model: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vocab: 65,
            ctx: 256,
            n_layer: 4,
            n_head: 4,
            d_model: 128,
        }
    }
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_head
    }

    /// MLP hidden width: 4x the model width.
    pub fn d_ff(&self) -> usize {
        4 * self.d_model
    }

    /// Rejects shapes the model cannot run (and absurd ones from a hostile file).
    pub fn validate(&self) -> Result<()> {
        let c = self;
        if c.vocab == 0 || c.ctx == 0 || c.n_layer == 0 || c.n_head == 0 || c.d_model == 0 {
            return Err(input_err(format!("config has a zero dimension: {c:?}")));
        }
        if !c.d_model.is_multiple_of(c.n_head) {
            return Err(input_err(format!(
                "d_model ({}) must be divisible by n_head ({})",
                c.d_model, c.n_head
            )));
        }
        if c.vocab > 1 << 16 || c.ctx > 1 << 14 || c.n_layer > 64 || c.d_model > 1 << 13 {
            return Err(input_err(format!(
                "config is too large for this lab: {c:?}"
            )));
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        let (d, v, t, f) = (self.d_model, self.vocab, self.ctx, self.d_ff());
        let block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (f * d + f) + (d * f + d);
        v * d + t * d + self.n_layer * block + 2 * d + v * d
    }
}
