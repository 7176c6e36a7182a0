//! The char-level GPT: token + learned position embeddings, pre-LayerNorm blocks
//! (causal multi-head attention, 4x GELU MLP), final LayerNorm, LM head.
//!
//! One `forward` serves both prefill (many tokens) and decode (one token): it always
//! appends the new tokens' keys/values to the cache and attends over the cache.

use super::config::Config;
use super::kv_cache::{KvCache, KvPrecision};
use super::ops;
use super::tokenizer::Tokenizer;
use crate::error::{format_err, input_err, Error, Result};
use crate::kernels::Kernel;
use crate::profile::ops::{Laps, Op, OpTimes};
use crate::rng::Rng;
use crate::weights::Matrix;
use std::collections::{BTreeMap, HashMap};

/// One transformer block's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub ln1_g: Vec<f32>, // (d)
    pub ln1_b: Vec<f32>, // (d)
    /// Rows 0..d are Q, d..2d are K, 2d..3d are V; head h owns columns h*hd..(h+1)*hd of each.
    pub w_qkv: Matrix, // (3d, d)
    pub b_qkv: Vec<f32>, // (3d)
    pub w_o: Matrix,     // (d, d)
    pub b_o: Vec<f32>,   // (d)
    pub ln2_g: Vec<f32>, // (d)
    pub ln2_b: Vec<f32>, // (d)
    pub w_up: Matrix,    // (4d, d)
    pub b_up: Vec<f32>,  // (4d)
    pub w_down: Matrix,  // (d, 4d)
    pub b_down: Vec<f32>, // (d)
}

/// The model: parameters, vocabulary, the kernel it computes with, and free-form
/// metadata (training facts) that travels with its weight file.
#[derive(Clone, Debug)]
pub struct Gpt {
    pub cfg: Config,
    pub tokenizer: Tokenizer,
    pub wte: Matrix, // (vocab, d)
    pub wpe: Matrix, // (ctx, d)
    pub blocks: Vec<Block>,
    pub lnf_g: Vec<f32>, // (d)
    pub lnf_b: Vec<f32>, // (d)
    pub head: Matrix,    // (vocab, d)
    pub kernel: Kernel,
    /// How caches made for this model store keys and values (`kv_cache`).
    pub kv_precision: KvPrecision,
    pub meta: BTreeMap<String, String>,
}

/// Activation buffers for one forward pass, sized once for a full context.
#[derive(Clone, Debug)]
pub struct Scratch {
    x: Vec<f32>,      // (ctx, d) residual stream
    xn: Vec<f32>,     // (ctx, d) normalised input of a sub-layer
    qkv: Vec<f32>,    // (ctx, 3d)
    att: Vec<f32>,    // (ctx, d) attention output before projection
    tmp: Vec<f32>,    // (ctx, d) sub-layer output before the residual add
    up: Vec<f32>,     // (ctx, 4d)
    scores: Vec<f32>, // (n_head, ctx) one token's attention, all heads
    /// (ctx, vocab); only row 0 is used when just the last position is wanted.
    pub logits: Vec<f32>,
    /// When set, records the inputs of every matrix product (for calibration).
    pub observer: Option<ActObserver>,
    /// Per-op times, when profiling is on (`enable_op_times`).
    op_times: Option<Box<OpTimes>>,
}

/// The values seen at the input of each weight matrix, indexed by `mat_id`:
/// `4 * layer + {0: qkv, 1: attn proj, 2: mlp up, 3: mlp down}`, and `4 * n_layer` for
/// the head; each (tokens, cols) in the order the tokens ran. Signed, because GPTQ's
/// Hessian needs the products x·xᵀ; static scales read |x|. `seqs` are the token
/// sequences that produced them, so a quantizer can run them again through a
/// partly quantized model.
#[derive(Clone, Debug, Default)]
pub struct ActObserver {
    pub x: Vec<Vec<f32>>,
    pub seqs: Vec<Vec<u32>>,
}

impl ActObserver {
    pub fn new(n_layer: usize) -> ActObserver {
        ActObserver {
            x: vec![Vec::new(); 4 * n_layer + 1],
            seqs: Vec::new(),
        }
    }

    fn record(&mut self, id: usize, x: &[f32]) {
        self.x[id].extend_from_slice(x);
    }
}

#[inline]
fn observe(o: &mut Option<ActObserver>, id: usize, x: &[f32]) {
    if let Some(o) = o {
        o.record(id, x);
    }
}

