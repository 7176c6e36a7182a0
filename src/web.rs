//! The only wasm-bindgen surface: an opaque `Playground` handle over the core.
//! Small objects cross as plain JS objects (serde-wasm-bindgen), bulk data as bytes,
//! errors as `JsError` with the core's message.

use crate::clock;
use crate::model::{io, GenOptions, Generator, Gpt};
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

/// A model plus at most one generation in progress.
#[wasm_bindgen]
pub struct Playground {
    model: Gpt,
    gen: Option<Generator>,
}

#[wasm_bindgen]
impl Playground {
    /// A seeded, randomly initialised model of the default config.
    #[wasm_bindgen(js_name = randomInit)]
    pub fn random_init(seed: u32) -> Playground {
        Playground {
            model: Gpt::default_random(seed as u64),
            gen: None,
        }
    }

    /// Loads a safetensors model file.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Playground, JsError> {
        Ok(Playground {
            model: io::load(bytes).map_err(err)?,
            gen: None,
        })
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
}
