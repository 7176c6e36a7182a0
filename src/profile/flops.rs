//! Analytic FLOP counts of the forward pass, per op and per token, for any model,
//! pruned and sparse ones included.
//!
//! Convention: every scalar +, −, ×, ÷, max, sqrt, exp and tanh is one FLOP, as the
//! forward actually performs them (a multiply-add is two). So a (n, k) matrix-vector
//! product is 2nk, plus n for its bias. Attention grows with the position p: a token
//! at position p attends to p + 1 keys. Checked against a brute-force count over a
//! tiny model in the tests below.

use super::ops::{Op, OpArray};
use crate::model::Gpt;

/// FLOPs of one token at position `pos`, by op, including the final LayerNorm and the
/// LM head (as in a decode step).
pub fn token(m: &Gpt, pos: usize) -> OpArray<u64> {
    let mut f = body(m, pos);
    add_head(m, &mut f);
    f
}

/// Total FLOPs of one decode step at position `pos`.
pub fn per_token(m: &Gpt, pos: usize) -> u64 {
    token(m, pos).total()
}

/// FLOPs of a forward over `t` tokens at positions `pos0..pos0 + t`, with logits for the
/// last `logit_rows` of them.
pub fn forward(m: &Gpt, pos0: usize, t: usize, logit_rows: usize) -> OpArray<u64> {
    let mut f = OpArray::default();
    for p in pos0..pos0 + t {
        f.add(&body(m, p));
    }
    for _ in 0..logit_rows.min(t) {
        add_head(m, &mut f);
    }
    f
}

/// FLOPs a whole generation performs: a prefill of `prompt` tokens, then one step per
/// new token; without the KV cache every step re-runs the whole sequence.
pub fn generation(m: &Gpt, prompt: usize, new_tokens: usize, kv_cache: bool) -> u64 {
    let mut total = 0;
    for s in 0..new_tokens {
        let len = prompt + s; // tokens in the sequence before this step's sample
        total += if kv_cache && s > 0 {
            forward(m, len - 1, 1, 1).total()
        } else {
            forward(m, 0, len, 1).total()
        };
    }
    total
}

/// Multiply-adds a matrix-vector product with `w` performs: every entry when dense,
/// the stored entries when sparse (SELL's padding lanes included: the kernel multiplies
/// them too); structurally pruned matrices are smaller to begin with.
fn mads(w: &crate::weights::Matrix) -> u64 {
    w.stored_values() as u64
}

/// A single position's work in the embedding and the blocks (no final LN, no head),
/// from the model's actual matrices: pruning and sparse formats change it.
fn body(m: &Gpt, pos: usize) -> OpArray<u64> {
    let d = m.cfg.d_model as u64;
    let hd = m.cfg.head_dim() as u64;
    let keys = pos as u64 + 1;
    let mut o = OpArray::default();
    o[Op::Embedding] = d; // wte[token] + wpe[pos]
    for b in &m.blocks {
        let nh = b.w_qkv.rows as u64 / (3 * hd); // heads this block kept
        let f = b.w_up.rows as u64; // MLP neurons this block kept
        o[Op::LayerNorm] += 2 * layernorm(d);
        o[Op::Qkv] += 2 * mads(&b.w_qkv) + b.w_qkv.rows as u64;
        o[Op::AttnScores] += nh * keys * (2 * hd + 1); // q·k, then × 1/sqrt(hd)
        o[Op::Softmax] += nh * (5 * keys + 1); // max, −max, exp, sum, 1/sum, ×
        o[Op::AttnWeightedV] += nh * keys * 2 * hd;
        o[Op::AttnOut] += 2 * mads(&b.w_o) + d + d; // projection, bias, residual add
        o[Op::MlpUp] += 2 * mads(&b.w_up) + f;
        o[Op::Gelu] += 9 * f;
        o[Op::MlpDown] += 2 * mads(&b.w_down) + d + d; // projection, bias, residual add
    }
    o
}

fn add_head(m: &Gpt, o: &mut OpArray<u64>) {
    o[Op::LayerNorm] += layernorm(m.cfg.d_model as u64);
    o[Op::LmHead] += 2 * mads(&m.head);
}

