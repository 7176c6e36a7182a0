//! The recipe across faces and compositions: every precision × pruning kind × sparse
//! format × KV-cache precision either fails with a clear message or builds a model whose
//! storage (read off the matrices and its cache) is what its label says; and the pinned
//! cross-face rows.

#[path = "common/recipe_canon.rs"]
mod recipe_canon;

use tinyopt::model::KvPrecision;
use tinyopt::prune::{PruneKind, SparseFormat};
use tinyopt::quant::{precision_of, Precision};
use tinyopt::recipe::{self, Recipe};

/// The dense storage name of a precision, written out independently of the code under test.
/// (All walked recipes calibrate their int8 activations statically: `-static`.)
fn dense_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F16 => "f16",
        Precision::Int8 => "int8",
        Precision::Int8Dynamic => "int8-w8a8-static",
        Precision::Int4 => "int4-static",
    }
}

#[test]
fn every_composition_errors_clearly_or_runs_what_its_label_says() {
    let base = recipe_canon::tiny();
    let (mut built, mut refused) = (0, 0);
    for &p in Precision::ALL {
        for &kind in &[
            PruneKind::None,
            PruneKind::Unstructured,
            PruneKind::Structured,
        ] {
            for &format in SparseFormat::ALL {
                for (keep_ends, kvp) in [false, true]
                    .into_iter()
                    .flat_map(|k| KvPrecision::ALL.iter().map(move |&v| (k, v)))
                {
                    let mut r = Recipe {
                        kv_precision: kvp,
                        ..Recipe::default()
                    };
                    r.quant.precision = p;
                    r.quant.quantize_ends = !(keep_ends && p != Precision::F32);
                    r.prune.kind = kind;
                    r.prune.ratio = if kind == PruneKind::None { 0.0 } else { 0.5 };
                    r.prune.format = format;
                    let label = format!("{p} {kind} {format} keep-ends={keep_ends} kv={kvp}");
                    let sparse = kind == PruneKind::Unstructured && format != SparseFormat::Dense;
                    let composes = !sparse
                        || (format == SparseFormat::Csr
                            && matches!(p, Precision::F32 | Precision::Int8))
                        || (format == SparseFormat::Sell && p == Precision::F32);
                    // Static activation scales show in the census too (`-static`).
                    r.quant.act = tinyopt::quant::ActCalib::MinMax;
                    let calib = r.needs_calibration().then(|| {
                        let seqs = tinyopt::quality::eval_set(&base, 2, 16, 5).unwrap();
                        tinyopt::quality::calibrate(&base, &seqs).unwrap()
                    });
                    let built_model = recipe::build(&base, &r, calib.as_ref());
                    if !composes {
                        let e = built_model.expect_err(&label).to_string();
                        assert!(
                            e.contains(format.name()) && e.contains("sparse-format dense"),
                            "{label}: unclear error {e:?}"
                        );
                        assert!(r.normalized().is_err(), "{label}: normalized accepted it");
                        refused += 1;
                        continue;
                    }
                    let (m, _) = built_model.unwrap_or_else(|e| panic!("{label}: {e}"));
                    let body = match (sparse, format, p) {
                        (true, SparseFormat::Csr, Precision::F32) => "csr-f32",
                        (true, SparseFormat::Csr, _) => "csr-int8",
                        (true, _, _) => "sell-f32",
                        (false, _, _) => dense_name(p),
                    };
                    // The embeddings are row lookups, not products: no activation scale.
                    let (head, embeddings) = if keep_ends {
                        ("f32", "f32")
                    } else {
                        (dense_name(p), dense_name(p).trim_end_matches("-static"))
                    };
                    let n_blocks = 4 * base.cfg.n_layer;
                    let census = m.storage_census();
                    let mut want = std::collections::BTreeMap::new();
                    *want.entry(body).or_insert(0) += n_blocks;
                    *want.entry(head).or_insert(0) += 1;
                    *want.entry(embeddings).or_insert(0) += 2;
                    assert_eq!(census, want, "{label}");
                    assert_eq!(precision_of(&m), p, "{label}: the report's precision label");
                    // The cache the model makes is the recipe's, at its packed size, and
                    // the model runs on it (structured pruning leaves fewer heads to pack).
                    let mut kv = m.kv_cache();
                    assert_eq!(kv.precision(), kvp, "{label}");
                    let c = base.cfg;
                    let n = 2 * c.n_layer * c.ctx * c.d_model;
                    let want_bytes = match kvp {
                        KvPrecision::F32 => 4 * n,
                        KvPrecision::F16 => 2 * n,
                        KvPrecision::Int8 => n + 2 * 2 * c.n_layer * c.n_head * c.ctx,
                    };
                    assert_eq!(kv.bytes(), want_bytes, "{label}");
                    let mut s = tinyopt::model::Scratch::new(&c);
                    let logits = m
                        .forward(&[1, 2, 3], &mut kv, &mut s, tinyopt::model::Logits::Last)
                        .unwrap_or_else(|e| panic!("{label}: {e}"));
                    assert!(logits.iter().all(|x| x.is_finite()), "{label}");
                    built += 1;
                }
            }
        }
    }
    assert!(built > 0 && refused > 0, "built {built}, refused {refused}");
}

#[test]
fn the_w8a8_csr_combination_is_refused_with_a_way_out() {
    let e =
        Recipe::parse("precision=int8-dynamic&prune=0.9&prune-kind=unstructured&sparse-format=csr")
            .unwrap_err()
            .to_string();
    assert!(e.contains("W8A8") && e.contains("precision int8"), "{e}");
}

/// `TINYOPT_BLESS=1 cargo test --test recipes` rewrites the fixture (after a deliberate
/// change of a kernel's canonical order, say); the browser test then checks the new rows.
#[test]
fn pinned_rows_match_the_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recipes.json");
    let rows = recipe_canon::rows();
    if std::env::var_os("TINYOPT_BLESS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&rows).unwrap() + "\n").unwrap();
    }
    let pinned: Vec<recipe_canon::Row> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists")).unwrap();
    assert_eq!(rows, pinned);
}

/// `relaxed` is a valid recipe everywhere (the page's links carry it), but only the
/// relaxed-SIMD wasm build runs it: natively it is refused with a way out, and the
/// benchmark refuses it in every build (records must recompute to the bit).
#[test]
fn the_relaxed_kernel_is_refused_natively_and_by_the_benchmark() {
    use tinyopt::kernels::Kernel;
    let r = Recipe::parse("precision=int8-dynamic&kernel=relaxed").unwrap();
    assert_eq!(r.normalized().unwrap().kernel, Kernel::Relaxed);
    let base = tinyopt::model::Gpt::default_random(3);
    let e = recipe::build(&base, &r, None).err().unwrap().to_string();
    assert!(
        e.contains("relaxed-SIMD WebAssembly build") && e.contains("use kernel simd"),
        "{e}"
    );
    assert!(!Kernel::table().contains(&Kernel::Relaxed));

    let mut m = base.clone();
    m.kernel = Kernel::Relaxed;
    let suite = tinyopt::benchmark::Suite::known("tinymlperf-v1-quick").unwrap();
    let e = tinyopt::benchmark::SuiteRun::new(suite, &base, &m)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("switch the kernel to simd"), "{e}");
}
