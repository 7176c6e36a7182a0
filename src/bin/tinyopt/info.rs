//! `tinyopt info`: a model's config, size and the facts stored with it.

use crate::load::ModelArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let m = a.model.load()?;
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