/// mean (d + 1), variance (3d + 1), 1/sqrt(var + eps) (3), normalise and affine (4d).
fn layernorm(d: u64) -> u64 {
    8 * d + 5
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Config, KvCache, Logits, Scratch, Tokenizer};

    /// A scalar f64 re-implementation of the forward that counts every arithmetic
    /// operation it performs, charged to the op it is in.
    struct Counter {
        n: OpArray<u64>,
        op: Op,
        /// A sparse kernel never touches a zero weight.
        skip_zeros: bool,
    }

    impl Counter {
        fn tick(&mut self) {
            self.n[self.op] += 1;
        }
        fn add(&mut self, a: f64, b: f64) -> f64 {
            self.tick();
            a + b
        }
        fn sub(&mut self, a: f64, b: f64) -> f64 {
            self.tick();
            a - b
        }
        fn mul(&mut self, a: f64, b: f64) -> f64 {
            self.tick();
            a * b
        }
        fn div(&mut self, a: f64, b: f64) -> f64 {
            self.tick();
            a / b
        }
        fn un(&mut self, a: f64, f: fn(f64) -> f64) -> f64 {
            self.tick();
            f(a)
        }
        /// y (n) = W x + b, one multiply and one add per weight.
        fn linear(&mut self, w: &[f32], x: &[f64], b: Option<&[f32]>) -> Vec<f64> {
            let k = x.len();
            w.chunks_exact(k)
                .enumerate()
                .map(|(i, row)| {
                    let mut s = 0.0;
                    for j in 0..k {
                        if self.skip_zeros && row[j] == 0.0 {
                            continue;
                        }
                        let p = self.mul(row[j] as f64, x[j]);
                        s = self.add(s, p);
                    }
                    match b {
                        Some(b) => self.add(s, b[i] as f64),
                        None => s,
                    }
                })
                .collect()
        }
        fn layernorm(&mut self, x: &[f64], g: &[f32], b: &[f32]) -> Vec<f64> {
            let n = x.len() as f64;
            let mut sum = 0.0;
            for &v in x {
                sum = self.add(sum, v);
            }
            let mean = self.div(sum, n);
            let mut var = 0.0;
            for &v in x {
                let c = self.sub(v, mean);
                let c2 = self.mul(c, c);
                var = self.add(var, c2);
            }
            let var = self.div(var, n);
            let ve = self.add(var, 1e-5);
            let sd = self.un(ve, f64::sqrt);
            let rstd = self.div(1.0, sd);
            (0..x.len())
                .map(|i| {
                    let c = self.sub(x[i], mean);
                    let c = self.mul(c, rstd);
                    let c = self.mul(c, g[i] as f64);
                    self.add(c, b[i] as f64)
                })
                .collect()
        }
    }

    /// One decode step at position `pos`; `keys`/`vals` are (n_layer, pos, d) so far.
    fn reference_step(
        m: &Gpt,
        tok: usize,
        pos: usize,
        keys: &mut [Vec<Vec<f64>>],
        vals: &mut [Vec<Vec<f64>>],
        c: &mut Counter,
    ) -> Vec<f64> {
        let cfg = &m.cfg;
        let (d, nh, hd) = (cfg.d_model, cfg.n_head, cfg.head_dim());
        let wte = m.wte.to_f32();
        let wpe = m.wpe.to_f32();
        c.op = Op::Embedding;
        let mut x: Vec<f64> = (0..d)
            .map(|j| c.add(wte[tok * d + j] as f64, wpe[pos * d + j] as f64))
            .collect();
        for (l, b) in m.blocks.iter().enumerate() {
            c.op = Op::LayerNorm;
            let xn = c.layernorm(&x, &b.ln1_g, &b.ln1_b);
            c.op = Op::Qkv;
            let qkv = c.linear(&b.w_qkv.to_f32(), &xn, Some(&b.b_qkv));
            keys[l].push(qkv[d..2 * d].to_vec());
            vals[l].push(qkv[2 * d..].to_vec());
            let mut att = vec![0.0; d];
            for h in 0..nh {
                let r = h * hd..(h + 1) * hd;
                c.op = Op::AttnScores;
                let mut sc: Vec<f64> = keys[l]
                    .iter()
                    .map(|kj| {
                        let mut s = 0.0;
                        for e in r.clone() {
                            let p = c.mul(qkv[e], kj[e]);
                            s = c.add(s, p);
                        }
                        c.mul(s, 1.0 / (hd as f64).sqrt())
                    })
                    .collect();
                c.op = Op::Softmax;
                let mut mx = f64::NEG_INFINITY;
                for &s in &sc {
                    c.tick();
                    mx = mx.max(s);
                }
                let mut sum = 0.0;
                for s in sc.iter_mut() {
                    let z = c.sub(*s, mx);
                    *s = c.un(z, f64::exp);
                    sum = c.add(sum, *s);
                }
                let inv = c.div(1.0, sum);
                for s in sc.iter_mut() {
                    *s = c.mul(*s, inv);
                }
                c.op = Op::AttnWeightedV;
                for (j, &p) in sc.iter().enumerate() {
                    for e in r.clone() {
                        let pv = c.mul(p, vals[l][j][e]);
                        att[e] = c.add(att[e], pv);
                    }
                }
            }
            c.op = Op::AttnOut;
            let o = c.linear(&b.w_o.to_f32(), &att, Some(&b.b_o));
            x = (0..d).map(|j| c.add(x[j], o[j])).collect();
            c.op = Op::LayerNorm;
            let xn = c.layernorm(&x, &b.ln2_g, &b.ln2_b);
            c.op = Op::MlpUp;
            let up = c.linear(&b.w_up.to_f32(), &xn, Some(&b.b_up));
            c.op = Op::Gelu;
            let act: Vec<f64> = up
                .iter()
                .map(|&u| {
                    // 0.5 x (1 + tanh(C (x + 0.044715 x³)))
                    let x3 = c.mul(0.044_715, u);
                    let x3 = c.mul(x3, u);
                    let x3 = c.mul(x3, u);
                    let inner = c.add(u, x3);
                    let inner = c.mul(0.797_884_560_8, inner);
                    let th = c.un(inner, f64::tanh);
                    let one = c.add(1.0, th);
                    let half = c.mul(0.5, u);
                    c.mul(half, one)
                })
                .collect();
            c.op = Op::MlpDown;
            let dn = c.linear(&b.w_down.to_f32(), &act, Some(&b.b_down));
            x = (0..d).map(|j| c.add(x[j], dn[j])).collect();
        }
        c.op = Op::LayerNorm;
        let xn = c.layernorm(&x, &m.lnf_g, &m.lnf_b);
        c.op = Op::LmHead;
        c.linear(&m.head.to_f32(), &xn, None)
    }

    #[test]
    fn analytic_counts_match_a_brute_force_count_and_the_model() {
        let cfg = Config {
            vocab: 7,
            ctx: 8,
            n_layer: 2,
            n_head: 2,
            d_model: 12,
        };
        let dense = Gpt::random(cfg, Tokenizer::new("abcdefg").unwrap(), 5).unwrap();
        let prune = |kind, ratio| crate::prune::PruneConfig {
            kind,
            ratio,
            ..Default::default()
        };
        // Half the MLP neurons removed: smaller matrices.
        let (narrow, _) =
            crate::prune::prune_model(&dense, &prune(crate::prune::PruneKind::Structured, 0.5))
                .unwrap();
        assert_eq!(narrow.blocks[0].w_up.rows, 24);
        // 70% zeros in CSR: only the stored weights are multiplied.
        let (mut sparse, _) =
            crate::prune::prune_model(&dense, &prune(crate::prune::PruneKind::Unstructured, 0.7))
                .unwrap();
        crate::prune::sparsify_blocks(&mut sparse, crate::prune::SparseFormat::Csr).unwrap();
        for (m, skip_zeros) in [(&dense, false), (&narrow, false), (&sparse, true)] {
            let mut kv = KvCache::new(&cfg);
            let mut s = Scratch::new(&cfg);
            let (mut keys, mut vals) = (vec![vec![]; 2], vec![vec![]; 2]);
            for (pos, tok) in [3usize, 0, 6, 6, 2, 1, 5, 4].into_iter().enumerate() {
                let mut c = Counter {
                    n: OpArray::default(),
                    op: Op::Embedding,
                    skip_zeros,
                };
                let want = reference_step(m, tok, pos, &mut keys, &mut vals, &mut c);
                assert_eq!(c.n, token(m, pos), "position {pos}");
                let got = m
                    .forward(&[tok as u32], &mut kv, &mut s, Logits::Last)
                    .unwrap();
                for (g, w) in got.iter().zip(&want) {
                    assert!((*g as f64 - w).abs() < 1e-4, "pos {pos}: logit {g} vs {w}");
                }
            }
        }
        assert!(per_token(&narrow, 3) < per_token(&dense, 3));
        assert!(per_token(&sparse, 3) < per_token(&narrow, 3));
        let m = &dense;
        // Prefill counts equal the sum of single steps, minus heads not computed.
        let pre = forward(m, 0, 5, 1);
        let steps: u64 = (0..5).map(|p| per_token(m, p)).sum();
        let head = 2 * 7 * 12 + 8 * 12 + 5;
        assert_eq!(pre.total(), steps - 4 * head);
        assert_eq!(
            generation(m, 2, 3, true),
            forward(m, 0, 2, 1).total() + per_token(m, 2) + per_token(m, 3)
        );
        assert_eq!(
            generation(m, 2, 2, false),
            forward(m, 0, 2, 1).total() + forward(m, 0, 3, 1).total()
        );
    }
}
