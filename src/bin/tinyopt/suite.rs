//! `tinyopt bench-suite`, `verify` and `leaderboard`: the benchmarking module's faces.

use crate::load::{self, ModelArg};
use crate::recipe::{self, RecipeArgs};
use std::path::{Path, PathBuf};
use tinyopt::benchmark::verify::{self, ModelFile, Verdict};
use tinyopt::benchmark::{self, board, Environment, Record, Subject, Suite, SuiteRun};

#[derive(clap::Args)]
pub struct SuiteArgs {
    /// The suite: tinymlperf-v1, or tinymlperf-v1-quick (a short test workload)
    #[arg(long, default_value = "tinymlperf-v1")]
    suite: String,
    /// Reference model (f32) the candidate is compared with, alternating
    #[arg(long, value_name = "PATH", default_value = load::DEFAULT_MODEL)]
    reference: String,
    /// Your name on the leaderboard (shown as text)
    #[arg(long, default_value = "anonymous")]
    handle: String,
    /// Where to write the record [default: record-<recipe_id>-cli.json]
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Candidate's base model (another file than the reference: the open division)
    #[command(flatten)]
    model: ModelArg,
}

/// "Linux x86_64, Intel(R) Xeon(R) …": what a native record ran on.
fn platform() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} {}, {cpu}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The SIMD the native kernels can use here.
fn simd() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut f = Vec::new();
        if is_x86_feature_detected!("avx2") {
            f.push("avx2");
        }
        if is_x86_feature_detected!("avx512f") {
            f.push("avx512f");
        }
        if is_x86_feature_detected!("avx512vnni") {
            f.push("avx512vnni");
        }
        f.join(",")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        String::from("portable")
    }
}

pub fn bench_suite(a: SuiteArgs) -> Result<(), String> {
    let e = |e: tinyopt::Error| e.to_string();
    let suite = Suite::known(&a.suite).map_err(e)?;
    let (reference, reference_sha) = load::model_with_sha256(Some(&a.reference))?;
    let (base, base_sha) = a.model.load_with_sha256()?;
    let rc = a.recipe.recipe;
    let (cand, _) = recipe::build(&base, &rc)?;
    let mut run = SuiteRun::new(suite, &reference, &cand).map_err(e)?;
    if let Some((d, k)) = load::draft(&rc.spec)? {
        run.set_draft(d, k);
    }
    eprintln!(
        "{}: recipe {} vs the f32 reference, alternating; at least {} rounds and {:.0} s each",
        run.suite.version,
        rc.id().map_err(e)?,
        run.suite.rounds,
        run.suite.min_duration_ms / 1e3
    );
    while !run.done() {
        run.step(&reference, &cand).map_err(e)?;
        eprint!("\r  round {} ", run.rounds());
    }
    eprintln!();
    let subject = Subject {
        reference: &reference,
        reference_model_sha256: reference_sha,
        candidate_model_sha256: base_sha,
        candidate: &cand,
        recipe: rc,
    };
    let env = Environment {
        face: "cli".into(),
        platform: platform(),
        cross_origin_isolated: false,
        timer_resolution_ms: benchmark::timer_resolution_ms(),
        simd: simd(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let rec = benchmark::record(&run, &subject, env, &a.handle, now).map_err(e)?;
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("record-{}-cli.json", rec.recipe_id)));
    let text = serde_json::to_string_pretty(&rec).expect("a record serialises") + "\n";
    std::fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    print_scores(&rec);
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn print_scores(r: &Record) {
    let s = &r.scores;
    println!(
        "{} ({:?} division), recipe {}: quality gate {}{}",
        r.suite.version,
        r.division,
        r.recipe_id,
        s.gate,
        if s.gate_reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.gate_reason)
        }
    );
    for (name, ev, unit) in [
        ("latency (p90 ms/token)", &s.latency, "ms"),
        ("time to first token", &s.ttft, "ms"),
        ("throughput", &s.throughput, "tokens/s"),
        ("footprint", &s.footprint, "bytes"),
    ] {
        println!(
            "  {name:<24} {:>6.2}x [{:.2}-{:.2}]  reference {:.4} {unit}, candidate {:.4} {unit}",
            ev.ratio, ev.ratio_min, ev.ratio_max, ev.reference, ev.candidate
        );
    }
    println!(
        "  all-round (geometric mean of the four ratios) {:.2}x; KL {:.5}, top-1 {:.2}%",
        s.all_round,
        r.quality.kld,
        100.0 * r.quality.top1_agreement
    );
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Submission records or lab reports (JSON; told apart by their schema)
    #[arg(required = true, value_name = "FILE")]
    records: Vec<PathBuf>,
    /// Folder of model files to recompute quality with (found by sha256); a `models/`
    /// folder beside the records is searched too (a submitted model, e.g. a recovered one)
    #[arg(long, value_name = "DIR", default_value = "models")]
    models: PathBuf,
    /// Also re-run the speed events here and show the ratios next to the claimed ones
    #[arg(long)]
    rerun: bool,
    /// One JSON verdict per record
    #[arg(long)]
    json: bool,
}

/// The model files of `dir` and of a `models/` folder beside each of `records` (an
/// open-division submission brings its model there), each file once.
fn models_for(dir: &Path, records: &[PathBuf]) -> Vec<ModelFile<'static>> {
    let mut dirs = vec![dir.to_path_buf()];
    for r in records {
        let beside = r.parent().unwrap_or(Path::new(".")).join("models");
        if !dirs.iter().any(|d| same_dir(d, &beside)) {
            dirs.push(beside);
        }
    }
    let mut out: Vec<ModelFile<'static>> = Vec::new();
    for d in &dirs {
        for m in model_files(d) {
            if !out.iter().any(|o| o.sha256 == m.sha256) {
                out.push(m);
            }
        }
    }
    out
}

