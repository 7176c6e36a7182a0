//! A bit-exact fingerprint of a seeded run with the default (`simd`) kernel, shared by
//! the native and the browser tests: equal fingerprints mean equal logits, bit for bit.

use tinyopt::model::{sampler::argmax, Gpt, KvCache, Logits, Scratch};

/// Seeded by `GOLDEN_SEED`: a prefill (the matmul tiles) then greedy decode steps
/// (the matvec tiles); FNV-1a over every logit's bits.
pub fn fingerprint(model: &Gpt) -> u64 {
    let mut kv = KvCache::new(&model.cfg);
    let mut s = Scratch::new(&model.cfg);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |xs: &[f32]| {
        for x in xs {
            h = (h ^ x.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    let prompt = model.tokenizer.encode("To be, or not to be").unwrap();
    let v = model.cfg.vocab;
    model
        .forward(&prompt, &mut kv, &mut s, Logits::All)
        .unwrap();
    eat(&s.logits[..prompt.len() * v]);
    let mut tok = argmax(&s.logits[(prompt.len() - 1) * v..prompt.len() * v]) as u32;
    for _ in 0..24 {
        let logits = model
            .forward(&[tok], &mut kv, &mut s, Logits::Last)
            .unwrap();
        eat(logits);
        tok = argmax(logits) as u32;
    }
    h
}

pub const GOLDEN_SEED: u64 = 11;
