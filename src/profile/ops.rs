//! The forward pass's ops, and the lap clock that times them.
//!
//! `Gpt::forward` calls `Laps::lap(op)` after each op; a lap charges the time since the
//! previous lap to that op, so the parts cover the forward end to end and sum to its
//! total. With profiling off a lap is one branch on a `None`: no clock call.

use crate::clock;
use serde::Serialize;
use std::ops::{Index, IndexMut};

/// One kind of work in the forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Token + position embedding lookup and add.
    Embedding,
    /// All LayerNorms (two per block, one final).
    LayerNorm,
    /// The Q, K, V projection (one matmul), and writing K and V into the cache.
    Qkv,
    /// q·k for every cached key, scaled by 1/sqrt(head_dim).
    AttnScores,
    /// Softmax over the scores.
    Softmax,
    /// The attention output: the probability-weighted sum of cached values.
    AttnWeightedV,
    /// The attention output projection, and its residual add.
    AttnOut,
    /// The MLP's up projection (d -> 4d).
    MlpUp,
    /// The GELU activation.
    Gelu,
    /// The MLP's down projection (4d -> d), and its residual add.
    MlpDown,
    /// The LM head: logits over the vocabulary.
    LmHead,
}

impl Op {
    pub const COUNT: usize = 11;
    /// In forward order (LayerNorm, used throughout, second).
    pub const ALL: [Op; Op::COUNT] = [
        Op::Embedding,
        Op::LayerNorm,
        Op::Qkv,
        Op::AttnScores,
        Op::Softmax,
        Op::AttnWeightedV,
        Op::AttnOut,
        Op::MlpUp,
        Op::Gelu,
        Op::MlpDown,
        Op::LmHead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Embedding => "embedding",
            Op::LayerNorm => "layer_norm",
            Op::Qkv => "qkv",
            Op::AttnScores => "attn_scores",
            Op::Softmax => "softmax",
            Op::AttnWeightedV => "attn_weighted_v",
            Op::AttnOut => "attn_out",
            Op::MlpUp => "mlp_up",
            Op::Gelu => "gelu",
            Op::MlpDown => "mlp_down",
            Op::LmHead => "lm_head",
        }
    }
}

/// One value per op.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpArray<T>(pub [T; Op::COUNT]);

impl<T> Index<Op> for OpArray<T> {
    type Output = T;
    fn index(&self, op: Op) -> &T {
        &self.0[op as usize]
    }
}

impl<T> IndexMut<Op> for OpArray<T> {
    fn index_mut(&mut self, op: Op) -> &mut T {
        &mut self.0[op as usize]
    }
}

impl<T: Copy + std::ops::AddAssign + std::iter::Sum<T>> OpArray<T> {
    pub fn add(&mut self, other: &OpArray<T>) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    pub fn total(&self) -> T {
        self.0.iter().copied().sum()
    }
}

/// Milliseconds spent in each op, accumulated over forwards.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpTimes {
    pub ms: OpArray<f64>,
    /// Forward calls timed.
    pub forwards: usize,
}

/// The lap clock a forward pass carries; a no-op without `OpTimes`.
pub struct Laps<'a> {
    times: Option<&'a mut OpTimes>,
    last: f64,
}

impl<'a> Laps<'a> {
    pub fn new(mut times: Option<&'a mut OpTimes>) -> Laps<'a> {
        let last = match times {
            Some(ref mut t) => {
                t.forwards += 1;
                clock::now_ms()
            }
            None => 0.0,
        };
        Laps { times, last }
    }

    /// Charges the time since the previous lap to `op`.
    #[inline]
    pub fn lap(&mut self, op: Op) {
        if let Some(t) = self.times.as_deref_mut() {
            let now = clock::now_ms();
            t.ms[op] += now - self.last;
            self.last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_charge_each_op_and_cost_nothing_when_off() {
        let mut off = Laps::new(None);
        off.lap(Op::Qkv); // no clock, no panic
        let mut t = OpTimes::default();
        {
            let mut on = Laps::new(Some(&mut t));
            on.lap(Op::Embedding);
            on.lap(Op::Qkv);
            on.lap(Op::Qkv);
        }
        assert_eq!(t.forwards, 1);
        assert!(t.ms.0.iter().all(|&ms| ms >= 0.0));
        assert_eq!(t.ms[Op::Gelu], 0.0);
        let names: std::collections::HashSet<_> = Op::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), Op::COUNT);
        assert!(Op::ALL.iter().enumerate().all(|(i, &o)| o as usize == i));
    }
}
