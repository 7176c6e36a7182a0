//! The KV cache: keys and values of every past position, preallocated once, stored at
//! the recipe's `KvPrecision` (f32, f16, or int8 codes with one f16 scale per position
//! and head). The cache packs each position as it is written; attention reads the
//! packed storage directly (`KvLayer`, the kernels in `attention`), never an f32 copy.

use super::attention;
use super::config::Config;
use half::f16;

crate::choice_enum! {
    /// How the KV cache stores keys and values.
    pub enum KvPrecision ("kv precision") {
        /// 4 bytes an element: exact.
        F32 = "f32",
        /// 2 bytes an element, round to nearest even (saturating at ±65504).
        F16 = "f16",
        /// 1 byte an element, symmetric per position and head: scale = max|x| / 127
        /// rounded to f16 (2 bytes per position and head), codes against that scale.
        Int8 = "int8",
    }
}

impl KvPrecision {
    /// Whether this is the default (so recipes without a packed cache keep their ids).
    pub fn is_f32(&self) -> bool {
        *self == KvPrecision::F32
    }
}

/// The packed keys and values of every layer. Keys are transposed per layer,
/// (d_model, ctx), so scores run along positions; values are (ctx, d_model).
#[derive(Clone, Debug)]
enum Store {
    F32 {
        k: Vec<f32>, // (n_layer, d_model, ctx)
        v: Vec<f32>, // (n_layer, ctx, d_model)
    },
    F16 {
        k: Vec<f16>, // (n_layer, d_model, ctx)
        v: Vec<f16>, // (n_layer, ctx, d_model)
    },
    Int8 {
        k: Vec<i8>,   // (n_layer, d_model, ctx)
        v: Vec<i8>,   // (n_layer, ctx, d_model)
        ks: Vec<f16>, // (n_layer, n_head, ctx) key scale per position and head
        vs: Vec<f16>, // (n_layer, n_head, ctx) value scale per position and head
    },
}

/// Cached keys and values for one sequence.
#[derive(Clone, Debug)]
pub struct KvCache {
    store: Store,
    /// Positions filled so far.
    pub len: usize,
    ctx: usize,
    d: usize,
    n_head: usize,
}

impl KvCache {
    /// An f32 cache (the reference).
    pub fn new(cfg: &Config) -> KvCache {
        KvCache::with_precision(cfg, KvPrecision::F32)
    }

    pub fn with_precision(cfg: &Config, p: KvPrecision) -> KvCache {
        let n = cfg.n_layer * cfg.ctx * cfg.d_model;
        let ns = cfg.n_layer * cfg.n_head * cfg.ctx;
        let store = match p {
            KvPrecision::F32 => Store::F32 {
                k: vec![0.0; n],
                v: vec![0.0; n],
            },
            KvPrecision::F16 => Store::F16 {
                k: vec![f16::ZERO; n],
                v: vec![f16::ZERO; n],
            },
            KvPrecision::Int8 => Store::Int8 {
                k: vec![0; n],
                v: vec![0; n],
                ks: vec![f16::ONE; ns],
                vs: vec![f16::ONE; ns],
            },
        };
        KvCache {
            store,
            len: 0,
            ctx: cfg.ctx,
            d: cfg.d_model,
            n_head: cfg.n_head,
        }
    }

    pub fn precision(&self) -> KvPrecision {
        match self.store {
            Store::F32 { .. } => KvPrecision::F32,
            Store::F16 { .. } => KvPrecision::F16,
            Store::Int8 { .. } => KvPrecision::Int8,
        }
    }

    /// Forget the sequence; the memory stays allocated.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Rolls the sequence back to its first `len` positions (speculative decoding drops
    /// the rejected draft tokens this way). Later entries stay in memory but are never
    /// read: attention only reads positions below the query's own.
    pub fn truncate(&mut self, len: usize) {
        assert!(
            len <= self.len,
            "kv cache: truncate to {len} beyond {}",
            self.len
        );
        self.len = len;
    }

    pub fn capacity(&self) -> usize {
        self.ctx
    }

    /// Bytes held by the cache (keys + values + scales), as allocated for the context.
    pub fn bytes(&self) -> usize {
        let sz = |n: usize, b: usize| n * b;
        match &self.store {
            Store::F32 { k, v } => sz(k.len() + v.len(), 4),
            Store::F16 { k, v } => sz(k.len() + v.len(), 2),
            Store::Int8 { k, v, ks, vs } => sz(k.len() + v.len(), 1) + sz(ks.len() + vs.len(), 2),
        }
    }

    /// Bytes of the filled positions: what a cache grown as the sequence grows would
    /// hold now (`bytes()` is the preallocated whole; this is its `len / ctx` part).
    pub fn bytes_used(&self) -> usize {
        self.bytes() / self.ctx * self.len
    }

