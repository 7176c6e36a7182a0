//! Speculative decoding in the browser: the shipped student drafting for the shipped
//! teacher prints the teacher's own greedy text for several prompts and K, and a seeded
//! sampled run gives the same tokens as natively (tests/speculative.rs pins none; this
//! checks the face's plumbing and the bits of the verify pass in wasm).
#![cfg(target_arch = "wasm32")]

use serde::Deserialize;
use tinyopt::model::{io, speculative, GenOptions, Generator};
use tinyopt::web::{recipe_from_query, Playground};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TEACHER: &[u8] = include_bytes!("../models/shakespeare-char.safetensors");
const STUDENT: &[u8] = include_bytes!("../models/student-distilled.safetensors");

#[derive(Deserialize)]
struct Step {
    text: String,
}

fn run_page(pg: &mut Playground, prompt: &str, n: usize) -> String {
    let o = GenOptions::greedy(n);
    pg.start(prompt, serde_wasm_bindgen::to_value(&o).unwrap())
        .unwrap();
    let mut out = String::new();
    loop {
        let v = pg.step().unwrap();
        if v.is_null() {
            break;
        }
        let s: Step = serde_wasm_bindgen::from_value(v).unwrap();
        out.push_str(&s.text);
    }
    out
}

#[wasm_bindgen_test]
fn greedy_speculative_text_is_the_teachers_in_the_browser() {
    let teacher = io::load(TEACHER).unwrap();
    let mut pg = Playground::from_bytes(TEACHER).unwrap();
    pg.set_draft(STUDENT).unwrap();
    for prompt in ["ROMEO:", "", "KING HENRY"] {
        let mut g = Generator::new(&teacher, prompt, GenOptions::greedy(70)).unwrap();
        let mut want = String::new();
        while let Some(s) = g.step(&teacher).unwrap() {
            want.push(s.text);
        }
        for k in [1, 4, 8] {
            let r = recipe_from_query(&format!("draft=student&draft-tokens={k}")).unwrap();
            let recipe = js_sys::Reflect::get(&r, &JsValue::from_str("recipe")).unwrap();
            pg.set_recipe(recipe).unwrap();
            assert_eq!(run_page(&mut pg, prompt, 70), want, "{prompt:?} K {k}");
            assert!(!pg.spec_stats().unwrap().is_null());
        }
    }
}

/// The seeded sampled text of a speculative run, as natively: FNV-1a of the tokens.
#[wasm_bindgen_test]
fn sampled_speculative_run_is_deterministic() {
    let teacher = io::load(TEACHER).unwrap();
    let student = io::load(STUDENT).unwrap();
    let o = GenOptions {
        max_new_tokens: 100,
        temperature: 0.8,
        top_k: 0,
        seed: 7,
        kv_cache: true,
    };
    let (a, _) = speculative::generate_text(&teacher, &student, "ROMEO:", o, 4).unwrap();
    let (b, _) = speculative::generate_text(&teacher, &student, "ROMEO:", o, 4).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.chars().count(), 100);
}
