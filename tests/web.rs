//! The wasm face in a real browser: `wasm-pack test --headless --chrome`.
//! Models stay tiny (ctx 32, d 32) because these tests run unoptimised by default.
#![cfg(target_arch = "wasm32")]

use tinyopt::model::tokenizer::DEFAULT_VOCAB;
use tinyopt::model::{io, Config, GenOptions, Gpt, Step, Tokenizer};
use tinyopt::web::Playground;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "common/recipe_canon.rs"]
mod recipe_canon;

#[path = "common/lab_draft.rs"]
mod lab_draft;

fn tiny(ctx: usize, seed: u64) -> Gpt {
    let cfg = Config {
        vocab: 65,
        ctx,
        n_layer: 2,
        n_head: 2,
        d_model: 32,
    };
    Gpt::random(cfg, Tokenizer::new(DEFAULT_VOCAB).unwrap(), seed).unwrap()
}

/// A Playground over `m`, loaded the way the page loads a model: from file bytes.
fn playground(m: &Gpt) -> Playground {
    Playground::from_bytes(&io::save(m).unwrap())
        .map_err(JsValue::from)
        .expect("a saved model loads")
}

/// The message of a `JsError`, as JavaScript would see it.
fn message(e: wasm_bindgen::JsError) -> String {
    let v = JsValue::from(e);
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{v:?}"))
}

fn opts(n: usize, temperature: f32, seed: u64, kv_cache: bool) -> JsValue {
    serde_wasm_bindgen::to_value(&GenOptions {
        max_new_tokens: n,
        temperature,
        top_k: 0,
        seed,
        kv_cache,
    })
    .unwrap()
}

/// Runs a generation through the JS-facing API and returns its steps.
fn run(pg: &mut Playground, prompt: &str, o: JsValue) -> Vec<Step> {
    pg.start(prompt, o).map_err(JsValue::from).unwrap();
    let mut steps = Vec::new();
    loop {
        let v = pg.step().map_err(JsValue::from).unwrap();
        if v.is_null() {
            break;
        }
        steps.push(serde_wasm_bindgen::from_value::<Step>(v).unwrap());
    }
    steps
}

fn text(steps: &[Step]) -> String {
    steps.iter().map(|s| s.text).collect()
}

#[wasm_bindgen_test]
fn kv_cache_on_and_off_give_the_same_greedy_tokens() {
    let mut pg = playground(&tiny(32, 1));
    let on = run(&mut pg, "ROMEO:", opts(20, 0.0, 0, true));
    let off = run(&mut pg, "ROMEO:", opts(20, 0.0, 0, false));
    assert_eq!(on.len(), 20);
    let toks = |s: &[Step]| s.iter().map(|s| s.token).collect::<Vec<_>>();
    assert_eq!(toks(&on), toks(&off));
    // Positions follow the prompt; step timings are real, finite, non-negative numbers.
    assert_eq!(on[0].pos, 6);
    assert_eq!(on.last().unwrap().pos, 25);
    assert!(on
        .iter()
        .chain(&off)
        .all(|s| s.ms.is_finite() && s.ms >= 0.0));
}

#[wasm_bindgen_test]
fn a_seed_reproduces_a_sampled_run() {
    let mut pg = playground(&tiny(32, 2));
    let a = run(&mut pg, "A", opts(25, 1.0, 9, true));
    let b = run(&mut pg, "A", opts(25, 1.0, 9, false));
    let c = run(&mut pg, "A", opts(25, 1.0, 10, true));
    assert_eq!(text(&a), text(&b));
    assert_ne!(
        text(&a),
        text(&c),
        "another seed should (almost surely) differ"
    );
}

#[wasm_bindgen_test]
fn the_context_limit_stops_a_run_with_a_message() {
    let mut pg = playground(&tiny(32, 3));
    let steps = run(&mut pg, "\n", opts(100, 0.8, 1, true));
    assert_eq!(steps.len(), 31, "1 prompt token + 31 new ones fill ctx 32");
    assert!(pg.context_full());
    assert!(pg.stop_message().contains("context window"));
}

/// `stepMany`'s packed slices, read back from JavaScript: (token, pos, ms, at, text, ended).
type Slice = (Vec<u32>, Vec<u32>, Vec<f64>, Vec<f64>, String, bool);

fn slice(pg: &mut Playground, max_steps: usize, budget_ms: f64) -> Slice {
    let v = pg
        .step_many(max_steps, budget_ms)
        .map_err(JsValue::from)
        .unwrap();
    let get = |k: &str| js_sys::Reflect::get(&v, &k.into()).unwrap();
    (
        js_sys::Uint32Array::new(&get("token")).to_vec(),
        js_sys::Uint32Array::new(&get("pos")).to_vec(),
        js_sys::Float64Array::new(&get("ms")).to_vec(),
        js_sys::Float64Array::new(&get("at")).to_vec(),
        get("text").as_string().unwrap(),
        get("ended").as_bool().unwrap(),
    )
}

