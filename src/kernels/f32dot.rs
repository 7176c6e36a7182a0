//! The `simd` kernel: f32 dot products, matrix-vector and matrix-matrix products, all
//! summed in the one canonical order, so the wasm simd128 and the native paths agree
//! bit for bit.
//!
//! Canonical order of a dot product of length k: eight lanes, lane l accumulating
//! a[8c + l] * b[8c + l] over chunks c = 0, 1, ... (a multiply, then an add: never
//! fused); the lanes reduced as ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)); then the tail
//! k & !7 .. k added in order; then the bias. On wasm the eight lanes are two `v128`
//! accumulators; on x86-64 with AVX one `__m256` (picked at run time), and for prefill
//! with AVX-512 one half of a `__m512` (two tokens per register); elsewhere an
//! `[f32; 8]` that the compiler vectorises.
//!
//! Speed comes from tiling, which never changes that order: each load of x feeds four
//! rows of W (matvec), and each load of W feeds several tokens (matmul). The lanes are
//! independent sums, so they may also be computed in separate passes (wasm prefill: lanes
//! 0..4, then 4..8): only the order along k within a lane is fixed.

/// Dot product in the canonical order.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    imp::dot(a, b)
}

/// y (n) = W x (+ b); W (n, k) row-major, x (k).
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    assert!(w.len() >= y.len() * x.len(), "simd matvec: W is too short");
    if let Some(b) = bias {
        assert!(b.len() >= y.len(), "simd matvec: bias is too short");
    }
    imp::matmul(w, x, bias, y, x.len());
}

/// Y (t, n) = X Wᵀ (+ b); X (t, k), W (n, k); every element in the canonical order.
pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    check_shapes(w, x, bias, y, k);
    imp::matmul(w, x, bias, y, k);
}

/// The shapes `matmul` and `matmul_relaxed` need; panics with what is wrong.
fn check_shapes(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &[f32], k: usize) {
    let (n, t) = (w.len() / k, x.len() / k);
    assert!(
        x.len() == t * k && y.len() == t * n,
        "simd matmul: shapes do not match"
    );
    assert!(
        bias.is_none_or(|b| b.len() >= n),
        "simd matmul: bias is too short"
    );
}

/// `matmul` for the `relaxed` kernel: the same order with each multiply-add allowed to
/// fuse (`f32x4.relaxed_madd`). Only the relaxed-SIMD wasm build fuses; elsewhere this
/// is `matmul` (unfused is one of the results relaxed semantics allow).
pub fn matmul_relaxed(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        check_shapes(w, x, bias, y, k);
        return imp::matmul_with::<true>(w, x, bias, y, k);
    }
    #[allow(unreachable_code)]
    matmul(w, x, bias, y, k)
}

/// The code path `matmul` takes for t tokens of length k on this machine. The
/// dispatch below reads it, and the kernel table prints its name next to the speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `[f32; 8]` lanes the compiler vectorises (SSE2 on baseline x86-64).
    Portable,
    /// x86-64 AVX, 4 rows per load of x (decode and t < 4).
    Avx,
    /// x86-64 AVX prefill: 2 tokens x 6 rows per register tile, X in L2-sized blocks.
    AvxPrefill,
    /// x86-64 AVX-512 prefill: two tokens per zmm, 8 tokens x 4 rows per tile.
    Avx512Prefill,
    /// wasm simd128, 4 rows per load of x (decode and unaligned k).
    Simd128,
    /// wasm simd128 prefill: packed 2 x 4 tiles in two half-lane passes.
    Simd128Packed,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Portable => "portable",
            Path::Avx => "avx",
            Path::AvxPrefill => "avx 2x6 tiles",
            Path::Avx512Prefill => "avx512 8x4 tiles",
            Path::Simd128 => "simd128",
            Path::Simd128Packed => "simd128 packed 2x4",
        }
    }
}

/// See `Path`.
#[allow(unreachable_code)]
pub fn path(t: usize, k: usize) -> Path {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return if t >= 2 && k.is_multiple_of(8) {
        Path::Simd128Packed
    } else {
        Path::Simd128
    };
    #[cfg(target_arch = "x86_64")]
    {
        if t >= avx512::TT
            && k.is_multiple_of(8)
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512dq")
        {
            return Path::Avx512Prefill;
        }
        if std::is_x86_feature_detected!("avx") {
            return if t >= avx::PREFILL_T {
                Path::AvxPrefill
            } else {
                Path::Avx
            };
        }
    }
    Path::Portable
}

