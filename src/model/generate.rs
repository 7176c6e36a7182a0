//! Token-by-token generation, one `step` at a time so a caller (the CLI, or the
//! browser worker between event-loop turns) can stream, time and stop it.
//!
//! Context limit: generation stops, with `StopReason::ContextFull`, once the sequence
//! fills the context window (`ctx` tokens). A prompt must leave room for one new token.

use super::gpt::{Gpt, Logits, Scratch};
use super::kv_cache::KvCache;
use super::sampler::Sampler;
use crate::clock;
use crate::error::{input_err, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenOptions {
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f32,
    /// 0 = no top-k cut.
    pub top_k: usize,
    pub seed: u64,
    /// Off: every step re-runs the whole sequence (O(N²) work in total).
    pub kv_cache: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            max_new_tokens: 200,
            temperature: 0.8,
            top_k: 0,
            seed: 42,
            kv_cache: true,
        }
    }
}

impl GenOptions {
    /// `n` greedy tokens with the KV cache: what timings and comparisons run.
    pub fn greedy(n: usize) -> Self {
        GenOptions {
            max_new_tokens: n,
            temperature: 0.0,
            top_k: 0,
            seed: 0,
            kv_cache: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The requested number of tokens was produced.
    MaxTokens,
    /// The sequence filled the context window.
    ContextFull,
}

impl StopReason {
    pub fn message(self, ctx: usize) -> String {
        match self {
            StopReason::MaxTokens => "done".into(),
            StopReason::ContextFull => {
                format!("stopped: the context window ({ctx} tokens) is full")
            }
        }
    }
}

/// One generated token and how long it took. Its text is one character (the tokenizer's
/// unit), held as a `char` so a step allocates nothing; serde spells it as a string.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub token: u32,
    pub text: char,
    /// Position of the new token in the sequence.
    pub pos: usize,
    /// Wall time of this step (forward + sampling), in ms.
    pub ms: f64,
}

/// Generation state for one sequence. Holds no reference to the model, so a caller
/// can own both side by side.
pub struct Generator {
    pub opts: GenOptions,
    kv: KvCache,
    scratch: Scratch,
    sampler: Sampler,
    tokens: Vec<u32>,
    prompt_len: usize,
    pub stop: Option<StopReason>,
}

impl Generator {
    /// Encodes the prompt (an empty prompt starts from a newline) and checks it fits.
    pub fn new(model: &Gpt, prompt: &str, opts: GenOptions) -> Result<Generator> {
        let prompt = if prompt.is_empty() { "\n" } else { prompt };
        let tokens = model.tokenizer.encode(prompt)?;
        let ctx = model.cfg.ctx;
        if tokens.len() >= ctx {
            return Err(input_err(format!(
                "the prompt is {} characters long; the model's context holds {ctx}, so the prompt may have at most {}",
                tokens.len(),
                ctx - 1
            )));
        }
        Ok(Generator {
            opts,
            kv: model.kv_cache(),
            scratch: Scratch::new(&model.cfg),
            sampler: Sampler::new(opts.seed, opts.temperature, opts.top_k),
            prompt_len: tokens.len(),
            tokens,
            stop: None,
        })
    }

    pub fn prompt_len(&self) -> usize {
        self.prompt_len
    }

    pub fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Bytes of the KV cache as a feature: zero with the cache off (keys and values
    /// then live only for the length of one forward pass).
    pub fn kv_cache_bytes(&self) -> usize {
        if self.opts.kv_cache {
            self.kv.bytes()
        } else {
            0
        }
    }

    /// Bytes of the cache's filled positions now (its true packed size per position
    /// times the positions held); zero with the cache off, as `kv_cache_bytes`.
    pub fn kv_bytes_used(&self) -> usize {
        if self.opts.kv_cache {
            self.kv.bytes_used()
        } else {
            0
        }
    }

    pub fn scratch_bytes(&self) -> usize {
        self.scratch.bytes()
            + if self.opts.kv_cache {
                0
            } else {
                self.kv.bytes()
            }
    }

    /// Whether the run has ended (recording why in `stop`), so a caller stepping in
    /// batches knows after the last token rather than one call later.
    pub fn ended(&mut self, model: &Gpt) -> bool {
        if self.stop.is_none() {
            if self.generated() >= self.opts.max_new_tokens {
                self.stop = Some(StopReason::MaxTokens);
            } else if self.tokens.len() >= model.cfg.ctx {
                self.stop = Some(StopReason::ContextFull);
            }
        }
        self.stop.is_some()
    }

    /// Produces the next token, or `None` once generation has stopped (see `stop`).
    pub fn step(&mut self, model: &Gpt) -> Result<Option<Step>> {
        if self.ended(model) {
            return Ok(None);
        }
        let t0 = clock::now_ms();
        if !self.opts.kv_cache {
            self.kv.clear(); // recompute every key and value from scratch
        }
        let start = self.kv.len;
        let logits = model.forward(
            &self.tokens[start..],
            &mut self.kv,
            &mut self.scratch,
            Logits::Last,
        )?;
        let token = self.sampler.sample(logits);
        let ms = clock::now_ms() - t0;
        let pos = self.tokens.len();
        self.tokens.push(token);
        Ok(Some(Step {
            token,
            text: model.tokenizer.decode_one(token),
            pos,
            ms,
        }))
    }
}