#[wasm_bindgen_test]
fn step_many_packs_the_same_run_as_step() {
    let mut pg = playground(&tiny(32, 8));
    let one = run(&mut pg, "AB", opts(20, 0.8, 4, true));
    pg.start("AB", opts(20, 0.8, 4, true))
        .map_err(JsValue::from)
        .unwrap();
    let mut got: Vec<Slice> = Vec::new();
    while got.last().is_none_or(|s| !s.5) {
        got.push(slice(&mut pg, 7, f64::INFINITY));
    }
    // Slices of at most 7; the last one says the run ended (no empty call needed).
    assert_eq!(got.iter().map(|s| s.0.len()).collect::<Vec<_>>(), [7, 7, 6]);
    let all = |f: fn(&Slice) -> Vec<f64>| got.iter().flat_map(f).collect::<Vec<f64>>();
    let tokens = all(|s| s.0.iter().map(|&t| t as f64).collect());
    let pos = all(|s| s.1.iter().map(|&p| p as f64).collect());
    let ms = all(|s| s.2.clone());
    let at = all(|s| s.3.clone());
    let want = |f: fn(&Step) -> f64| one.iter().map(f).collect::<Vec<f64>>();
    assert_eq!(tokens, want(|s| s.token as f64));
    assert_eq!(pos, want(|s| s.pos as f64));
    assert_eq!(
        got.iter().map(|s| s.4.as_str()).collect::<String>(),
        text(&one)
    );
    // Steps are timed as `step` times them; they end in order, on the page's clock.
    assert!(ms.iter().all(|m| m.is_finite() && *m >= 0.0));
    assert!(at.windows(2).all(|w| w[1] >= w[0]));
    assert!(at[at.len() - 1] <= tinyopt::web::now_ms());
    assert_eq!(pg.stop_message(), "done");
    // After the end, a call returns nothing and says so again.
    let after = slice(&mut pg, 7, f64::INFINITY);
    assert!(after.0.is_empty() && after.5);
}

#[wasm_bindgen_test]
fn step_many_returns_once_its_budget_is_spent() {
    let mut pg = playground(&tiny(32, 9));
    pg.start("\n", opts(100, 0.8, 1, false))
        .map_err(JsValue::from)
        .unwrap();
    // A zero budget still makes progress: one step per call.
    let s = slice(&mut pg, 100, 0.0);
    assert_eq!((s.0.len(), s.5), (1, false));
    // Max steps 0 is taken as 1, never as "nothing, forever".
    assert_eq!(slice(&mut pg, 0, f64::INFINITY).0.len(), 1);
    // The context (32) ends the run: 1 prompt token + 31 new ones.
    let rest = slice(&mut pg, 100, f64::INFINITY);
    assert_eq!((rest.0.len(), rest.5), (29, true));
    assert!(pg.context_full());
    // No generation in progress: an error, as for `step`.
    let mut fresh = playground(&tiny(32, 9));
    assert!(fresh.step_many(5, 1.0).is_err());
}

#[wasm_bindgen_test]
fn bad_weight_files_are_errors_not_panics() {
    let bytes = io::save(&tiny(32, 4)).unwrap();
    for bad in [
        &b""[..],
        &b"definitely not a model"[..],
        &bytes[..bytes.len() / 2],
        &bytes[..9],
    ] {
        let e = Playground::from_bytes(bad).err().expect("must fail");
        assert!(message(e).starts_with("invalid weight file"));
    }
    // The module still works after those errors.
    let mut pg = playground(&tiny(32, 4));
    assert_eq!(run(&mut pg, "A", opts(3, 0.0, 0, true)).len(), 3);
}

#[wasm_bindgen_test]
fn unknown_prompt_characters_and_long_prompts_are_errors() {
    let mut pg = playground(&tiny(32, 5));
    let e = pg
        .start("<img src=x>", opts(5, 0.8, 1, true))
        .expect_err("unknown characters must fail");
    let m = message(e);
    assert!(m.contains("does not know") && m.contains("'<'"), "{m}");
    let e = pg
        .start(&"a".repeat(32), opts(5, 0.8, 1, true))
        .expect_err("a prompt that fills the context must fail");
    assert!(message(e).contains("at most 31"));
    let e = pg
        .start("a", JsValue::from_str("nonsense"))
        .expect_err("bad options must fail");
    assert!(message(e).contains("bad generation options"));
    // No generation in progress after a failed start.
    assert!(pg.step().is_err());
    assert_eq!(run(&mut pg, "a", opts(2, 0.0, 0, true)).len(), 2);
}

