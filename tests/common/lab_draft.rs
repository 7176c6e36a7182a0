//! One lab-report draft both faces seal: the native test and the wasm test build it
//! from figures each computed itself on `recipe_canon::tiny()` and must get the same
//! seal (`PINNED_SHA256`), so a report made in the page verifies natively.

use tinyopt::lab_report::LabReport;
use tinyopt::recipe::Recipe;

/// The recipe the draft's quality figures were measured on.
pub const QUERY: &str = "precision=int8";

/// The seal of `draft(..)` with the figures computed on the tiny model and the model
/// hash blanked (`pinned_hash`): pinned once from the native build, the browser must
/// reproduce it. The model hash is left out because a saved file's bytes are not
/// reproducible (safetensors writes its metadata map in hash order).
pub const PINNED_SHA256: &str = "4e69366ecf0541706f3223de11384498dda5d3c2f121ecaf2c856cf627d2149b";

/// The seal `report` would have with `model_sha256` empty.
pub fn pinned_hash(report: &LabReport) -> String {
    let mut r = report.clone();
    r.model_sha256 = String::new();
    r.compute_hash()
}

/// A one-step report: a numeric prediction, three deterministic figures of `QUERY`
/// (given), one measured speed, and a checkpoint. The recipe id is left to the sealer.
pub fn draft(kld: f64, top1: f64, weight_bytes: usize) -> String {
    let recipe = serde_json::to_value(Recipe::parse(QUERY).unwrap()).unwrap();
    let fig = |name: &str, v: f64| {
        serde_json::json!({"name": name, "label": name, "unit": "", "median": v, "min": v,
            "max": v, "n": 1, "recipe": recipe, "recipe_id": null})
    };
    serde_json::json!({
        "course": "seed",
        "lessons": ["quantization"],
        "student": "<b>ada</b> | lovelace",
        "timestamp": 1_764_640_000u64,
        "env": {
            "browser": "Chrome 131", "engine_build": "wasm simd128",
            "build_why": "this browser has no relaxed SIMD", "cross_origin_isolated": true,
            "isolated_by": "server", "timer_ms": 0.005, "threads": 2,
            "features": {"sharedMemory": true}
        },
        "model": "tiny",
        "model_sha256": "the page's value is ignored",
        "steps": [{
            "lesson": "quantization",
            "step": "int8-quality",
            "question": "How much does int8 cost in KL?",
            "prediction": {"kind": "number", "value": "0.01", "number": 0.01, "unit": "nats",
                "clamped": false},
            "figures": [
                fig("kld", kld),
                fig("top1_agreement", top1),
                fig("weight_bytes", weight_bytes as f64),
                {"name": "tokens_per_s", "label": "decode tokens/s", "unit": "tokens/s",
                 "median": 1234.5, "min": 1100.0, "max": 1300.0, "n": 5,
                 "recipe": recipe, "recipe_id": null}
            ],
            "checkpoint": {"question": "Which costs more?", "answer": "int4", "correct": true},
            "completed": 1_764_640_100u64
        }]
    })
    .to_string()
}
