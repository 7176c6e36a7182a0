//! Next-token choice: greedy, or temperature + optional top-k with a seeded RNG.

use super::ops;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Sampler {
    rng: Rng,
    /// 0 means greedy (argmax).
    pub temperature: f32,
    /// 0 means no top-k cut.
    pub top_k: usize,
    probs: Vec<f32>, // (vocab) scratch
    order: Vec<f32>, // (vocab) scratch for the top-k cut
}

impl Sampler {
    pub fn new(seed: u64, temperature: f32, top_k: usize) -> Sampler {
        Sampler {
            rng: Rng::new(seed),
            temperature: if temperature.is_finite() {
                temperature.max(0.0)
            } else {
                0.0
            },
            top_k,
            probs: Vec::new(),
            order: Vec::new(),
        }
    }

    /// Picks a token. Draws exactly one random number per call when sampling, so a
    /// seed fixes the whole run.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.temperature == 0.0 {
            return argmax(logits) as u32;
        }
        distribution(
            logits,
            self.temperature,
            self.top_k,
            &mut self.probs,
            &mut self.order,
        );
        let u = self.rng.next_f32();
        pick(&self.probs, u)
    }
}

/// probs (vocab) = softmax(logits / temperature), with every logit below the k-th
/// largest cut first when `top_k` is set; `order` is scratch. Temperature must be > 0.
/// The sampler's distribution, shared with speculative decoding's accept/reject rule.
pub fn distribution(
    logits: &[f32],
    temperature: f32,
    top_k: usize,
    probs: &mut Vec<f32>,
    order: &mut Vec<f32>,
) {
    let inv_t = 1.0 / temperature;
    probs.clear();
    probs.extend(logits.iter().map(|&l| l * inv_t));
    if top_k > 0 && top_k < probs.len() {
        // The k-th largest value: a selection, not a sort, in reused scratch.
        order.clear();
        order.extend_from_slice(probs);
        let (_, &mut cut, _) = order.select_nth_unstable_by(top_k - 1, |a, b| b.total_cmp(a));
        for p in probs.iter_mut() {
            if *p < cut {
                *p = f32::NEG_INFINITY;
            }
        }
    }
    ops::softmax(probs);
}

/// The token where the running sum of `weights` first exceeds `u` (in [0, Σ weights)).
pub fn pick(weights: &[f32], u: f32) -> u32 {
    let mut acc = 0.0;
    for (i, &p) in weights.iter().enumerate() {
        acc += p;
        if u < acc {
            return i as u32;
        }
    }
    // Rounding left u above the running sum: take the last token with mass.
    weights.iter().rposition(|&p| p > 0.0).unwrap_or(0) as u32
}

/// Index of the largest value (the first one on ties).
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_top_k_and_seeds() {
        let logits = [0.1, 3.0, 2.9, -1.0];
        assert_eq!(Sampler::new(1, 0.0, 0).sample(&logits), 1);
        let mut s = Sampler::new(5, 1.0, 2);
        for _ in 0..200 {
            let t = s.sample(&logits);
            assert!(t == 1 || t == 2, "top-2 sampled {t}");
        }
        let run = |seed| {
            let mut s = Sampler::new(seed, 0.9, 0);
            (0..50).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn top_k_keeps_exactly_the_k_largest_and_their_ties() {
        let mut rng = Rng::new(9);
        // 65 logits on a coarse grid, so ties at the cut happen.
        let logits: Vec<f32> = (0..65).map(|_| (rng.next_f32() * 8.0).floor()).collect();
        for k in [1, 2, 5, 20, 64] {
            let mut s = Sampler::new(1, 1.0, k);
            s.sample(&logits);
            let mut sorted = logits.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let kept = logits.iter().filter(|&&l| l >= sorted[k - 1]).count();
            // A cut logit keeps about e^-87 of the mass (the softmax's exp clamps its input).
            assert_eq!(
                s.probs.iter().filter(|&&p| p > 1e-30).count(),
                kept,
                "k = {k}"
            );
        }
    }
}
