//! The KV cache: keys and values of every past position, preallocated once.

use super::config::Config;

/// Cached keys and values for one sequence.
#[derive(Clone, Debug)]
pub struct KvCache {
    /// (n_layer, d_model, ctx): transposed, so attention scores run along positions.
    pub k: Vec<f32>,
    /// (n_layer, ctx, d_model)
    pub v: Vec<f32>,
    /// Positions filled so far.
    pub len: usize,
    ctx: usize,
    d: usize,
}

impl KvCache {
    pub fn new(cfg: &Config) -> KvCache {
        let n = cfg.n_layer * cfg.ctx * cfg.d_model;
        KvCache {
            k: vec![0.0; n],
            v: vec![0.0; n],
            len: 0,
            ctx: cfg.ctx,
            d: cfg.d_model,
        }
    }

    /// Forget the sequence; the memory stays allocated.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Rolls the sequence back to its first `len` positions (speculative decoding drops
    /// the rejected draft tokens this way). Later entries stay in memory but are never
    /// read: attention only reads positions below the query's own.
    pub fn truncate(&mut self, len: usize) {
        assert!(
            len <= self.len,
            "kv cache: truncate to {len} beyond {}",
            self.len
        );
        self.len = len;
    }

    pub fn capacity(&self) -> usize {
        self.ctx
    }

    /// Bytes held by the cache (keys + values).
    pub fn bytes(&self) -> usize {
        (self.k.len() + self.v.len()) * 4
    }

    /// Keys (d_model, ctx) and values (ctx, d_model) of one layer.
    pub fn layer_mut(&mut self, l: usize) -> (&mut [f32], &mut [f32]) {
        let n = self.ctx * self.d;
        (
            &mut self.k[l * n..(l + 1) * n],
            &mut self.v[l * n..(l + 1) * n],
        )
    }
}
