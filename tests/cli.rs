//! The `tinyopt` binary as a user runs it: generated help, usage errors for
//! contradictory or out-of-range options, and one recipe spelled three ways (flags,
//! canonical JSON, page query) giving the same run.

use std::process::{Command, Output};

fn tinyopt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinyopt"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `args`, expects a usage error (exit 2) and returns its message.
fn usage_error(args: &[&str]) -> String {
    let o = tinyopt(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(o.stdout.is_empty(), "{args:?} printed {}", stdout(&o));
    stderr(&o)
}

#[test]
fn help_is_generated_with_the_recipe_options_and_their_values() {
    let o = tinyopt(&["--help"]);
    assert!(o.status.success());
    let top = stdout(&o);
    for cmd in [
        "generate",
        "bench",
        "profile",
        "kernels",
        "info",
        "train",
        "finetune",
        "eval",
        "export",
        "quant-report",
        "prune-report",
        "serve",
        "verify",
        "class-report",
    ] {
        assert!(top.contains(&format!("  {cmd} ")), "{cmd} missing:\n{top}");
    }

    let o = tinyopt(&["bench", "--help"]);
    assert!(o.status.success());
    let bench = stdout(&o);
    let line = bench
        .lines()
        .skip_while(|l| !l.contains("--precision"))
        .take(2)
        .collect::<String>();
    assert!(
        line.contains("[possible values: f32, f16, int8, int8-dynamic, int4]")
            && line.contains("[default: f32]"),
        "{line}"
    );
    for opt in [
        "--recipe <TEXT>",
        "--sparse-format",
        "--keep-f32-ends",
        "--kv-cache",
        "--runs <R>",
        "[default: 3]",
    ] {
        assert!(bench.contains(opt), "{opt} missing:\n{bench}");
    }
}

#[test]
fn no_command_is_a_usage_error_with_help() {
    let e = usage_error(&[]);
    assert!(
        e.contains("Usage: tinyopt <COMMAND>") && e.contains("bench"),
        "{e}"
    );
    let e = usage_error(&["benhc"]);
    assert!(e.contains("'bench'"), "a suggestion: {e}");
    let e = usage_error(&["bench", "--kv-cach"]);
    assert!(e.contains("'--kv-cache'"), "a suggestion: {e}");
}

#[test]
fn contradictory_flags_are_errors_naming_both() {
    let e = usage_error(&["bench", "--kv-cache", "--no-kv-cache"]);
    assert!(
        e.contains("--kv-cache") && e.contains("--no-kv-cache"),
        "{e}"
    );
    let e = usage_error(&["bench", "--keep-f32-ends", "--ends-precision", "int8"]);
    assert!(
        e.contains("--keep-f32-ends") && e.contains("--ends-precision"),
        "{e}"
    );
    let e = usage_error(&[
        "bench",
        "--recipe",
        "?precision=int4",
        "--precision",
        "int8",
    ]);
    assert!(e.contains("--recipe") && e.contains("--precision"), "{e}");
}

#[test]
fn out_of_range_values_are_errors() {
    for (args, opt) in [
        (&["generate", "--temperature", "NaN"][..], "--temperature"),
        (&["generate", "--temperature", "-0.5"], "--temperature"),
        (&["generate", "--temperature", "inf"], "--temperature"),
        (&["generate", "--tokens", "0"], "--tokens"),
        (&["generate", "--top-k", "-1"], "--top-k"),
        (&["bench", "--runs", "0"], "--runs"),
        (&["bench", "--prune", "1.5"], "0..=0.95"),
        (&["bench", "--percentile", "NaN"], "50..=100"),
        (&["bench", "--precision", "int3"], "int8-dynamic"),
        (&["bench", "--prune-scope", "permatrix"], "per-matrix"),
        (
            &["train", "--corpus", "c", "--out", "o", "--steps", "0"],
            "--steps",
        ),
        (
            &["train", "--corpus", "c", "--out", "o", "--batch", "0"],
            "--batch",
        ),
        (
            &["train", "--corpus", "c", "--out", "o", "--lr", "0"],
            "--lr",
        ),
        (&["finetune", "--corpus", "c", "--lr", "NaN"], "--lr"),
        (&["serve", "--port", "0"], "--port"),
    ] {
        let e = usage_error(args);
        assert!(e.contains(opt), "{args:?}: {e}");
    }
}

#[test]
fn a_w8a8_csr_recipe_is_refused_with_the_reason() {
    let e = usage_error(&[
        "bench",
        "--json",
        "--precision",
        "int8-dynamic",
        "--prune",
        "0.9",
        "--prune-kind",
        "unstructured",
        "--sparse-format",
        "csr",
    ]);
    assert!(e.contains("W8A8") && e.contains("csr"), "{e}");
}

fn bench_json(recipe: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "bench",
        "--json",
        "--tokens",
        "2",
        "--runs",
        "1",
        "--kv-cache",
    ];
    args.extend(recipe);
    let o = tinyopt(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "one cache mode: {out}");
    serde_json::from_str(&out).expect("a JSON line")
}

