//! Lab reports: a report built from figures computed on a tiny model seals, parses and
//! verifies to the bit; every kind of edit is caught with its reason; hostile files are
//! clear errors; `tinyopt verify` and `tinyopt class-report` read them from disk.

#[path = "common/recipe_canon.rs"]
#[allow(dead_code)] // this file uses only the tiny model
mod recipe_canon;

#[path = "common/lab_draft.rs"]
mod lab_draft;

use std::process::{Command, Output};
use tinyopt::benchmark::suite::sha256_hex;
use tinyopt::benchmark::verify::{ModelFile, Verdict};
use tinyopt::lab_report::{self, LabReport};
use tinyopt::model::{io, Gpt};
use tinyopt::quality;
use tinyopt::recipe::{self, Recipe};

/// The draft with its figures computed here, the way the page's recipe report does.
fn real_draft(base: &Gpt) -> String {
    let r = Recipe::parse(lab_draft::QUERY).unwrap();
    let calib = quality::calibration_for(base, &r.quant).unwrap();
    let (m, _) = recipe::build(base, &r, calib.as_ref()).unwrap();
    let seqs = quality::fixed_eval_set(base).unwrap();
    let a = quality::recipe_agreement(base, &m, &r, &seqs).unwrap();
    assert!(a.kld > 0.0 && a.top1_agreement <= 1.0, "{a:?}");
    lab_draft::draft(a.kld, a.top1_agreement, m.weight_bytes())
}

/// The tiny model, a sealed report of it, and the models a verifier has.
fn sealed() -> (LabReport, Vec<ModelFile<'static>>) {
    let base = recipe_canon::tiny();
    let (rep, models, _) = sealed_with_file(base);
    (rep, models)
}

/// As `sealed`, with the model file's bytes (a file saved twice may differ in bytes:
/// the report names the one saved here).
fn sealed_with_file(base: Gpt) -> (LabReport, Vec<ModelFile<'static>>, Vec<u8>) {
    let file = io::save(&base).unwrap();
    let sha = sha256_hex(&file);
    let rep = lab_report::seal_draft(real_draft(&base).as_bytes(), &sha).unwrap();
    let models = vec![ModelFile {
        sha256: sha,
        model: std::borrow::Cow::Owned(base),
    }];
    (rep, models, file)
}

fn text(r: &LabReport) -> String {
    serde_json::to_string_pretty(r).unwrap()
}

fn first_failure(v: &Verdict) -> (&'static str, String) {
    let c = v.failures()[0];
    (c.name, c.detail.clone())
}

#[test]
fn a_report_of_real_figures_seals_parses_and_verifies() {
    let (rep, models) = sealed();
    assert_eq!(rep.schema, lab_report::SCHEMA);
    assert_eq!(
        rep.model_sha256, models[0].sha256,
        "the sealer names the loaded model"
    );
    let id = Recipe::parse(lab_draft::QUERY).unwrap().id().unwrap();
    assert!(rep.steps[0]
        .figures
        .iter()
        .all(|f| f.recipe_id.as_deref() == Some(&*id)));
    assert_eq!(
        lab_draft::pinned_hash(&rep),
        lab_draft::PINNED_SHA256,
        "the pinned seal (tests/web.rs too)"
    );

    let back = LabReport::parse(text(&rep).as_bytes()).unwrap();
    assert_eq!(back, rep);
    let v = lab_report::verify(&back, &models);
    assert!(v.passed, "{:#?}", v.checks);
    assert_eq!(v.status, "verified");
    let names: Vec<&str> = v.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "seal",
            "schema",
            "recipes",
            "lessons",
            "model",
            "recompute",
            "plausible"
        ]
    );
    let recompute = v.checks.iter().find(|c| c.name == "recompute").unwrap();
    assert!(
        recompute.detail.starts_with("3 deterministic"),
        "{}",
        recompute.detail
    );
}

