//! Speculative decoding: a small draft model proposes K tokens, the target checks them
//! all in one forward pass over K+1 positions (the prefill path, continuing from its KV
//! cache), keeps the longest agreeing prefix plus one token of its own, and both caches
//! roll back to what was kept.
//!
//! Greedy (temperature 0): the target's verify logits have the bits of its own decode
//! steps, because every row of a `simd` / `naive` / `blocked` matmul is summed in the
//! order of the matvec of that row (`weights::Matrix::matmul`), attention runs the same
//! per-query loops whatever the chunk, and the chunk's later keys sit in lanes a
//! query drops. So each kept token is the target's argmax given the same prefix, and the
//! text is the target's alone, bit for bit (`tests/speculative.rs` checks it). The
//! `library` kernel (ndarray's GEMM vs its GEMV) sums in other orders, so it is refused.
//!
//! Sampling (temperature > 0): draft token x ~ q is kept with probability
//! min(1, p(x)/q(x)) (u·q(x) < p(x), u uniform); on rejection the token is drawn from
//! the residual max(0, p − q), normalised; after K kept tokens one more comes from p.
//! p and q are the sampler's own distributions (temperature, top-k), so the output is
//! distributed as the target's sampled text (Leviathan et al. 2023, Chen et al. 2023).
//! One seeded RNG draws in a fixed order, and every sum is in one order: a seed gives
//! the same text natively and in wasm.

use super::generate::{GenOptions, Step, StopReason};
use super::gpt::{Gpt, Logits, Scratch};
use super::kv_cache::KvCache;
use super::sampler::{argmax, distribution, pick};
use crate::clock;
use crate::error::{input_err, Result};
use crate::kernels::Kernel;
use crate::rng::Rng;
use serde::Serialize;
use std::collections::VecDeque;

/// Most draft tokens a round may propose.
pub const MAX_DRAFT_TOKENS: usize = 8;
/// Draft tokens per round when a recipe names a draft and no K.
pub const DEFAULT_DRAFT_TOKENS: usize = 4;
/// The shipped draft model's file (`Draft::Student`), relative to the site or checkout.
pub const STUDENT_FILE: &str = "models/student-distilled.safetensors";
/// sha256 of that file: records name the draft by it, and a verifier finds it by it.
pub const STUDENT_SHA256: &str = "e41724b2c7e9ce29aa958b8cf5d1592061eb25335113425294d4455cf6b26199";

crate::choice_enum! {
    /// Which model drafts for the target (a recipe setting).
    pub enum Draft ("draft") {
        /// No draft: the target decodes one token per forward pass.
        None = "none",
        /// The shipped distilled student (2 layers x 96), `models/student-distilled.safetensors`.
        Student = "student",
    }
}

/// The recipe's speculative-decoding settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpecConfig {
    pub draft: Draft,
    /// K, draft tokens proposed per round (1..=8).
    pub tokens: usize,
}

impl Default for SpecConfig {
    fn default() -> Self {
        SpecConfig {
            draft: Draft::None,
            tokens: DEFAULT_DRAFT_TOKENS,
        }
    }
}

impl SpecConfig {
    /// No draft: the default, left out of a recipe's canonical JSON so the ids of
    /// recipes without a draft stay what they were.
    pub fn is_off(&self) -> bool {
        self.draft == Draft::None
    }

    /// K when a draft is on.
    pub fn k(&self) -> Option<usize> {
        (!self.is_off()).then_some(self.tokens)
    }
}

/// What a speculative run measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SpecStats {
    /// Draft tokens per round asked for (K).
    pub draft_tokens: usize,
    /// Verify passes of the target (one per round).
    pub rounds: usize,
    /// Draft tokens proposed and kept, over the run.
    pub proposed: usize,
    pub accepted: usize,
    /// Per draft position i = 1..K: rounds that proposed a token there, and rounds that
    /// kept it (a kept token's predecessors were all kept).
    pub proposed_at: Vec<usize>,
    pub accepted_at: Vec<usize>,
    /// Wall time: the target's prompt prefill, the draft's forwards, the target's verify
    /// passes (and the accept/reject rule), ms.
    pub prefill_ms: f64,
    pub draft_ms: f64,
    pub verify_ms: f64,
    /// Tokens produced (the prefill's first token included).
    pub tokens: usize,
}