/// Walks Y (t, n) in register tiles of `TT` tokens x `TN` rows, with smaller tiles at
/// the edges; `tile::<TT, TN>(r, i)` computes Y[r..r+TT, i..i+TN].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn for_each_tile(
    t: usize,
    n: usize,
    mut tile: impl FnMut(usize, usize, usize, usize), // (r, i, tt, tn)
    tt_max: usize,
    tn_max: usize,
) {
    let mut r = 0;
    while r < t {
        let tt = if t - r >= tt_max { tt_max } else { 1 };
        let mut i = 0;
        while i < n {
            let tn = if n - i >= tn_max { tn_max } else { 1 };
            tile(r, i, tt, tn);
            i += tn;
        }
        r += tt;
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[inline(always)]
    fn reduce(acc: &[f32; 8]) -> f32 {
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let k8 = a.len() & !7;
        let mut acc = [0.0f32; 8];
        for (ca, cb) in a[..k8].chunks_exact(8).zip(b[..k8].chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += ca[l] * cb[l];
            }
        }
        let mut s = reduce(&acc);
        for j in k8..a.len() {
            s += a[j] * b[j];
        }
        s
    }

    /// On x86-64 CPUs with AVX, explicit 8-lane intrinsics (`avx` below); elsewhere the
    /// portable tiles, which the compiler vectorises (SSE2: an 8-lane accumulator is
    /// two registers). AVX adds no fused multiply-add, so both give the canonical bits.
    pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
        use super::Path;
        match super::path(x.len() / k, k) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `path` saw AVX-512 F and DQ (and so AVX); k is whole chunks.
            Path::Avx512Prefill => unsafe { super::avx512::matmul(w, x, bias, y, k) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `path` saw AVX.
            Path::Avx | Path::AvxPrefill => unsafe { super::avx::matmul(w, x, bias, y, k) },
            _ => tiled::<4, 2, 2>(w, x, bias, y, k),
        }
    }

    /// Decode (t = 1) in tiles of `MV` rows sharing each chunk of x; prefill in tiles of
    /// `TT` tokens x `TN` rows sharing each chunk of W and of X.
    #[inline(always)]
    pub(super) fn tiled<const MV: usize, const TT: usize, const TN: usize>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
    ) {
        let t = x.len() / k;
        let n = y.len() / t.max(1);
        let (tt_max, tn_max) = if t == 1 { (1, MV) } else { (TT, TN) };
        let mut r = 0;
        while r < t {
            let full_t = t - r >= tt_max;
            let mut i = 0;
            while i < n {
                let full_n = n - i >= tn_max;
                match (t == 1, full_t, full_n) {
                    (true, _, true) => tile::<1, MV>(w, x, bias, y, k, n, r, i),
                    (false, true, true) => tile::<TT, TN>(w, x, bias, y, k, n, r, i),
                    (false, true, false) => tile::<TT, 1>(w, x, bias, y, k, n, r, i),
                    (false, false, true) => tile::<1, TN>(w, x, bias, y, k, n, r, i),
                    (_, _, false) => tile::<1, 1>(w, x, bias, y, k, n, r, i),
                }
                i += if full_n { tn_max } else { 1 };
            }
            r += if full_t { tt_max } else { 1 };
        }
    }

    /// Y[r..r+A, i..i+B] in the canonical order, one 8-lane accumulator per output.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn tile<const A: usize, const B: usize>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
        n: usize,
        r: usize,
        i: usize,
    ) {
        let k8 = k & !7;
        let xs: [&[f32]; A] = std::array::from_fn(|a| &x[(r + a) * k..(r + a + 1) * k]);
        let ws: [&[f32]; B] = std::array::from_fn(|b| &w[(i + b) * k..(i + b + 1) * k]);
        let mut acc = [[[0.0f32; 8]; B]; A];
        let mut c = 0;
        while c < k8 {
            let xc: [&[f32; 8]; A] =
                std::array::from_fn(|a| xs[a][c..c + 8].try_into().expect("8 lanes"));
            for b in 0..B {
                let wc: &[f32; 8] = ws[b][c..c + 8].try_into().expect("8 lanes");
                for a in 0..A {
                    for l in 0..8 {
                        acc[a][b][l] += wc[l] * xc[a][l];
                    }
                }
            }
            c += 8;
        }
        for a in 0..A {
            for b in 0..B {
                let mut s = reduce(&acc[a][b]);
                for j in k8..k {
                    s += ws[b][j] * xs[a][j];
                }
                y[(r + a) * n + i + b] = match bias {
                    Some(bv) => s + bv[i + b],
                    None => s,
                };
            }
        }
    }
}

