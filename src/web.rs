//! The only wasm-bindgen surface: an opaque `Playground` handle over the core.
//! Small objects cross as plain JS objects (serde-wasm-bindgen), bulk data as bytes,
//! errors as `JsError` with the core's message.

use crate::clock;
use crate::model::{io, GenOptions, Generator, Gpt};
use crate::quality::{self, CALIB_SEED, EVAL_LEN, EVAL_SEED, EVAL_SEQS};
use crate::quant::{self, ActCalib, QuantConfig};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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

/// A model plus at most one generation in progress. `base` is the model as loaded;
/// `model` is what runs (the base transformed by the current recipe).
#[wasm_bindgen]
pub struct Playground {
    base: Gpt,
    model: Gpt,
    gen: Option<Generator>,
    /// Fixed evaluation sequences sampled from `base`, made on first use.
    eval: Option<Vec<Vec<u32>>>,
    /// Activation statistics of `base` for static calibration, made on first use.
    calib: Option<crate::model::gpt::ActObserver>,
}

impl Playground {
    fn new(model: Gpt) -> Playground {
        Playground {
            base: model.clone(),
            model,
            gen: None,
            eval: None,
            calib: None,
        }
    }

    fn eval_set(&mut self) -> Result<Vec<Vec<u32>>, JsError> {
        if self.eval.is_none() {
            self.eval =
                Some(quality::eval_set(&self.base, EVAL_SEQS, EVAL_LEN, EVAL_SEED).map_err(err)?);
        }
        Ok(self.eval.clone().expect("set above"))
    }

    fn calibration(&mut self) -> Result<crate::model::gpt::ActObserver, JsError> {
        if self.calib.is_none() {
            let seqs =
                quality::eval_set(&self.base, EVAL_SEQS, EVAL_LEN, CALIB_SEED).map_err(err)?;
            self.calib = Some(quality::calibrate(&self.base, &seqs).map_err(err)?);
        }
        Ok(self.calib.clone().expect("set above"))
    }
}

#[derive(Serialize)]
struct QuantReport {
    precision: &'static str,
    weight_bytes: usize,
    base_weight_bytes: usize,
    kld: f64,
    top1_agreement: f64,
    positions: usize,
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
        Playground::new(Gpt::default_random(seed as u64))
    }

    /// Loads a safetensors model file.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Playground, JsError> {
        Ok(Playground::new(io::load(bytes).map_err(err)?))
    }

    /// `{config, n_params, weight_bytes, vocab, kernel, meta}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ModelInfo {
            config: &self.model.cfg,
            n_params: self.model.cfg.n_params(),
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
        let g = Generator::new(&self.model, prompt, opts).map_err(err)?;
        let started = Started {
            prompt_tokens: g.prompt_len(),
            kv_cache_bytes: g.kv_cache_bytes(),
            scratch_bytes: g.scratch_bytes(),
            weight_bytes: self.model.weight_bytes(),
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
        match g.step(&self.model).map_err(err)? {
            Some(s) => to_js(&s),
            None => Ok(JsValue::NULL),
        }
    }

    /// Why the current generation stopped (`""` while it runs).
    #[wasm_bindgen(js_name = stopMessage)]
    pub fn stop_message(&self) -> String {
        self.gen
            .as_ref()
            .and_then(|g| g.stop)
            .map(|r| r.message(self.model.cfg.ctx))
            .unwrap_or_default()
    }

    /// Whether the run ended because the context window filled up.
    #[wasm_bindgen(js_name = contextFull)]
    pub fn context_full(&self) -> bool {
        matches!(
            self.gen.as_ref().and_then(|g| g.stop),
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

    /// Rebuilds the running model from the loaded one at a precision. `cfg`:
    /// `{precision, group_size, clip, act, percentile, quantize_ends}` (kebab-case
    /// names, as the CLI). Returns `{precision, weight_bytes, base_weight_bytes, kld,
    /// top1_agreement, positions, ms}`, quality measured against the loaded model.
    #[wasm_bindgen(js_name = setPrecision)]
    pub fn set_precision(&mut self, cfg: JsValue) -> Result<JsValue, JsError> {
        let qc: QuantConfig = serde_wasm_bindgen::from_value(cfg)
            .map_err(|e| JsError::new(&format!("bad precision settings: {e}")))?;
        qc.validate().map_err(err)?;
        let t0 = clock::now_ms();
        let calib = if qc.precision.quantizes_activations() && qc.act != ActCalib::Dynamic {
            Some(self.calibration()?)
        } else {
            None
        };
        let kernel = self.model.kernel;
        let mut m = quant::quantize_model(&self.base, &qc, calib.as_ref(), None).map_err(err)?;
        m.kernel = kernel;
        let seqs = self.eval_set()?;
        let agree = quality::compare(&self.base, &m, &seqs).map_err(err)?;
        self.model = m;
        self.gen = None;
        to_js(&QuantReport {
            precision: qc.precision.name(),
            weight_bytes: self.model.weight_bytes(),
            base_weight_bytes: self.base.weight_bytes(),
            kld: agree.kld,
            top1_agreement: agree.top1_agreement,
            positions: agree.positions,
            ms: clock::now_ms() - t0,
        })
    }

    /// Per-matrix sensitivity: quantizes one matrix at a time with `cfg` and returns
    /// `[{matrix, kld, top1_agreement}]`.
    pub fn sensitivity(&mut self, cfg: JsValue) -> Result<JsValue, JsError> {
        let qc: QuantConfig = serde_wasm_bindgen::from_value(cfg)
            .map_err(|e| JsError::new(&format!("bad precision settings: {e}")))?;
        let calib = if qc.precision.quantizes_activations() && qc.act != ActCalib::Dynamic {
            Some(self.calibration()?)
        } else {
            None
        };
        let seqs = self.eval_set()?;
        to_js(&quality::sensitivity(&self.base, &qc, calib.as_ref(), &seqs).map_err(err)?)
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

    /// Names of the weight matrices, for pickers.
    #[wasm_bindgen(js_name = matrixNames)]
    pub fn matrix_names(&self) -> Vec<String> {
        quant::matrix_names(self.base.cfg.n_layer)
    }

    /// Shape and format of a matrix of the running model.
    #[wasm_bindgen(js_name = matrixInfo)]
    pub fn matrix_info(&mut self, name: &str) -> Result<JsValue, JsError> {
        let m = quant::matrix_mut(&mut self.model, name)
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
        let m = quant::matrix_mut(src, name)
            .ok_or_else(|| JsError::new(&format!("no matrix {name:?}")))?;
        Ok(m.to_f32())
    }

    /// The running model as a safetensors file (quantized tensors kept packed).
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> Result<Vec<u8>, JsError> {
        io::save(&self.model).map_err(err)
    }
}