impl SpecStats {
    /// Kept / proposed draft tokens (0 when none were proposed).
    pub fn acceptance(&self) -> f64 {
        ratio(self.accepted, self.proposed)
    }

    /// Acceptance by draft position 1..K: of the rounds that proposed a token there,
    /// the fraction that kept it.
    pub fn acceptance_at(&self) -> Vec<f64> {
        self.proposed_at
            .iter()
            .zip(&self.accepted_at)
            .map(|(&p, &a)| ratio(a, p))
            .collect()
    }

    /// Tokens produced per target verify pass.
    pub fn tokens_per_round(&self) -> f64 {
        ratio(self.tokens.saturating_sub(1), self.rounds)
    }

    /// Tokens per second over the whole run (prefill, draft and verify).
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / ((self.prefill_ms + self.draft_ms + self.verify_ms) / 1e3)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Refuses a target/draft pair that cannot run speculatively with the promised output.
pub fn check_pair(target: &Gpt, draft: &Gpt, k: usize) -> Result<()> {
    if !(1..=MAX_DRAFT_TOKENS).contains(&k) {
        return Err(input_err(format!(
            "draft-tokens must be in 1..={MAX_DRAFT_TOKENS}, not {k}"
        )));
    }
    if draft.tokenizer != target.tokenizer {
        return Err(input_err(
            "the draft model's vocabulary differs from the target's: speculative decoding \
             needs both to predict the same tokens",
        ));
    }
    if draft.cfg.ctx < target.cfg.ctx {
        return Err(input_err(format!(
            "the draft model's context ({}) is shorter than the target's ({})",
            draft.cfg.ctx, target.cfg.ctx
        )));
    }
    verify_is_exact(target.kernel)
}

/// The kernels whose chunked forward has the bits of single-token decode steps.
pub fn verify_is_exact(kernel: Kernel) -> Result<()> {
    if kernel == Kernel::Library {
        return Err(input_err(
            "a draft does not compose with kernel library: ndarray's matrix product sums \
             in another order than its matrix-vector product, so the verify pass would not \
             reproduce the target's own decode bits; use kernel simd, naive or blocked",
        ));
    }
    Ok(())
}

/// The target's verify pass: logits (chunk.len(), vocab) for every position of `chunk`,
/// which starts at position `kv.len`; the chunk's keys and values are written.
pub fn verify<'s>(
    target: &Gpt,
    chunk: &[u32],
    kv: &mut KvCache,
    s: &'s mut Scratch,
) -> Result<&'s [f32]> {
    target.forward(chunk, kv, s, Logits::All)?;
    Ok(&s.logits[..chunk.len() * target.cfg.vocab])
}

/// Generation state for one sequence with a draft: like `Generator`, one token per
/// `step`, produced a round at a time.
pub struct SpecGenerator {
    pub opts: GenOptions,
    k: usize,
    tkv: KvCache,
    dkv: KvCache,
    ts: Scratch,
    ds: Scratch,
    rng: Rng,
    tokens: Vec<u32>,
    prompt_len: usize,
    /// Tokens of the last round not yet handed out.
    pending: VecDeque<Step>,
    /// (K, vocab) the draft's distributions of its proposals (sampling only).
    q: Vec<f32>,
    p: Vec<f32>, // (vocab) the target's distribution at one position
    order: Vec<f32>,
    pub stats: SpecStats,
    pub stop: Option<StopReason>,
}

impl SpecGenerator {
    /// Encodes the prompt (an empty prompt starts from a newline), checks the pair.
    pub fn new(
        target: &Gpt,
        draft: &Gpt,
        prompt: &str,
        opts: GenOptions,
        k: usize,
    ) -> Result<SpecGenerator> {
        check_pair(target, draft, k)?;
        if !opts.kv_cache {
            return Err(input_err(
                "speculative decoding needs the KV cache: it rolls the cache back to the kept tokens",
            ));
        }
        let prompt = if prompt.is_empty() { "\n" } else { prompt };
        let tokens = target.tokenizer.encode(prompt)?;
        let ctx = target.cfg.ctx;
        if tokens.len() >= ctx {
            return Err(input_err(format!(
                "the prompt is {} characters long; the model's context holds {ctx}, so the prompt may have at most {}",
                tokens.len(),
                ctx - 1
            )));
        }
        Ok(SpecGenerator {
            opts,
            k,
            // Each model's own cache precision (a packed cache is part of the recipe).
            tkv: target.kv_cache(),
            dkv: draft.kv_cache(),
            ts: Scratch::new(&target.cfg),
            ds: Scratch::new(&draft.cfg),
            rng: Rng::new(opts.seed),
            prompt_len: tokens.len(),
            tokens,
            pending: VecDeque::new(),
            q: Vec::new(),
            p: Vec::new(),
            order: Vec::new(),
            stats: SpecStats {
                draft_tokens: k,
                proposed_at: vec![0; k],
                accepted_at: vec![0; k],
                ..SpecStats::default()
            },
            stop: None,
        })
    }

