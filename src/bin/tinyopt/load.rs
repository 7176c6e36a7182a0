//! Finding and loading the model a command runs on.

use std::path::{Path, PathBuf};
use tinyopt::model::speculative::{Draft, SpecConfig, STUDENT_FILE, STUDENT_SHA256};
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

    /// The model and the sha256 of its file (benchmark records name models by it).
    pub fn load_with_sha256(&self) -> Result<(Gpt, String), String> {
        model_with_sha256(self.model.as_deref())
    }
}

/// Loads `--model PATH`, else the shipped model, else (with a notice) a seeded random one.
pub fn model(path: Option<&str>) -> Result<Gpt, String> {
    model_with_sha256(path).map(|(m, _)| m)
}

/// `model`, with the sha256 of the bytes it came from (of the saved file for the random one).
pub fn model_with_sha256(path: Option<&str>) -> Result<(Gpt, String), String> {
    let sha = tinyopt::benchmark::suite::sha256_hex;
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
            let m = io::load(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok((m, sha(&bytes)))
        }
        None => {
            eprintln!("note: no trained model at {DEFAULT_MODEL}; using a randomly initialised one (seed 0)");
            let m = Gpt::default_random(0);
            let bytes = io::save(&m).map_err(|e| e.to_string())?;
            Ok((m, sha(&bytes)))
        }
    }
}

/// The recipe's draft model with its K, loaded from the working directory or the
/// source tree; `None` when the recipe has no draft.
pub fn draft(spec: &SpecConfig) -> Result<Option<(Gpt, usize)>, String> {
    match spec.draft {
        Draft::None => Ok(None),
        Draft::Student => {
            let p = [
                PathBuf::from(STUDENT_FILE),
                Path::new(env!("CARGO_MANIFEST_DIR")).join(STUDENT_FILE),
            ]
            .into_iter()
            .find(|p| p.exists())
            .ok_or_else(|| format!("draft student: {STUDENT_FILE} not found"))?;
            let bytes =
                std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            if tinyopt::benchmark::suite::sha256_hex(&bytes) != STUDENT_SHA256 {
                return Err(format!(
                    "draft student: {} is not the shipped student (its sha256 differs)",
                    p.display()
                ));
            }
            let m = io::load(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(Some((m, spec.tokens)))
        }
    }
}