#[test]
fn flags_canonical_json_and_page_query_run_the_same_recipe() {
    let by_flags = bench_json(&[
        "--precision",
        "int4",
        "--group-size",
        "64",
        "--keep-f32-ends",
        "--prune",
        "0.3",
        "--sparse-format",
        "dense",
    ]);
    let json = serde_json::to_string(&by_flags["recipe"]).unwrap();
    let by_json = bench_json(&["--recipe", &json]);
    let by_query = bench_json(&[
        "--recipe",
        "?precision=int4&group-size=64&keep-f32-ends=1&prune=0.3&sparse-format=dense",
    ]);
    for key in ["recipe_id", "kld", "top1_agreement", "recipe", "storage"] {
        assert_eq!(by_flags[key], by_json[key], "{key} (JSON)");
        assert_eq!(by_flags[key], by_query[key], "{key} (query)");
    }
    assert_eq!(by_flags["recipe_id"].as_str().unwrap().len(), 12);
    assert!(by_flags["kld"].as_f64().unwrap() > 0.0);
}

#[test]
fn runtime_errors_exit_1_with_the_message() {
    let o = tinyopt(&["info", "--model", "no/such/model.safetensors"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.starts_with("error: cannot read no/such/model.safetensors"),
        "{e}"
    );
}

/// Greedy: the student drafting for the teacher prints the teacher's own text, and the
/// run reports its acceptance; a draft with the library kernel is refused.
#[test]
fn generate_with_a_draft_prints_the_targets_text() {
    let base = [
        "generate",
        "--prompt",
        "ROMEO:",
        "--tokens",
        "120",
        "--temperature",
        "0",
    ];
    let alone = tinyopt(&base);
    assert!(alone.status.success(), "{}", stderr(&alone));
    let mut with = base.to_vec();
    with.extend(["--draft", "student", "--draft-tokens", "3"]);
    let spec = tinyopt(&with);
    assert!(spec.status.success(), "{}", stderr(&spec));
    assert_eq!(stdout(&spec), stdout(&alone));
    assert!(stderr(&spec).contains("acceptance"), "{}", stderr(&spec));
    assert!(usage_error(&["generate", "--draft-tokens", "9"]).contains("draft-tokens"));
    let r = bench_json(&["--draft", "student", "--draft-tokens", "2"]);
    assert!(r["speculative"]["acceptance"].as_f64().is_some(), "{r}");
    assert_eq!(r["recipe"]["spec"]["tokens"], 2);
}

/// `--kv-precision` (from the recipe table) on the commands that run a cache, with the
/// wasm module's spellings; a bad value is a usage error naming them.
#[test]
fn kv_precision_is_taken_by_generate_bench_and_bench_suite() {
    for cmd in ["generate", "bench", "bench-suite"] {
        let o = tinyopt(&[cmd, "--help"]);
        let help = stdout(&o);
        assert!(
            help.contains("--kv-precision") && help.contains("[possible values: f32, f16, int8]"),
            "{cmd}:\n{help}"
        );
    }
    let e = usage_error(&["generate", "--kv-precision", "int4"]);
    assert!(e.contains("int4") && e.contains("f16"), "{e}");
}
