//! Character-level tokenizer: one token per character of the vocabulary.

use crate::error::{input_err, Result};
use std::collections::HashMap;

/// The 65 characters of the tiny-Shakespeare corpus, used by a randomly initialised model.
pub const DEFAULT_VOCAB: &str =
    "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Clone, Debug, PartialEq)]
pub struct Tokenizer {
    chars: Vec<char>,
    index: HashMap<char, u32>,
}

impl Tokenizer {
    /// Builds a tokenizer from a vocabulary string; characters must be distinct.
    pub fn new(vocab: &str) -> Result<Tokenizer> {
        let chars: Vec<char> = vocab.chars().collect();
        let mut index = HashMap::new();
        for (i, &c) in chars.iter().enumerate() {
            if index.insert(c, i as u32).is_some() {
                return Err(input_err(format!("vocabulary repeats the character {c:?}")));
            }
        }
        if chars.is_empty() {
            return Err(input_err("vocabulary is empty"));
        }
        Ok(Tokenizer { chars, index })
    }

    /// The sorted set of characters in `text`: how the trainer builds a vocabulary.
    pub fn from_corpus(text: &str) -> Result<Tokenizer> {
        let mut cs: Vec<char> = text.chars().collect();
        cs.sort_unstable();
        cs.dedup();
        Tokenizer::new(&cs.into_iter().collect::<String>())
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn vocab_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Text to tokens. Characters outside the vocabulary are an error that names them;
    /// nothing is silently dropped or replaced.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(text.len());
        let mut unknown: Vec<char> = Vec::new();
        for c in text.chars() {
            match self.index.get(&c) {
                Some(&t) => out.push(t),
                None => {
                    if !unknown.contains(&c) {
                        unknown.push(c)
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().take(10).map(|c| format!("{c:?}")).collect();
            return Err(input_err(format!(
                "the prompt has characters the model does not know: {}{} (its vocabulary has {} characters)",
                list.join(", "),
                if unknown.len() > 10 { ", ..." } else { "" },
                self.len()
            )));
        }
        Ok(out)
    }

    pub fn decode_one(&self, t: u32) -> char {
        self.chars.get(t as usize).copied().unwrap_or('\u{FFFD}')
    }

    pub fn decode(&self, ts: &[u32]) -> String {
        ts.iter().map(|&t| self.decode_one(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_unknown_characters() {
        let t = Tokenizer::new(DEFAULT_VOCAB).unwrap();
        assert_eq!(t.len(), 65);
        let ids = t.encode("ROMEO:\nO, she doth teach").unwrap();
        assert_eq!(t.decode(&ids), "ROMEO:\nO, she doth teach");
        let err = t.encode("héllo <b>").unwrap_err().to_string();
        assert!(
            err.contains("'é'") && err.contains("'<'") && err.contains("'>'"),
            "{err}"
        );
        assert!(Tokenizer::new("aa").is_err());
        assert_eq!(Tokenizer::from_corpus("baab").unwrap().vocab_string(), "ab");
    }
}
