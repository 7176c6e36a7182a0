//! `tinyopt eval`: held-out loss and perplexity of a model on a corpus
//! (protocol in `tinyopt::eval`).

use crate::corpus;
use crate::load::ModelArg;
use tinyopt::clock;
use tinyopt::eval;

#[derive(clap::Args)]
pub struct Args {
    /// UTF-8 text; its last 10% is evaluated (the split the trainer held out)
    #[arg(long, value_name = "FILE")]
    corpus: String,
    /// Print the result as one JSON line
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    model: ModelArg,
}

pub fn run(a: Args) -> Result<(), String> {
    let path = &a.corpus;
    let text = corpus::read(path)?;
    let model = a.model.load()?;
    let (r, ms) = clock::time_ms(|| eval::evaluate_corpus(&model, &text));
    let r = r.map_err(|e| format!("{path}: {e}"))?;
    if a.json {
        let mut v = serde_json::to_value(&r).expect("report serialises");
        v["seconds"] = serde_json::json!(ms / 1e3);
        println!("{v}");
    } else {
        println!(
            "val_loss {:.4} nats/char, perplexity {:.3} ({} predictions in {} windows of up to {} characters, held-out last 10%, {:.1} s)",
            r.val_loss, r.perplexity, r.tokens, r.windows, r.ctx, ms / 1e3
        );
    }
    Ok(())
}
