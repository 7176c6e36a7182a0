//! Quality of a transformed model against its f32 baseline: mean KL divergence and
//! top-1 next-token agreement on a fixed evaluation set, perplexity on any text, and
//! per-matrix sensitivity. Shared by quantization and pruning.

use crate::detmath::{exp, ln};
use crate::error::{input_err, Result};
use crate::model::gpt::ActObserver;
use crate::model::matrix_names;
use crate::model::{GenOptions, Generator, Gpt, KvCache, Logits, Scratch};
use crate::quant::{quantize_model, QuantConfig};
use serde::Serialize;

/// The fixed evaluation and calibration sets every face uses (same seeds each run, so
/// figures from the page and the CLI compare): 8 sequences of 128 tokens.
pub const EVAL_SEED: u64 = 1_000;
pub const CALIB_SEED: u64 = 2_000;
pub const EVAL_SEQS: usize = 8;
pub const EVAL_LEN: usize = 128;

/// Sequences sampled from `base` (temperature 1, seeds `seed..seed+n`), each
/// `len` tokens including a one-newline prompt: text the model itself finds typical.
pub fn eval_set(base: &Gpt, n: usize, len: usize, seed: u64) -> Result<Vec<Vec<u32>>> {
    let len = len.clamp(2, base.cfg.ctx);
    (0..n as u64)
        .map(|i| {
            let opts = GenOptions {
                max_new_tokens: len - 1,
                temperature: 1.0,
                top_k: 0,
                seed: seed + i,
                kv_cache: true,
            };
            let mut g = Generator::new(base, "\n", opts)?;
            while g.step(base)?.is_some() {}
            Ok(g.tokens().to_vec())
        })
        .collect()
}

/// Logits of every position of `seq`, (len, vocab).
fn all_logits(m: &Gpt, seq: &[u32], kv: &mut KvCache, s: &mut Scratch) -> Result<Vec<f32>> {
    kv.clear();
    m.forward(seq, kv, s, Logits::All)?;
    Ok(s.logits[..seq.len() * m.cfg.vocab].to_vec())
}

