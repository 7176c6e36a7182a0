//! AdamW (decoupled weight decay) and global-norm gradient clipping on flat buffers.

use super::params::TensorSpec;

/// b^n by squaring: plain multiplies in a fixed order (`powi` is a runtime-library
/// call whose bits may differ between native and wasm).
fn pow(b: f32, mut n: u64) -> f32 {
    let (mut r, mut x) = (1.0f32, b);
    while n > 0 {
        if n & 1 == 1 {
            r *= x;
        }
        x *= x;
        n >>= 1;
    }
    r
}

/// AdamW hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdamW {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl AdamW {
    /// One update at step `t` (1-based, for bias correction). Weight decay applies to
    /// tensors whose `decays()` is true (matrices) only.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        tensors: &[TensorSpec],
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        lr: f32,
        t: u64,
    ) {
        let bc1 = 1.0 - pow(self.beta1, t);
        let bc2 = 1.0 - pow(self.beta2, t);
        for spec in tensors {
            let wd = if spec.decays() {
                self.weight_decay
            } else {
                0.0
            };
            for i in spec.range.clone() {
                m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g[i];
                v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g[i] * g[i];
                let mh = m[i] / bc1;
                let vh = v[i] / bc2;
                p[i] -= lr * (mh / (vh.sqrt() + self.eps) + wd * p[i]);
            }
        }
    }
}

/// Scales `g` so its global L2 norm is at most `max_norm`; returns the norm before.
pub fn clip_global_norm(g: &mut [f32], max_norm: f32) -> f32 {
    let norm = g
        .iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt() as f32;
    if max_norm > 0.0 && norm > max_norm {
        let s = max_norm / norm;
        for x in g.iter_mut() {
            *x *= s;
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_and_decay_skips_vectors() {
        let tensors = vec![
            TensorSpec {
                name: "w".into(),
                shape: vec![1, 1],
                range: 0..1,
            },
            TensorSpec {
                name: "b".into(),
                shape: vec![1],
                range: 1..2,
            },
        ];
        let opt = AdamW {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.5,
        };
        let mut p = vec![1.0, 1.0];
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        opt.update(&tensors, &mut p, &[2.0, 2.0], &mut m, &mut v, 0.1, 1);
        // Bias-corrected first step is lr * sign(g); the matrix also decays by lr*wd*p.
        assert!((p[0] - (1.0 - 0.1 - 0.05)).abs() < 1e-5, "{p:?}");
        assert!((p[1] - 0.9).abs() < 1e-5, "{p:?}");
        let mut g = vec![3.0, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
    }
}