    /// Stores position `p` of layer `l`: `k` and `v` (dq) are the first dq columns
    /// (whole heads) of that position's keys and values.
    pub fn write(&mut self, l: usize, p: usize, k: &[f32], v: &[f32]) {
        let (ctx, d, nh) = (self.ctx, self.d, self.n_head);
        let dq = k.len();
        assert!(p < ctx && dq == v.len() && dq <= d, "kv cache: bad write");
        let (kl, vl) = (l * d * ctx, l * ctx * d + p * d);
        match &mut self.store {
            Store::F32 { k: kc, v: vc } => {
                for (c, &x) in k.iter().enumerate() {
                    kc[kl + c * ctx + p] = x;
                }
                vc[vl..vl + dq].copy_from_slice(v);
            }
            Store::F16 { k: kc, v: vc } => {
                for (c, &x) in k.iter().enumerate() {
                    kc[kl + c * ctx + p] = to_f16(x);
                }
                for (o, &x) in vc[vl..vl + dq].iter_mut().zip(v) {
                    *o = to_f16(x);
                }
            }
            Store::Int8 {
                k: kc,
                v: vc,
                ks,
                vs,
            } => {
                let hd = d / nh;
                let mut buf = [0i8; 256]; // a head's key codes (most heads fit)
                let mut heap = Vec::new();
                let codes = if hd <= buf.len() {
                    &mut buf[..hd]
                } else {
                    heap.resize(hd, 0);
                    &mut heap[..]
                };
                for h in 0..dq / hd {
                    let si = (l * nh + h) * ctx + p;
                    ks[si] = quantize(&k[h * hd..(h + 1) * hd], codes);
                    for (c, &q) in codes.iter().enumerate() {
                        kc[kl + (h * hd + c) * ctx + p] = q;
                    }
                    vs[si] = quantize(
                        &v[h * hd..(h + 1) * hd],
                        &mut vc[vl + h * hd..vl + (h + 1) * hd],
                    );
                }
            }
        }
    }

    /// Layer `l` of the cache, for attention to read.
    pub fn layer(&self, l: usize) -> KvLayer<'_> {
        KvLayer { c: self, l }
    }
}

/// f32 → f16, round to nearest even, saturating instead of overflowing to infinity.
fn to_f16(x: f32) -> f16 {
    f16::from_f32(x.clamp(-65504.0, 65504.0))
}

/// 1.5·2^23: adding it rounds an f32 below 2^22 in magnitude to an integer (to nearest,
/// ties to even) with plain IEEE adds, so the loop vectorises (`f32::round` is a libm
/// call per element on baseline x86-64) and gives the same codes on every target.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Symmetric int8 codes of `x` against the returned f16 scale (max|x| / 127, rounded to
/// f16; codes computed against the stored scale so decoding is code × scale): code =
/// x / scale clamped to ±127, rounded to nearest (ties to even).
fn quantize(x: &[f32], codes: &mut [i8]) -> f16 {
    let m = x.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
    let s = f16::from_f32((m / 127.0).min(65504.0));
    // All zeros, or a range below f16's smallest subnormal: any scale codes it as zeros.
    let s = if s.to_f32() > 0.0 { s } else { f16::ONE };
    let sf = s.to_f32();
    for (c, &v) in codes.iter_mut().zip(x) {
        let y = (v / sf).clamp(-127.0, 127.0);
        *c = ((y + ROUND_MAGIC) - ROUND_MAGIC) as i8;
    }
    s
}

/// One layer of a cache: what attention reads, in the cache's own storage.
#[derive(Clone, Copy)]
pub struct KvLayer<'a> {
    c: &'a KvCache,
    l: usize,
}