/// log-softmax in f64, for stable metrics (`detmath`: the same bits on every face).
fn log_softmax(x: &[f32]) -> Vec<f64> {
    let max = x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let lse = ln(x.iter().map(|&v| exp(v as f64 - max)).sum::<f64>()) + max;
    x.iter().map(|&v| v as f64 - lse).collect()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Agreement {
    /// Mean KL(base ‖ candidate) over positions, nats/token.
    pub kld: f64,
    /// Fraction of positions where both pick the same most likely next token.
    pub top1_agreement: f64,
    pub positions: usize,
}

/// The baseline's side of every comparison on a fixed set, computed once: the page
/// compares many candidates (every toggle, every matrix of a sensitivity run) with the
/// same loaded model, and the baseline's forward pass was half of each comparison.
#[derive(Clone, Debug)]
pub struct Reference {
    seqs: Vec<Vec<u32>>,
    vocab: usize,
    /// (positions, vocab): the baseline's log-softmax at every position of every sequence.
    log_probs: Vec<f64>,
    /// (positions): the baseline's most likely next token at each.
    top1: Vec<usize>,
}

impl Reference {
    pub fn new(base: &Gpt, seqs: &[Vec<u32>]) -> Result<Reference> {
        let v = base.cfg.vocab;
        // Each model reads its own cache precision (a packed cache is part of a candidate).
        let mut kv = base.kv_cache();
        let mut s = Scratch::new(&base.cfg);
        let (mut log_probs, mut top1) = (Vec::new(), Vec::new());
        for seq in seqs {
            for row in all_logits(base, seq, &mut kv, &mut s)?.chunks_exact(v) {
                log_probs.extend(log_softmax(row));
                top1.push(crate::model::sampler::argmax(row));
            }
        }
        Ok(Reference {
            seqs: seqs.to_vec(),
            vocab: v,
            log_probs,
            top1,
        })
    }

    /// The sequences it was computed on.
    pub fn seqs(&self) -> &[Vec<u32>] {
        &self.seqs
    }

    /// `cand` against the baseline at every position of every sequence.
    pub fn compare(&self, cand: &Gpt) -> Result<Agreement> {
        let v = self.vocab;
        if cand.cfg.vocab != v {
            return Err(input_err(format!(
                "the candidate has {} tokens, the reference {v}",
                cand.cfg.vocab
            )));
        }
        let mut kv = cand.kv_cache();
        let mut s = Scratch::new(&cand.cfg);
        let (mut kl, mut agree, mut n) = (0.0f64, 0usize, 0usize);
        for seq in &self.seqs {
            let b = all_logits(cand, seq, &mut kv, &mut s)?;
            for rb in b.chunks_exact(v) {
                let la = &self.log_probs[n * v..(n + 1) * v];
                let lb = log_softmax(rb);
                kl += la
                    .iter()
                    .zip(&lb)
                    .map(|(p, q)| exp(*p) * (p - q))
                    .sum::<f64>();
                agree += (self.top1[n] == crate::model::sampler::argmax(rb)) as usize;
                n += 1;
            }
        }
        Ok(Agreement {
            kld: kl / n.max(1) as f64,
            top1_agreement: agree as f64 / n.max(1) as f64,
            positions: n,
        })
    }

    /// `recipe_agreement` against this reference.
    pub fn recipe_agreement(&self, built: &Gpt, r: &crate::recipe::Recipe) -> Result<Agreement> {
        if r.is_identity() {
            return Ok(IDENTITY);
        }
        self.compare(built)
    }
}

/// Compares `cand` with `base` at every position of every sequence.
pub fn compare(base: &Gpt, cand: &Gpt, seqs: &[Vec<u32>]) -> Result<Agreement> {
    Reference::new(base, seqs)?.compare(cand)
}

/// The identity recipe's agreement: exact by definition, nothing measured.
const IDENTITY: Agreement = Agreement {
    kld: 0.0,
    top1_agreement: 1.0,
    positions: 0,
};

/// A recipe's quality as every face reports it: the identity recipe (weights as
/// loaded) is exact by definition and measures nothing; any other is compared with
/// `base` on `seqs` (the fixed evaluation set).
pub fn recipe_agreement(
    base: &Gpt,
    built: &Gpt,
    r: &crate::recipe::Recipe,
    seqs: &[Vec<u32>],
) -> Result<Agreement> {
    if r.is_identity() {
        return Ok(IDENTITY);
    }
    compare(base, built, seqs)
}

/// What the packed KV cache alone costs: `built` against the same weights with an f32
/// cache (exact when the cache is f32). The recipe's `recipe_agreement` holds the whole
/// cost (weights and cache together) against the loaded model.
pub fn kv_agreement(built: &Gpt, seqs: &[Vec<u32>]) -> Result<Agreement> {
    if built.kv_precision == crate::model::KvPrecision::F32 {
        return Ok(Agreement {
            kld: 0.0,
            top1_agreement: 1.0,
            positions: 0,
        });
    }
    let mut exact = built.clone();
    exact.kv_precision = crate::model::KvPrecision::F32;
    compare(&exact, built, seqs)
}

/// What running the same weights another way costs in bits (the relaxed kernel against
/// `simd`): logits compared bit for bit on `seqs`, and a greedy generation from "\n"
/// compared token by token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct BitsLost {
    /// Logits compared (positions × vocabulary).
    pub logits: usize,
    /// Of those, how many have exactly the same bits.
    pub identical: usize,
    /// Largest |a - b| over them.
    pub max_abs_diff: f64,
    /// Mean KL(exact ‖ other) over positions, nats/token.
    pub kld: f64,
    pub top1_agreement: f64,
    /// Greedy tokens generated by each.
    pub greedy_tokens: usize,
    /// How many of them agree before the first difference (= greedy_tokens if none).
    pub greedy_same: usize,
}

/// Compares `other` with `exact` (same weights, another kernel): see `BitsLost`.
pub fn bits_lost(
    exact: &Gpt,
    other: &Gpt,
    seqs: &[Vec<u32>],
    greedy_tokens: usize,
) -> Result<BitsLost> {
    let agree = compare(exact, other, seqs)?;
    let (mut kva, mut kvb) = (exact.kv_cache(), other.kv_cache());
    let mut s = Scratch::new(&exact.cfg);
    let mut out = BitsLost {
        kld: agree.kld,
        top1_agreement: agree.top1_agreement,
        ..BitsLost::default()
    };
    for seq in seqs {
        let a = all_logits(exact, seq, &mut kva, &mut s)?;
        let b = all_logits(other, seq, &mut kvb, &mut s)?;
        for (x, y) in a.iter().zip(&b) {
            out.logits += 1;
            out.identical += (x.to_bits() == y.to_bits()) as usize;
            out.max_abs_diff = out.max_abs_diff.max((*x as f64 - *y as f64).abs());
        }
    }
    let n = greedy_tokens.clamp(1, exact.cfg.ctx - 1);
    let greedy = |m: &Gpt| -> Result<Vec<u32>> {
        let opts = GenOptions::greedy(n);
        let mut g = Generator::new(m, "\n", opts)?;
        while g.step(m)?.is_some() {}
        Ok(g.tokens().to_vec())
    };
    let (ga, gb) = (greedy(exact)?, greedy(other)?);
    out.greedy_tokens = n;
    out.greedy_same = ga
        .iter()
        .zip(&gb)
        .skip(1)
        .take_while(|(a, b)| a == b)
        .count();
    Ok(out)
}

