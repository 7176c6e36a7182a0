//! `tinyopt bench`: timed generation runs of a recipe's model, with its quality and
//! the storage formats it really holds.

use crate::load::{self, ModelArg};
use crate::recipe::{self, RecipeArgs};
use crate::values;
use tinyopt::bench;
use tinyopt::model::{GenOptions, KvPrecision};
use tinyopt::quality;

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON line per cache mode
    #[arg(long)]
    json: bool,
    /// New tokens per run [default: as many as fit the context after the prompt]
    #[arg(long, value_name = "N", value_parser = values::count)]
    tokens: Option<usize>,
    /// Prompt [default: a single newline]
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Timed runs (after one warm-up run)
    #[arg(long, value_name = "R", default_value_t = 3, value_parser = values::count)]
    runs: usize,
    /// Sampling seed
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Sampling temperature (0: greedy, as speculative decoding's speed targets)
    #[arg(long, value_name = "T", default_value_t = 0.8, allow_negative_numbers = true,
          value_parser = values::non_negative)]
    temperature: f32,
    /// Only with the KV cache [default: both modes]
    #[arg(long, conflicts_with = "no_kv_cache")]
    kv_cache: bool,
    /// Only without the KV cache [default: both modes]
    #[arg(long)]
    no_kv_cache: bool,
    #[command(flatten)]
    recipe: RecipeArgs,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let base = a.model.load()?;
    let rc = a.recipe.recipe;
    let recipe::Prepared {
        model,
        agree,
        stats: pstats,
        construct_ms,
    } = recipe::prepare_timed(&base, &rc)?;
    let kv_agree = if model.kv_precision == KvPrecision::F32 {
        quality::kv_agreement(&model, &[])
    } else {
        quality::fixed_eval_set(&base).and_then(|seqs| quality::kv_agreement(&model, &seqs))
    }
    .map_err(|e| e.to_string())?;
    let prompt = a.prompt.as_deref().unwrap_or("\n");
    let prompt_len = model
        .tokenizer
        .encode(prompt)
        .map_err(|e| e.to_string())?
        .len();
    let room = model.cfg.ctx.saturating_sub(prompt_len.max(1));
    let mut tokens = a.tokens.unwrap_or(room);
    if tokens > room {
        eprintln!("note: --tokens {tokens} does not fit the {}-token context after the prompt; using {room}", model.cfg.ctx);
        tokens = room;
    }
    let runs = a.runs;
    let draft = load::draft(&rc.spec)?;
    let modes: Vec<bool> = match (a.kv_cache, a.no_kv_cache) {
        (true, _) => vec![true],
        (false, true) if draft.is_some() => {
            return Err("a draft needs the KV cache (it rolls the cache back): drop --no-kv-cache".into())
        }
        (false, true) => vec![false],
        // A draft runs with the cache only.
        (false, false) if draft.is_some() => vec![true],
        (false, false) => vec![true, false],
    };
    for kv_cache in modes {
        if !a.json {
            eprintln!(
                "benchmarking kv cache {} ({runs} runs + warm-up)...",
                if kv_cache { "on" } else { "off" }
            );
        }
        let opts = GenOptions {
            max_new_tokens: tokens,
            temperature: a.temperature,
            top_k: 0,
            seed: a.seed,
            kv_cache,
        };
        let mut r = match &draft {
            None => bench::bench(&model, prompt, opts, runs),
            Some((d, k)) => bench::bench_speculative(&model, d, prompt, opts, *k, runs),
        }
        .map_err(|e| e.to_string())?;
        r.recipe = Some(rc);
        r.recipe_id = rc.id().map_err(|e| e.to_string())?;
        r.kld = agree.kld;
        r.top1_agreement = agree.top1_agreement;
        r.kv_kld = kv_agree.kld;
        r.kv_top1_agreement = kv_agree.top1_agreement;
        r.prune = rc.prune.ratio as f64;
        r.prune_kind = rc.prune.kind.name().into();
        r.sparsity = pstats.sparsity;
        r.construct_ms = construct_ms;
        if a.json {
            println!("{}", serde_json::to_string(&r).expect("report serialises"));
        } else {
            println!(
                "recipe {} ({}): kld {:.5} top1 {:.4}; storage {}; built in {:.1} ms",
                r.recipe_id,
                rc.to_cli_args().join(" "),
                r.kld,
                r.top1_agreement,
                storage_label(&r.storage),
                r.construct_ms
            );
            if model.kv_precision != KvPrecision::F32 {
                println!(
                    "kv cache {}: {} B; alone vs the f32 cache: kld {:.6} top1 {:.4}",
                    r.kv_precision, r.kv_cache_bytes, r.kv_kld, r.kv_top1_agreement
                );
            }
            println!(
                "kv_cache={:<5} {:>8.1} tokens/s (runs {:.1}..{:.1})  ms/token p50 {:.3} [p10 {:.3}, p90 {:.3}]  ttft {:.2} ms  weights {} B  kv cache {} B",
                r.kv_cache, r.tokens_per_s, r.tokens_per_s_min, r.tokens_per_s_max, r.ms_per_token_p50,
                r.ms_per_token_p10, r.ms_per_token_p90, r.ttft_ms, r.weight_bytes, r.kv_cache_bytes
            );
            if let Some(s) = &r.speculative {
                println!(
                    "draft student K {}: acceptance {:.1}%, {:.2} tokens per verify pass; time draft {:.0}% verify {:.0}%",
                    s.draft_tokens, 100.0 * s.acceptance, s.tokens_per_round,
                    100.0 * s.draft_share, 100.0 * s.verify_share
                );
            }
        }
    }
    Ok(())
}

/// "28 int8-w8a8, 3 f32": the weight matrices per storage format, as the model holds them.
pub fn storage_label(census: &std::collections::BTreeMap<&'static str, usize>) -> String {
    census
        .iter()
        .map(|(f, n)| format!("{n} {f}"))
        .collect::<Vec<_>>()
        .join(", ")
}