#[test]
fn one_bit_of_kld_changed_and_resealed_fails_the_recompute() {
    let (mut rep, models) = sealed();
    let f = &mut rep.steps[0].figures[0];
    assert_eq!(f.name, "kld");
    let nudged = f64::from_bits(f.median.to_bits() ^ 1);
    (f.median, f.min, f.max) = (nudged, nudged, nudged);
    let rep = rep.seal();
    let v = lab_report::verify(&LabReport::parse(text(&rep).as_bytes()).unwrap(), &models);
    assert!(!v.passed);
    let (name, detail) = first_failure(&v);
    assert_eq!(name, "recompute");
    assert!(
        detail.contains("claimed") && detail.contains("kld"),
        "{detail}"
    );
    assert!(v.checks.iter().find(|c| c.name == "seal").unwrap().ok);
}

#[test]
fn an_edited_body_under_the_old_seal_fails_the_seal() {
    let (rep, models) = sealed();
    let edited = text(&rep).replace("\"correct\": true", "\"correct\": false");
    assert_ne!(edited, text(&rep));
    let v = lab_report::verify(&LabReport::parse(edited.as_bytes()).unwrap(), &models);
    let (name, detail) = first_failure(&v);
    assert_eq!(name, "seal");
    assert!(detail.contains("it was edited"), "{detail}");
}

#[test]
fn edited_figures_and_recipes_fail_with_their_reasons() {
    let (rep, models) = sealed();
    let fails = |edit: &dyn Fn(&mut LabReport)| {
        let mut r = rep.clone();
        edit(&mut r);
        let v = lab_report::verify(&r.seal(), &models);
        assert!(!v.passed);
        first_failure(&v)
    };
    // A speed no core reaches.
    let (name, detail) = fails(&|r| r.steps[0].figures[3].max = 1e12);
    assert_eq!(name, "plausible");
    assert!(detail.contains("GFLOP/s"), "{detail}");
    // Spread out of order.
    let (name, _) = fails(&|r| r.steps[0].figures[3].min = 2000.0);
    assert_eq!(name, "plausible");
    // A recipe id that is not its recipe's.
    let (name, detail) = fails(&|r| r.steps[0].figures[1].recipe_id = Some("0123456789ab".into()));
    assert_eq!(name, "recipes");
    assert!(detail.contains("0123456789ab"), "{detail}");
    // A deterministic figure with a spread.
    let (name, _) = fails(&|r| r.steps[0].figures[2].n = 3);
    assert_eq!(name, "recompute");
    // Weight bytes of another model.
    let (name, detail) = fails(&|r| {
        let f = &mut r.steps[0].figures[2];
        (f.median, f.min, f.max) = (f.median + 4.0, f.min + 4.0, f.max + 4.0);
    });
    assert_eq!(name, "recompute");
    assert!(detail.contains("the engine gives"), "{detail}");
    // A step of a lesson the report does not list.
    let (name, _) = fails(&|r| r.lessons = vec!["caching".into()]);
    assert_eq!(name, "lessons");
}

#[test]
fn a_report_of_an_unknown_model_fails_the_model_check_with_the_reason() {
    let (rep, _) = sealed();
    let v = lab_report::verify(&rep, &[]);
    assert!(!v.passed);
    let (name, detail) = first_failure(&v);
    assert_eq!(name, "model");
    assert!(
        detail.contains(&rep.model_sha256) && detail.contains("not among"),
        "{detail}"
    );
}

