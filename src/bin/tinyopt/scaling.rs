//! `tinyopt scaling`: what size costs, against the measured roofline.

use tinyopt::profile::scaling;

#[derive(clap::Args)]
pub struct Args {
    /// Layer counts to sweep
    #[arg(long, value_delimiter = ',', default_values_t = [2usize, 4, 8])]
    layers: Vec<usize>,
    /// Model widths to sweep (multiples of 32)
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 128, 256, 512])]
    d_models: Vec<usize>,
    /// Decode steps timed per run
    #[arg(long, default_value_t = 128, value_parser = crate::values::count)]
    tokens: usize,
    /// Timed runs per size (median and spread)
    #[arg(long, default_value_t = 3, value_parser = crate::values::count)]
    runs: usize,
    /// One JSON line per level and per size
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), String> {
    if let Some(d) = a.d_models.iter().find(|&&d| d == 0 || d % 32 != 0) {
        return Err(format!("--d-models: {d} is not a positive multiple of 32"));
    }
    if a.layers.contains(&0) {
        return Err("--layers: a model needs at least one layer".into());
    }
    eprintln!("measuring read bandwidth (L2, L3, DRAM)…");
    let levels = scaling::bandwidth(5);
    for l in &levels {
        if a.json {
            println!("{}", serde_json::json!({"kind": "bandwidth", "level": l}));
        } else {
            println!("{:<5} {:>6.1} GB/s  (read of a {} MiB buffer, one core)", l.name, l.gbps, l.bytes >> 20);
        }
    }
    if !a.json {
        println!(
            "{:>3} {:>5} {:>10} {:>10} {:>11} {:>9} {:>7} {:>7}  {:<5} {:>11} {:>6}",
            "L", "d", "params", "weight B", "tokens/s", "MFLOP/t", "GFLOP/s", "GB/s", "bound", "roof tok/s", "roof"
        );
    }
    for &n_layer in &a.layers {
        for &d in &a.d_models {
            let p = scaling::point(n_layer, d, a.tokens, a.runs, &levels).map_err(|e| e.to_string())?;
            if a.json {
                println!("{}", serde_json::json!({"kind": "size", "point": p}));
            } else {
                println!(
                    "{:>3} {:>5} {:>10} {:>10} {:>11} {:>9.2} {:>7.1} {:>7.1}  {:<5} {:>11.0} {:>5.0}%",
                    p.n_layer,
                    p.d_model,
                    p.n_params,
                    p.weight_bytes,
                    format!("{:.0} [{:.0}-{:.0}]", p.tokens_per_s, p.tokens_per_s_min, p.tokens_per_s_max),
                    p.flops_per_token / 1e6,
                    p.gflops,
                    p.gbps,
                    p.bound_by,
                    p.roofline_tokens_per_s,
                    100.0 * p.of_roofline
                );
            }
        }
    }
    Ok(())
}