/// Mean negative log-likelihood (nats/token) of `m` predicting each next token of
/// `seqs`; `detmath` only, so the same bits on every face.
pub fn nll(m: &Gpt, seqs: &[Vec<u32>]) -> Result<f64> {
    let v = m.cfg.vocab;
    let mut kv = m.kv_cache();
    let mut s = Scratch::new(&m.cfg);
    let (mut total, mut n) = (0.0f64, 0usize);
    for seq in seqs {
        let logits = all_logits(m, seq, &mut kv, &mut s)?;
        for (row, &next) in logits.chunks_exact(v).zip(&seq[1..]) {
            total -= log_softmax(row)[next as usize];
            n += 1;
        }
    }
    Ok(total / n.max(1) as f64)
}

/// Mean negative log-likelihood (nats/char) and perplexity of `text`, read in
/// non-overlapping windows of `ctx` characters; each window predicts its own next chars
/// (the protocol of the trainer's held-out loss, `eval::evaluate_tokens`).
pub fn perplexity(m: &Gpt, text: &str) -> Result<(f64, f64)> {
    let toks = m.tokenizer.encode(text)?;
    if toks.len() < 2 {
        return Err(input_err(
            "perplexity needs at least two characters of text",
        ));
    }
    let r = crate::eval::evaluate_tokens(m, &toks)?;
    Ok((r.val_loss, r.perplexity))
}

/// The fixed evaluation set (`EVAL_SEQS` × `EVAL_LEN`, seed `EVAL_SEED`).
pub fn fixed_eval_set(base: &Gpt) -> Result<Vec<Vec<u32>>> {
    eval_set(base, EVAL_SEQS, EVAL_LEN, EVAL_SEED)
}

/// Activation statistics for `qc`, when it asks for static scales (else `None`),
/// gathered on the fixed calibration set (seed `CALIB_SEED`).
pub fn calibration_for(base: &Gpt, qc: &crate::quant::QuantConfig) -> Result<Option<ActObserver>> {
    if !qc.needs_calibration() {
        return Ok(None);
    }
    let seqs = eval_set(base, EVAL_SEQS, EVAL_LEN, CALIB_SEED)?;
    calibrate(base, &seqs).map(Some)
}

/// Runs `base` over `seqs`, recording the activation at every matrix input (and the
/// sequences, for GPTQ's re-runs).
pub fn calibrate(base: &Gpt, seqs: &[Vec<u32>]) -> Result<ActObserver> {
    let mut kv = KvCache::new(&base.cfg);
    let mut s = Scratch::new(&base.cfg);
    s.observer = Some(ActObserver::new(base.cfg.n_layer));
    for seq in seqs {
        kv.clear();
        base.forward(seq, &mut kv, &mut s, Logits::All)?;
    }
    let mut obs = s.observer.take().expect("set above");
    obs.seqs = seqs.to_vec();
    Ok(obs)
}

#[derive(Clone, Debug, Serialize)]
pub struct Sensitivity {
    pub matrix: String,
    pub kld: f64,
    pub top1_agreement: f64,
}

/// Quantizes one matrix at a time and measures the damage of each.
pub fn sensitivity(
    base: &Gpt,
    qc: &QuantConfig,
    calib: Option<&ActObserver>,
    seqs: &[Vec<u32>],
) -> Result<Vec<Sensitivity>> {
    let reference = Reference::new(base, seqs)?;
    matrix_names(base.cfg.n_layer)
        .iter()
        .map(|name| sensitivity_against(&reference, base, qc, calib, name))
        .collect()
}

/// One matrix's row of `sensitivity` (the page asks for them one at a time, so a
/// long run shows progress and can stop between matrices).
pub fn sensitivity_of(
    base: &Gpt,
    qc: &QuantConfig,
    calib: Option<&ActObserver>,
    seqs: &[Vec<u32>],
    name: &str,
) -> Result<Sensitivity> {
    sensitivity_against(&Reference::new(base, seqs)?, base, qc, calib, name)
}

/// `sensitivity_of` against a reference computed once for the whole run.
pub fn sensitivity_against(
    reference: &Reference,
    base: &Gpt,
    qc: &QuantConfig,
    calib: Option<&ActObserver>,
    name: &str,
) -> Result<Sensitivity> {
    if !matrix_names(base.cfg.n_layer).iter().any(|n| n == name) {
        return Err(input_err(format!("no weight matrix is called {name:?}")));
    }
    let single = QuantConfig {
        quantize_ends: true,
        ..*qc
    };
    let m = quantize_model(base, &single, calib, Some(name))?;
    let a = reference.compare(&m)?;
    Ok(Sensitivity {
        matrix: name.to_string(),
        kld: a.kld,
        top1_agreement: a.top1_agreement,
    })
}