#[test]
fn hostile_reports_are_clear_errors() {
    let (rep, _) = sealed();
    let good = text(&rep);
    let err = |bytes: &[u8]| LabReport::parse(bytes).unwrap_err().to_string();
    assert!(err(b"{not json").contains("not a JSON lab report"));
    assert!(err(b"[1,2]").contains("malformed lab report"));
    let other = good.replace(lab_report::SCHEMA, "tinyopt-lab-report/9");
    assert!(err(other.as_bytes()).contains("is not \"tinyopt-lab-report/1\""));
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v.as_object_mut().unwrap().remove("schema");
    assert!(err(v.to_string().as_bytes()).contains("schema \"\" is not"));

    let mut long = rep.clone();
    long.student = "x".repeat(41);
    assert!(err(text(&long).as_bytes()).contains("student is 41 characters; at most 40"));
    let mut long = rep.clone();
    long.steps[0].question = "?".repeat(lab_report::MAX_TEXT_CHARS + 1);
    assert!(err(text(&long).as_bytes()).contains("steps[0].question is"));
    let mut ctl = rep.clone();
    ctl.student = "ada\u{1b}[31m".into();
    assert!(err(text(&ctl).as_bytes()).contains("control characters"));
    let mut many = rep.clone();
    many.steps = vec![rep.steps[0].clone(); lab_report::MAX_STEPS + 1];
    assert!(err(text(&many).as_bytes()).contains("201 steps; a report has at most 200"));
    let mut kind = rep.clone();
    kind.steps[0].prediction.as_mut().unwrap().kind = "guess".into();
    assert!(err(text(&kind).as_bytes()).contains("is not \"number\" or \"choice\""));

    let extra = good.replacen("\"course\"", "\"grade\": \"A\", \"course\"", 1);
    assert!(err(extra.as_bytes()).contains("unknown field `grade`"));
    let huge = vec![b' '; lab_report::MAX_REPORT_BYTES + 1];
    assert!(err(&huge).contains("at most 1 MiB"));
    let nan = good.replacen("1234.5", "1e999", 1);
    assert!(err(nan.as_bytes()).contains("not a JSON lab report"));
}

#[test]
fn a_draft_whose_recipe_id_disagrees_is_not_sealed() {
    let base = recipe_canon::tiny();
    let d = real_draft(&base).replacen("\"recipe_id\":null", "\"recipe_id\":\"feedfacecafe\"", 1);
    let e = lab_report::seal_draft(d.as_bytes(), "0".repeat(64).as_str()).unwrap_err();
    assert!(e.to_string().contains("is not its recipe's id"), "{e}");
}

// ---- From disk: `tinyopt verify` and `tinyopt class-report` ----

