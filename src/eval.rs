//! Held-out quality of a model: validation loss (nats per character) and perplexity.
//!
//! **The split.** A corpus of `n` characters (Unicode scalar values, not bytes) is cut
//! at `split_point(n) = n * 9 / 10`: characters `0..split` train, `split..n` are held
//! out. The trainer and this module share that one function.
//!
//! **The protocol.** The held-out tokens are cut into non-overlapping windows of `ctx`
//! inputs: window `w` feeds tokens `w*ctx .. w*ctx+ctx` and scores the prediction of
//! each next token, so every held-out token after the first is predicted exactly once
//! (the last window may be shorter). Each window runs through the *inference* model
//! (`Gpt::forward` with `Logits::All`) with a fresh `KvCache`, so early positions in a
//! window see little context, exactly as in training. The loss is the mean negative
//! log-likelihood over all scored tokens, accumulated in f64; perplexity is its exp.
//!
//! Pure: the model and text come in, numbers go out; no file I/O, so wasm builds it too.

use crate::error::{input_err, Result};
use crate::model::{Gpt, Logits, Scratch, Tokenizer};
use serde::Serialize;

/// The character index where the held-out tail starts: the first 90% train.
pub fn split_point(n_chars: usize) -> usize {
    n_chars * 9 / 10
}

/// The held-out last 10% of `text`.
pub fn heldout(text: &str) -> &str {
    let n = text.chars().count();
    let split = split_point(n);
    let byte = text
        .char_indices()
        .nth(split)
        .map_or(text.len(), |(b, _)| b);
    &text[byte..]
}

/// Encodes corpus text, naming characters outside the vocabulary instead of
/// dropping them.
pub fn encode_corpus(tok: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    let index: std::collections::HashMap<char, u32> = (tok.vocab_string().chars())
        .enumerate()
        .map(|(i, c)| (c, i as u32))
        .collect();
    let mut unknown: Vec<char> = Vec::new();
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match index.get(&c) {
            Some(&t) => out.push(t),
            None if !unknown.contains(&c) => unknown.push(c),
            None => {}
        }
    }
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().take(10).map(|c| format!("{c:?}")).collect();
        return Err(input_err(format!(
            "the corpus has {} character(s) the model's vocabulary of {} lacks: {}{}",
            unknown.len(),
            tok.len(),
            list.join(", "),
            if unknown.len() > 10 { ", ..." } else { "" }
        )));
    }
    Ok(out)
}

/// Result of an evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Mean negative log-likelihood, nats per character.
    pub val_loss: f64,
    /// exp(val_loss).
    pub perplexity: f64,
    /// Tokens scored (predictions made).
    pub tokens: usize,
    /// Windows run through the model.
    pub windows: usize,
    /// Context length of each full window.
    pub ctx: usize,
}

/// Evaluates the held-out last 10% of a corpus (see the module doc).
pub fn evaluate_corpus(model: &Gpt, text: &str) -> Result<EvalReport> {
    if text.is_empty() {
        return Err(input_err("the corpus is empty"));
    }
    let tokens = encode_corpus(&model.tokenizer, heldout(text))?;
    evaluate_tokens(model, &tokens)
}

/// Mean next-token loss over non-overlapping `ctx`-input windows of `tokens`.
pub fn evaluate_tokens(model: &Gpt, tokens: &[u32]) -> Result<EvalReport> {
    if tokens.len() < 2 {
        return Err(input_err(format!(
            "the held-out text has {} character(s); at least 2 are needed to score a prediction",
            tokens.len()
        )));
    }
    let ctx = model.cfg.ctx;
    let v = model.cfg.vocab;
    let mut kv = model.kv_cache();
    let mut s = Scratch::new(&model.cfg);
    let (mut nll, mut scored, mut windows) = (0.0f64, 0usize, 0usize);
    let mut start = 0;
    while start + 1 < tokens.len() {
        let end = (start + ctx).min(tokens.len() - 1); // inputs start..end, targets +1
        kv.clear();
        model.forward(&tokens[start..end], &mut kv, &mut s, Logits::All)?;
        for (i, &target) in tokens[start + 1..end + 1].iter().enumerate() {
            nll += nll_of(&s.logits[i * v..(i + 1) * v], target as usize);
        }
        scored += end - start;
        windows += 1;
        start = end;
    }
    let val_loss = nll / scored as f64;
    Ok(EvalReport {
        val_loss,
        perplexity: val_loss.exp(),
        tokens: scored,
        windows,
        ctx,
    })
}

/// -log softmax(logits)[target], in f64 for a stable sum.
fn nll_of(logits: &[f32], target: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&z| (z as f64 - max).exp()).sum();
    max + sum.ln() - logits[target] as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;

    #[test]
    fn split_and_heldout() {
        assert_eq!(split_point(100), 90);
        assert_eq!(heldout("abcdefghij"), "j");
        // Characters, not bytes.
        assert_eq!(heldout("ééééééééé\u{00e0}"), "\u{00e0}");
    }

    #[test]
    fn random_model_scores_near_uniform_and_rejects_unknown_chars() {
        let tok = Tokenizer::new("ab\n").unwrap();
        let cfg = Config {
            vocab: 3,
            ctx: 8,
            n_layer: 1,
            n_head: 1,
            d_model: 8,
        };
        let m = Gpt::random(cfg, tok, 1).unwrap();
        let text = "ab\nba\n".repeat(20);
        let r = evaluate_corpus(&m, &text).unwrap();
        assert!((r.val_loss - 3f64.ln()).abs() < 0.05, "{r:?}");
        assert_eq!(r.tokens, heldout(&text).len() - 1);
        assert_eq!(r.windows, r.tokens.div_ceil(8));
        let e = evaluate_corpus(&m, &"abz!".repeat(10))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'z'") && e.contains("'!'"), "{e}");
        assert!(evaluate_corpus(&m, "").is_err());
        assert!(evaluate_corpus(&m, "ab").is_err());
    }
}
