//! The corpus as tokens: the 90/10 split (`eval::split_point`) and seeded batches.

use crate::error::{input_err, Result};
use crate::eval::{encode_corpus, split_point};
use crate::model::Tokenizer;
use crate::rng::Rng;

/// Train and held-out tokens of one corpus.
pub struct Corpus {
    pub tokenizer: Tokenizer,
    pub train: Vec<u32>, // (0.9 n)
    pub val: Vec<u32>,   // (n - 0.9 n)
    /// FNV-1a of all tokens and the vocabulary: a checkpoint refuses another corpus.
    pub fingerprint: u64,
}

impl Corpus {
    /// Builds the vocabulary from the whole text (sorted distinct characters) and splits.
    pub fn new(text: &str, ctx: usize) -> Result<Corpus> {
        if text.is_empty() {
            return Err(input_err("the corpus is empty"));
        }
        let tokenizer = Tokenizer::from_corpus(text)?;
        let tokens = encode_corpus(&tokenizer, text)?;
        Corpus::from_tokens(tokenizer, tokens, ctx)
    }

    /// Splits `tokens` of a given vocabulary (text sampled from a model: it need not
    /// use every character).
    pub fn from_tokens(tokenizer: Tokenizer, tokens: Vec<u32>, ctx: usize) -> Result<Corpus> {
        let split = split_point(tokens.len());
        if split < ctx + 1 {
            return Err(input_err(format!(
                "the corpus is too short: its training part has {split} characters but a \
                 context of {ctx} needs at least {} (the last 10% is held out)",
                ctx + 1
            )));
        }
        if tokens.len() - split < 2 {
            return Err(input_err(
                "the corpus is too short to hold out a validation part",
            ));
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in tokenizer
            .vocab_string()
            .chars()
            .map(|c| c as u32)
            .chain(tokens.iter().copied())
        {
            for byte in x.to_le_bytes() {
                h = (h ^ byte as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
        Ok(Corpus {
            tokenizer,
            val: tokens[split..].to_vec(),
            train: tokens[..split].to_vec(),
            fingerprint: h,
        })
    }

    /// `bsz` random windows of the training part: inputs (bsz, t) and targets (bsz, t)
    /// shifted by one.
    pub fn batch(&self, rng: &mut Rng, bsz: usize, t: usize, x: &mut Vec<u32>, y: &mut Vec<u32>) {
        x.clear();
        y.clear();
        let starts = self.train.len() - t; // start in 0..=len-t-1
        for _ in 0..bsz {
            let s = rng.below(starts);
            x.extend_from_slice(&self.train[s..s + t]);
            y.extend_from_slice(&self.train[s + 1..s + t + 1]);
        }
    }
}
