//! `tinyopt search`: the cheapest recipe that passes the benchmark's quality gate, by
//! the procedure of `tinyopt::search` (every candidate measured here).

use crate::load::ModelArg;
use tinyopt::search::{Candidate, Objective, Search};

#[derive(clap::Args)]
pub struct Args {
    /// Lowest perplexity ratio ppl_ref / ppl_candidate that passes (0.99: the 99 % tier)
    #[arg(long, default_value_t = 0.99)]
    gate: f64,
    /// What to minimise among passing recipes
    #[arg(long, default_value = "bytes", value_parser = objective)]
    objective: Objective,
    /// One JSON line per candidate, then the winner
    #[arg(long)]
    json: bool,
    /// Measure only these recipes (page queries or canonical JSON; repeatable), in order,
    /// the same way the search measures its candidates: a comparison table, no search
    #[arg(long, value_name = "RECIPE")]
    measure: Vec<String>,
    #[command(flatten)]
    model: ModelArg,
}

fn objective(s: &str) -> Result<Objective, String> {
    Objective::parse(s).map_err(|e| e.to_string())
}

fn row(c: &Candidate) -> String {
    format!(
        "{:>8} B {:>5.1}% of f32  ppl ratio {:.4} ({:<5})  KL {:.5}  top-1 {:>5.1}%  {:>7.0} tok/s  build {:>6.0} ms  {}  ?{}",
        c.weight_bytes,
        100.0 * c.bytes_vs_f32,
        c.quality_ratio,
        c.gate,
        c.kld,
        100.0 * c.top1_agreement,
        c.tokens_per_s,
        c.build_ms,
        c.step,
        c.query
    )
}

pub fn run(a: Args) -> Result<(), String> {
    if !(0.0..=1.0).contains(&a.gate) {
        return Err(format!("--gate must be in 0..=1, not {}", a.gate));
    }
    let base = a.model.load()?;
    let e = |e: tinyopt::Error| e.to_string();
    let mut s = Search::new(base, a.gate, a.objective).map_err(e)?;
    let json = a.json;
    let show = |c: &Candidate| {
        if json {
            println!("{}", serde_json::json!({"kind": "candidate", "candidate": c}));
        } else {
            println!("{}", row(c));
        }
    };
    if !a.measure.is_empty() {
        for q in &a.measure {
            let r = tinyopt::recipe::Recipe::parse(q).map_err(e)?;
            show(&s.measure(&r, "measure").map_err(e)?);
        }
        return Ok(());
    }
    let winner = s
        .run(&mut |c| show(c))
        .map_err(e)?;
    match winner {
        Some(w) if json => println!("{}", serde_json::json!({"kind": "winner", "candidate": w})),
        Some(w) => {
            println!("\nwinner ({} of {} candidates pass, objective {}):", s.tried.iter().filter(|c| s.passes(c)).count(), s.tried.len(), a.objective);
            println!("{}", row(&w));
            println!("page query: ?{}", w.query);
        }
        None => return Err(format!("no candidate of {} passes the gate {}", s.tried.len(), a.gate)),
    }
    Ok(())
}