/// The x86-64 AVX path: one `__m256` holds the canonical 8 lanes of one dot product.
#[cfg(all(target_arch = "x86_64", not(target_arch = "wasm32")))]
mod avx {
    use std::arch::x86_64::*;

    /// Register tile for prefill: tokens x rows (8 of the 16 ymm registers accumulate).
    const TT: usize = 2;
    const TN: usize = 4;

    /// Prefill register tile: 2 tokens x 6 rows. 12 accumulators, 2 of X, 1 of W and
    /// one product fill the 16 ymm registers exactly; 3 x 4 would spill one every step.
    const PT: usize = 2;
    const PN: usize = 6;
    /// From this many tokens on, `prefill` (`Path::AvxPrefill`).
    pub(super) const PREFILL_T: usize = 2 * PT;

    /// Caller guarantees AVX and the shapes checked in `super::matmul`.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn matmul(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
    ) {
        let t = x.len() / k;
        let n = y.len() / t.max(1);
        if t >= PREFILL_T {
            return prefill(w, x, bias, y, k);
        }
        let mut r = 0;
        while r < t {
            let full_t = t - r >= TT;
            let mut i = 0;
            while i < n {
                let full_n = n - i >= TN;
                match (full_t, full_n) {
                    (true, true) => tile::<TT, TN>(w, x, bias, y, k, n, r, i),
                    (true, false) => tile::<TT, 1>(w, x, bias, y, k, n, r, i),
                    (false, true) => tile::<1, TN>(w, x, bias, y, k, n, r, i),
                    (false, false) => tile::<1, 1>(w, x, bias, y, k, n, r, i),
                }
                i += if full_n { TN } else { 1 };
            }
            r += if full_t { TT } else { 1 };
        }
    }

    /// Prefill: tokens in blocks whose rows of X fill about half of L2 (256 KiB);
    /// within a block, rows outer and token pairs inner, so a tile's six rows of W stay
    /// in L1 while X streams from L2 (not from L3 or DRAM, as a whole-X sweep per row
    /// tile would at the 8 x 512 size). Tiling never touches the order along k.
    #[target_feature(enable = "avx")]
    unsafe fn prefill(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
        let t = x.len() / k;
        let n = y.len() / t;
        let tb = ((65_536 / k) / PT).max(1) * PT;
        let mut r0 = 0;
        while r0 < t {
            let r1 = (r0 + tb).min(t);
            let mut i = 0;
            while i < n {
                let full_n = n - i >= PN;
                let mut r = r0;
                while r < r1 {
                    let full_t = r1 - r >= PT;
                    match (full_t, full_n) {
                        (true, true) => tile::<PT, PN>(w, x, bias, y, k, n, r, i),
                        (false, true) => tile::<1, PN>(w, x, bias, y, k, n, r, i),
                        (true, false) => tile::<PT, 1>(w, x, bias, y, k, n, r, i),
                        (false, false) => tile::<1, 1>(w, x, bias, y, k, n, r, i),
                    }
                    r += if full_t { PT } else { 1 };
                }
                i += if full_n { PN } else { 1 };
            }
            r0 = r1;
        }
    }

    /// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), as everywhere else.
    #[inline(always)]
    unsafe fn reduce(v: __m256) -> f32 {
        let mut l = [0.0f32; 8];
        _mm256_storeu_ps(l.as_mut_ptr(), v);
        ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
    }

    /// [reduce(v0), .., reduce(v3)]: lanes i and i+4 added in each register, then two
    /// rounds of horizontal adds give ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)) for all four.
    #[inline(always)]
    pub(super) unsafe fn reduce4(v: [__m256; 4]) -> __m128 {
        let h: [__m128; 4] = std::array::from_fn(|b| {
            _mm_add_ps(
                _mm256_castps256_ps128(v[b]),
                _mm256_extractf128_ps::<1>(v[b]),
            )
        });
        _mm_hadd_ps(_mm_hadd_ps(h[0], h[1]), _mm_hadd_ps(h[2], h[3]))
    }

    /// Y[r..r+A, i..i+B] in the canonical order.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn tile<const A: usize, const B: usize>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
        n: usize,
        r: usize,
        i: usize,
    ) {
        let k8 = k & !7;
        // Bounds are checked once here; the loop reads inside these rows only.
        let xs: [&[f32]; A] = std::array::from_fn(|a| &x[(r + a) * k..(r + a + 1) * k]);
        let ws: [&[f32]; B] = std::array::from_fn(|b| &w[(i + b) * k..(i + b + 1) * k]);
        let mut acc = [[_mm256_setzero_ps(); B]; A];
        let mut c = 0;
        while c < k8 {
            let xv: [__m256; A] = std::array::from_fn(|a| _mm256_loadu_ps(xs[a].as_ptr().add(c)));
            for b in 0..B {
                let wv = _mm256_loadu_ps(ws[b].as_ptr().add(c));
                for a in 0..A {
                    acc[a][b] = _mm256_add_ps(acc[a][b], _mm256_mul_ps(wv, xv[a]));
                }
            }
            c += 8;
        }
        if B >= 4 && k8 == k {
            // Four rows reduced at once, in the same canonical order (see `reduce4`);
            // the rest of the tile one at a time.
            for a in 0..A {
                let mut v = reduce4([acc[a][0], acc[a][1], acc[a][2], acc[a][3]]);
                if let Some(bv) = bias {
                    v = _mm_add_ps(v, _mm_loadu_ps(bv[i..i + 4].as_ptr()));
                }
                _mm_storeu_ps(y[(r + a) * n + i..(r + a) * n + i + 4].as_mut_ptr(), v);
                if B == 6 {
                    // Rows 4 and 5 as the first two lanes of one more `reduce4`.
                    let (p, q) = (acc[a][4], acc[a][5]);
                    let mut v = reduce4([p, q, p, q]);
                    if let Some(bv) = bias {
                        let b2 = _mm_load_sd(bv[i + 4..i + 6].as_ptr() as *const f64);
                        v = _mm_add_ps(v, _mm_castpd_ps(b2));
                    }
                    let o = (r + a) * n + i + 4;
                    _mm_store_sd(y[o..o + 2].as_mut_ptr() as *mut f64, _mm_castps_pd(v));
                } else {
                    for b in 4..B {
                        let s = reduce(acc[a][b]);
                        y[(r + a) * n + i + b] = match bias {
                            Some(bv) => s + bv[i + b],
                            None => s,
                        };
                    }
                }
            }
            return;
        }
        for a in 0..A {
            for b in 0..B {
                let mut s = reduce(acc[a][b]);
                for j in k8..k {
                    s += ws[b][j] * xs[a][j];
                }
                y[(r + a) * n + i + b] = match bias {
                    Some(bv) => s + bv[i + b],
                    None => s,
                };
            }
        }
    }
}

