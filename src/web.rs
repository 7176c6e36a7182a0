//! The only wasm-bindgen surface: an opaque `Playground` handle over the core.
//! Small objects cross as plain JS objects (serde-wasm-bindgen), bulk data as bytes,
//! errors as `JsError` with the core's message.

use crate::clock;
use crate::model::speculative::{SpecConfig, SpecGenerator};
use crate::model::{io, GenOptions, Generator, Gpt, KvCache, KvPrecision, Step, StopReason};
use crate::prune::PruneKind;
use crate::quality::{self, CALIB_SEED, EVAL_LEN, EVAL_SEED, EVAL_SEQS};
use crate::quant::QuantConfig;
use crate::recipe::{self, Recipe};
use crate::spec_sweep::SpecSweep;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The wasm entry counts heap bytes for the memory profiler (the library itself installs
/// no allocator).
#[global_allocator]
static ALLOC: crate::profile::CountingAlloc = crate::profile::CountingAlloc;

/// Installs a panic hook that keeps the message where the worker can read it after
/// the trap (`globalThis.__tinyoptPanic`), and logs it to the console.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("tinyopt panicked: {info}");
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &"__tinyoptPanic".into(),
            &msg.clone().into(),
        );
        web_sys_console_error(&msg);
    }));
}

fn web_sys_console_error(msg: &str) {
    let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).ok();
    if let Some(c) = console {
        if let Ok(f) = js_sys::Reflect::get(&c, &"error".into()) {
            if let Some(f) = f.dyn_ref::<js_sys::Function>() {
                let _ = f.call1(&c, &msg.into());
            }
        }
    }
}