impl KvLayer<'_> {
    /// scores (n) of head `h` for query q (hd): scale · q·k_j for j < n.
    pub fn scores(&self, h: usize, q: &[f32], scale: f32, out: &mut [f32]) {
        let (ctx, d, hd) = (self.c.ctx, self.c.d, q.len());
        let k0 = self.l * d * ctx + h * hd * ctx;
        let kr = k0..k0 + hd * ctx;
        match &self.c.store {
            Store::F32 { k, .. } => attention::scores(q, &k[kr], ctx, scale, out),
            Store::F16 { k, .. } => attention::scores_f16(q, &k[kr], ctx, scale, out),
            Store::Int8 { k, ks, .. } => {
                let s0 = (self.l * self.c.n_head + h) * ctx;
                attention::scores_i8(q, &k[kr], &ks[s0..s0 + ctx], ctx, scale, out)
            }
        }
    }

    /// out (hd) of head `h`: Σ_j p[j]·v_j over the positions of p (n).
    pub fn weighted_sum(&self, h: usize, p: &[f32], out: &mut [f32]) {
        let (ctx, d, hd) = (self.c.ctx, self.c.d, out.len());
        let v0 = self.l * ctx * d + h * hd;
        let vr = v0..(self.l + 1) * ctx * d;
        match &self.c.store {
            Store::F32 { v, .. } => attention::weighted_sum(p, &v[vr], d, out),
            Store::F16 { v, .. } => attention::weighted_sum_f16(p, &v[vr], d, out),
            Store::Int8 { v, vs, .. } => {
                let s0 = (self.l * self.c.n_head + h) * ctx;
                attention::weighted_sum_i8(p, &v[vr], &vs[s0..s0 + ctx], d, out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            vocab: 8,
            ctx: 16,
            n_layer: 2,
            n_head: 2,
            d_model: 8,
        }
    }

    #[test]
    fn bytes_are_the_packed_storage() {
        let c = cfg();
        let n = 2 * 16 * 8; // n_layer · ctx · d_model
        assert_eq!(KvCache::new(&c).bytes(), 2 * n * 4);
        assert_eq!(
            KvCache::with_precision(&c, KvPrecision::F16).bytes(),
            2 * n * 2
        );
        // codes, plus an f16 key and value scale per (layer, head, position)
        let i8c = KvCache::with_precision(&c, KvPrecision::Int8);
        assert_eq!(i8c.bytes(), 2 * n + 2 * (2 * 2 * 16) * 2);
        let mut i8c = i8c;
        i8c.len = 4;
        assert_eq!(i8c.bytes_used(), i8c.bytes() / 16 * 4);
    }

    /// What is written reads back through attention as the packed values decode:
    /// scores with a one-hot query pick one key element; weights one-hot pick a value.
    #[test]
    fn packed_writes_read_back_through_attention() {
        let c = cfg();
        let k: Vec<f32> = (0..8).map(|i| (i as f32 - 3.3) * 0.71).collect();
        let v: Vec<f32> = (0..8).map(|i| (i as f32 * 1.7).sin() * 5.0).collect();
        for &p in KvPrecision::ALL {
            let mut kv = KvCache::with_precision(&c, p);
            kv.write(1, 3, &k, &v);
            let tol = match p {
                KvPrecision::F32 => 0.0,
                KvPrecision::F16 => 4e-3,
                KvPrecision::Int8 => 0.5 / 127.0 * 1.01,
            };
            for h in 0..2 {
                let kmax = k[h * 4..h * 4 + 4].iter().fold(0f32, |a, b| a.max(b.abs()));
                let vmax = v[h * 4..h * 4 + 4].iter().fold(0f32, |a, b| a.max(b.abs()));
                for e in 0..4 {
                    let mut q = [0.0f32; 4];
                    q[e] = 1.0;
                    let mut s = [0.0f32; 4];
                    kv.layer(1).scores(h, &q, 1.0, &mut s);
                    let want = k[h * 4 + e];
                    let t = tol
                        * if p == KvPrecision::Int8 {
                            kmax
                        } else {
                            want.abs()
                        };
                    assert!(
                        (s[3] - want).abs() <= t,
                        "{p} k h{h} e{e}: {} vs {want}",
                        s[3]
                    );
                }
                let mut out = [0.0f32; 4];
                kv.layer(1).weighted_sum(h, &[0.0, 0.0, 0.0, 1.0], &mut out);
                for e in 0..4 {
                    let want = v[h * 4 + e];
                    let t = tol
                        * if p == KvPrecision::Int8 {
                            vmax
                        } else {
                            want.abs()
                        };
                    assert!(
                        (out[e] - want).abs() <= t,
                        "{p} v h{h} e{e}: {} vs {want}",
                        out[e]
                    );
                }
            }
        }
    }

    /// The codes are x / scale rounded to nearest, ties to even, within ±127.
    #[test]
    fn int8_codes_round_to_nearest_even() {
        let x = [127.0, 0.5, 1.5, 2.5, -0.5, -1.5, 3.49, -3.51, 0.0, -127.0];
        let mut c = [0i8; 10];
        let s = quantize(&x, &mut c);
        assert_eq!(s.to_f32(), 1.0);
        assert_eq!(c, [127, 0, 2, 2, 0, -2, 3, -4, 0, -127]);
        let mut z = [9i8; 3];
        assert_eq!(quantize(&[0.0; 3], &mut z), f16::ONE);
        assert_eq!(z, [0; 3]);
    }

    #[test]
    fn f16_widening_is_exact_for_every_value() {
        use super::attention::Stored;
        for b in 0..=u16::MAX {
            let h = f16::from_bits(b);
            let (a, want) = (h.get(), h.to_f32());
            assert!(
                a.to_bits() == want.to_bits() || (a.is_nan() && want.is_nan()),
                "{b:#06x}"
            );
        }
    }
}
