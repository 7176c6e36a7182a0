//! Benchmark records: a quick suite run on a tiny model, sealed, round-tripped,
//! verified; every kind of tampering caught; hostile files rejected with reasons.

#[path = "common/recipe_canon.rs"]
#[allow(dead_code)] // this file uses only the tiny model
mod recipe_canon;

use tinyopt::benchmark::verify::{verify, ModelFile};
use tinyopt::benchmark::{self, Environment, Record, Subject, Suite, SuiteRun};
use tinyopt::model::io;
use tinyopt::recipe::{self, Recipe};

fn sha(m: &tinyopt::model::Gpt) -> String {
    benchmark::suite::sha256_hex(&io::save(m).unwrap())
}

fn record(query: &str) -> (Record, Vec<ModelFile<'static>>) {
    let base = recipe_canon::tiny();
    let r = Recipe::parse(query).unwrap();
    let (cand, _) = recipe::build(&base, &r, None).unwrap();
    let suite = Suite::quick();
    let mut run = SuiteRun::new(suite, &base, &cand).unwrap();
    while !run.done() {
        run.step(&base, &cand).unwrap();
    }
    let base_sha = sha(&base);
    let subject = Subject {
        reference: &base,
        reference_model_sha256: base_sha.clone(),
        candidate_model_sha256: base_sha.clone(),
        candidate: &cand,
        recipe: r,
    };
    let env = Environment {
        face: "cli".into(),
        platform: "test".into(),
        ..Default::default()
    };
    let rec = benchmark::record(&run, &subject, env, "<b>ada</b>", 1_764_000_000).unwrap();
    let models = vec![ModelFile {
        sha256: base_sha,
        model: std::borrow::Cow::Owned(base),
    }];
    (rec, models)
}

fn failed(rec: &Record, models: &[ModelFile]) -> Vec<&'static str> {
    verify(rec, models)
        .failures()
        .iter()
        .map(|c| c.name)
        .collect()
}

#[test]
fn a_record_round_trips_and_verifies_to_the_bit() {
    let (rec, models) = record("precision=int8");
    let text = serde_json::to_string_pretty(&rec).unwrap();
    let back = Record::parse(text.as_bytes()).unwrap();
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(&rec).unwrap()
    );
    assert_eq!(back, rec);
    let v = verify(&back, &models);
    assert!(v.passed, "{:?}", v.failures());
    assert_eq!(v.status, "verified");
    assert_eq!(rec.scores.latency.rounds, 3);
    assert!(
        rec.scores.footprint.ratio > 3.0,
        "int8 holds ~1/4 of the bytes"
    );
    assert_eq!(rec.division, benchmark::Division::Closed);
    // Without the model file, nothing is recomputed: self-reported, not failed.
    let v = verify(&back, &[]);
    assert!(v.passed && v.status == "self-reported", "{:?}", v.checks);
}

#[test]
fn every_kind_of_tampering_is_caught() {
    let (rec, models) = record("precision=int4");
    // Edited samples, unsealed: the seal breaks.
    let mut t = rec.clone();
    for q in &mut t.candidate.queries {
        q.token_ms.iter_mut().for_each(|x| *x *= 0.5);
    }
    assert_eq!(failed(&t, &models), ["seal", "statistics"]);
    // ... and resealed: the statistics no longer follow from the samples.
    let mut t2 = t.clone();
    t2.record_sha256 = t2.compute_hash();
    assert_eq!(failed(&t2, &models), ["statistics"]);
    // Edited quality, resealed (scores recomputed too): the recomputation disagrees.
    let mut t = rec.clone();
    t.quality.kld *= 0.5;
    t.quality.nll_candidate = t.quality.nll_reference;
    let t = t.seal();
    assert!(failed(&t, &models).contains(&"quality"));
    // Edited recipe (a better-looking label), resealed with its own id.
    let mut t = rec.clone();
    t.recipe = Recipe::parse("precision=int8").unwrap();
    t.recipe_id = t.recipe.id().unwrap();
    let t = t.seal();
    let f = failed(&t, &models);
    assert!(f.contains(&"quality") && f.contains(&"bytes"), "{f:?}");
    // Edited scores only, resealed.
    let mut t = rec.clone();
    t.scores.all_round *= 2.0;
    t.record_sha256 = t.compute_hash();
    assert_eq!(failed(&t, &models), ["statistics"]);
}