/// Milliseconds from the one clock (`performance.now()` here).
#[wasm_bindgen(js_name = nowMs)]
pub fn now_ms() -> f64 {
    clock::now_ms()
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Sets `obj[key] = value` (for packed results, where serde's per-field walk is the cost
/// being avoided).
fn set(obj: &js_sys::Object, key: &str, value: JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(obj, &key.into(), &value)
        .map(drop)
        .map_err(|_| JsError::new(&format!("could not set {key} on a result")))
}

fn err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

#[derive(Serialize)]
struct ModelInfo<'a> {
    config: &'a crate::model::Config,
    n_params: usize,
    weight_bytes: usize,
    vocab: String,
    kernel: &'static str,
    meta: &'a std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Started {
    prompt_tokens: usize,
    kv_cache_bytes: usize,
    scratch_bytes: usize,
    weight_bytes: usize,
}

/// The generation in progress: the model alone, or with the recipe's draft.
enum Gen {
    Plain(Box<Generator>),
    Spec(Box<SpecGenerator>),
}

impl Gen {
    fn step(&mut self, model: &Gpt, draft: Option<&Gpt>) -> crate::Result<Option<Step>> {
        match (self, draft) {
            (Gen::Plain(g), _) => g.step(model),
            (Gen::Spec(g), Some(d)) => g.step(model, d),
            (Gen::Spec(_), None) => Err(crate::error::input_err("the draft model is gone")),
        }
    }

    fn ended(&mut self, model: &Gpt) -> bool {
        match self {
            Gen::Plain(g) => g.ended(model),
            Gen::Spec(g) => g.ended(model),
        }
    }

    fn kv_bytes_used(&self) -> usize {
        match self {
            Gen::Plain(g) => g.kv_bytes_used(),
            Gen::Spec(g) => g.kv_bytes_used(),
        }
    }

    fn stop(&self) -> Option<StopReason> {
        match self {
            Gen::Plain(g) => g.stop,
            Gen::Spec(g) => g.stop,
        }
    }
}

/// A model plus at most one generation in progress. `base` is the model as loaded;
/// `model` is what runs (the base transformed by the current recipe).
#[wasm_bindgen]
pub struct Playground {
    base: Gpt,
    /// sha256 of the file `base` was loaded from (records name their models by it).
    base_sha256: String,
    /// A benchmark-suite run in progress: the run, the reference model and its hash.
    bench: Option<(crate::benchmark::SuiteRun, Gpt, String)>,
    model: Gpt,
    gen: Option<Gen>,
    /// The draft model (`setDraft`) and the recipe's speculative settings.
    draft: Option<Gpt>,
    spec: SpecConfig,
    /// A K sweep in progress (`specSweepStart`).
    sweep: Option<SpecSweep>,
    /// Fixed evaluation sequences sampled from `base` and `base`'s side of every
    /// comparison on them, made on first use (so a toggle runs only the new model).
    eval: Option<quality::Reference>,
    /// Activation statistics of `base` for static calibration, made on first use.
    calib: Option<crate::model::gpt::ActObserver>,
    /// Models built for `timeDecode`, keyed by their recipe's JSON, so a same-run
    /// speed comparison can alternate configurations without rebuilding them.
    timed: Vec<(String, Gpt)>,
    /// A recipe search in progress (`searchStart`), over a copy of `base`.
    search: Option<crate::search::Search>,
}

impl Playground {
    fn new(model: Gpt, sha256: String) -> Playground {
        Playground {
            base_sha256: sha256,
            bench: None,
            base: model.clone(),
            model,
            gen: None,
            draft: None,
            spec: SpecConfig::default(),
            sweep: None,
            eval: None,
            calib: None,
            timed: Vec::new(),
            search: None,
        }
    }

    /// Makes the fixed evaluation sequences and the reference on them once.
    fn ensure_eval(&mut self) -> Result<&quality::Reference, JsError> {
        if self.eval.is_none() {
            let seqs =
                quality::eval_set(&self.base, EVAL_SEQS, EVAL_LEN, EVAL_SEED).map_err(err)?;
            self.eval = Some(quality::Reference::new(&self.base, &seqs).map_err(err)?);
        }
        Ok(self.eval.as_ref().expect("made above"))
    }

    /// Collects the activation statistics once, if `r` needs them (static scales).
    /// Callers then borrow `self.calib` (about 15 MB: never copied).
    fn ensure_calibration(&mut self, r: &Recipe) -> Result<(), JsError> {
        if r.needs_calibration() && self.calib.is_none() {
            let seqs =
                quality::eval_set(&self.base, EVAL_SEQS, EVAL_LEN, CALIB_SEED).map_err(err)?;
            self.calib = Some(quality::calibrate(&self.base, &seqs).map_err(err)?);
        }
        Ok(())
    }

    /// The loaded model as the one file a verifier can recompute figures on.
    fn loaded_model(&self) -> [crate::benchmark::verify::ModelFile<'_>; 1] {
        [crate::benchmark::verify::ModelFile {
            sha256: self.base_sha256.clone(),
            model: std::borrow::Cow::Borrowed(&self.base),
        }]
    }

    /// Builds `r` (normalised) from the loaded model, calibrating if it must.
    fn build(&mut self, r: &Recipe) -> Result<(Gpt, crate::prune::PruneStats), JsError> {
        self.ensure_calibration(r)?;
        let calib = if r.needs_calibration() {
            self.calib.as_ref()
        } else {
            None
        };
        recipe::build(&self.base, r, calib).map_err(err)
    }
}

/// A recipe from a JS object (the nested serde form), normalised: invalid values and
/// combinations are errors with the core's message.
fn recipe_from_js(v: JsValue) -> Result<Recipe, JsError> {
    let r: Recipe =
        serde_wasm_bindgen::from_value(v).map_err(|e| JsError::new(&format!("bad recipe: {e}")))?;
    r.normalized().map_err(err)
}

/// Everything a face shows about a recipe: the canonical object, its id, the query
/// and CLI spellings, and the flat value of every key (for controls).
#[derive(Serialize)]
struct RecipeView {
    recipe: Recipe,
    recipe_id: String,
    query: String,
    cli: String,
    values: std::collections::BTreeMap<&'static str, Option<String>>,
    problems: Vec<String>,
}

fn view(r: Recipe, problems: Vec<String>) -> Result<RecipeView, JsError> {
    Ok(RecipeView {
        recipe_id: r.id().map_err(err)?,
        query: r.to_query(),
        cli: cli_command(&r).map_err(err)?,
        values: recipe::KEYS.iter().map(|&k| (k, r.get(k))).collect(),
        recipe: r,
        problems,
    })
}

/// The shell command that reproduces `r` natively: `tinyopt bench --recipe '<json>'`.
fn cli_command(r: &Recipe) -> crate::Result<String> {
    Ok(format!(
        "tinyopt bench --json --kv-cache --recipe '{}'",
        r.canonical_json()?
    ))
}

/// The recipe's flat fields: `[{key, kind: {type: "choice", choices} | {type: "number",
/// min, max} | {type: "flag"}, default, help}]`. Faces build their controls from it.
#[wasm_bindgen(js_name = recipeFields)]
pub fn recipe_fields() -> Result<JsValue, JsError> {
    to_js(&recipe::fields())
}

/// Reads the recipe keys of a URL query leniently (a shared link is untrusted): returns
/// `{recipe, recipe_id, query, cli, values, problems}`; each bad value keeps its default
/// and is named in `problems` (plain text, to be shown as text).
#[wasm_bindgen(js_name = recipeFromQuery)]
pub fn recipe_from_query(search: &str) -> Result<JsValue, JsError> {
    let (r, problems) = Recipe::from_query_normalized(search);
    to_js(&view(r, problems)?)
}

/// Sets one flat field of `recipe` (nested form) and normalises: the same view as
/// `recipeFromQuery`, or an error naming what to change.
#[wasm_bindgen(js_name = recipeWith)]
pub fn recipe_with(recipe: JsValue, key: &str, value: &str) -> Result<JsValue, JsError> {
    let mut r = recipe_from_js(recipe)?;
    r.set(key, value).map_err(err)?;
    to_js(&view(r.normalized().map_err(err)?, Vec::new())?)
}

/// The view of a recipe given in nested form or as canonical JSON text.
#[wasm_bindgen(js_name = recipeView)]
pub fn recipe_view(recipe: JsValue) -> Result<JsValue, JsError> {
    let r = match recipe.as_string() {
        Some(text) => Recipe::parse(&text).map_err(err)?,
        None => recipe_from_js(recipe)?,
    };
    to_js(&view(r, Vec::new())?)
}

#[derive(Serialize)]
struct RecipeReport {
    recipe: Recipe,
    recipe_id: String,
    /// Weight matrices per storage format, read off the built model.
    storage: std::collections::BTreeMap<&'static str, usize>,
    precision: &'static str,
    prune_kind: &'static str,
    prune: f32,
    sparsity: f64,
    weight_bytes: usize,
    base_weight_bytes: usize,
    kld: f64,
    top1_agreement: f64,
    positions: usize,
    /// The KV cache's storage, its true bytes, and those of an f32 cache.
    kv_precision: &'static str,
    kv_cache_bytes: usize,
    kv_cache_bytes_f32: usize,
    /// The packed cache alone: against the same weights with an f32 cache.
    kv_kld: f64,
    kv_top1_agreement: f64,
    /// Building the model from the loaded one (quantize, calibrate, prune, pack).
    construct_ms: f64,
    /// Measuring its KL and top-1 on the fixed evaluation set.
    quality_ms: f64,
    /// Both, the whole toggle in the worker.
    ms: f64,
}

#[derive(Serialize)]
struct MatrixValues {
    name: String,
    rows: usize,
    cols: usize,
    format: &'static str,
    /// Group size along a row for int4 (one scale per group), else the row length.
    group: usize,
}

#[wasm_bindgen]
impl Playground {
    /// A seeded, randomly initialised model of the default config.
    #[wasm_bindgen(js_name = randomInit)]
    pub fn random_init(seed: u32) -> Playground {
        let m = Gpt::default_random(seed as u64);
        let sha = io::save(&m)
            .map(|b| crate::benchmark::suite::sha256_hex(&b))
            .unwrap_or_default();
        Playground::new(m, sha)
    }

    /// A model of the default vocabulary and context with random weights at another
    /// size (`n_head` = d_model / 32): for what size costs in speed and memory. Its
    /// quality means nothing, and the page says so.
    #[wasm_bindgen(js_name = randomSized)]
    pub fn random_sized(n_layer: usize, d_model: usize, seed: u32) -> Result<Playground, JsError> {
        check_size(n_layer, d_model)?;
        let cfg = crate::model::Config {
            n_layer,
            d_model,
            n_head: d_model / 32,
            ..crate::model::Config::default()
        };
        let tok =
            crate::model::Tokenizer::new(crate::model::tokenizer::DEFAULT_VOCAB).map_err(err)?;
        let m = Gpt::random(cfg, tok, seed as u64).map_err(err)?;
        let sha = io::save(&m)
            .map(|b| crate::benchmark::suite::sha256_hex(&b))
            .unwrap_or_default();
        Ok(Playground::new(m, sha))
    }

    /// Loads a safetensors model file.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Playground, JsError> {
        let sha = crate::benchmark::suite::sha256_hex(bytes);
        Ok(Playground::new(io::load(bytes).map_err(err)?, sha))
    }

    /// `{config, n_params, weight_bytes, vocab, kernel, meta}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ModelInfo {
            config: &self.model.cfg,
            n_params: self.model.n_params(),
            weight_bytes: self.model.weight_bytes(),
            vocab: self.model.tokenizer.vocab_string(),
            kernel: self.model.kernel.name(),
            meta: &self.model.meta,
        })
    }

    /// Begins a generation. `opts`: `{max_new_tokens, temperature, top_k, seed, kv_cache}`.
    /// Returns `{prompt_tokens, kv_cache_bytes, scratch_bytes, weight_bytes}`.
    pub fn start(&mut self, prompt: &str, opts: JsValue) -> Result<JsValue, JsError> {
        let opts: GenOptions = serde_wasm_bindgen::from_value(opts)
            .map_err(|e| JsError::new(&format!("bad generation options: {e}")))?;
        self.gen = None;
        let g = match (self.spec.k(), &self.draft) {
            (None, _) => Gen::Plain(Box::new(
                Generator::new(&self.model, prompt, opts).map_err(err)?,
            )),
            (Some(k), Some(d)) => Gen::Spec(Box::new(
                SpecGenerator::new(&self.model, d, prompt, opts, k).map_err(err)?,
            )),
            (Some(_), None) => return Err(no_draft()),
        };
        let started = match &g {
            Gen::Plain(g) => Started {
                prompt_tokens: g.prompt_len(),
                kv_cache_bytes: g.kv_cache_bytes(),
                scratch_bytes: g.scratch_bytes(),
                weight_bytes: self.model.weight_bytes(),
            },
            Gen::Spec(g) => Started {
                prompt_tokens: g.prompt_len(),
                kv_cache_bytes: g.kv_cache_bytes(),
                scratch_bytes: g.scratch_bytes(),
                weight_bytes: self.model.weight_bytes()
                    + self.draft.as_ref().map_or(0, |d| d.weight_bytes()),
            },
        };
        self.gen = Some(g);
        to_js(&started)
    }

    /// The next token as `{token, text, pos, ms}`, or `null` when the run has ended
    /// (then `stopMessage()` says why).
    pub fn step(&mut self) -> Result<JsValue, JsError> {
        let g = self
            .gen
            .as_mut()
            .ok_or_else(|| JsError::new("no generation in progress: call start() first"))?;
        match g.step(&self.model, self.draft.as_ref()).map_err(err)? {
            Some(s) => to_js(&s),
            None => Ok(JsValue::NULL),
        }
    }

    /// Up to `max_steps` next tokens in one call, returning once `budget_ms` has passed
    /// since the call began (after at least one step) or the run has ended. A per-token
    /// call and JS object cost a measurable share of a cached step; this packs a slice:
    /// `{token: Uint32Array, pos: Uint32Array, ms: Float64Array, at: Float64Array,
    /// kv_bytes: Float64Array, text, ended}`, where `ms` is each step's time as `step`
    /// measures it, `at` the clock (`nowMs`) when it ended, `kv_bytes` the bytes the
    /// cache's filled positions hold after it (0 with the cache off), `text` the tokens' characters in order, and `ended`
    /// says no token follows (then `stopMessage()` says why).
    #[wasm_bindgen(js_name = stepMany)]
    pub fn step_many(&mut self, max_steps: usize, budget_ms: f64) -> Result<JsValue, JsError> {
        let g = self
            .gen
            .as_mut()
            .ok_or_else(|| JsError::new("no generation in progress: call start() first"))?;
        let t0 = clock::now_ms();
        let n = max_steps.clamp(1, self.model.cfg.ctx); // a run holds at most ctx tokens
        let mut token = Vec::with_capacity(n); // (k)
        let mut pos = Vec::with_capacity(n); // (k)
        let mut ms = Vec::with_capacity(n); // (k)
        let mut at = Vec::with_capacity(n); // (k)
        let mut kv_bytes = Vec::with_capacity(n); // (k)
        let mut text = String::with_capacity(n);
        while token.len() < n {
            let Some(s) = g.step(&self.model, self.draft.as_ref()).map_err(err)? else {
                break;
            };
            let end = clock::now_ms();
            token.push(s.token);
            pos.push(s.pos as u32);
            ms.push(s.ms);
            at.push(end);
            kv_bytes.push(g.kv_bytes_used() as f64);
            text.push(s.text);
            if end - t0 >= budget_ms || g.ended(&self.model) {
                break;
            }
        }
        let ended = g.ended(&self.model);
        let out = js_sys::Object::new();
        set(&out, "token", js_sys::Uint32Array::from(&token[..]).into())?;
        set(&out, "pos", js_sys::Uint32Array::from(&pos[..]).into())?;
        set(&out, "ms", js_sys::Float64Array::from(&ms[..]).into())?;
        set(&out, "at", js_sys::Float64Array::from(&at[..]).into())?;
        set(
            &out,
            "kv_bytes",
            js_sys::Float64Array::from(&kv_bytes[..]).into(),
        )?;
        set(&out, "text", text.into())?;
        set(&out, "ended", ended.into())?;
        Ok(out.into())
    }

    /// Why the current generation stopped (`""` while it runs).
    #[wasm_bindgen(js_name = stopMessage)]
    pub fn stop_message(&self) -> String {
        self.gen
            .as_ref()
            .and_then(|g| g.stop())
            .map(|r| r.message(self.model.cfg.ctx))
            .unwrap_or_default()
    }

    /// Whether the run ended because the context window filled up.
    #[wasm_bindgen(js_name = contextFull)]
    pub fn context_full(&self) -> bool {
        matches!(
            self.gen.as_ref().and_then(|g| g.stop()),
            Some(crate::model::StopReason::ContextFull)
        )
    }

    #[wasm_bindgen(js_name = weightBytes)]
    pub fn weight_bytes(&self) -> usize {
        self.model.weight_bytes()
    }

    /// Deliberately panics, so tests can check that the page recovers from a wasm trap.
    #[wasm_bindgen(js_name = debugPanic)]
    pub fn debug_panic(&self) {
        panic!("debugPanic was called (a deliberate test of error recovery)");
    }

    /// Rebuilds the running model from the loaded one with a recipe: `{quant: {precision,
    /// group_size, clip, act, percentile, quantize_ends}, prune: {kind, ratio, heads,
    /// scope, format}, kernel}` (names as the CLI's). Returns `{precision, prune_kind,
    /// prune, sparsity, weight_bytes, base_weight_bytes, kld, top1_agreement, positions,
    /// construct_ms, quality_ms, ms}`, quality measured against the loaded model on the
    /// fixed evaluation set.
    #[wasm_bindgen(js_name = setRecipe)]
    pub fn set_recipe(&mut self, recipe: JsValue) -> Result<JsValue, JsError> {
        let r = recipe_from_js(recipe)?;
        if !r.spec.is_off() && self.draft.is_none() {
            return Err(no_draft());
        }
        let t0 = clock::now_ms();
        let (m, stats) = self.build(&r)?;
        let t1 = clock::now_ms();
        // The identity recipe needs no measuring (and page start-up no eval set).
        let agree = if r.is_identity() {
            quality::recipe_agreement(&self.base, &m, &r, &[]).map_err(err)?
        } else {
            self.ensure_eval()?.recipe_agreement(&m, &r).map_err(err)?
        };
        let kv_agree = if m.kv_precision == KvPrecision::F32 {
            quality::kv_agreement(&m, &[])
        } else {
            quality::kv_agreement(&m, self.ensure_eval()?.seqs())
        }
        .map_err(err)?;
        self.model = m;
        self.gen = None;
        self.spec = r.spec;
        to_js(&RecipeReport {
            recipe_id: r.id().map_err(err)?,
            storage: self.model.storage_census(),
            precision: r.quant.precision.name(),
            prune_kind: r.prune.kind.name(),
            prune: r.prune.ratio,
            sparsity: stats.sparsity,
            weight_bytes: self.model.weight_bytes(),
            base_weight_bytes: self.base.weight_bytes(),
            kld: agree.kld,
            top1_agreement: agree.top1_agreement,
            positions: agree.positions,
            construct_ms: t1 - t0,
            quality_ms: clock::now_ms() - t1,
            kv_precision: self.model.kv_precision.name(),
            kv_cache_bytes: self.model.kv_cache().bytes(),
            kv_cache_bytes_f32: KvCache::new(&self.model.cfg).bytes(),
            kv_kld: kv_agree.kld,
            kv_top1_agreement: kv_agree.top1_agreement,
            ms: clock::now_ms() - t0,
            recipe: r,
        })
    }

    /// One point of a quality-vs-sparsity curve: prunes the loaded model (`kind`:
    /// "unstructured" or "structured", `ratio` 0..=0.95) without changing the running one.
    /// Returns `{prune_kind, prune, sparsity, kld, top1_agreement, weight_bytes}`
    /// (unstructured zeros stored as CSR, the default).
    #[wasm_bindgen(js_name = pruneCurvePoint)]
    pub fn prune_curve_point(&mut self, kind: &str, ratio: f32) -> Result<JsValue, JsError> {
        let mut r = Recipe::default();
        r.set("prune-kind", kind).map_err(err)?;
        r.set("prune", &ratio.to_string()).map_err(err)?;
        let (m, stats) = self.build(&r)?;
        let q = self.ensure_eval()?.compare(&m).map_err(err)?;
        to_js(&serde_json::json!({
            "prune_kind": PruneKind::parse(kind).map_err(err)?.name(), "prune": ratio,
            "sparsity": stats.sparsity, "kld": q.kld, "top1_agreement": q.top1_agreement,
            "weight_bytes": m.weight_bytes(),
        }))
    }

    /// One point of the dense-vs-sparse kernel sweep on a seeded (rows, cols) matrix.
    #[wasm_bindgen(js_name = sparseSweepPoint)]
    pub fn sparse_sweep_point(
        &self,
        rows: usize,
        cols: usize,
        sparsity: f64,
        runs: usize,
    ) -> Result<JsValue, JsError> {
        if rows == 0 || cols == 0 || rows * cols > 1 << 22 || !(0.0..=1.0).contains(&sparsity) {
            return Err(JsError::new(
                "sweep: shape must be non-empty and at most 4M entries, sparsity in 0..=1",
            ));
        }
        let timer = crate::profile::timer::Timer {
            runs: runs.clamp(3, 101),
            ..Default::default()
        };
        to_js(&crate::sparsity_sweep::point(rows, cols, sparsity, &timer))
    }

    /// Sensitivity of one matrix (see `matrixNames`): quantizes only it with `cfg` and
    /// returns `{matrix, group, kld, top1_agreement}`. One call per matrix, so the page can
    /// show progress and stop between them.
    #[wasm_bindgen(js_name = sensitivityOf)]
    pub fn sensitivity_of(&mut self, cfg: JsValue, name: &str) -> Result<JsValue, JsError> {
        let qc: QuantConfig = serde_wasm_bindgen::from_value(cfg)
            .map_err(|e| JsError::new(&format!("bad precision settings: {e}")))?;
        let r = Recipe {
            quant: qc,
            ..Recipe::default()
        }
        .normalized()
        .map_err(err)?;
        self.ensure_calibration(&r)?;
        self.ensure_eval()?;
        let calib = if r.needs_calibration() {
            self.calib.as_ref()
        } else {
            None
        };
        let reference = self.eval.as_ref().expect("made above");
        let s = quality::sensitivity_against(reference, &self.base, &r.quant, calib, name)
            .map_err(err)?;
        // The matrix group (a recipe's `<group>-precision` stem) the page ranks by.
        let mut v = serde_json::to_value(&s).map_err(|e| JsError::new(&e.to_string()))?;
        v["group"] = crate::quant::group_of(name).into();
        to_js(&v)
    }

    /// `{nll, perplexity, base_nll, base_perplexity}` of `text` (nats/char), for the
    /// running model and the loaded one.
    pub fn perplexity(&self, text: &str) -> Result<JsValue, JsError> {
        let (nll, ppl) = quality::perplexity(&self.model, text).map_err(err)?;
        let (bnll, bppl) = quality::perplexity(&self.base, text).map_err(err)?;
        to_js(&serde_json::json!({
            "nll": nll, "perplexity": ppl, "base_nll": bnll, "base_perplexity": bppl,
        }))
    }

    /// The running model against a reference model file (e.g. the student against its
    /// teacher): `{kld, top1_agreement, positions, reference_sha256, text}` on the
    /// reference's fixed evaluation set (KL(reference ‖ running)); `text` (when not
    /// empty) also gets both perplexities: `{nll, perplexity, ref_nll, ref_perplexity}`.
    #[wasm_bindgen(js_name = compareWith)]
    pub fn compare_with(&self, bytes: &[u8], text: &str) -> Result<JsValue, JsError> {
        let reference = io::load(bytes).map_err(err)?;
        if reference.tokenizer.vocab_string() != self.model.tokenizer.vocab_string() {
            return Err(JsError::new(
                "the reference model has another vocabulary: its outputs cannot be compared",
            ));
        }
        let seqs = quality::fixed_eval_set(&reference).map_err(err)?;
        let q = quality::compare(&reference, &self.model, &seqs).map_err(err)?;
        let text_ppl = if text.is_empty() {
            serde_json::Value::Null
        } else {
            let (nll, ppl) = quality::perplexity(&self.model, text).map_err(err)?;
            let (rnll, rppl) = quality::perplexity(&reference, text).map_err(err)?;
            serde_json::json!({"nll": nll, "perplexity": ppl, "ref_nll": rnll, "ref_perplexity": rppl})
        };
        to_js(&serde_json::json!({
            "kld": q.kld, "top1_agreement": q.top1_agreement, "positions": q.positions,
            "reference_sha256": crate::benchmark::suite::sha256_hex(bytes), "text": text_ppl,
        }))
    }

    /// Names of the weight matrices, for pickers.
    #[wasm_bindgen(js_name = matrixNames)]
    pub fn matrix_names(&self) -> Vec<String> {
        crate::model::matrix_names(self.base.cfg.n_layer)
    }

    /// Shape and format of a matrix of the running model.
    #[wasm_bindgen(js_name = matrixInfo)]
    pub fn matrix_info(&mut self, name: &str) -> Result<JsValue, JsError> {
        let m = self
            .model
            .matrix_mut(name)
            .ok_or_else(|| JsError::new(&format!("no matrix {name:?}")))?;
        let group = match &m.data {
            crate::weights::Storage::Int4 { group, .. } => *group,
            _ => m.cols,
        };
        to_js(&MatrixValues {
            name: name.to_string(),
            rows: m.rows,
            cols: m.cols,
            format: m.format_name(),
            group,
        })
    }

    /// A matrix's values, (rows, cols) row-major: `loaded` = as loaded (f32), else as
    /// the running model holds them, dequantized, so a histogram shows the grid.
    #[wasm_bindgen(js_name = matrixValues)]
    pub fn matrix_values(&mut self, name: &str, loaded: bool) -> Result<Vec<f32>, JsError> {
        let src = if loaded {
            &mut self.base
        } else {
            &mut self.model
        };
        let m = src
            .matrix_mut(name)
            .ok_or_else(|| JsError::new(&format!("no matrix {name:?}")))?;
        Ok(m.to_f32())
    }

    /// Times a greedy decode of `tokens` steps with the KV cache on, from a one-character
    /// prompt, on the loaded model transformed by `recipe` (built once and kept, untimed;
    /// the running model is not changed). Returns `{tokens, ms, tokens_per_s, median_ms,
    /// weight_bytes}`: `ms` is the wall time of the steps after the first (the prefill).
    /// Call it alternately for the configurations compared, so they share the machine's state.
    #[wasm_bindgen(js_name = timeDecode)]
    pub fn time_decode(&mut self, recipe: JsValue, tokens: usize) -> Result<JsValue, JsError> {
        let r = recipe_from_js(recipe)?;
        let key = r.canonical_json().map_err(err)?;
        if !self.timed.iter().any(|(k, _)| *k == key) {
            let (m, _) = self.build(&r)?;
            // A few models at most: the page compares two, the measuring script six.
            if self.timed.len() >= 8 {
                self.timed.remove(0);
            }
            self.timed.push((key.clone(), m));
        }
        let m = &self
            .timed
            .iter()
            .find(|(k, _)| *k == key)
            .expect("built above")
            .1;
        let n = tokens.clamp(2, m.cfg.ctx - 1);
        let opts = GenOptions::greedy(n);
        let first = m.tokenizer.vocab_string().chars().next().unwrap_or('\n');
        let mut g = Generator::new(m, &first.to_string(), opts).map_err(err)?;
        g.step(m).map_err(err)?; // the prefill step, not timed
        let mut steps: Vec<f64> = Vec::with_capacity(n); // (n - 1) step times, ms
        let t0 = clock::now_ms();
        while let Some(s) = g.step(m).map_err(err)? {
            steps.push(s.ms);
        }
        let ms = clock::now_ms() - t0;
        steps.sort_by(|a, b| a.total_cmp(b));
        let median_ms = steps.get(steps.len() / 2).copied().unwrap_or(f64::NAN);
        to_js(&serde_json::json!({
            "tokens": steps.len(), "ms": ms, "tokens_per_s": steps.len() as f64 / (ms / 1000.0),
            "median_ms": median_ms, "weight_bytes": m.weight_bytes(),
        }))
    }

    /// The running model as a safetensors file (quantized tensors kept packed).
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> Result<Vec<u8>, JsError> {
        io::save(&self.model).map_err(err)
    }
}