impl Scratch {
    pub fn new(cfg: &Config) -> Scratch {
        let (t, d) = (cfg.ctx, cfg.d_model);
        Scratch {
            x: vec![0.0; t * d],
            xn: vec![0.0; t * d],
            qkv: vec![0.0; t * 3 * d],
            att: vec![0.0; t * d],
            tmp: vec![0.0; t * d],
            up: vec![0.0; t * cfg.d_ff()],
            scores: vec![0.0; cfg.n_head * t],
            logits: vec![0.0; t * cfg.vocab],
            observer: None,
            op_times: None,
        }
    }

    /// Starts timing every op of each forward pass run with this scratch.
    pub fn enable_op_times(&mut self) {
        self.op_times = Some(Box::default());
    }

    /// The op times so far, if profiling is on.
    pub fn op_times(&self) -> Option<&OpTimes> {
        self.op_times.as_deref()
    }

    /// The op times so far, and profiling off again.
    pub fn take_op_times(&mut self) -> Option<OpTimes> {
        self.op_times.take().map(|b| *b)
    }

    pub fn bytes(&self) -> usize {
        4 * (self.x.len()
            + self.xn.len()
            + self.qkv.len()
            + self.att.len()
            + self.tmp.len()
            + self.up.len()
            + self.scores.len()
            + self.logits.len())
    }
}

/// Which logits a forward pass writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logits {
    /// Only the last position's, in `scratch.logits[..vocab]`.
    Last,
    /// Every position's, (t, vocab).
    All,
}

impl Gpt {
    /// An empty cache at this model's `kv_precision`.
    pub fn kv_cache(&self) -> KvCache {
        KvCache::with_precision(&self.cfg, self.kv_precision)
    }

    /// A freshly initialised model (GPT-2 style: N(0, 0.02), residual projections
    /// scaled by 1/sqrt(2 n_layer)), deterministic for a seed on every target.
    pub fn random(cfg: Config, tokenizer: Tokenizer, seed: u64) -> Result<Gpt> {
        cfg.validate()?;
        if tokenizer.len() != cfg.vocab {
            return Err(input_err(format!(
                "vocabulary has {} characters but the config says {}",
                tokenizer.len(),
                cfg.vocab
            )));
        }
        let mut rng = Rng::new(seed);
        let (d, f, v, t) = (cfg.d_model, cfg.d_ff(), cfg.vocab, cfg.ctx);
        let std = 0.02;
        let res_std = std / (2.0 * cfg.n_layer as f32).sqrt();
        let mut normal =
            |n: usize, s: f32| -> Vec<f32> { (0..n).map(|_| rng.normal() * s).collect() };
        let wte = Matrix::dense(v, d, normal(v * d, std));
        let wpe = Matrix::dense(t, d, normal(t * d, std));
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for _ in 0..cfg.n_layer {
            blocks.push(Block {
                ln1_g: vec![1.0; d],
                ln1_b: vec![0.0; d],
                w_qkv: Matrix::dense(3 * d, d, normal(3 * d * d, std)),
                b_qkv: vec![0.0; 3 * d],
                w_o: Matrix::dense(d, d, normal(d * d, res_std)),
                b_o: vec![0.0; d],
                ln2_g: vec![1.0; d],
                ln2_b: vec![0.0; d],
                w_up: Matrix::dense(f, d, normal(f * d, std)),
                b_up: vec![0.0; f],
                w_down: Matrix::dense(d, f, normal(d * f, res_std)),
                b_down: vec![0.0; d],
            });
        }
        let head = Matrix::dense(v, d, normal(v * d, std));
        let mut meta = BTreeMap::new();
        meta.insert("init".into(), format!("random, seed {seed}"));
        Ok(Gpt {
            cfg,
            tokenizer,
            wte,
            wpe,
            blocks,
            lnf_g: vec![1.0; d],
            lnf_b: vec![0.0; d],
            head,
            kernel: Kernel::default(),
            kv_precision: KvPrecision::default(),
            meta,
        })
    }

    /// The default config with the default vocabulary, randomly initialised.
    pub fn default_random(seed: u64) -> Gpt {
        let tok = Tokenizer::new(super::tokenizer::DEFAULT_VOCAB).expect("default vocab is valid");
        Gpt::random(Config::default(), tok, seed).expect("default config is valid")
    }