/// x86-64 AVX-512 prefill (t >= 8, k a multiple of 8): one `__m512` holds the canonical
/// 8 lanes of two tokens' dot products with one row ([token 2a | token 2a+1]), so each
/// 32-byte chunk of W, broadcast to both halves, feeds eight tokens and each pair of X
/// chunks four rows: a register tile of 8 tokens x 4 rows, 16 accumulators. Multiply
/// then add, never fused: the same bits as the matvec. Cache blocking: a block of W
/// rows (about 256 KiB, kept in L2) is swept by every 8-token tile of X (in L1).
#[cfg(all(target_arch = "x86_64", not(target_arch = "wasm32")))]
mod avx512 {
    use std::arch::x86_64::*;
    use std::cell::RefCell;

    /// Tokens per register tile (as TT / 2 pairs) and rows per register tile.
    pub const TT: usize = 8;
    const TN: usize = 4;

    thread_local! {
        /// X repacked by token pairs: (t/2, k/8, 16), lanes 0..8 token 2p, 8..16 token 2p+1.
        static XP: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }

    /// # Safety
    /// AVX-512 F and DQ present; t >= TT; k a multiple of 8; shapes as `super::matmul`.
    #[target_feature(enable = "avx512f,avx512dq,avx")]
    pub unsafe fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
        let t = x.len() / k;
        let n = y.len() / t;
        let (t8, n4) = (t - t % TT, n - n % TN);
        let kc = k / 8; // chunks of 8 per row
        XP.with(|buf| {
            let mut xp = buf.borrow_mut();
            xp.resize(t8 * k, 0.0);
            for p in 0..t8 / 2 {
                let (x0, x1) = (
                    &x[2 * p * k..(2 * p + 1) * k],
                    &x[(2 * p + 1) * k..(2 * p + 2) * k],
                );
                let dst = &mut xp[p * 2 * k..(p + 1) * 2 * k];
                for c in 0..kc {
                    dst[16 * c..16 * c + 8].copy_from_slice(&x0[8 * c..8 * c + 8]);
                    dst[16 * c + 8..16 * c + 16].copy_from_slice(&x1[8 * c..8 * c + 8]);
                }
            }
            // Rows per cache block: about 256 KiB of W.
            let nb = ((65536 / k) / TN).max(1) * TN;
            let mut i0 = 0;
            while i0 < n4 {
                let i1 = (i0 + nb).min(n4);
                for r in (0..t8).step_by(TT) {
                    for i in (i0..i1).step_by(TN) {
                        tile(w, &xp[r * k..(r + TT) * k], bias, y, k, n, r, i);
                    }
                }
                i0 = i1;
            }
        });
        // Edges: the last rows for the tiled tokens, one canonical dot each; then the
        // remaining tokens through the AVX tiles.
        for r in 0..t8 {
            for i in n4..n {
                let s = super::dot(&w[i * k..(i + 1) * k], &x[r * k..(r + 1) * k]);
                y[r * n + i] = match bias {
                    Some(b) => s + b[i],
                    None => s,
                };
            }
        }
        if t8 < t {
            super::avx::matmul(w, &x[t8 * k..], bias, &mut y[t8 * n..], k);
        }
    }

    /// Y[r..r+8, i..i+4]; xp holds the 4 token pairs of this tile, (4, k/8, 16).
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn tile(
        w: &[f32],
        xp: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
        n: usize,
        r: usize,
        i: usize,
    ) {
        const A: usize = TT / 2;
        let ws = &w[i * k..(i + TN) * k];
        assert!(xp.len() >= A * 2 * k);
        let (pw, px) = (ws.as_ptr(), xp.as_ptr());
        let mut acc = [[_mm512_setzero_ps(); TN]; A];
        let mut c = 0;
        while c < k {
            let xv: [__m512; A] =
                std::array::from_fn(|a| _mm512_loadu_ps(px.add(a * 2 * k + 2 * c)));
            for b in 0..TN {
                let wv = _mm512_broadcast_f32x8(_mm256_loadu_ps(pw.add(b * k + c)));
                for a in 0..A {
                    acc[a][b] = _mm512_add_ps(acc[a][b], _mm512_mul_ps(wv, xv[a]));
                }
            }
            c += 8;
        }
        let bv = bias.map(|b| _mm_loadu_ps(b[i..i + TN].as_ptr()));
        for (a, row) in acc.iter().enumerate() {
            for half in 0..2 {
                let v: [__m256; TN] = std::array::from_fn(|b| {
                    if half == 0 {
                        _mm512_castps512_ps256(row[b])
                    } else {
                        _mm512_extractf32x8_ps::<1>(row[b])
                    }
                });
                let mut s = super::avx::reduce4(v);
                if let Some(bv) = bv {
                    s = _mm_add_ps(s, bv);
                }
                let o = (r + 2 * a + half) * n + i;
                _mm_storeu_ps(y[o..o + TN].as_mut_ptr(), s);
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use super::for_each_tile;
    use core::arch::wasm32::*;

    /// Register tile for prefill when k is not a multiple of 8 (the packed path, `packed`,
    /// takes the rest): tokens x rows, eight v128 accumulators.
    const TT: usize = 2;
    const TN: usize = 2;

    #[inline(always)]
    unsafe fn ld(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }

    #[inline(always)]
    fn reduce(a: v128, b: v128) -> f32 {
        let v = f32x4_add(a, b);
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let k = a.len().min(b.len());
        let k8 = k & !7;
        let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY: i + 8 <= k8 <= len of both slices.
        unsafe {
            while i < k8 {
                a0 = f32x4_add(a0, f32x4_mul(ld(pa.add(i)), ld(pb.add(i))));
                a1 = f32x4_add(a1, f32x4_mul(ld(pa.add(i + 4)), ld(pb.add(i + 4))));
                i += 8;
            }
        }
        let mut s = reduce(a0, a1);
        for j in k8..k {
            s += a[j] * b[j];
        }
        s
    }

    pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
        matmul_with::<false>(w, x, bias, y, k)
    }

    /// `FUSED`: each lane's multiply-add may fuse (the `relaxed` kernel).
    pub fn matmul_with<const FUSED: bool>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
    ) {
        let (n, t) = (y.len() / (x.len() / k).max(1), x.len() / k);
        if t == 1 {
            // Decode: four rows share each load of x (eight accumulators in flight).
            for_each_tile(
                1,
                n,
                |r, i, _, tn| match tn {
                    4 => tile::<1, 4, FUSED>(w, x, bias, y, k, n, r, i),
                    _ => tile::<1, 1, FUSED>(w, x, bias, y, k, n, r, i),
                },
                1,
                4,
            );
        } else if t >= 2 && k.is_multiple_of(8) {
            packed::matmul::<FUSED>(w, x, bias, y, k);
        } else {
            for_each_tile(
                t,
                n,
                |r, i, tt, tn| match (tt, tn) {
                    (TT, TN) => tile::<TT, TN, FUSED>(w, x, bias, y, k, n, r, i),
                    (TT, _) => tile::<TT, 1, FUSED>(w, x, bias, y, k, n, r, i),
                    (_, TN) => tile::<1, TN, FUSED>(w, x, bias, y, k, n, r, i),
                    _ => tile::<1, 1, FUSED>(w, x, bias, y, k, n, r, i),
                },
                TT,
                TN,
            );
        }
    }

    /// Prefill (t >= 2, k a multiple of 8) in register tiles of 2 tokens x 4 rows.
    ///
    /// Both halves of the canonical eight lanes live at once would take 16 accumulators,
    /// more than the 15 xmm registers V8 allocates on x86-64 (the spills cost more than
    /// the tile gains). So each tile runs two passes: the lo lanes (0..4 of every chunk
    /// of 8), then the hi lanes (4..8). Every lane still sums its products in ascending
    /// chunk order, so the bits are the canonical ones; 8 accumulators are live.
    ///
    /// Rows outer, tokens inner: one 4-row tile of W stays in L1 while the tokens stream
    /// from L2 (tokens outer streamed all of W from L3 for every pair of tokens). X is
    /// packed once per call and each 4-row tile of W once per sweep over the tokens,
    /// half-major and 64-byte aligned: a pass reads two contiguous streams, not six rows
    /// k apart, and no load splits a cache line. At t = 128 a W tile is reused 64 times,
    /// X n/4 times, so the copies cost about 1 %.
    mod packed {
        use super::{ld, mac, reduce4, tile};
        use core::arch::wasm32::*;
        use std::cell::RefCell;

        /// One cache line of floats: makes a `Vec` of them 64-byte aligned.
        #[derive(Clone, Copy)]
        #[repr(C, align(64))]
        struct Line([f32; 16]);

        thread_local! {
            /// X packed by token pairs: (t/2, 2 halves, k/8, 2 tokens, 4 lanes).
            static XP: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
            /// One 4-row tile of W: (2 halves, k/8, 4 rows, 4 lanes).
            static WP: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
        }

        /// `buf` grown to at least `floats`, as a float pointer.
        fn floats(buf: &mut Vec<Line>, floats: usize) -> *mut f32 {
            let lines = floats.div_ceil(16);
            if buf.len() < lines {
                buf.resize(lines, Line([0.0; 16]));
            }
            buf.as_mut_ptr() as *mut f32
        }

        /// Copies lanes 4h..4h+4 of every chunk of the `m` rows at `src` (row stride k)
        /// into `dst`, laid out (2 halves, k/8, m rows, 4 lanes).
        ///
        /// # Safety
        /// `src` starts m rows of k floats (k a multiple of 8); `dst` holds m·k floats.
        #[inline(always)]
        unsafe fn pack(src: *const f32, k: usize, m: usize, dst: *mut f32) {
            let kc = k / 8;
            for h in 0..2 {
                for c in 0..kc {
                    for row in 0..m {
                        let v = ld(src.add(row * k + 8 * c + 4 * h));
                        let o = ((h * kc + c) * m + row) * 4;
                        v128_store(dst.add(o) as *mut v128, v);
                    }
                }
            }
        }

        /// One half's sums for the tile: acc[a][b] over the kc chunks of xp (kc, 2, 4)
        /// and wp (kc, 4, 4).
        #[allow(clippy::needless_range_loop)]
        #[inline(always)]
        unsafe fn pass<const FUSED: bool>(
            xp: *const f32,
            wp: *const f32,
            kc: usize,
        ) -> [[v128; 4]; 2] {
            let mut acc = [[f32x4_splat(0.0); 4]; 2];
            for c in 0..kc {
                let xv = [ld(xp.add(8 * c)), ld(xp.add(8 * c + 4))];
                for b in 0..4 {
                    let wv = ld(wp.add(16 * c + 4 * b));
                    for a in 0..2 {
                        acc[a][b] = mac::<FUSED>(acc[a][b], wv, xv[a]);
                    }
                }
            }
            acc
        }

        pub fn matmul<const FUSED: bool>(
            w: &[f32],
            x: &[f32],
            bias: Option<&[f32]>,
            y: &mut [f32],
            k: usize,
        ) {
            let t = x.len() / k;
            let n = y.len() / t;
            let (t2, n4, kc) = (t & !1, n & !3, k / 8);
            assert!(w.len() >= n * k && t >= 2 && k.is_multiple_of(8));
            XP.with(|xb| {
                WP.with(|wb| {
                    let (mut xb, mut wb) = (xb.borrow_mut(), wb.borrow_mut());
                    let xp = floats(&mut xb, t2 * k);
                    let wp = floats(&mut wb, 4 * k);
                    // SAFETY: xp holds t2·k floats: t2/2 pairs of 2k each; wp 4k floats;
                    // the source rows are inside x and w (shapes checked by the caller);
                    // y rows 2p, 2p+1 < t and columns i+4 <= n4 <= n.
                    unsafe {
                        for p in 0..t2 / 2 {
                            pack(x.as_ptr().add(2 * p * k), k, 2, xp.add(2 * p * k));
                        }
                        for i in (0..n4).step_by(4) {
                            pack(w.as_ptr().add(i * k), k, 4, wp);
                            let bv = bias.map(|b| ld(b[i..i + 4].as_ptr()));
                            for p in 0..t2 / 2 {
                                let xpp = xp.add(2 * p * k);
                                let lo = pass::<FUSED>(xpp, wp, kc);
                                let hi = pass::<FUSED>(xpp.add(k), wp.add(2 * k), kc);
                                for a in 0..2 {
                                    let sums: [v128; 4] =
                                        std::array::from_fn(|b| f32x4_add(lo[a][b], hi[a][b]));
                                    let mut v = reduce4(sums);
                                    if let Some(bv) = bv {
                                        v = f32x4_add(v, bv);
                                    }
                                    let o = (2 * p + a) * n + i;
                                    v128_store(y.as_mut_ptr().add(o) as *mut v128, v);
                                }
                            }
                        }
                    }
                })
            });
            // Edges: an odd last token, then the last n % 4 rows, with the plain tiles.
            if t2 < t {
                for i in (0..n4).step_by(4) {
                    tile::<1, 4, FUSED>(w, x, bias, y, k, n, t - 1, i);
                }
            }
            for i in n4..n {
                for r in 0..t {
                    tile::<1, 1, FUSED>(w, x, bias, y, k, n, r, i);
                }
            }
        }
    }

    /// Pairwise sums of neighbouring lanes: [x0+x1, x2+x3, y0+y1, y2+y3].
    #[inline(always)]
    fn hadd(x: v128, y: v128) -> v128 {
        f32x4_add(
            i32x4_shuffle::<0, 2, 4, 6>(x, y),
            i32x4_shuffle::<1, 3, 5, 7>(x, y),
        )
    }

    /// [reduce of row 0, .., row 3] from each row's (l0+l4, l1+l5, l2+l6, l3+l7): two
    /// rounds of pairwise sums give ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)) for all four.
    #[inline(always)]
    fn reduce4(v: [v128; 4]) -> v128 {
        hadd(hadd(v[0], v[1]), hadd(v[2], v[3]))
    }

    /// Y[r..r+A, i..i+B] in the canonical order: two v128 accumulators per output.
    /// acc + w·x: a multiply then an add, or with `FUSED` (relaxed-SIMD build) one
    /// `relaxed_madd`, which the engine may fuse.
    #[inline(always)]
    fn mac<const FUSED: bool>(acc: v128, w: v128, x: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        if FUSED {
            return f32x4_relaxed_madd(w, x, acc);
        }
        f32x4_add(acc, f32x4_mul(w, x))
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn tile<const A: usize, const B: usize, const FUSED: bool>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
        n: usize,
        r: usize,
        i: usize,
    ) {
        let k8 = k & !7;
        // Bounds are checked once here; the loop below reads inside these rows only.
        let xs: [&[f32]; A] = std::array::from_fn(|a| &x[(r + a) * k..(r + a + 1) * k]);
        let ws: [&[f32]; B] = std::array::from_fn(|b| &w[(i + b) * k..(i + b + 1) * k]);
        let px: [*const f32; A] = std::array::from_fn(|a| xs[a].as_ptr());
        let pw: [*const f32; B] = std::array::from_fn(|b| ws[b].as_ptr());
        let mut lo = [[f32x4_splat(0.0); B]; A];
        let mut hi = [[f32x4_splat(0.0); B]; A];
        let mut c = 0;
        // SAFETY: c + 8 <= k8 <= k, the length of every row in xs and ws.
        unsafe {
            while c < k8 {
                let x0: [v128; A] = std::array::from_fn(|a| ld(px[a].add(c)));
                let x1: [v128; A] = std::array::from_fn(|a| ld(px[a].add(c + 4)));
                for b in 0..B {
                    let w0 = ld(pw[b].add(c));
                    let w1 = ld(pw[b].add(c + 4));
                    for a in 0..A {
                        lo[a][b] = mac::<FUSED>(lo[a][b], w0, x0[a]);
                        hi[a][b] = mac::<FUSED>(hi[a][b], w1, x1[a]);
                    }
                }
                c += 8;
            }
        }
        if B == 4 && k8 == k {
            // Four rows reduced at once, in the same canonical order (see `reduce4`).
            for a in 0..A {
                let sums: [v128; 4] = std::array::from_fn(|b| f32x4_add(lo[a][b], hi[a][b]));
                let mut v = reduce4(sums);
                if let Some(bv) = bias {
                    // SAFETY: matmul checked bias.len() >= n >= i + 4.
                    v = f32x4_add(v, unsafe { ld(bv[i..i + 4].as_ptr()) });
                }
                let out = &mut y[(r + a) * n + i..(r + a) * n + i + 4];
                // SAFETY: `out` holds four floats.
                unsafe { v128_store(out.as_mut_ptr() as *mut v128, v) };
            }
            return;
        }
        for a in 0..A {
            for b in 0..B {
                let mut s = reduce(lo[a][b], hi[a][b]);
                for j in k8..k {
                    s += ws[b][j] * xs[a][j];
                }
                y[(r + a) * n + i + b] = match bias {
                    Some(bv) => s + bv[i + b],
                    None => s,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical order written out one scalar at a time: the specification.
    fn canonical_dot(a: &[f32], b: &[f32]) -> f32 {
        let k8 = a.len() & !7;
        let mut l = [0.0f32; 8];
        for c in (0..k8).step_by(8) {
            for (q, lq) in l.iter_mut().enumerate() {
                *lq += a[c + q] * b[c + q];
            }
        }
        let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
        for j in k8..a.len() {
            s += a[j] * b[j];
        }
        s
    }

    #[test]
    fn matmul_is_bitwise_canonical_for_every_tile_shape() {
        let shapes = [
            (1, 13, 37),
            (5, 9, 16),
            (3, 4, 8),
            (7, 11, 3),
            (2, 5, 64),
            // The AVX-512 prefill tiles with ragged edges in t and n, and several
            // cache blocks of rows.
            (8, 4, 8),
            (19, 23, 64),
            (16, 70, 1024),
            (9, 9, 24),
            (12, 6, 20),
            // The AVX prefill's 2 x 6 tiles: ragged rows and tokens, a k tail, and
            // several token blocks (k = 4096: 16 tokens a block).
            (4, 6, 8),
            (5, 13, 13),
            (37, 13, 4096),
        ];
        for &(t, n, k) in &shapes {
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.13)
                .collect();
            let x: Vec<f32> = (0..t * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
            let mut y = vec![0.0; t * n];
            matmul(&w, &x, Some(&b), &mut y, k);
            for r in 0..t {
                for i in 0..n {
                    let want = canonical_dot(&w[i * k..(i + 1) * k], &x[r * k..(r + 1) * k]) + b[i];
                    assert_eq!(
                        y[r * n + i].to_bits(),
                        want.to_bits(),
                        "t{t} n{n} k{k} ({r},{i})"
                    );
                }
                #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                {
                    // The portable path too, even on a CPU that takes the AVX one.
                    let mut yp = vec![0.0; t * n];
                    imp::tiled::<4, 2, 2>(&w, &x, Some(&b), &mut yp, k);
                    assert_eq!(yp[r * n..(r + 1) * n], y[r * n..(r + 1) * n]);
                }
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx") {
                    // The AVX path too, even on a CPU that takes the AVX-512 one.
                    let mut ya = vec![0.0; t * n];
                    // SAFETY: the CPU has AVX; the shapes are whole.
                    unsafe { avx::matmul(&w, &x, Some(&b), &mut ya, k) };
                    assert_eq!(ya[r * n..(r + 1) * n], y[r * n..(r + 1) * n]);
                }
                let mut yv = vec![0.0; n];
                matvec(&w, &x[r * k..(r + 1) * k], Some(&b), &mut yv);
                assert_eq!(
                    yv,
                    y[r * n..(r + 1) * n],
                    "matvec differs from matmul row {r}"
                );
                assert_eq!(
                    dot(&w[..k], &x[r * k..(r + 1) * k]).to_bits(),
                    canonical_dot(&w[..k], &x[r * k..(r + 1) * k]).to_bits()
                );
            }
        }
    }
}