// ---- Benchmarking: the suite, submission records, verification ----

#[wasm_bindgen]
impl Playground {
    /// Starts a benchmark-suite run of the running model (the candidate) against a
    /// reference: `reference` is the bytes of the reference model file (the shipped f32
    /// model; the open division), or empty for the loaded model itself (the closed
    /// division). `suite`: "tinymlperf-v1" or "tinymlperf-v1-quick". Returns the suite.
    #[wasm_bindgen(js_name = benchStart)]
    pub fn bench_start(&mut self, suite: &str, reference: &[u8]) -> Result<JsValue, JsError> {
        let suite = crate::benchmark::Suite::known(suite).map_err(err)?;
        let (reference, sha) = if reference.is_empty() {
            (self.base.clone(), self.base_sha256.clone())
        } else {
            (
                io::load(reference).map_err(err)?,
                crate::benchmark::suite::sha256_hex(reference),
            )
        };
        let mut run =
            crate::benchmark::SuiteRun::new(suite.clone(), &reference, &self.model).map_err(err)?;
        if let Some(k) = self.spec.k() {
            run.set_draft(self.draft.clone().ok_or_else(no_draft)?, k);
        }
        self.bench = Some((run, reference, sha));
        to_js(&suite)
    }

    /// Runs one round (a reference and a candidate query, alternating order).
    /// Returns `{rounds, done}`.
    #[wasm_bindgen(js_name = benchStep)]
    pub fn bench_step(&mut self) -> Result<JsValue, JsError> {
        let (run, reference, _) = self
            .bench
            .as_mut()
            .ok_or_else(|| JsError::new("no benchmark run: call benchStart first"))?;
        if !run.done() {
            run.step(reference, &self.model).map_err(err)?;
        }
        to_js(&serde_json::json!({"rounds": run.rounds(), "done": run.done()}))
    }