    /// Bytes held by all weights in their current storage formats.
    pub fn weight_bytes(&self) -> usize {
        let vecs = |b: &Block| {
            4 * (b.ln1_g.len() + b.ln1_b.len() + b.b_qkv.len() + b.b_o.len() + b.ln2_g.len())
                + 4 * (b.ln2_b.len() + b.b_up.len() + b.b_down.len())
        };
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| vecs(b) + b.w_qkv.bytes() + b.w_o.bytes() + b.w_up.bytes() + b.w_down.bytes())
            .sum();
        self.wte.bytes()
            + self.wpe.bytes()
            + blocks
            + 4 * (self.lnf_g.len() + self.lnf_b.len())
            + self.head.bytes()
    }

    /// Every parameter as (name, shape, f32 values), in a fixed order. The names are
    /// the safetensors names and the trainer's.
    pub fn named_tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let c = &self.cfg;
        let d = c.d_model;
        let mut out = vec![
            ("wte".to_string(), vec![c.vocab, d], self.wte.to_f32()),
            ("wpe".to_string(), vec![c.ctx, d], self.wpe.to_f32()),
        ];
        for (i, b) in self.blocks.iter().enumerate() {
            let p = |s: &str| format!("h.{i}.{s}");
            let (dq, f) = (b.w_o.cols, b.w_up.rows); // fewer when structurally pruned
            out.push((p("ln1.g"), vec![d], b.ln1_g.clone()));
            out.push((p("ln1.b"), vec![d], b.ln1_b.clone()));
            out.push((p("attn.qkv.w"), vec![3 * dq, d], b.w_qkv.to_f32()));
            out.push((p("attn.qkv.b"), vec![3 * dq], b.b_qkv.clone()));
            out.push((p("attn.proj.w"), vec![d, dq], b.w_o.to_f32()));
            out.push((p("attn.proj.b"), vec![d], b.b_o.clone()));
            out.push((p("ln2.g"), vec![d], b.ln2_g.clone()));
            out.push((p("ln2.b"), vec![d], b.ln2_b.clone()));
            out.push((p("mlp.up.w"), vec![f, d], b.w_up.to_f32()));
            out.push((p("mlp.up.b"), vec![f], b.b_up.clone()));
            out.push((p("mlp.down.w"), vec![d, f], b.w_down.to_f32()));
            out.push((p("mlp.down.b"), vec![d], b.b_down.clone()));
        }
        out.push(("lnf.g".to_string(), vec![d], self.lnf_g.clone()));
        out.push(("lnf.b".to_string(), vec![d], self.lnf_b.clone()));
        out.push(("head.w".to_string(), vec![c.vocab, d], self.head.to_f32()));
        out
    }

    /// Parameters the model holds: the config's count, less whatever structured
    /// pruning removed (sparse formats still count every logical entry).
    pub fn n_params(&self) -> usize {
        let mat = |m: &Matrix| m.rows * m.cols;
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| {
                b.ln1_g.len() * 4
                    + mat(&b.w_qkv)
                    + b.b_qkv.len()
                    + mat(&b.w_o)
                    + b.b_o.len()
                    + mat(&b.w_up)
                    + b.b_up.len()
                    + mat(&b.w_down)
                    + b.b_down.len()
            })
            .sum();
        mat(&self.wte) + mat(&self.wpe) + blocks + 2 * self.lnf_g.len() + mat(&self.head)
    }

    /// Builds a model from named tensors (see `named_tensors`), checking every shape.
    /// A block may hold fewer heads or MLP neurons than the config (structured pruning).
    pub fn from_named(
        cfg: Config,
        tokenizer: Tokenizer,
        mut tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    ) -> Result<Gpt> {
        cfg.validate().map_err(|e| format_err(e.to_string()))?;
        if tokenizer.len() != cfg.vocab {
            return Err(format_err(format!(
                "vocabulary has {} characters but config.vocab is {}",
                tokenizer.len(),
                cfg.vocab
            )));
        }
        let (d, f, v) = (cfg.d_model, cfg.d_ff(), cfg.vocab);
        let hd = cfg.head_dim();
        // Structured pruning leaves a block fewer heads (dq = kept heads x hd) or MLP
        // neurons; read both off the tensors, within the config's limits.
        let rows = |name: &str, unit: usize, max: usize| -> Result<usize> {
            let Some((sh, _)) = tensors.get(name) else {
                return Ok(max); // reported as missing below
            };
            let r = sh.first().copied().unwrap_or(0);
            if r == 0 || r > max || r % unit != 0 {
                return Err(format_err(format!(
                    "tensor {name:?} has shape {sh:?}; its rows must be a multiple of {unit}, at most {max}"
                )));
            }
            Ok(r)
        };
        let widths = (0..cfg.n_layer)
            .map(|i| {
                let dq = rows(&format!("h.{i}.attn.qkv.w"), 3 * hd, 3 * d)? / 3;
                Ok((dq, rows(&format!("h.{i}.mlp.up.w"), 1, f)?))
            })
            .collect::<Result<Vec<(usize, usize)>>>()?;
        let mut take = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let (s, data) = tensors
                .remove(name)
                .ok_or_else(|| format_err(format!("missing tensor {name:?}")))?;
            if s != shape {
                return Err(format_err(format!(
                    "tensor {name:?} has shape {s:?}, expected {shape:?}"
                )));
            }
            // Exponent bits all ones is NaN or infinity; an or-reduction vectorises
            // where a short-circuiting `any` does not.
            let non_finite = |c: &[f32]| {
                c.iter().fold(0u32, |a, x| {
                    a | ((x.to_bits() & 0x7f80_0000 == 0x7f80_0000) as u32)
                })
            };
            if data.chunks(4096).any(|c| non_finite(c) != 0) {
                return Err(format_err(format!(
                    "tensor {name:?} holds NaN or infinite values"
                )));
            }
            Ok(data)
        };
        let wte = Matrix::dense(v, d, take("wte", &[v, d])?);
        let wpe = Matrix::dense(cfg.ctx, d, take("wpe", &[cfg.ctx, d])?);
        let mut blocks = Vec::new();
        for (i, &(dq, f)) in widths.iter().enumerate() {
            let n = |s: &str| format!("h.{i}.{s}");
            blocks.push(Block {
                ln1_g: take(&n("ln1.g"), &[d])?,
                ln1_b: take(&n("ln1.b"), &[d])?,
                w_qkv: Matrix::dense(3 * dq, d, take(&n("attn.qkv.w"), &[3 * dq, d])?),
                b_qkv: take(&n("attn.qkv.b"), &[3 * dq])?,
                w_o: Matrix::dense(d, dq, take(&n("attn.proj.w"), &[d, dq])?),
                b_o: take(&n("attn.proj.b"), &[d])?,
                ln2_g: take(&n("ln2.g"), &[d])?,
                ln2_b: take(&n("ln2.b"), &[d])?,
                w_up: Matrix::dense(f, d, take(&n("mlp.up.w"), &[f, d])?),
                b_up: take(&n("mlp.up.b"), &[f])?,
                w_down: Matrix::dense(d, f, take(&n("mlp.down.w"), &[d, f])?),
                b_down: take(&n("mlp.down.b"), &[d])?,
            });
        }
        let lnf_g = take("lnf.g", &[d])?;
        let lnf_b = take("lnf.b", &[d])?;
        let head = Matrix::dense(v, d, take("head.w", &[v, d])?);
        if let Some(extra) = tensors.keys().next() {
            return Err(format_err(format!("unexpected tensor {extra:?}")));
        }
        Ok(Gpt {
            cfg,
            tokenizer,
            wte,
            wpe,
            blocks,
            lnf_g,
            lnf_b,
            head,
            kernel: Kernel::default(),
            kv_precision: KvPrecision::default(),
            meta: BTreeMap::new(),
        })
    }

    /// Runs `tokens` at positions `kv.len ..`, appending their keys/values to `kv`,
    /// and writes logits into `s.logits`. Returns the last position's logits (vocab).
    pub fn forward<'s>(
        &self,
        tokens: &[u32],
        kv: &mut KvCache,
        s: &'s mut Scratch,
        want: Logits,
    ) -> Result<&'s [f32]> {
        let c = &self.cfg;
        let (d, v) = (c.d_model, c.vocab);
        let hd = c.head_dim();
        let t = tokens.len();
        let pos0 = kv.len;
        if t == 0 {
            return Err(input_err("nothing to run: no tokens"));
        }
        if pos0 + t > c.ctx {
            return Err(Error::ContextFull {
                ctx: c.ctx,
                needed: pos0 + t,
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&tk| tk as usize >= v) {
            return Err(input_err(format!(
                "token id {bad} is outside the vocabulary of {v}"
            )));
        }
        let k = self.kernel;
        let scale = 1.0 / (hd as f32).sqrt();
        let ctx = c.ctx;
        // Profiling: a lap after each op (a no-op branch when off). Put back at the end.
        let mut op_times = s.op_times.take();
        let mut laps = Laps::new(op_times.as_deref_mut());

        // Embeddings: x[i] = wte[token] + wpe[pos]
        for (i, &tok) in tokens.iter().enumerate() {
            let xr = &mut s.x[i * d..(i + 1) * d];
            self.wte.row_into(tok as usize, xr);
            let pr = &mut s.tmp[..d];
            self.wpe.row_into(pos0 + i, pr);
            for j in 0..d {
                xr[j] += pr[j];
            }
        }
        laps.lap(Op::Embedding);

        for (l, b) in self.blocks.iter().enumerate() {
            // Structured pruning can leave a block fewer heads or MLP neurons.
            let nhb = b.w_qkv.rows / (3 * hd); // heads kept in this block
            let dq = nhb * hd; // attention width
            let f = b.w_up.rows; // MLP width

            // Attention sub-layer.
            for i in 0..t {
                ops::layernorm(
                    &s.x[i * d..(i + 1) * d],
                    &b.ln1_g,
                    &b.ln1_b,
                    &mut s.xn[i * d..(i + 1) * d],
                );
            }
            laps.lap(Op::LayerNorm);
            observe(&mut s.observer, 4 * l, &s.xn[..t * d]);
            b.w_qkv
                .matmul(k, &s.xn[..t * d], Some(&b.b_qkv), &mut s.qkv[..t * 3 * dq]);
            // The cache packs each position's keys and values (first dq columns) as stored.
            for i in 0..t {
                let row = &s.qkv[i * 3 * dq..(i + 1) * 3 * dq];
                kv.write(l, pos0 + i, &row[dq..2 * dq], &row[2 * dq..3 * dq]);
            }
            laps.lap(Op::Qkv);
            let layer = kv.layer(l);
            for i in 0..t {
                let n = pos0 + i + 1; // attends to positions 0..n
                let qi = &s.qkv[i * 3 * dq..i * 3 * dq + dq];
                for h in 0..nhb {
                    layer.scores(
                        h,
                        &qi[h * hd..(h + 1) * hd],
                        scale,
                        &mut s.scores[h * ctx..h * ctx + n],
                    );
                }
                laps.lap(Op::AttnScores);
                for h in 0..nhb {
                    ops::softmax(&mut s.scores[h * ctx..h * ctx + n]);
                }
                laps.lap(Op::Softmax);
                for h in 0..nhb {
                    layer.weighted_sum(
                        h,
                        &s.scores[h * ctx..h * ctx + n],
                        &mut s.att[i * dq + h * hd..i * dq + (h + 1) * hd],
                    );
                }
                laps.lap(Op::AttnWeightedV);
            }
            observe(&mut s.observer, 4 * l + 1, &s.att[..t * dq]);
            b.w_o
                .matmul(k, &s.att[..t * dq], Some(&b.b_o), &mut s.tmp[..t * d]);
            for (xi, ti) in s.x[..t * d].iter_mut().zip(&s.tmp[..t * d]) {
                *xi += ti;
            }
            laps.lap(Op::AttnOut);

            // MLP sub-layer.
            for i in 0..t {
                ops::layernorm(
                    &s.x[i * d..(i + 1) * d],
                    &b.ln2_g,
                    &b.ln2_b,
                    &mut s.xn[i * d..(i + 1) * d],
                );
            }
            laps.lap(Op::LayerNorm);
            observe(&mut s.observer, 4 * l + 2, &s.xn[..t * d]);
            b.w_up
                .matmul(k, &s.xn[..t * d], Some(&b.b_up), &mut s.up[..t * f]);
            laps.lap(Op::MlpUp);
            ops::gelu_slice(&mut s.up[..t * f]);
            laps.lap(Op::Gelu);
            observe(&mut s.observer, 4 * l + 3, &s.up[..t * f]);
            b.w_down
                .matmul(k, &s.up[..t * f], Some(&b.b_down), &mut s.tmp[..t * d]);
            for (xi, ti) in s.x[..t * d].iter_mut().zip(&s.tmp[..t * d]) {
                *xi += ti;
            }
            laps.lap(Op::MlpDown);
        }
        kv.len = pos0 + t;

        // Final LayerNorm and LM head.
        let first = match want {
            Logits::Last => t - 1,
            Logits::All => 0,
        };
        for i in first..t {
            ops::layernorm(
                &s.x[i * d..(i + 1) * d],
                &self.lnf_g,
                &self.lnf_b,
                &mut s.xn[i * d..(i + 1) * d],
            );
        }
        laps.lap(Op::LayerNorm);
        let rows = t - first;
        observe(&mut s.observer, 4 * c.n_layer, &s.xn[first * d..t * d]);
        self.head
            .matmul(k, &s.xn[first * d..t * d], None, &mut s.logits[..rows * v]);
        laps.lap(Op::LmHead);
        s.op_times = op_times;
        Ok(&s.logits[(rows - 1) * v..rows * v])
    }
}