#[wasm_bindgen_test]
fn info_describes_the_model() {
    let m = tiny(32, 6);
    let pg = playground(&m);
    let info: serde_json::Value = serde_wasm_bindgen::from_value(pg.info().unwrap()).unwrap();
    assert_eq!(info["config"]["ctx"], 32);
    assert_eq!(info["config"]["d_model"], 32);
    assert_eq!(info["n_params"], m.cfg.n_params());
    assert_eq!(info["weight_bytes"], m.weight_bytes());
    assert_eq!(info["vocab"], DEFAULT_VOCAB);
    assert_eq!(pg.weight_bytes(), m.weight_bytes());
    // A file's metadata survives the trip to JavaScript.
    assert_eq!(info["meta"]["init"], "random, seed 6");
}

#[wasm_bindgen_test]
fn the_clock_advances_across_busy_work() {
    let t0 = tinyopt::clock::now_ms();
    let mut pg = playground(&tiny(32, 7));
    let steps = run(&mut pg, "\n", opts(31, 0.8, 1, false));
    let mut acc = 0.0f64;
    for i in 0..2_000_000u32 {
        acc += std::hint::black_box(i as f64).sqrt();
    }
    std::hint::black_box(acc);
    let t1 = tinyopt::clock::now_ms();
    assert!(t1 > t0, "clock did not advance: {t0} -> {t1}");
    let total: f64 = steps.iter().map(|s| s.ms).sum();
    assert!(
        total <= t1 - t0 + 1.0,
        "steps took {total} ms within {} ms",
        t1 - t0
    );
    // The exported clock is the same clock, and it is performance.now().
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now = js_sys::Reflect::get(&perf, &"now".into()).unwrap();
    let js_now = now
        .dyn_ref::<js_sys::Function>()
        .unwrap()
        .call0(&perf)
        .unwrap()
        .as_f64()
        .unwrap();
    let ours = tinyopt::web::now_ms();
    assert!((js_now - ours).abs() < 1000.0, "{js_now} vs {ours}");
}

/// The lead's fixture (also checked natively by `tests/model.rs`): the browser must
/// print exactly the same text, which proves simd128 and native agree bit for bit.
#[wasm_bindgen_test]
fn golden_text_matches_the_native_fixture() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/golden.json")).unwrap();
    let cfg: Config = serde_json::from_value(fixture["config"].clone()).unwrap();
    let tok = Tokenizer::new(DEFAULT_VOCAB).unwrap();
    let m = Gpt::random(cfg, tok, fixture["init_seed"].as_u64().unwrap()).unwrap();
    let o: GenOptions = serde_json::from_value(fixture["options"].clone()).unwrap();
    let prompt = fixture["prompt"].as_str().unwrap();
    let want = fixture["text"].as_str().unwrap();
    let mut pg = playground(&m);
    for kv in [true, false] {
        let o = serde_wasm_bindgen::to_value(&GenOptions { kv_cache: kv, ..o }).unwrap();
        let steps = run(&mut pg, prompt, o);
        assert_eq!(text(&steps), want, "kv_cache = {kv}");
    }
}

/// The same recipes, measured in the browser, give the natively pinned rows: the same
/// `recipe_id` (canonical JSON), storage census, KL and top-1 bits.
#[wasm_bindgen_test]
fn recipes_match_the_native_fixture() {
    let pinned: Vec<recipe_canon::Row> =
        serde_json::from_str(include_str!("fixtures/recipes.json")).unwrap();
    assert_eq!(recipe_canon::rows(), pinned);
}

/// The page's entry points read a query and report the same id as the core.
#[wasm_bindgen_test]
fn recipe_views_carry_the_canonical_id() {
    let q = "?precision=int8&prune=0.9&sparse-format=csr&prompt=hi";
    let v = tinyopt::web::recipe_from_query(q)
        .map_err(JsValue::from)
        .unwrap();
    let id = js_sys::Reflect::get(&v, &"recipe_id".into()).unwrap();
    let want = tinyopt::recipe::Recipe::parse(q).unwrap().id().unwrap();
    assert_eq!(id.as_string().unwrap(), want);
    let bad = tinyopt::web::recipe_from_query("?precision=%3Cb%3E")
        .map_err(JsValue::from)
        .unwrap();
    let problems = js_sys::Reflect::get(&bad, &"problems".into()).unwrap();
    let first = js_sys::Array::from(&problems).get(0).as_string().unwrap();
    assert!(first.contains("<b>"), "{first}");
}

