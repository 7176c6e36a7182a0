//! `tinyopt spec-sweep`: speculative decoding's K sweep (the target alone and K = 1..8,
//! alternating), with acceptance by position and what the measured parts predict.

use crate::load::{self, ModelArg};
use crate::values;
use tinyopt::model::speculative::{SpecConfig, Draft};
use tinyopt::model::GenOptions;
use tinyopt::spec_sweep::SpecSweep;

#[derive(clap::Args)]
pub struct Args {
    /// Prompt
    #[arg(long, value_name = "TEXT", default_value = "ROMEO:")]
    prompt: String,
    /// New tokens per generation
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = values::count)]
    tokens: usize,
    /// Rounds (each runs every configuration once, in alternating order)
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = values::count)]
    rounds: usize,
    /// Draft tokens per verify pass to try
    #[arg(long, value_name = "K,K,...", value_delimiter = ',', default_value = "1,2,3,4,5,6,7,8")]
    ks: Vec<usize>,
    /// Sampling temperature (0: greedy)
    #[arg(long, value_name = "T", default_value_t = 0.0, value_parser = values::non_negative)]
    temperature: f32,
    /// Print the report as one JSON line
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let target = a.model.load()?;
    let spec = SpecConfig {
        draft: Draft::Student,
        ..SpecConfig::default()
    };
    let (draft, _) = load::draft(&spec)?.expect("a draft was asked for");
    let opts = GenOptions {
        temperature: a.temperature,
        ..GenOptions::greedy(a.tokens)
    };
    let mut sw = SpecSweep::new(&a.prompt, opts, &a.ks, a.rounds).map_err(e)?;
    while !sw.done() {
        sw.step(&target, &draft).map_err(e)?;
        let (i, n) = sw.progress();
        if !a.json {
            eprint!("\r  generation {i}/{n} ");
        }
    }
    let r = sw.report();
    if a.json {
        println!("{}", serde_json::to_string(&r).expect("report serialises"));
        return Ok(());
    }
    eprintln!();
    println!(
        "target alone: {:.3} ms/token ({} rounds of {} tokens, alternating)",
        r.target_ms_per_token, r.rounds, r.new_tokens
    );
    println!(" K  tokens/s [min-max]      speedup [min-max]   accept  tok/pass  c(draft)  v(verify)  predicted  accept by position");
    for p in &r.points {
        let at: Vec<String> = p.acceptance_at.iter().map(|x| format!("{:.2}", x)).collect();
        println!(
            "{:>2}  {:>7.0} [{:.0}-{:.0}]  {:>5.2}x [{:.2}-{:.2}]   {:>5.1}%  {:>7.2}  {:>8.3}  {:>9.2}  {:>8.2}x  {}",
            p.k, p.tokens_per_s, p.tokens_per_s_min, p.tokens_per_s_max, p.speedup, p.speedup_min,
            p.speedup_max, 100.0 * p.acceptance, p.tokens_per_round, p.draft_cost, p.verify_cost,
            p.predicted_speedup, at.join(" ")
        );
    }
    println!("best K: {}", r.best_k);
    Ok(())
}
