//! Running the suite: the reference and the candidate alternate query by query
//! (A-B-B-A…, so drift in the machine's state hits both), and every query's raw timings
//! are kept for the record.

use super::record::{ConfigSamples, Query};
use super::suite::{sha256_hex, Suite};
use crate::clock;
use crate::error::Result;
use crate::model::{GenOptions, Generator, Gpt, SpecGenerator, Step};

/// One greedy query of the suite on `m`: its timings and the tokens it generated.
pub fn query(m: &Gpt, prompt: &str, suite: &Suite) -> Result<(Query, Vec<u32>)> {
    query_with(m, None, prompt, suite)
}

/// `query`, with a draft model and its K when the recipe has one (speculative decoding:
/// a round's wall time is shared by its tokens).
pub fn query_with(
    m: &Gpt,
    draft: Option<(&Gpt, usize)>,
    prompt: &str,
    suite: &Suite,
) -> Result<(Query, Vec<u32>)> {
    let opts = GenOptions::greedy(suite.decode_tokens);
    let t0 = clock::now_ms();
    let mut q = Query::default();
    let mut take = |s: Step| {
        if q.ttft_ms.is_none() {
            q.ttft_ms = Some(s.ms);
        } else {
            q.token_ms.push(s.ms);
        }
    };
    let tokens = match draft {
        None => {
            let mut g = Generator::new(m, prompt, opts)?;
            while let Some(s) = g.step(m)? {
                take(s);
            }
            g.tokens()[g.prompt_len()..].to_vec()
        }
        Some((d, k)) => {
            let mut g = SpecGenerator::new(m, d, prompt, opts, k)?;
            while let Some(s) = g.step(m, d)? {
                take(s);
            }
            g.tokens()[g.prompt_len()..].to_vec()
        }
    };
    q.total_ms = clock::now_ms() - t0;
    Ok((q, tokens))
}

/// A suite run in progress, advanced one query at a time (so a page can show progress,
/// stop, and drop rounds run while the tab was hidden).
pub struct SuiteRun {
    pub suite: Suite,
    prompt: String,
    warm: usize,
    pub reference_samples: ConfigSamples,
    pub candidate_samples: ConfigSamples,
    /// sha256 of the candidate's generated tokens (identical every query, or an error).
    pub tokens_sha256: Option<String>,
    pub reference_tokens_sha256: Option<String>,
    /// The candidate's draft model and K (recipe `draft`), if any.
    draft: Option<(Gpt, usize)>,
}

impl SuiteRun {
    /// Prepares a run; `step` must then be given the same two models every time.
    pub fn new(suite: Suite, reference: &Gpt, candidate: &Gpt) -> Result<SuiteRun> {
        suite.check(reference)?;
        suite.check(candidate)?;
        if [reference, candidate]
            .iter()
            .any(|m| m.kernel == crate::kernels::Kernel::Relaxed)
        {
            return Err(crate::Error::Input(
                "a submission must recompute to the bit on any machine, and the relaxed \
                 kernel's f32 bits depend on the CPU: switch the kernel to simd to run the suite"
                    .into(),
            ));
        }
        let prompt = suite.prompt(reference)?;
        Ok(SuiteRun {
            suite,
            prompt,
            warm: 0,
            reference_samples: ConfigSamples::default(),
            candidate_samples: ConfigSamples::default(),
            tokens_sha256: None,
            reference_tokens_sha256: None,
            draft: None,
        })
    }

    /// Runs the candidate with a draft model proposing `k` tokens per verify pass.
    pub fn set_draft(&mut self, draft: Gpt, k: usize) {
        self.draft = Some((draft, k));
    }

    /// The candidate's draft model, if any.
    pub fn draft(&self) -> Option<(&Gpt, usize)> {
        self.draft.as_ref().map(|(d, k)| (d, *k))
    }

    /// Rounds measured so far (both configurations).
    pub fn rounds(&self) -> usize {
        self.candidate_samples.queries.len()
    }

    /// Whether the workload is complete.
    pub fn done(&self) -> bool {
        let s = &self.suite;
        let valid = |c: &ConfigSamples| c.queries.iter().filter(|q| !q.invalid).count();
        let time = |c: &ConfigSamples| {
            c.queries
                .iter()
                .filter(|q| !q.invalid)
                .map(|q| q.total_ms)
                .sum::<f64>()
        };
        self.rounds() >= s.max_rounds
            || (valid(&self.candidate_samples) >= s.rounds
                && time(&self.reference_samples) >= s.min_duration_ms
                && time(&self.candidate_samples) >= s.min_duration_ms)
    }

    /// Runs one round: a query of each configuration, in alternating order. Warm-up
    /// rounds come first and are not kept.
    pub fn step(&mut self, reference: &Gpt, candidate: &Gpt) -> Result<()> {
        let cand_first = self.rounds() % 2 == 1;
        let mut out: [Option<(Query, Vec<u32>)>; 2] = [None, None];
        for i in 0..2 {
            let is_cand = (i == 0) == cand_first;
            let m = if is_cand { candidate } else { reference };
            let draft = if is_cand { self.draft() } else { None };
            out[is_cand as usize] = Some(query_with(m, draft, &self.prompt, &self.suite)?);
        }
        let [Some((rq, rt)), Some((cq, ct))] = out else {
            unreachable!("both ran")
        };
        let check = |slot: &mut Option<String>, tokens: &[u32]| -> Result<()> {
            let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
            let h = sha256_hex(&bytes);
            match slot {
                Some(prev) if *prev != h => Err(crate::error::input_err(
                    "greedy decoding gave different tokens in two queries: the engine is not deterministic",
                )),
                _ => {
                    *slot = Some(h);
                    Ok(())
                }
            }
        };
        check(&mut self.reference_tokens_sha256, &rt)?;
        check(&mut self.tokens_sha256, &ct)?;
        if self.warm < self.suite.warmup {
            self.warm += 1;
            return Ok(());
        }
        self.reference_samples.queries.push(rq);
        self.candidate_samples.queries.push(cq);
        Ok(())
    }

    /// Marks the last measured round as disturbed (the tab was hidden during it): it
    /// stays in the record, flagged, and statistics skip it.
    pub fn invalidate_last(&mut self) {
        for c in [&mut self.reference_samples, &mut self.candidate_samples] {
            if let Some(q) = c.queries.last_mut() {
                q.invalid = true;
            }
        }
    }
}
