//! The tinyopt command-line face: every figure the page shows, from a shell.

#[path = "cli/args.rs"]
mod args;
#[path = "cli/corpus.rs"]
mod corpus;
#[cfg(not(target_arch = "wasm32"))]
#[path = "cli/distill.rs"]
mod distill;
#[path = "cli/eval.rs"]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
#[path = "cli/finetune.rs"]
mod finetune;
#[path = "cli/kernels.rs"]
mod kernels;
#[path = "cli/load.rs"]
mod load;
#[path = "cli/profile.rs"]
mod profile;
#[path = "cli/recipe.rs"]
mod recipe;
#[path = "cli/reports.rs"]
mod reports;
#[path = "cli/serve.rs"]
mod serve;
// Training is native only (the library gates `train` off wasm).
#[cfg(not(target_arch = "wasm32"))]
#[path = "cli/train.rs"]
mod train;

use args::Args;
use std::io::Write;
use tinyopt::bench;
use tinyopt::model::{GenOptions, Generator};

const USAGE: &str = "\
tinyopt: a small GPT and the optimisations an ML-systems course teaches

usage:
  tinyopt generate --prompt TEXT [--tokens N] [--seed S] [--temperature T] [--top-k K]
                   [--no-kv-cache] [--model PATH]
  tinyopt bench [--json] [--tokens N] [--prompt TEXT] [--runs R] [--kv-cache | --no-kv-cache]
                [--kernel naive|blocked|simd|library] [--model PATH]
                [--precision f32|f16|int8|int8-dynamic|int4] [--group-size 32|64|128]
                [--clip max-abs|search] [--act-calib dynamic|minmax|percentile] [--percentile P]
                [--keep-f32-ends | --ends-precision P] [--prune R] [--prune-kind unstructured|structured]
                [--prune-heads H] [--prune-scope global|per-matrix] [--sparse-format dense|csr|sell]
  tinyopt profile [--json] [--kernel K] [--tokens N] [--runs R] [--model PATH]
                [any bench recipe option: --precision P, --prune R, --prune-kind K, ...]
  tinyopt kernels [--json] [--prefill M] [--runs R] [--model PATH]
  tinyopt info [--model PATH]
  tinyopt train --corpus FILE --out PATH [--n-layer N] [--n-head H] [--d-model D] [--ctx T]
                [--steps S] [--batch B] [--lr LR] [--warmup W] [--weight-decay WD] [--seed S]
                [--eval-every N] [--ckpt-every N] [--checkpoint PATH] [--resume]
  tinyopt finetune --corpus FILE --prune R [--prune-kind unstructured|structured]
                [--prune-scope global|per-matrix] [--steps 200] [--batch 16] [--lr 5e-4]
                [--warmup W] [--seed S] [--eval-every 50] [--out PATH] [--json] [--model PATH]:
                prune, fine-tune with the pruned weights held at zero, quality before/after
  tinyopt distill --teacher MODEL --corpus FILE --out PATH [any train option]
                [--temperature 2] [--alpha 0.5]: train a student against the teacher's
                softened outputs (alpha T^2 KL + (1 - alpha) cross-entropy)
  tinyopt eval --corpus FILE [--json] [--model PATH]
  tinyopt export --precision P --out PATH [--group-size G] [--clip C] [--act-calib A] [--keep-f32-ends]
                [--prune R --prune-kind K --sparse-format dense]
  tinyopt quant-report [--json] [--precision P ...]: every precision's size and quality, and
                per-matrix sensitivity for the chosen one
  tinyopt prune-report [--json] [--no-sweep] [--runs R]: quality vs sparsity for both kinds
                of pruning, and the dense-vs-sparse kernel crossover sweep
  tinyopt serve [--port 8000] [--host 127.0.0.1] [--root DIR]

Without --model, commands use models/shakespeare-char.safetensors.";

/// Rust ignores SIGPIPE, so `tinyopt info | head -1` would panic on the closed pipe;
/// the default action ends the process quietly, as a shell tool should.
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: restores the default disposition of one signal; no handler runs Rust code.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