/// Whether two paths name one folder (either may not exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Every model file in `dir`, with its sha256.
pub fn model_files(dir: &Path) -> Vec<ModelFile<'static>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|x| x == "safetensors") {
            if let Ok(bytes) = std::fs::read(&p) {
                if let Ok(model) = tinyopt::model::io::load(&bytes) {
                    out.push(ModelFile {
                        sha256: benchmark::suite::sha256_hex(&bytes),
                        model: std::borrow::Cow::Owned(model),
                    });
                }
            }
        }
    }
    out
}

/// Reads and verifies one file; a file that is not a record is a failed verdict.
fn check(path: &Path, models: &[ModelFile]) -> (Option<Record>, Verdict) {
    let fail = |why: String| Verdict {
        record_sha256: String::new(),
        handle: String::new(),
        status: "invalid",
        passed: false,
        checks: vec![verify::Check {
            name: "parse",
            ok: false,
            detail: why,
        }],
    };
    match std::fs::read(path) {
        Err(e) => (None, fail(format!("cannot read: {e}"))),
        Ok(bytes) => match Record::parse(&bytes) {
            Err(e) => (None, fail(e.to_string())),
            Ok(r) => {
                let v = verify::verify(&r, models);
                (Some(r), v)
            }
        },
    }
}

/// Reads and verifies one file as a lab report when its schema says so, else as a
/// submission record.
fn check_any(path: &Path, models: &[ModelFile]) -> (Option<Record>, Verdict) {
    match std::fs::read(path) {
        Ok(bytes) if crate::lab::is_lab_report(&bytes) => (None, crate::lab::check(&bytes, models).1),
        _ => check(path, models),
    }
}

pub fn verify_cmd(a: VerifyArgs) -> Result<(), String> {
    let models = models_for(&a.models, &a.records);
    let mut failed = 0;
    for path in &a.records {
        let (rec, mut v) = check_any(path, &models);
        if a.rerun && v.passed {
            if let Some(r) = &rec {
                rerun_into(r, &models, &mut v);
            }
        }
        if !v.passed {
            failed += 1;
        }
        if a.json {
            println!(
                "{}",
                serde_json::json!({"file": path.display().to_string(), "verdict": v})
            );
            continue;
        }
        println!(
            "{}: {} ({})",
            path.display(),
            if v.passed { "PASS" } else { "FAIL" },
            v.status
        );
        for c in &v.checks {
            println!("  [{}] {:<10} {}", if c.ok { "ok" } else { "!!" }, c.name, c.detail);
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} files failed verification", a.records.len()));
    }
    Ok(())
}

fn rerun_into(r: &Record, models: &[ModelFile], v: &mut Verdict) {
    let find = |sha: &str| models.iter().find(|m| m.sha256 == sha);
    let (Some(reference), Some(base)) = (find(&r.reference_model_sha256), find(&r.candidate_model_sha256)) else {
        return;
    };
    let Ok((cand, _)) = recipe::build(&base.model, &r.recipe) else {
        return;
    };
    eprintln!("re-running {} here…", r.suite.version);
    let draft = find(tinyopt::model::speculative::STUDENT_SHA256).map(|m| &*m.model);
    match verify::rerun(r, &reference.model, &cand, draft) {
        Ok((all_round, latency)) => {
            v.checks.push(verify::Check {
                name: "rerun",
                ok: true,
                detail: format!(
                    "here: all-round {all_round:.2}x, latency {latency:.2}x; claimed {:.2}x, {:.2}x",
                    r.scores.all_round, r.scores.latency.ratio
                ),
            });
            v.status = "re-run";
        }
        Err(e) => v.checks.push(verify::Check {
            name: "rerun",
            ok: false,
            detail: e.to_string(),
        }),
    }
}

#[derive(clap::Args)]
pub struct BoardArgs {
    /// Folder of submission records
    #[arg(long, value_name = "DIR", default_value = "leaderboard")]
    dir: PathBuf,
    /// Where to write the ranking the page reads
    #[arg(long, value_name = "PATH", default_value = "leaderboard/board.json")]
    out: PathBuf,
    /// Folder of model files to recompute quality with (and `models/` inside --dir)
    #[arg(long, value_name = "DIR", default_value = "models")]
    models: PathBuf,
}

pub fn leaderboard(a: BoardArgs) -> Result<(), String> {
    let models = models_for(&a.models, &[a.dir.join("board.json")]);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .map_err(|e| format!("cannot read {}: {e}", a.dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p != &a.out)
        .collect();
    paths.sort();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for p in &paths {
        let (rec, v) = check(p, &models);
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match rec {
            Some(r) if v.passed => rows.push((name, r, v)),
            _ => failed.push(format!(
                "{name}: {}",
                v.failures().iter().map(|c| c.detail.clone()).collect::<Vec<_>>().join("; ")
            )),
        }
    }
    let b = board::build("tinymlperf-v1", &rows);
    let text = serde_json::to_string_pretty(&b).expect("a board serialises") + "\n";
    std::fs::write(&a.out, text).map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    println!(
        "{}: {} closed, {} open ({} records read)",
        a.out.display(),
        b.closed.len(),
        b.open.len(),
        paths.len()
    );
    for row in b.closed.iter().chain(&b.open) {
        println!(
            "  {:<16} {:<10} {:<5} all-round {:>5.2}x  latency {:>5.2}x  ttft {:>5.2}x  gate {:<6} {}",
            row.handle, row.recipe_id, row.face, row.all_round, row.latency, row.ttft, row.gate, row.status
        );
    }
    if !failed.is_empty() {
        return Err(format!("records that failed verification:\n  {}", failed.join("\n  ")));
    }
    Ok(())
}
