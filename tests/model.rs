//! Native tests of the model's behaviour: caching, determinism, context limits.

use tinyopt::model::{io, Config, GenOptions, Generator, Gpt, KvCache, Logits, Scratch, Tokenizer};
use tinyopt::Error;

fn small(seed: u64) -> Gpt {
    let cfg = Config {
        vocab: 65,
        ctx: 48,
        n_layer: 2,
        n_head: 4,
        d_model: 32,
    };
    let tok = Tokenizer::new(tinyopt::model::tokenizer::DEFAULT_VOCAB).unwrap();
    // Larger-than-default weights so attention is far from uniform and bugs show.
    let mut m = Gpt::random(cfg, tok, seed).unwrap();
    let mut named: std::collections::HashMap<_, _> = m
        .named_tensors()
        .into_iter()
        .map(|(n, s, v)| {
            let v = if n.ends_with(".g") {
                v
            } else {
                v.iter().map(|x| x * 20.0).collect()
            };
            (n, (s, v))
        })
        .collect();
    named.shrink_to_fit();
    m = Gpt::from_named(cfg, m.tokenizer.clone(), named).unwrap();
    m
}

#[test]
fn cached_and_uncached_logits_agree_at_every_position() {
    let m = small(1);
    let text = "ROMEO:\nBut soft, what light through yonder window breaks?";
    let toks = m.tokenizer.encode(&text[..m.cfg.ctx]).unwrap();
    let v = m.cfg.vocab;

    // Cached: one token at a time.
    let mut kv = KvCache::new(&m.cfg);
    let mut s = Scratch::new(&m.cfg);
    let mut cached = Vec::new();
    for &t in &toks {
        cached.push(
            m.forward(&[t], &mut kv, &mut s, Logits::Last)
                .unwrap()
                .to_vec(),
        );
    }
    // Uncached: the whole prefix from scratch, for every position.
    let mut spread = 0.0f32;
    for p in 0..toks.len() {
        let mut kv = KvCache::new(&m.cfg);
        let full = m
            .forward(&toks[..=p], &mut kv, &mut s, Logits::Last)
            .unwrap();
        for i in 0..v {
            assert!(
                (full[i] - cached[p][i]).abs() <= 1e-4,
                "position {p}, logit {i}: uncached {} vs cached {}",
                full[i],
                cached[p][i]
            );
        }
        spread = spread.max(cached[p].iter().fold(0.0f32, |a, &x| a.max(x.abs())));
    }
    assert!(
        spread > 1e-2,
        "logits are all ~0: the test would prove nothing"
    );

    // All-positions prefill matches the step-by-step logits too.
    let mut kv = KvCache::new(&m.cfg);
    m.forward(&toks, &mut kv, &mut s, Logits::All).unwrap();
    for (p, want) in cached.iter().enumerate() {
        for (got, want) in s.logits[p * v..(p + 1) * v].iter().zip(want) {
            assert!((got - want).abs() <= 1e-4, "position {p}: {got} vs {want}");
        }
    }
}

fn generate(m: &Gpt, prompt: &str, opts: GenOptions) -> String {
    let mut g = Generator::new(m, prompt, opts).unwrap();
    let mut out = String::new();
    while let Some(s) = g.step(m).unwrap() {
        out.push(s.text);
    }
    out
}

#[test]
fn same_seed_same_text_and_cache_does_not_change_it() {
    let m = small(2);
    let opts = GenOptions {
        max_new_tokens: 30,
        temperature: 1.0,
        top_k: 0,
        seed: 9,
        kv_cache: true,
    };
    let a = generate(&m, "KING:", opts);
    let b = generate(&m, "KING:", opts);
    assert_eq!(a, b);
    assert_eq!(a.chars().count(), 30);
    let c = generate(
        &m,
        "KING:",
        GenOptions {
            kv_cache: false,
            ..opts
        },
    );
    assert_eq!(a, c, "cache on and off must sample the same text");
    let d = generate(&m, "KING:", GenOptions { seed: 10, ..opts });
    assert_ne!(a, d, "a different seed should give different text");
}

#[test]
fn context_limit_stops_generation_with_a_reason() {
    let m = small(3);
    let ctx = m.cfg.ctx;
    let opts = GenOptions {
        max_new_tokens: 1000,
        temperature: 0.0,
        ..GenOptions::default()
    };
    let mut g = Generator::new(&m, "AB", opts).unwrap();
    let mut n = 0;
    while g.step(&m).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, ctx - 2, "fills the window exactly");
    assert_eq!(g.stop, Some(tinyopt::model::StopReason::ContextFull));
    assert!(g.stop.unwrap().message(ctx).contains("context window"));

    // A prompt that leaves no room is a clear error, not a panic.
    let long = "a".repeat(ctx);
    let e = Generator::new(&m, &long, opts).err().unwrap().to_string();
    assert!(e.contains("at most 47"), "{e}");

    // Feeding past the window through the raw forward is an error too.
    let mut kv = KvCache::new(&m.cfg);
    let mut s = Scratch::new(&m.cfg);
    let toks = vec![1u32; ctx + 1];
    assert_eq!(
        m.forward(&toks, &mut kv, &mut s, Logits::Last).unwrap_err(),
        Error::ContextFull {
            ctx,
            needed: ctx + 1
        }
    );
}

#[test]
fn unknown_prompt_characters_are_named_in_the_error() {
    let m = small(4);
    let e = Generator::new(&m, "Hello <wörld>", GenOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'<'") && e.contains("'ö'"), "{e}");
    // The empty prompt is documented to start from a newline.
    assert!(Generator::new(&m, "", GenOptions::default()).is_ok());
}

/// A fixed generation, checked in as text. The browser test (`tests/web.rs`) checks
/// the same fixture, so a seed gives the same text natively and in Chromium.
/// Regenerate after an intended numerics change with `TINYOPT_BLESS=1 cargo test golden`.
#[test]
fn golden_generation_matches_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cfg: Config = serde_json::from_value(fixture["config"].clone()).unwrap();
    let tok = Tokenizer::new(tinyopt::model::tokenizer::DEFAULT_VOCAB).unwrap();
    let m = Gpt::random(cfg, tok, fixture["init_seed"].as_u64().unwrap()).unwrap();
    let opts: GenOptions = serde_json::from_value(fixture["options"].clone()).unwrap();
    let text = generate(&m, fixture["prompt"].as_str().unwrap(), opts);
    if std::env::var("TINYOPT_BLESS").is_ok() {
        let mut f = fixture.clone();
        f["text"] = text.clone().into();
        std::fs::write(path, serde_json::to_string_pretty(&f).unwrap() + "\n").unwrap();
    }
    assert_eq!(text, fixture["text"].as_str().unwrap());
}

#[test]
fn saved_model_generates_like_the_original() {
    let m = small(5);
    let back = io::load(&io::save(&m).unwrap()).unwrap();
    let opts = GenOptions {
        max_new_tokens: 20,
        ..GenOptions::default()
    };
    assert_eq!(generate(&m, "A", opts), generate(&back, "A", opts));
}