fn tinyopt(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinyopt"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh folder under the target dir (removed first if a previous run left it).
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn verify_and_class_report_read_a_folder_of_reports() {
    let (rep, _, file) = sealed_with_file(recipe_canon::tiny());
    let root = scratch("lab-reports");
    let (mdir, rdir) = (root.join("models"), root.join("reports"));
    std::fs::create_dir_all(&mdir).unwrap();
    std::fs::create_dir_all(&rdir).unwrap();
    std::fs::write(mdir.join("tiny.safetensors"), file).unwrap();
    let mut bea = rep.clone();
    bea.student = "=bea,\"b\"".into();
    bea.steps[0].checkpoint.as_mut().unwrap().correct = false;
    let bea = bea.seal();
    let tampered = text(&rep).replace("1234.5", "1234.6");
    std::fs::write(rdir.join("a-ada.json"), text(&rep)).unwrap();
    std::fs::write(rdir.join("b-bea.json"), text(&bea)).unwrap();
    std::fs::write(rdir.join("c-tampered.json"), tampered).unwrap();

    let o = |s: &str| std::ffi::OsString::from(s);
    let run = |args: Vec<std::ffi::OsString>| {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        tinyopt(&refs)
    };
    // verify: a report passes, a tampered one fails (exit 1), next to each other.
    let v = run(vec![
        o("verify"),
        o("--models"),
        mdir.clone().into(),
        rdir.join("a-ada.json").into(),
    ]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(
        out.contains("PASS (verified)") && out.contains("recompute"),
        "{out}"
    );
    let v = run(vec![
        o("verify"),
        o("--models"),
        mdir.clone().into(),
        rdir.join("a-ada.json").into(),
        rdir.join("c-tampered.json").into(),
    ]);
    assert_eq!(v.status.code(), Some(1));
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(out.contains("c-tampered.json: FAIL (failed)"), "{out}");
    assert!(String::from_utf8_lossy(&v.stderr).contains("1 of 2 files failed"));

    // class-report, markdown to a file.
    let table = root.join("class.md");
    let c = run(vec![
        o("class-report"),
        rdir.clone().into(),
        o("--models"),
        mdir.clone().into(),
        o("--out"),
        table.clone().into(),
    ]);
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    let md = std::fs::read_to_string(&table).unwrap();
    assert!(md.contains("3 lab reports, 2 verified, 1 failed"), "{md}");
    assert!(
        md.contains("predicted: steps with a committed prediction"),
        "{md}"
    );
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 4, "{md}");
    assert!(
        rows[1].contains("\\<b\\>ada\\</b\\> \\| lovelace"),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains("| 1/1 | PASS |"), "{}", rows[1]);
    assert!(rows[2].contains("| 0/1 | PASS |"), "{}", rows[2]);
    assert!(
        rows[3].contains("c-tampered.json") && rows[3].contains("| FAIL | seal: "),
        "{}",
        rows[3]
    );

    // CSV on stdout: quoted, formulas defused, the same verdicts.
    let c = run(vec![
        o("class-report"),
        rdir.clone().into(),
        o("--models"),
        mdir.clone().into(),
        o("--format"),
        o("csv"),
    ]);
    assert!(c.status.success());
    let csv = String::from_utf8_lossy(&c.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,student,course,lessons,steps,predicted,checkpoints,verdict,reason"
    );
    assert!(
        lines[2].starts_with("b-bea.json,\"'=bea,\"\"b\"\"\",seed,quantization,1,"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(",FAIL,seal: "), "{}", lines[3]);

    // An empty folder is an error, not an empty table.
    let empty = scratch("lab-reports-empty");
    let c = run(vec![o("class-report"), empty.into()]);
    assert_eq!(c.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&c.stderr).contains("holds no lab reports"));
}

#[test]
fn cache_bytes_and_flops_recompute_and_relaxed_quality_is_bounded() {
    let (rep, models) = sealed();
    let m = &models[0].model;
    let (kv, fpt) = (
        tinyopt::model::KvCache::new(&m.cfg).bytes() as f64,
        tinyopt::profile::flops::per_token(m, 5) as f64,
    );
    let with = |name: &str, v: f64, kernel: Option<&str>| {
        let mut r = rep.clone();
        let mut f = r.steps[0].figures[0].clone();
        if let Some(k) = kernel {
            let mut recipe = f.recipe.unwrap();
            recipe.set("kernel", k).unwrap();
            f.recipe_id = Some(recipe.id().unwrap());
            f.recipe = Some(recipe);
        } else {
            (f.recipe, f.recipe_id) = (None, None);
        }
        (f.name, f.median, f.min, f.max) = (name.into(), v, v, v);
        r.steps[0].figures = vec![f];
        lab_report::verify(&r.seal(), &models)
    };
    for (name, v) in [
        ("kv_cache_bytes", kv),
        ("kv_cache_bytes", 0.0),
        ("flops_per_token", fpt),
    ] {
        let v = with(name, v, None);
        assert!(v.passed, "{name}: {:#?}", v.checks);
    }
    let v = with("flops_per_token", fpt + 1.0, None);
    assert_eq!(first_failure(&v).0, "recompute");
    let v = with("kv_cache_bytes", kv / 2.0, None);
    assert_eq!(first_failure(&v).0, "recompute");
    // Relaxed-SIMD quality: other bits per CPU, so bounded and said, not recomputed.
    let v = with("kld", 0.5, Some("relaxed"));
    assert!(v.passed, "{:#?}", v.checks);
    let detail = &v
        .checks
        .iter()
        .find(|c| c.name == "recompute")
        .unwrap()
        .detail;
    assert!(detail.contains("relaxed kernel) bounded only"), "{detail}");
    let v = with("top1_agreement", 1.5, Some("relaxed"));
    assert_eq!(first_failure(&v).0, "recompute");
}