/// A lab report drafted from the page's own recipe report (`setRecipe`), sealed and
/// checked in wasm: it verifies here, names the loaded model, and has the seal the
/// native test pins (tests/lab_report.rs), so the same report verifies natively.
#[wasm_bindgen_test]
fn a_lab_report_sealed_in_the_browser_has_the_native_seal() {
    let mut pg = playground(&recipe_canon::tiny());
    let recipe = tinyopt::recipe::Recipe::parse(lab_draft::QUERY).unwrap();
    let report = pg
        .set_recipe(serde_wasm_bindgen::to_value(&recipe).unwrap())
        .map_err(JsValue::from)
        .unwrap();
    let num = |k: &str| {
        js_sys::Reflect::get(&report, &k.into())
            .unwrap()
            .as_f64()
            .unwrap()
    };
    let draft = lab_draft::draft(
        num("kld"),
        num("top1_agreement"),
        num("weight_bytes") as usize,
    );
    let sealed = pg.seal_lab_report(&draft).map_err(JsValue::from).unwrap();
    let rep = tinyopt::lab_report::LabReport::parse(sealed.as_bytes()).unwrap();
    assert_eq!(rep.model_sha256, pg.model_sha256());
    assert_eq!(lab_draft::pinned_hash(&rep), lab_draft::PINNED_SHA256);

    let checked = pg.check_lab_report(&sealed).map_err(JsValue::from).unwrap();
    let verdict = js_sys::Reflect::get(&checked, &"verdict".into()).unwrap();
    let passed = js_sys::Reflect::get(&verdict, &"passed".into()).unwrap();
    assert_eq!(
        passed.as_bool(),
        Some(true),
        "{:?}",
        js_sys::JSON::stringify(&verdict)
    );

    let edited = sealed.replace("\"correct\": true", "\"correct\": false");
    let checked = pg.check_lab_report(&edited).map_err(JsValue::from).unwrap();
    let verdict = js_sys::Reflect::get(&checked, &"verdict".into()).unwrap();
    let passed = js_sys::Reflect::get(&verdict, &"passed".into()).unwrap();
    assert_eq!(passed.as_bool(), Some(false));
    let bad = pg.seal_lab_report("{\"course\": 1}").map(drop).unwrap_err();
    assert!(message(bad).contains("malformed lab report"));
}

#[path = "common/recover_canon.rs"]
mod recover_canon;

/// The trainer in wasm: a few recovery steps give the weights the native test checks
/// (tests/fixtures/recover.json), bit for bit.
#[wasm_bindgen_test]
fn recovery_in_wasm_matches_the_native_weights() {
    assert_eq!(recover_canon::runs(), recover_canon::expected());
}

/// A packed KV cache through the page's API: `setRecipe` reports the cache's true bytes
/// and what the cache alone costs, and `stepMany` reports the filled bytes after each
/// step (growing by one packed position per step). The int8 cache's KL/top-1 bits
/// against the native build are pinned in `recipes_match_the_native_fixture`.
#[wasm_bindgen_test]
fn an_int8_kv_cache_reports_true_bytes_per_step() {
    let base = recipe_canon::tiny();
    let mut pg = playground(&base);
    let r = tinyopt::recipe::Recipe::parse("kv-precision=int8").unwrap();
    let report = pg
        .set_recipe(serde_wasm_bindgen::to_value(&r).unwrap())
        .map_err(JsValue::from)
        .unwrap();
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap();
    let num = |o: &JsValue, k: &str| get(o, k).as_f64().unwrap();
    let c = base.cfg;
    let per_pos = 2 * c.n_layer * (c.d_model + 2 * c.n_head); // int8 codes + f16 scales
    assert_eq!(get(&report, "kv_precision").as_string().unwrap(), "int8");
    assert_eq!(num(&report, "kv_cache_bytes") as usize, per_pos * c.ctx);
    assert_eq!(
        num(&report, "kv_cache_bytes_f32") as usize,
        8 * c.n_layer * c.d_model * c.ctx
    );
    let (kl, top1) = (num(&report, "kv_kld"), num(&report, "kv_top1_agreement"));
    assert!(kl > 0.0 && kl < 0.05 && top1 > 0.5, "kl {kl} top1 {top1}");
    pg.start("ab", opts(5, 0.0, 0, true))
        .map_err(JsValue::from)
        .unwrap();
    let s = pg
        .step_many(5, f64::INFINITY)
        .map_err(JsValue::from)
        .unwrap();
    let kv = js_sys::Float64Array::from(get(&s, "kv_bytes")).to_vec();
    let pos = js_sys::Uint32Array::from(get(&s, "pos")).to_vec();
    assert_eq!(kv.len(), 5);
    for (b, p) in kv.iter().zip(&pos) {
        // after the step that made the token at position p, the cache holds 0..p
        assert_eq!(*b as usize, per_pos * *p as usize, "position {p}");
    }
}