    /// Flags the last round as disturbed (the tab was hidden while it ran).
    #[wasm_bindgen(js_name = benchInvalidateLast)]
    pub fn bench_invalidate_last(&mut self) {
        if let Some((run, _, _)) = self.bench.as_mut() {
            run.invalidate_last();
        }
    }

    /// Seals the finished run into a submission record (JSON text). `env`:
    /// `{platform, cross_origin_isolated, timer_resolution_ms}`; `handle`: the
    /// participant's name (kept as text); `timestamp`: seconds since 1970.
    #[wasm_bindgen(js_name = benchRecord)]
    pub fn bench_record(
        &self,
        recipe: JsValue,
        env: JsValue,
        handle: &str,
        timestamp: f64,
    ) -> Result<String, JsError> {
        #[derive(serde::Deserialize)]
        struct Env {
            platform: String,
            cross_origin_isolated: bool,
            timer_resolution_ms: f64,
        }
        let e: Env = serde_wasm_bindgen::from_value(env)
            .map_err(|e| JsError::new(&format!("bad environment: {e}")))?;
        let (run, reference, sha) = self
            .bench
            .as_ref()
            .ok_or_else(|| JsError::new("no benchmark run: call benchStart first"))?;
        if !run.done() {
            return Err(JsError::new("the suite has not finished yet"));
        }
        let subject = crate::benchmark::Subject {
            reference,
            reference_model_sha256: sha.clone(),
            candidate_model_sha256: self.base_sha256.clone(),
            candidate: &self.model,
            recipe: recipe_from_js(recipe)?,
        };
        let env = crate::benchmark::Environment {
            face: "page".into(),
            platform: e.platform.chars().take(200).collect(),
            cross_origin_isolated: e.cross_origin_isolated,
            timer_resolution_ms: e.timer_resolution_ms,
            simd: if cfg!(target_feature = "simd128") {
                "simd128".into()
            } else {
                "none".into()
            },
        };
        let rec = crate::benchmark::record(run, &subject, env, handle, timestamp.max(0.0) as u64)
            .map_err(err)?;
        serde_json::to_string_pretty(&rec).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Reads and checks a submission record (untrusted text): `{record, verdict}` or a
    /// clear error. Quality and tokens are recomputed when the record's models are the
    /// loaded one (by sha256); otherwise they stay self-reported.
    #[wasm_bindgen(js_name = checkRecord)]
    pub fn check_record(&self, text: &str) -> Result<JsValue, JsError> {
        let rec = crate::benchmark::Record::parse(text.as_bytes()).map_err(err)?;
        let verdict = crate::benchmark::verify::verify(&rec, &self.loaded_model());
        to_js(&serde_json::json!({"record": rec, "verdict": verdict}))
    }

    /// Seals a lab report drafted by the course page (JSON text, untrusted): the
    /// schema and the loaded model file's sha256 are filled in, recipes normalised with
    /// their ids. Returns the sealed report as JSON text, or a clear error.
    #[wasm_bindgen(js_name = sealLabReport)]
    pub fn seal_lab_report(&self, draft: &str) -> Result<String, JsError> {
        let rep =
            crate::lab_report::seal_draft(draft.as_bytes(), &self.base_sha256).map_err(err)?;
        serde_json::to_string_pretty(&rep).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Reads and checks a lab report (untrusted text): `{report, verdict}` with the
    /// verdict `tinyopt verify` gives, deterministic figures recomputed when the report
    /// names the loaded model; or a clear error when it is not a lab report.
    #[wasm_bindgen(js_name = checkLabReport)]
    pub fn check_lab_report(&self, text: &str) -> Result<JsValue, JsError> {
        let rep = crate::lab_report::LabReport::parse(text.as_bytes()).map_err(err)?;
        let verdict = crate::lab_report::verify(&rep, &self.loaded_model());
        to_js(&serde_json::json!({"report": rep, "verdict": verdict}))
    }

    /// sha256 of the loaded model file.
    #[wasm_bindgen(js_name = modelSha256)]
    pub fn model_sha256(&self) -> String {
        self.base_sha256.clone()
    }
}

// ---- Profiling and acceleration (issue 6) ----

/// FLOPs of one decode step: `{pos, total, by_op: {op: flops}}`.
#[derive(Serialize)]
struct TokenFlops {
    pos: usize,
    total: u64,
    by_op: std::collections::BTreeMap<&'static str, u64>,
}

/// The kernel table's timer in the browser: longer samples, because
/// `performance.now()` is coarsened (100 µs without cross-origin isolation).
fn web_timer(runs: usize) -> crate::profile::Timer {
    crate::profile::Timer {
        warmup: 2,
        runs: runs.clamp(3, 101),
        min_sample_ms: 5.0,
    }
}

#[wasm_bindgen]
impl Playground {
    /// Selects the matrix kernel by name: `"naive"`, `"blocked"`, `"simd"` (default,
    /// bit-identical to the native build) or `"library"`. Unknown names throw, listing these.
    #[wasm_bindgen(js_name = setKernel)]
    pub fn set_kernel(&mut self, name: &str) -> Result<(), JsError> {
        let k = crate::kernels::Kernel::parse(name).map_err(err)?;
        k.runs_here().map_err(err)?;
        self.model.kernel = k;
        Ok(())
    }

    /// What `kernel` costs in bits against `simd` on `recipe`'s model (both built from
    /// the loaded one; the running model is not changed): `{logits, identical,
    /// max_abs_diff, kld, top1_agreement, greedy_tokens, greedy_same}` on the fixed
    /// evaluation set and a greedy run of `greedy_tokens` from "\n".
    #[wasm_bindgen(js_name = kernelBitsLost)]
    pub fn kernel_bits_lost(
        &mut self,
        recipe: JsValue,
        kernel: &str,
        greedy_tokens: usize,
    ) -> Result<JsValue, JsError> {
        let mut r = recipe_from_js(recipe)?;
        r.kernel = crate::kernels::Kernel::Simd;
        let (exact, _) = self.build(&r)?;
        r.kernel = crate::kernels::Kernel::parse(kernel).map_err(err)?;
        let (other, _) = self.build(&r)?;
        let seqs = self.ensure_eval()?.seqs();
        to_js(&quality::bits_lost(&exact, &other, seqs, greedy_tokens).map_err(err)?)
    }

    /// The current kernel's name.
    #[wasm_bindgen(js_name = kernelName)]
    pub fn kernel_name(&self) -> String {
        self.model.kernel.name().into()
    }

    /// Profiles `runs` greedy decodes of `tokens` steps (positions 0..tokens) with the
    /// current kernel, after one untimed warm-up. Returns
    /// `{kernel, tokens, runs, ops: [{op, ms_per_token, share, flops_per_token, gflops}],
    ///   sum_ms_per_token, total_ms_per_token,
    ///   token_ms: {reps, runs, min_ms, median_ms, p90_ms, p99_ms, iqr_ms, max_ms},
    ///   flops_per_token, flops_per_token_pos0, gflops, memory}` (`memory` as `memory()`).
    /// Runs synchronously: a worker should call it, not the main thread.
    pub fn profile(&self, tokens: usize, runs: usize) -> Result<JsValue, JsError> {
        to_js(&crate::profile::profile(&self.model, tokens, runs).map_err(err)?)
    }

    /// Memory by kind: `{entries: [{kind, detail, bytes}], weight_bytes, kv_cache_bytes,
    /// activation_bytes, heap_bytes, heap_peak_bytes, linear_memory_bytes}`. `kind` is
    /// `weights` (one entry per storage format), `kv_cache`, `activations`, `heap`,
    /// `heap_peak` or `linear_memory` (the wasm memory's size).
    pub fn memory(&self) -> Result<JsValue, JsError> {
        to_js(&crate::profile::memory::report(&self.model, None, None))
    }

    /// Analytic FLOPs of a decode step at position `pos`: `{pos, total, by_op: {op: n}}`.
    #[wasm_bindgen(js_name = flopsPerToken)]
    pub fn flops_per_token(&self, pos: usize) -> Result<JsValue, JsError> {
        let f = crate::profile::flops::token(&self.model, pos);
        to_js(&TokenFlops {
            pos,
            total: f.total(),
            by_op: crate::profile::Op::ALL
                .iter()
                .map(|&op| (op.name(), f[op]))
                .collect(),
        })
    }

    /// The shapes the kernel table times, in order: `[{shape, op, m, k, n}]`, where
    /// Y (m×n) = X (m×k) · Wᵀ; `matvec` is m = 1, `matmul` a prefill of `prefill` tokens.
    /// Time them one at a time with `kernelBenchCase` to show progress.
    #[wasm_bindgen(js_name = kernelCases)]
    pub fn kernel_cases(&self, prefill: usize) -> Result<JsValue, JsError> {
        to_js(&crate::profile::kernel_bench::cases(
            &self.model.cfg,
            prefill,
        ))
    }

    /// Times every kernel on case `index` of `kernelCases(prefill)`; returns four rows
    /// (naive first) `[{kernel, shape, op, m, k, n, gflops, ms_p50, ms_p90, ms_iqr,
    /// speedup_vs_naive, reps, runs}]`, as `tinyopt kernels --json` prints them.
    #[wasm_bindgen(js_name = kernelBenchCase)]
    pub fn kernel_bench_case(
        &self,
        prefill: usize,
        index: usize,
        runs: usize,
    ) -> Result<JsValue, JsError> {
        let cases = crate::profile::kernel_bench::cases(&self.model.cfg, prefill);
        let case = cases.get(index).ok_or_else(|| {
            JsError::new(&format!(
                "kernel case {index} does not exist; there are {}",
                cases.len()
            ))
        })?;
        to_js(&crate::profile::kernel_bench::run_case(
            case,
            &web_timer(runs),
        ))
    }

    /// The whole kernel table at once (all cases of `kernelCases(prefill)`).
    #[wasm_bindgen(js_name = kernelBench)]
    pub fn kernel_bench(&self, prefill: usize, runs: usize) -> Result<JsValue, JsError> {
        let rows: Vec<_> = crate::profile::kernel_bench::cases(&self.model.cfg, prefill)
            .iter()
            .flat_map(|c| crate::profile::kernel_bench::run_case(c, &web_timer(runs)))
            .collect();
        to_js(&rows)
    }
}

/// The sizes a tab may build: 1-16 layers, a width that is a multiple of 32 up to 1024.
fn check_size(n_layer: usize, d_model: usize) -> Result<(), JsError> {
    if !(1..=16).contains(&n_layer) || d_model == 0 || !d_model.is_multiple_of(32) || d_model > 1024
    {
        return Err(JsError::new(&format!(
            "a model of {n_layer} layers and width {d_model}: use 1-16 layers and a width that is a multiple of 32, at most 1024"
        )));
    }
    Ok(())
}

/// Read bandwidth of this tab's core from L2, L3 and DRAM-sized buffers:
/// `[{name, bytes, holds, gbps}]` (medians of `runs` samples). Takes a second or two.
#[wasm_bindgen(js_name = scalingBandwidth)]
pub fn scaling_bandwidth(runs: usize) -> Result<JsValue, JsError> {
    to_js(&crate::profile::scaling::bandwidth(runs.clamp(1, 9)))
}

/// One size of the what-size-costs sweep (random weights): decode tokens/s with its
/// spread, bytes, FLOPs/token, GFLOP/s, GB/s and the roofline of the level the weights
/// fit in (`levels` from `scalingBandwidth`).
#[wasm_bindgen(js_name = scalingPoint)]
pub fn scaling_point(
    n_layer: usize,
    d_model: usize,
    tokens: usize,
    runs: usize,
    levels: JsValue,
) -> Result<JsValue, JsError> {
    check_size(n_layer, d_model)?;
    let levels: Vec<crate::profile::scaling::Level> = serde_wasm_bindgen::from_value(levels)
        .map_err(|e| JsError::new(&format!("bad levels: {e}")))?;
    if levels.is_empty() {
        return Err(JsError::new("sweep: measure the bandwidth levels first"));
    }
    to_js(
        &crate::profile::scaling::point(n_layer, d_model, tokens, runs.clamp(1, 9), &levels)
            .map_err(err)?,
    )
}

/// The kernel names `setKernel` accepts in this build, default (`simd`) first.
#[wasm_bindgen(js_name = kernelNames)]
pub fn kernel_names() -> Vec<String> {
    crate::kernels::Kernel::ALL
        .iter()
        .filter(|k| k.runs_here().is_ok())
        .map(|k| k.name().to_string())
        .collect()
}

/// Which build of the engine this is: "wasm simd128 + relaxed-simd" or "wasm simd128".
#[wasm_bindgen(js_name = engineBuild)]
pub fn engine_build() -> String {
    crate::kernels::relaxed::build_name().into()
}

/// Live and peak heap bytes and the wasm memory size: `{heap_bytes, heap_peak_bytes,
/// linear_memory_bytes}`, for a memory gauge that needs no model.
#[wasm_bindgen(js_name = heapStats)]
pub fn heap_stats() -> Result<JsValue, JsError> {
    use crate::profile::memory as m;
    #[derive(Serialize)]
    struct Heap {
        heap_bytes: usize,
        heap_peak_bytes: usize,
        linear_memory_bytes: usize,
    }
    to_js(&Heap {
        heap_bytes: m::heap_bytes(),
        heap_peak_bytes: m::peak_heap_bytes(),
        linear_memory_bytes: m::linear_memory_bytes(),
    })
}

/// The recipe search (`search::Search`, the code `tinyopt search` runs), one candidate
/// per call so the worker can show progress and stop between them.
#[wasm_bindgen]
impl Playground {
    /// Begins a search over recipes of the loaded model: passing means a perplexity ratio
    /// of at least `gate` (0.99: the 99 % tier); `objective` is "bytes" or "latency".
    /// Makes the calibration set first (a few seconds).
    #[wasm_bindgen(js_name = searchStart)]
    pub fn search_start(&mut self, gate: f64, objective: &str) -> Result<(), JsError> {
        if !(0.0..=1.0).contains(&gate) {
            return Err(JsError::new(&format!(
                "the gate must be in 0..=1, not {gate}"
            )));
        }
        let objective = crate::search::Objective::parse(objective).map_err(err)?;
        let mut base = self.base.clone();
        base.kernel = self.model.kernel;
        self.search = Some(crate::search::Search::new(base, gate, objective).map_err(err)?);
        Ok(())
    }

    /// Measures the next candidate: `{candidate (null when the procedure has ended),
    /// done, phase (of the next step), tried, best}`.
    #[wasm_bindgen(js_name = searchStep)]
    pub fn search_step(&mut self) -> Result<JsValue, JsError> {
        let s = self
            .search
            .as_mut()
            .ok_or_else(|| JsError::new("no search in progress: call searchStart first"))?;
        let c = s.step().map_err(err)?;
        to_js(&serde_json::json!({
            "candidate": c,
            "done": s.done(),
            "phase": s.phase_name(),
            "tried": s.tried.len(),
            "best": s.best(),
        }))
    }

    /// `{objectives, tiers}`: the search's choices (objectives; the suite's gate tiers
    /// as `[name, min ratio]`), for the page's controls.
    #[wasm_bindgen(js_name = searchOptions)]
    pub fn search_options() -> Result<JsValue, JsError> {
        to_js(&serde_json::json!({
            "objectives": crate::search::Objective::NAMES,
            "tiers": crate::benchmark::suite::TIERS,
        }))
    }
}

fn no_draft() -> JsError {
    JsError::new("the recipe names a draft model but none is loaded: call setDraft(bytes) with models/student-distilled.safetensors first")
}

/// Speculative decoding: the draft model, the last run's figures, and the K sweep.
#[wasm_bindgen]
impl Playground {
    /// Loads the draft model (the shipped student's bytes); a recipe with `draft` then runs it.
    #[wasm_bindgen(js_name = setDraft)]
    pub fn set_draft(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        if crate::benchmark::suite::sha256_hex(bytes) != crate::model::speculative::STUDENT_SHA256 {
            return Err(JsError::new(
                "the draft must be the shipped student (models/student-distilled.safetensors): its sha256 differs",
            ));
        }
        let mut d = io::load(bytes).map_err(err)?;
        crate::model::speculative::check_pair(&self.base, &d, 1).map_err(err)?;
        d.kernel = self.model.kernel;
        self.draft = Some(d);
        Ok(())
    }

    /// The current run's speculative figures `{draft_tokens, rounds, proposed, accepted,
    /// proposed_at, accepted_at, prefill_ms, draft_ms, verify_ms, tokens}`, or `null`
    /// when it runs without a draft.
    #[wasm_bindgen(js_name = specStats)]
    pub fn spec_stats(&self) -> Result<JsValue, JsError> {
        match &self.gen {
            Some(Gen::Spec(g)) => to_js(&g.stats),
            _ => Ok(JsValue::NULL),
        }
    }

    /// Begins a K sweep of the running model with the draft: `ks` (each 1..=8), `rounds`
    /// alternating rounds of greedy `tokens`-token generations from `prompt`.
    #[wasm_bindgen(js_name = specSweepStart)]
    pub fn spec_sweep_start(
        &mut self,
        prompt: &str,
        tokens: usize,
        ks: Vec<usize>,
        rounds: usize,
    ) -> Result<(), JsError> {
        if self.draft.is_none() {
            return Err(no_draft());
        }
        crate::model::speculative::verify_is_exact(self.model.kernel).map_err(err)?;
        let opts = GenOptions::greedy(tokens);
        self.sweep = Some(SpecSweep::new(prompt, opts, &ks, rounds).map_err(err)?);
        Ok(())
    }

    /// Runs the sweep's next generation; returns `{k, done, progress, total}`.
    #[wasm_bindgen(js_name = specSweepStep)]
    pub fn spec_sweep_step(&mut self) -> Result<JsValue, JsError> {
        let (Some(sw), Some(d)) = (self.sweep.as_mut(), self.draft.as_ref()) else {
            return Err(JsError::new(
                "no sweep in progress: call specSweepStart() first",
            ));
        };
        let k = sw.step(&self.model, d).map_err(err)?;
        let (i, n) = sw.progress();
        #[derive(Serialize)]
        struct Progress {
            k: usize,
            done: bool,
            progress: usize,
            total: usize,
        }
        to_js(&Progress {
            k,
            done: sw.done(),
            progress: i,
            total: n,
        })
    }

    /// The sweep's figures so far (`spec_sweep::SweepReport`).
    #[wasm_bindgen(js_name = specSweepReport)]
    pub fn spec_sweep_report(&self) -> Result<JsValue, JsError> {
        let sw = self
            .sweep
            .as_ref()
            .ok_or_else(|| JsError::new("no sweep: call specSweepStart() first"))?;
        to_js(&sw.report())
    }
}

/// Data-free recovery of a pruned model in the page (`train::recover`, the code
/// `tinyopt recover` runs): built from the teacher's file bytes, then driven in slices
/// by the worker — `sample` until it returns false, then `steps` — so Stop and
/// progress happen between calls.
#[wasm_bindgen]
pub struct Recoverer {
    setup: Option<crate::train::recover::Setup>,
    rec: Option<crate::train::recover::Recovery>,
}

#[wasm_bindgen]
impl Recoverer {
    /// `opts`: `{prune: {kind, ratio}, steps, batch, lr, warmup, samples, seed,
    /// temperature, alpha}` (missing fields take `tinyopt recover`'s defaults).
    #[wasm_bindgen(constructor)]
    pub fn new(teacher_bytes: &[u8], opts: JsValue) -> Result<Recoverer, JsError> {
        let o: crate::train::recover::RecoverOptions = serde_wasm_bindgen::from_value(opts)
            .map_err(|e| JsError::new(&format!("bad recovery options: {e}")))?;
        let teacher = io::load(teacher_bytes).map_err(err)?;
        let setup = crate::train::recover::Recovery::begin(&teacher, o).map_err(err)?;
        Ok(Recoverer {
            setup: Some(setup),
            rec: None,
        })
    }

    /// `{defaults, kinds}`: the recovery's default options and the prune kinds it
    /// can recover from, for the page's controls.
    pub fn defaults() -> Result<JsValue, JsError> {
        let kinds: Vec<&str> = PruneKind::NAMES
            .iter()
            .copied()
            .filter(|k| *k != PruneKind::None.name())
            .collect();
        to_js(&serde_json::json!({
            "defaults": crate::train::recover::RecoverOptions::default(),
            "kinds": kinds,
        }))
    }

    /// Draws up to `n` teacher samples; returns `{done, total, ready}` (`ready`: the
    /// trainer is built and `steps` may run).
    pub fn sample(&mut self, n: usize) -> Result<JsValue, JsError> {
        let Some(setup) = self.setup.as_mut() else {
            return to_js(&serde_json::json!({"ready": true}));
        };
        for _ in 0..n {
            if !setup.sample_one().map_err(err)? {
                break;
            }
        }
        let (done, total) = setup.progress();
        if done >= total {
            let s = self.setup.take().expect("the setup is there");
            self.rec = Some(s.finish().map_err(err)?);
        }
        to_js(&serde_json::json!({"done": done, "total": total, "ready": self.rec.is_some()}))
    }

    fn rec(&mut self) -> Result<&mut crate::train::recover::Recovery, JsError> {
        self.rec
            .as_mut()
            .ok_or_else(|| JsError::new("draw the teacher's samples first (sample)"))
    }

    /// Up to `n` steps (fewer at the end); each `{step, loss, kl, xent, lr, ms}`.
    pub fn steps(&mut self, n: usize) -> Result<JsValue, JsError> {
        let rec = self.rec()?;
        let mut out = Vec::new();
        for _ in 0..n {
            if rec.done() {
                break;
            }
            let t0 = clock::now_ms();
            let s = rec.step().map_err(err)?;
            out.push(
                serde_json::json!({"step": s.step, "loss": s.loss, "kl": s.kl,
                "xent": s.xent, "lr": s.lr, "ms": clock::now_ms() - t0}),
            );
        }
        to_js(&out)
    }

    /// Fits the schedule to `budget_ms` of training after `fitAfter()` steps took
    /// `elapsed_ms` (`Recovery::fit_to_budget`); returns the schedule's new length.
    #[wasm_bindgen(js_name = fitBudget)]
    pub fn fit_budget(&mut self, elapsed_ms: f64, budget_ms: f64) -> Result<usize, JsError> {
        self.rec()?
            .fit_to_budget(elapsed_ms, budget_ms)
            .map_err(err)
    }

    /// Steps to time before `fitBudget` (the warmup, at least one).
    #[wasm_bindgen(js_name = fitAfter)]
    pub fn fit_after(&mut self) -> Result<usize, JsError> {
        Ok(self.rec()?.fit_after())
    }

    /// `{before, now, unpruned, sparsity, frozen, steps_done, steps_total, weights_sha256}`: top-1,
    /// KL and perplexity against the teacher on the fixed evaluation set.
    pub fn quality(&mut self) -> Result<JsValue, JsError> {
        let rec = self.rec()?;
        let model = rec.model().map_err(err)?;
        to_js(&serde_json::json!({
            "before": rec.quality(rec.pruned()).map_err(err)?,
            "now": rec.quality(&model).map_err(err)?,
            "unpruned": rec.quality(rec.teacher()).map_err(err)?,
            "sparsity": rec.stats.sparsity,
            "frozen": rec.trainer.frozen_count(),
            "steps_done": rec.trainer.step_count(),
            "steps_total": rec.opts.steps,
            "weights_sha256": rec.weights_sha256(),
        }))
    }

    /// The recovered model as a safetensors file (loads as any model does).
    #[wasm_bindgen(js_name = modelBytes)]
    pub fn model_bytes(&mut self) -> Result<Vec<u8>, JsError> {
        let rec = self.rec()?;
        io::save(&rec.model().map_err(err)?).map_err(err)
    }
}