    pub fn prompt_len(&self) -> usize {
        self.prompt_len
    }

    /// Tokens handed out so far.
    pub fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len - self.pending.len()
    }

    /// Prompt and every token handed out.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens[..self.tokens.len() - self.pending.len()]
    }

    /// Bytes of both KV caches (target and draft).
    pub fn kv_cache_bytes(&self) -> usize {
        self.tkv.bytes() + self.dkv.bytes()
    }

    /// Bytes of both caches' filled positions.
    pub fn kv_bytes_used(&self) -> usize {
        self.tkv.bytes_used() + self.dkv.bytes_used()
    }

    pub fn scratch_bytes(&self) -> usize {
        self.ts.bytes() + self.ds.bytes()
    }

    fn greedy(&self) -> bool {
        self.opts.temperature == 0.0 || !self.opts.temperature.is_finite()
    }

    /// Whether the run has ended (recording why in `stop`).
    pub fn ended(&mut self, target: &Gpt) -> bool {
        if self.stop.is_none() && self.pending.is_empty() {
            if self.generated() >= self.opts.max_new_tokens {
                self.stop = Some(StopReason::MaxTokens);
            } else if self.tokens.len() >= target.cfg.ctx {
                self.stop = Some(StopReason::ContextFull);
            }
        }
        self.stop.is_some()
    }

    /// The next token, or `None` once generation has stopped (see `stop`). A step that
    /// finds no token waiting runs a round; its wall time is shared by the round's tokens.
    pub fn step(&mut self, target: &Gpt, draft: &Gpt) -> Result<Option<Step>> {
        if self.ended(target) {
            return Ok(None);
        }
        if self.pending.is_empty() {
            let t0 = clock::now_ms();
            let first = self.tokens.len();
            if self.tkv.len == 0 {
                self.prefill(target)?;
            } else {
                self.round(target, draft)?;
            }
            let n = self.tokens.len() - first;
            let ms = (clock::now_ms() - t0) / n as f64;
            for pos in first..self.tokens.len() {
                let token = self.tokens[pos];
                self.pending.push_back(Step {
                    token,
                    text: target.tokenizer.decode_one(token),
                    pos,
                    ms,
                });
            }
        }
        Ok(self.pending.pop_front())
    }

    /// The target alone on the prompt: its cache then holds all but the last token.
    fn prefill(&mut self, target: &Gpt) -> Result<()> {
        let t0 = clock::now_ms();
        let greedy = self.greedy();
        let logits = target.forward(&self.tokens, &mut self.tkv, &mut self.ts, Logits::Last)?;
        let token = if greedy {
            argmax(logits) as u32
        } else {
            distribution(
                logits,
                self.opts.temperature,
                self.opts.top_k,
                &mut self.p,
                &mut self.order,
            );
            pick(&self.p, self.rng.next_f32())
        };
        self.tokens.push(token);
        self.stats.tokens += 1;
        self.stats.prefill_ms += clock::now_ms() - t0;
        Ok(())
    }

    /// One round: K proposals, one verify pass, the kept tokens appended, caches rolled back.
    fn round(&mut self, target: &Gpt, draft: &Gpt) -> Result<()> {
        let (vocab, len) = (target.cfg.vocab, self.tokens.len());
        debug_assert_eq!(self.tkv.len, len - 1);
        let left = self.opts.max_new_tokens - (len - self.prompt_len);
        // A round adds up to k + 1 tokens, at positions len..=len + k < ctx.
        let k = self.k.min(left - 1).min(target.cfg.ctx - 1 - len);
        let greedy = self.greedy();
        let (temp, top_k) = (self.opts.temperature, self.opts.top_k);

        // Draft: feed what its cache lacks, then its own proposals one at a time.
        let t0 = clock::now_ms();
        let mut chunk = Vec::with_capacity(k + 1); // tokens[len - 1], then the proposals
        chunk.push(self.tokens[len - 1]);
        self.q.resize(k * vocab, 0.0);
        for i in 0..k {
            let logits = if i == 0 {
                let from = self.dkv.len;
                draft.forward(
                    &self.tokens[from..],
                    &mut self.dkv,
                    &mut self.ds,
                    Logits::Last,
                )?
            } else {
                draft.forward(&chunk[i..=i], &mut self.dkv, &mut self.ds, Logits::Last)?
            };
            let x = if greedy {
                argmax(logits) as u32
            } else {
                distribution(logits, temp, top_k, &mut self.p, &mut self.order);
                self.q[i * vocab..(i + 1) * vocab].copy_from_slice(&self.p);
                pick(&self.p, self.rng.next_f32())
            };
            chunk.push(x);
        }
        let t1 = clock::now_ms();

        // Verify: the target over tokens[len - 1] and the k proposals, in one pass.
        verify(target, &chunk, &mut self.tkv, &mut self.ts)?;
        let logits = &self.ts.logits[..(k + 1) * vocab]; // (k + 1, vocab)
        let mut kept = 0;
        let mut next = None;
        for i in 0..k {
            let row = &logits[i * vocab..(i + 1) * vocab];
            let x = chunk[i + 1];
            self.stats.proposed_at[i] += 1;
            let accept = if greedy {
                let t = argmax(row) as u32;
                if t != x {
                    next = Some(t);
                }
                t == x
            } else {
                distribution(row, temp, top_k, &mut self.p, &mut self.order);
                let q = &self.q[i * vocab..(i + 1) * vocab];
                let u = self.rng.next_f32();
                if u * q[x as usize] < self.p[x as usize] {
                    true
                } else {
                    next = Some(residual_pick(&mut self.p, q, self.rng.next_f32()));
                    false
                }
            };
            if !accept {
                break;
            }
            self.stats.accepted_at[i] += 1;
            kept += 1;
        }
        let next = match next {
            Some(t) => t,
            None => {
                // Every proposal kept: one more token from the target's last row.
                let row = &logits[k * vocab..(k + 1) * vocab];
                if greedy {
                    argmax(row) as u32
                } else {
                    distribution(row, temp, top_k, &mut self.p, &mut self.order);
                    pick(&self.p, self.rng.next_f32())
                }
            }
        };
        self.tokens.extend_from_slice(&chunk[1..=kept]);
        self.tokens.push(next);
        // The target keeps tokens[len - 1] and the kept proposals; the draft what it fed.
        self.tkv.truncate(len + kept);
        let dlen = self.dkv.len.min(len + kept);
        self.dkv.truncate(dlen);
        let t2 = clock::now_ms();

        let s = &mut self.stats;
        s.rounds += 1;
        s.proposed += k;
        s.accepted += kept;
        s.tokens += kept + 1;
        s.draft_ms += t1 - t0;
        s.verify_ms += t2 - t1;
        Ok(())
    }
}

/// A token from the residual max(0, p − q), normalised (u uniform in [0, 1)); `p` is
/// overwritten with the residual. If p ≤ q everywhere (rounding), a token from p.
pub fn residual_pick(p: &mut [f32], q: &[f32], u: f32) -> u32 {
    let mut mass = 0.0f32;
    for (&pi, &qi) in p.iter().zip(q) {
        if pi > qi {
            mass += pi - qi;
        }
    }
    if mass <= 0.0 {
        // Unreachable in exact arithmetic (a rejection needs p(x) < q(x), so p ≠ q).
        return pick(p, u);
    }
    for (pi, &qi) in p.iter_mut().zip(q) {
        *pi = if *pi > qi { *pi - qi } else { 0.0 };
    }
    pick(p, u * mass)
}

/// A whole speculative generation: the generated text and the run's stats.
pub fn generate_text(
    target: &Gpt,
    draft: &Gpt,
    prompt: &str,
    opts: GenOptions,
    k: usize,
) -> Result<(String, SpecStats)> {
    let mut g = SpecGenerator::new(target, draft, prompt, opts, k)?;
    let mut out = String::new();
    while let Some(s) = g.step(target, draft)? {
        out.push(s.text);
    }
    Ok((out, g.stats))
}
