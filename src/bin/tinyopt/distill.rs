//! `tinyopt distill`: trains a student of any shape against a teacher model's softened
//! outputs (`tinyopt::train::distill`), with `train`'s options, data, schedule,
//! progress, checkpoints and resume; the student's file records its teacher and settings.

use crate::train::{self, check_flags_match};
use clap::parser::ValueSource;
use clap::ArgMatches;
use tinyopt::train::distill::{sha256_hex, DistillOptions, Teacher};
use tinyopt::train::Trainer;

fn d() -> DistillOptions {
    DistillOptions::default()
}

#[derive(clap::Args)]
#[group(id = "distill_options")] // `train::Args`, flattened below, is the group "Args"
pub struct Args {
    /// The teacher model (safetensors) whose softened outputs the student learns
    #[arg(long, value_name = "MODEL")]
    teacher: String,
    /// Softening temperature T of both distributions (> 0)
    #[arg(long, value_name = "T", default_value_t = d().temperature)]
    temperature: f32,
    /// Weight α of the distillation term; 1 - α goes to the hard next-character loss
    #[arg(long, value_name = "A", default_value_t = d().alpha)]
    alpha: f32,
    #[command(flatten)]
    train: train::Args,
}

/// `m`: the command's matches (on `--resume`, given options must match the checkpoint).
pub fn run(a: Args, m: &ArgMatches) -> Result<(), String> {
    let run = a.train.run_options()?;
    let bytes =
        std::fs::read(&a.teacher).map_err(|e| format!("cannot read teacher {}: {e}", a.teacher))?;
    let teacher = Teacher::from_bytes(&bytes).map_err(|e| format!("{}: {e}", a.teacher))?;
    let dopts = DistillOptions {
        temperature: a.temperature,
        alpha: a.alpha,
    };
    let mut tr = if a.train.resume() {
        let ck = std::fs::read(&run.ckpt_path)
            .map_err(|e| format!("--resume: cannot read checkpoint {}: {e}", run.ckpt_path))?;
        let tr = Trainer::resume_distill(&ck, &run.text, teacher)
            .map_err(|e| format!("{}: {e}", run.ckpt_path))?;
        check_flags_match(m, &run.opts, &tr.opts)?;
        let have = tr.distill_options().expect("a distillation checkpoint");
        for (id, given, had) in [
            ("temperature", dopts.temperature, have.temperature),
            ("alpha", dopts.alpha, have.alpha),
        ] {
            if m.value_source(id) == Some(ValueSource::CommandLine) && given != had {
                return Err(format!(
                    "--resume: --{id} {given} differs from the checkpoint's {had}; drop the flag or start a new run"
                ));
            }
        }
        eprintln!(
            "resuming from {} at step {}/{}",
            run.ckpt_path,
            tr.step_count(),
            tr.opts.steps
        );
        tr
    } else {
        Trainer::distill(run.opts, dopts, &run.text, teacher)
            .map_err(|e| format!("{}: {e}", a.train.corpus()))?
    };
    let o = tr.distill_options().expect("distilling");
    eprintln!(
        "teacher {} (sha256 {}); temperature {}, alpha {}",
        a.teacher,
        &sha256_hex(&bytes)[..16],
        o.temperature,
        o.alpha
    );
    a.train.drive(&mut tr, &run)
}