fn main() {
    #[cfg(unix)]
    quiet_on_closed_pipe();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let result = match cmd.as_str() {
        "generate" => generate(rest),
        "bench" => bench_cmd(rest),
        "info" => info(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "train" => train::run(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "finetune" => finetune::run(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "distill" => distill::run(rest),
        "eval" => eval::run(rest),
        "serve" => serve_cmd(rest),
        "export" => reports::export(rest),
        "quant-report" => reports::quant_report(rest),
        "prune-report" => reports::prune_report(rest),
        "profile" => profile::run(rest),
        "kernels" => kernels::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn generate(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(
        "generate",
        raw,
        &["prompt", "tokens", "seed", "temperature", "top-k", "model"],
        &["no-kv-cache"],
    )?;
    let model = load::model(a.str("model"))?;
    let opts = GenOptions {
        max_new_tokens: a.get("tokens", 200)?,
        temperature: a.get("temperature", 0.8)?,
        top_k: a.get("top-k", 0)?,
        seed: a.get("seed", 42)?,
        kv_cache: !a.flag("no-kv-cache"),
    };
    let prompt = a.str("prompt").unwrap_or("");
    let mut g = Generator::new(&model, prompt, opts).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{prompt}");
    let mut ms = Vec::new();
    while let Some(s) = g.step(&model).map_err(|e| e.to_string())? {
        let _ = write!(out, "{}", s.text);
        let _ = out.flush();
        ms.push(s.ms);
    }
    let _ = writeln!(out);
    let total: f64 = ms.iter().sum();
    eprintln!(
        "[{} tokens, {:.0} tokens/s, kv cache {}{}]",
        ms.len(),
        ms.len() as f64 / (total / 1e3),
        if opts.kv_cache { "on" } else { "off" },
        match g.stop {
            Some(r @ tinyopt::model::StopReason::ContextFull) =>
                format!("; {}", r.message(model.cfg.ctx)),
            _ => String::new(),
        }
    );
    Ok(())
}

fn bench_cmd(raw: &[String]) -> Result<(), String> {
    let mut valued = vec!["tokens", "prompt", "runs", "seed", "model"];
    valued.extend(recipe::VALUED);
    let mut flags = vec!["json", "kv-cache", "no-kv-cache"];
    flags.extend(recipe::FLAGS);
    let a = Args::parse("bench", raw, &valued, &flags)?;
    let base = load::model(a.str("model"))?;
    let rc = recipe::config(&a)?;
    let (model, agree, pstats) = recipe::prepare(&base, &rc)?;
    let prompt = a.str("prompt").unwrap_or("\n");
    let prompt_len = model
        .tokenizer
        .encode(prompt)
        .map_err(|e| e.to_string())?
        .len();
    let room = model.cfg.ctx.saturating_sub(prompt_len.max(1));
    let mut tokens: usize = a.get("tokens", room)?;
    if tokens > room {
        eprintln!("note: --tokens {tokens} does not fit the {}-token context after the prompt; using {room}", model.cfg.ctx);
        tokens = room;
    }
    let runs: usize = a.get("runs", 3)?;
    let modes: Vec<bool> = match (a.flag("kv-cache"), a.flag("no-kv-cache")) {
        (true, true) => return Err("bench: --kv-cache and --no-kv-cache exclude each other".into()),
        (true, false) => vec![true],
        (false, true) => vec![false],
        (false, false) => vec![true, false],
    };
    for kv_cache in modes {
        if !a.flag("json") {
            eprintln!(
                "benchmarking kv cache {} ({runs} runs + warm-up)...",
                if kv_cache { "on" } else { "off" }
            );
        }
        let opts = GenOptions {
            max_new_tokens: tokens,
            temperature: 0.8,
            top_k: 0,
            seed: a.get("seed", 42)?,
            kv_cache,
        };
        let mut r = bench::bench(&model, prompt, opts, runs).map_err(|e| e.to_string())?;
        r.recipe = Some(rc);
        r.recipe_id = rc.id().map_err(|e| e.to_string())?;
        r.kld = agree.kld;
        r.top1_agreement = agree.top1_agreement;
        r.prune = rc.prune.ratio as f64;
        r.prune_kind = rc.prune.kind.name().into();
        r.sparsity = pstats.sparsity;
        if a.flag("json") {
            println!("{}", serde_json::to_string(&r).expect("report serialises"));
        } else {
            println!(
                "recipe {} ({}): kld {:.5} top1 {:.4}; storage {}",
                r.recipe_id,
                rc.to_cli_args().join(" "),
                r.kld,
                r.top1_agreement,
                storage_label(&r.storage)
            );
            println!(
                "kv_cache={:<5} {:>8.1} tokens/s (runs {:.1}..{:.1})  ms/token p50 {:.3} [p10 {:.3}, p90 {:.3}]  ttft {:.2} ms  weights {} B  kv cache {} B",
                r.kv_cache, r.tokens_per_s, r.tokens_per_s_min, r.tokens_per_s_max, r.ms_per_token_p50,
                r.ms_per_token_p10, r.ms_per_token_p90, r.ttft_ms, r.weight_bytes, r.kv_cache_bytes
            );
        }
    }
    Ok(())
}

/// "28 int8-w8a8, 3 f32": the weight matrices per storage format, as the model holds them.
fn storage_label(census: &std::collections::BTreeMap<&'static str, usize>) -> String {
    census
        .iter()
        .map(|(f, n)| format!("{n} {f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn info(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("info", raw, &["model"], &[])?;
    let m = load::model(a.str("model"))?;
    println!(
        "config: {}",
        serde_json::to_string(&m.cfg).expect("config serialises")
    );
    println!("parameters: {}", m.n_params());
    println!("weight bytes: {}", m.weight_bytes());
    println!("vocabulary: {:?}", m.tokenizer.vocab_string());
    for (k, v) in &m.meta {
        println!("{k}: {v}");
    }
    Ok(())
}

fn serve_cmd(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("serve", raw, &["port", "host", "root"], &[])?;
    let root = std::path::PathBuf::from(a.str("root").unwrap_or("."));
    serve::run(
        &root,
        a.str("host").unwrap_or("127.0.0.1"),
        a.get("port", 8000)?,
    )
}
