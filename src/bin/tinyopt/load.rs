//! Finding and loading the model a command runs on.

use std::path::{Path, PathBuf};
use tinyopt::model::{io, Gpt};

/// The shipped model, looked up from the working directory, then from the source tree.
pub const DEFAULT_MODEL: &str = "models/shakespeare-char.safetensors";

/// `--model PATH`, which every command that runs the model takes.
#[derive(clap::Args)]
pub struct ModelArg {
    /// Model file (safetensors) [default: models/shakespeare-char.safetensors, from
    /// the working directory or the source tree]
    #[arg(long, value_name = "PATH")]
    model: Option<String>,
}

impl ModelArg {
    pub fn load(&self) -> Result<Gpt, String> {
        model(self.model.as_deref())
    }
}

/// Loads `--model PATH`, else the shipped model, else (with a notice) a seeded random one.
pub fn model(path: Option<&str>) -> Result<Gpt, String> {
    let path: Option<PathBuf> = match path {
        Some(p) => Some(PathBuf::from(p)),
        None => [
            PathBuf::from(DEFAULT_MODEL),
            Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL),
        ]
        .into_iter()
        .find(|p| p.exists()),
    };
    match path {
        Some(p) => {
            let bytes =
                std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            io::load(&bytes).map_err(|e| format!("{}: {e}", p.display()))
        }
        None => {
            eprintln!("note: no trained model at {DEFAULT_MODEL}; using a randomly initialised one (seed 0)");
            Ok(Gpt::default_random(0))
        }
    }
}
