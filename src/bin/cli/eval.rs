//! `tinyopt eval`: held-out loss and perplexity of a model on a corpus
//! (protocol in `tinyopt::eval`).

use crate::args::Args;
use crate::{corpus, load};
use tinyopt::clock;
use tinyopt::eval;

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse("eval", raw, &["corpus", "model"], &["json"])?;
    let path = a
        .str("corpus")
        .ok_or("eval: --corpus FILE is required (its last 10% is evaluated)")?;
    let text = corpus::read(path)?;
    let model = load::model(a.str("model"))?;
    let (r, ms) = clock::time_ms(|| eval::evaluate_corpus(&model, &text));
    let r = r.map_err(|e| format!("{path}: {e}"))?;
    if a.flag("json") {
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