#[test]
fn hostile_records_are_clear_errors() {
    let (rec, _) = record("");
    let good = serde_json::to_value(&rec).unwrap();
    let err = |v: serde_json::Value| {
        Record::parse(v.to_string().as_bytes())
            .unwrap_err()
            .to_string()
    };
    let mut v = good.clone();
    v["schema"] = "tinyopt-submission/9".into();
    assert!(err(v).contains("newer"));
    let mut v = good.clone();
    v["candidate"]["queries"][0]["total_ms"] = "fast".into();
    assert!(err(v).contains("malformed"));
    let mut v = good.clone();
    v["candidate"]["queries"][0]["token_ms"] = serde_json::Value::Array(vec![1.0.into(); 5000]);
    assert!(err(v).contains("at most 4096"));
    let mut v = good.clone();
    v["candidate"]["queries"][0]["total_ms"] = (-1.0).into();
    assert!(err(v).contains("non-negative"));
    let mut v = good.clone();
    v["handle"] = "x".repeat(500).into();
    assert!(err(v).contains("handle"));
    let text = good.to_string();
    assert!(Record::parse(&text.as_bytes()[..text.len() / 2])
        .unwrap_err()
        .to_string()
        .contains("not a JSON record"));
    assert!(Record::parse(b"NaN").is_err());
    assert!(Record::parse(&vec![b' '; 9 << 20])
        .unwrap_err()
        .to_string()
        .contains("MiB"));
    // HTML in the handle is kept as text; showing it is the face's job.
    assert_eq!(rec.handle, "<b>ada</b>");
}

/// A speculative recipe (the shipped student drafting for the shipped teacher): closed
/// division, quality equal to the reference's, the same greedy tokens, the draft's
/// weights and cache counted in the footprint; it verifies with the student at hand and
/// is self-reported without it.
#[test]
fn a_speculative_record_has_the_references_quality_and_tokens() {
    let load = |f: &str| {
        let bytes = std::fs::read(format!("{}/models/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        (
            io::load(&bytes).unwrap(),
            benchmark::suite::sha256_hex(&bytes),
        )
    };
    let (teacher, tsha) = load("shakespeare-char.safetensors");
    let (student, ssha) = load("student-distilled.safetensors");
    assert_eq!(ssha, tinyopt::model::speculative::STUDENT_SHA256);
    let r = Recipe::parse("draft=student&draft-tokens=3").unwrap();
    let (cand, _) = recipe::build(&teacher, &r, None).unwrap();
    let mut run = SuiteRun::new(Suite::quick(), &teacher, &cand).unwrap();
    run.set_draft(student.clone(), 3);
    while !run.done() {
        run.step(&teacher, &cand).unwrap();
    }
    let subject = Subject {
        reference: &teacher,
        reference_model_sha256: tsha.clone(),
        candidate_model_sha256: tsha.clone(),
        candidate: &cand,
        recipe: r,
    };
    let rec = benchmark::record(&run, &subject, Environment::default(), "spec", 1).unwrap();
    assert_eq!(rec.division, benchmark::Division::Closed);
    assert_eq!(rec.quality.kld, 0.0);
    assert_eq!(rec.quality.nll_candidate, rec.quality.nll_reference);
    assert_eq!(rec.tokens_sha256, rec.reference_tokens_sha256);
    assert_eq!(
        rec.bytes.candidate_weights,
        teacher.weight_bytes() + student.weight_bytes()
    );
    let models = vec![
        ModelFile {
            sha256: tsha.clone(),
            model: std::borrow::Cow::Owned(teacher.clone()),
        },
        ModelFile {
            sha256: ssha,
            model: std::borrow::Cow::Owned(student),
        },
    ];
    let v = verify(&rec, &models);
    assert!(v.passed && v.status == "verified", "{:?}", v.failures());
    let alone = verify(&rec, &models[..1]);
    assert_eq!(alone.status, "self-reported");
}

/// A packed KV cache is part of the candidate: its true bytes enter the footprint event,
/// and the record still verifies to the bit (the verifier rebuilds the same cache).
#[test]
fn an_int8_kv_cache_record_counts_the_packed_cache_and_verifies() {
    let (rec, models) = record("kv-precision=int8");
    let v = verify(&rec, &models);
    assert!(v.passed, "{:?}", v.failures());
    let b = &rec.bytes;
    assert_eq!(b.candidate_weights, b.reference_weights);
    let c = recipe_canon::tiny().cfg;
    let codes = 2 * c.n_layer * c.ctx * c.d_model;
    let scales = 2 * 2 * c.n_layer * c.n_head * c.ctx;
    assert_eq!(b.reference_kv_cache, 4 * codes);
    assert_eq!(b.candidate_kv_cache, codes + scales);
    let want =
        (b.reference_weights + 4 * codes) as f64 / (b.candidate_weights + codes + scales) as f64;
    assert_eq!(rec.scores.footprint.ratio, want);
    assert!(rec.quality.kld > 0.0, "a packed cache changes the logits");
}
