//! `cargo bench --bench construct [ROUNDS]`: model construction as the side-by-side peer
//! times it (`Gpt::from_named` on f32 tensors already in memory, then `recipe::build`),
//! for S (4×128) and M (8×512) × f32 / int8-dynamic / int4 g32. The six cells alternate
//! round by round; each prints median [min–max] ms and a fingerprint of the built
//! model, so a faster build that changed a bit shows up here too.

use std::collections::HashMap;
use tinyopt::clock::now_ms;
use tinyopt::model::tokenizer::DEFAULT_VOCAB;
use tinyopt::model::{Config, Gpt, Tokenizer};
use tinyopt::recipe::{build, Recipe};

type Named = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn config(n_layer: usize, d_model: usize) -> Config {
    Config {
        vocab: 65,
        ctx: 256,
        n_layer,
        n_head: n_layer,
        d_model,
    }
}

fn tok() -> Tokenizer {
    Tokenizer::new(DEFAULT_VOCAB).expect("default vocabulary")
}

/// FNV-1a over every tensor of the built model as f32 bits (dequantized), a cheap check
/// that two builds agree bit for bit.
fn fingerprint(m: &Gpt) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (_, _, v) in m.named_tensors() {
        for x in v {
            h = (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let sizes = [("S", config(4, 128)), ("M", config(8, 512))];
    let precisions = ["f32", "int8-dynamic", "int4"];
    let named: Vec<(&str, Config, Named)> = sizes
        .iter()
        .map(|&(s, cfg)| {
            let m = Gpt::random(cfg, tok(), 7).expect("valid config");
            let n = m
                .named_tensors()
                .into_iter()
                .map(|(n, s, v)| (n, (s, v)))
                .collect();
            (s, cfg, n)
        })
        .collect();
    let mut cells: Vec<(String, Vec<f64>, u64)> = Vec::new();
    for round in 0..=rounds {
        let mut i = 0;
        for (size, cfg, n) in &named {
            for p in precisions {
                let r = Recipe::parse(&format!("precision={p}&group-size=32")).expect("recipe");
                let src = n.clone(); // untimed, as in the peer
                let t0 = now_ms();
                let base = Gpt::from_named(*cfg, tok(), src).expect("tensors");
                let (m, _) = build(&base, &r, None).expect("build");
                let ms = now_ms() - t0;
                if round == 0 {
                    cells.push((format!("{size} {p}"), Vec::new(), fingerprint(&m)));
                } else {
                    cells[i].1.push(ms); // round 0 is the warm-up
                }
                i += 1;
            }
        }
    }
    println!("construct = Gpt::from_named + recipe::build, {rounds} rounds, cells alternating");
    for (name, mut v, fp) in cells {
        v.sort_by(f64::total_cmp);
        println!(
            "{name:<16} {:8.2} ms [{:.2}–{:.2}]  fingerprint {fp:016x}",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1]
        );
    }
}
