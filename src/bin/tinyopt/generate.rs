//! `tinyopt generate`: text from a prompt, streamed token by token.

use crate::load::{self, ModelArg};
use crate::recipe::{self, Drafting, KvCacheKeys, RecipeArgs};
use crate::values;
use std::io::Write;
use tinyopt::model::{GenOptions, Generator, SpecGenerator, StopReason};

#[derive(clap::Args)]
pub struct Args {
    /// Text to continue [default: start from a newline]
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// New tokens to generate
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = values::count)]
    tokens: usize,
    /// Sampling seed
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Sampling temperature (0: greedy)
    #[arg(long, value_name = "T", default_value_t = 0.8, allow_negative_numbers = true,
          value_parser = values::non_negative)]
    temperature: f32,
    /// Sample from the K most likely tokens only (0: no cut)
    #[arg(long, value_name = "K", default_value_t = 0, allow_negative_numbers = true,
          value_parser = values::whole)]
    top_k: usize,
    /// Re-run the whole sequence every step instead of caching keys and values
    #[arg(long)]
    no_kv_cache: bool,
    #[command(flatten)]
    spec: RecipeArgs<Drafting>,
    #[command(flatten)]
    kv: RecipeArgs<KvCacheKeys>,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let (model, _) = recipe::build(&a.model.load()?, &a.kv.recipe)?;
    let opts = GenOptions {
        max_new_tokens: a.tokens,
        temperature: a.temperature,
        top_k: a.top_k,
        seed: a.seed,
        kv_cache: !a.no_kv_cache,
    };
    let prompt = a.prompt.as_deref().unwrap_or("");
    let draft = load::draft(&a.spec.recipe.spec)?;
    let e = |e: tinyopt::Error| e.to_string();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let mut ms = Vec::new();
    let (stop, spec) = match &draft {
        None => {
            let mut g = Generator::new(&model, prompt, opts).map_err(e)?;
            while let Some(s) = g.step(&model).map_err(e)? {
                let _ = write!(out, "{}", s.text);
                let _ = out.flush();
                ms.push(s.ms);
            }
            (g.stop, None)
        }
        Some((d, k)) => {
            let mut g = SpecGenerator::new(&model, d, prompt, opts, *k).map_err(e)?;
            while let Some(s) = g.step(&model, d).map_err(e)? {
                let _ = write!(out, "{}", s.text);
                let _ = out.flush();
                ms.push(s.ms);
            }
            (g.stop, Some(g.stats))
        }
    };
    let _ = writeln!(out);
    let total: f64 = ms.iter().sum();
    let spec = spec.map_or(String::new(), |s| {
        let at: Vec<String> = s
            .acceptance_at()
            .iter()
            .map(|a| format!("{:.0}%", 100.0 * a))
            .collect();
        format!(
            "; draft student, K {}: acceptance {:.1}% (by position {}), {:.2} tokens per verify pass, time draft {:.0}% / verify {:.0}%",
            s.draft_tokens,
            100.0 * s.acceptance(),
            at.join(" "),
            s.tokens_per_round(),
            100.0 * s.draft_ms / (s.draft_ms + s.verify_ms + s.prefill_ms),
            100.0 * s.verify_ms / (s.draft_ms + s.verify_ms + s.prefill_ms),
        )
    });
    eprintln!(
        "[{} tokens, {:.0} tokens/s, kv cache {}{spec}{}]",
        ms.len(),
        ms.len() as f64 / (total / 1e3),
        if opts.kv_cache {
            format!("on ({}, {} B allocated)", model.kv_precision, model.kv_cache().bytes())
        } else {
            "off".into()
        },
        match stop {
            Some(r @ StopReason::ContextFull) => format!("; {}", r.message(model.cfg.ctx)),
            _ => String::new(),
        }
    );
    Ok(())
}
