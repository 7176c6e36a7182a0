//! The tinyopt command-line face: every figure the page shows, from a shell.
//!
//! One module per command (its `Args`, derived with clap, and its `run`); the recipe
//! options come from `tinyopt::recipe::fields()` (`recipe.rs`).

// `cargo clippy --all-targets --target wasm32-unknown-unknown` compiles this binary
// for wasm32 too. The CLI (clap, files, sockets, threads, training) is native only and
// clap is not even a wasm32 dependency, so there it is an empty program.
#[cfg(target_arch = "wasm32")]
fn main() {}

/// The command modules, native only (see `main` for wasm32).
macro_rules! native_modules {
    ($($m:ident),* $(,)?) => {
        $(
            #[cfg(not(target_arch = "wasm32"))]
            mod $m;
        )*
    };
}

native_modules!(
    bench, corpus, distill, eval, finetune, generate, info, kernels, lab, load, profile, recipe,
    recover, reports, scaling, search, serve, spec, suite, train, values,
);

/// The CLI counts heap bytes for `profile` (the library installs no allocator).
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOC: tinyopt::profile::CountingAlloc = tinyopt::profile::CountingAlloc;

#[cfg(not(target_arch = "wasm32"))]
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// tinyopt: a small GPT and the optimisations an ML-systems course teaches
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(
    name = "tinyopt",
    version,
    arg_required_else_help = true,
    after_help = "Without --model, commands use models/shakespeare-char.safetensors."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Subcommand)]
enum Cmd {
    /// Generate text from a prompt, streamed token by token
    Generate(generate::Args),
    /// Timed generation runs of a recipe's model, with its quality (KL, top-1)
    Bench(bench::Args),
    /// Where a decode step's time goes, per op, with FLOPs and memory
    Profile(profile::Args),
    /// Every matrix kernel on the model's shapes and 512x512, timed
    Kernels(kernels::Args),
    /// A model's config, size and training facts
    Info(info::Args),
    /// Train the GPT on a UTF-8 corpus
    Train(train::Args),
    /// Train a student against a teacher's softened outputs (knowledge distillation)
    Distill(distill::Args),
    /// Prune, fine-tune with the pruned weights held at zero, quality before/after
    Finetune(finetune::Args),
    /// Prune, then distill back from the unpruned model on text it samples itself (no corpus)
    Recover(recover::Args),
    /// Held-out loss and perplexity on a corpus (its last 10%)
    Eval(eval::Args),
    /// Write a recipe's model to a safetensors file
    Export(reports::ExportArgs),
    /// Every precision's size and quality, and per-matrix sensitivity of the chosen one
    QuantReport(reports::QuantArgs),
    /// Quality vs sparsity for both kinds of pruning, and the dense-vs-sparse kernel sweep
    PruneReport(reports::PruneArgs),
    /// Serve the page (static files with cross-origin isolation)
    Serve(ServeArgs),
    /// What size costs: decode speed, bytes and FLOPs over model sizes, against the measured roofline
    Scaling(scaling::Args),
    /// Speculative decoding's K sweep: the target alone vs the student drafting K = 1..8, alternating
    SpecSweep(spec::Args),
    /// The cheapest recipe that passes the benchmark's perplexity gate (sensitivity-ranked greedy, then local moves)
    Search(search::Args),
    /// Run the benchmark suite (the recipe vs the f32 reference, alternating) and write a submission record
    BenchSuite(suite::SuiteArgs),
    /// Verify submission records and lab reports: seal, statistics, quality recomputed, plausibility
    Verify(suite::VerifyArgs),
    /// A folder of lab reports as one table for grading (markdown or CSV), each verified
    ClassReport(lab::ClassArgs),
    /// Verify the records in leaderboard/ and write the ranking the page shows
    Leaderboard(suite::BoardArgs),
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Args)]
struct ServeArgs {
    /// Port to listen on
    #[arg(long, default_value_t = 8000, value_parser = values::port)]
    port: u16,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// A checkout (serves the page's files only) or a built site folder
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: std::path::PathBuf,
}

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

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    #[cfg(unix)]
    quiet_on_closed_pipe();
    // Usage errors (clap's, with a suggestion) exit 2; `train --resume` also needs to
    // know which options were given rather than defaulted, hence the matches.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| {
        // A recipe that parses flag by flag but not as a whole (W8A8 with CSR): the
        // usage line of the command it was given to.
        let mut cmd = Cli::command();
        cmd.build();
        let name = matches.subcommand_name().unwrap_or_default().to_string();
        match cmd.find_subcommand_mut(&name) {
            Some(sub) => e.format(sub).exit(),
            None => e.format(&mut cmd).exit(),
        }
    });
    let result = match cli.command {
        Cmd::Generate(a) => generate::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Profile(a) => profile::run(a),
        Cmd::Kernels(a) => kernels::run(a),
        Cmd::Info(a) => info::run(a),
        Cmd::Train(a) => train::run(
            a,
            matches
                .subcommand_matches("train")
                .expect("the train command"),
        ),
        Cmd::Distill(a) => distill::run(
            a,
            matches
                .subcommand_matches("distill")
                .expect("the distill command"),
        ),
        Cmd::Finetune(a) => finetune::run(a),
        Cmd::Recover(a) => recover::run(a),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Export(a) => reports::export(a),
        Cmd::QuantReport(a) => reports::quant_report(a),
        Cmd::PruneReport(a) => reports::prune_report(a),
        Cmd::Serve(a) => serve::run(&a.root, &a.host, a.port),
        Cmd::Scaling(a) => scaling::run(a),
        Cmd::SpecSweep(a) => spec::run(a),
        Cmd::Search(a) => search::run(a),
        Cmd::BenchSuite(a) => suite::bench_suite(a),
        Cmd::Verify(a) => suite::verify_cmd(a),
        Cmd::ClassReport(a) => lab::class_report(a),
        Cmd::Leaderboard(a) => suite::leaderboard(a),
    };
    // Runtime errors (a missing file, a corpus too short) exit 1.
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
