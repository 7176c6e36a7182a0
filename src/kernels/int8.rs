//! Integer kernels for int8 weights: activation quantization, i8·i8 dot products with
//! i32 accumulation (W8A8), and int8-weight × f32-activation products (W8A32).
//!
//! Integer sums are exact, so the wasm simd128 path and the portable path agree to the
//! bit; every float step after them is written once, in one order, for both.
//! Scales are stored as f16 (half the bytes of f32; the size targets need it).

use half::f16;

/// Symmetric per-token quantization of activations: q = round(x / s), s = max|x| / 127,
/// or a fixed (calibrated) `s` with clamping. Returns the scale used. q is (k).
pub fn quantize_act(x: &[f32], fixed_scale: Option<f32>, q: &mut [i8]) -> f32 {
    let s = match fixed_scale {
        Some(s) => s,
        None => {
            let m = imp::max_abs(x);
            if m > 0.0 {
                m / 127.0
            } else {
                1.0
            }
        }
    };
    imp::quantize(x, 1.0 / s, q);
    s
}

/// Round half to even by the 1.5·2^23 trick: plain IEEE adds, no libm call, the same
/// bits on every target.
const MAGIC: f32 = 12_582_912.0;

#[inline(always)]
fn quantize_one(x: f32, inv: f32) -> i8 {
    let v = (x * inv).clamp(-127.0, 127.0);
    ((v + MAGIC) - MAGIC) as i8
}

/// Σ a·b over i8 with i32 accumulation.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    imp::dot_i8(a, b)
}

/// W8A8: y[r] = (Σ codes[r]·xq) · scales[r] · xs (+ b[r]). codes (n, k), xq (k), y (n).
pub fn matvec_w8a8(
    codes: &[i8],
    scales: &[f16],
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    imp::matvec_w8a8(codes, scales, xq, xs, bias, y)
}

/// `matvec_w8a8` for the `relaxed` kernel: the same integer sums (so the same bits)
/// through the relaxed-SIMD i8 dot in that build; elsewhere `matvec_w8a8`.
pub fn matvec_w8a8_relaxed(
    codes: &[i8],
    scales: &[f16],
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return imp::matvec_w8a8_relaxed(codes, scales, xq, xs, bias, y);
    #[allow(unreachable_code)]
    imp::matvec_w8a8(codes, scales, xq, xs, bias, y)
}

/// `matmul_w8a8` for the `relaxed` kernel: in the relaxed-SIMD build one
/// `matvec_w8a8_relaxed` per token (same bits); elsewhere `matmul_w8a8`.
pub fn matmul_w8a8_relaxed(
    codes: &[i8],
    scales: &[f16],
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        let t = xs.len().max(1);
        assert!(
            k > 0 && xq.len() == xs.len() * k && y.len().is_multiple_of(t),
            "W8A8: X is not (t, k) or Y not (t, n)"
        );
        for (j, yj) in y.chunks_exact_mut((y.len() / t).max(1)).enumerate() {
            matvec_w8a8_relaxed(codes, scales, &xq[j * k..(j + 1) * k], xs[j], bias, yj);
        }
        return;
    }
    #[allow(unreachable_code)]
    matmul_w8a8(codes, scales, k, xq, xs, bias, y)
}

/// W8A8 for many tokens: Y (t, n), row j the bits of `matvec_w8a8` of token j.
/// codes (n, k), xq (t, k), xs (t). The integer sums are exact, so any tiling gives the
/// same bits; with AVX-512 VNNI a register tile of 4 tokens x 4 rows shares every load.
pub fn matmul_w8a8(
    codes: &[i8],
    scales: &[f16],
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let t = xs.len();
    assert!(k > 0 && xq.len() == t * k, "W8A8: X is not (t, k)");
    let n = y.len() / t.max(1);
    assert!(
        y.len() == t * n && codes.len() >= n * k && scales.len() >= n,
        "W8A8: shapes do not match"
    );
    assert!(bias.is_none_or(|b| b.len() >= n), "W8A8: bias too short");
    // Tokens finished by the tiled kernel; the rest one matvec each.
    let done = match path(t) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `path` saw AVX-512 F, BW and VNNI; shapes checked above.
        Path::VnniTiles => unsafe { vnni::matmul(codes, scales, k, xq, xs, bias, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `path` saw AVX2; shapes checked above.
        Path::Avx2Tiles => unsafe { avx2::matmul(codes, scales, k, xq, xs, bias, y) },
        _ => 0,
    };
    for j in done..t {
        matvec_w8a8(
            codes,
            scales,
            &xq[j * k..(j + 1) * k],
            xs[j],
            bias,
            &mut y[j * n..(j + 1) * n],
        );
    }
}

/// The code path W8A8 takes for t tokens on this machine (what the dispatch reads and
/// the kernel table names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Plain i32 sums the compiler vectorises.
    Portable,
    /// AVX2 `vpmaddubsw` matvec, 4 rows per load of x (one per token).
    Avx2,
    /// AVX2 prefill tiles of 4 tokens x 2 rows (`avx2::matmul`).
    Avx2Tiles,
    /// AVX-512 VNNI prefill tiles of 4 tokens x 4 rows (`vnni::matmul`).
    VnniTiles,
    /// wasm simd128 (`i32x4.dot_i16x8_s`).
    Simd128,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Portable => "portable",
            Path::Avx2 => "avx2 maddubs",
            Path::Avx2Tiles => "avx2 maddubs 4x2 tiles",
            Path::VnniTiles => "avx512 vnni 4x4 tiles",
            Path::Simd128 => "simd128",
        }
    }
}

/// See `Path`.
#[allow(unreachable_code)]
pub fn path(t: usize) -> Path {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return {
        let _ = t;
        Path::Simd128
    };
    #[cfg(target_arch = "x86_64")]
    {
        if t >= vnni::TT
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            return Path::VnniTiles;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return if t >= avx2::TT {
                Path::Avx2Tiles
            } else {
                Path::Avx2
            };
        }
    }
    Path::Portable
}

/// AVX-512 VNNI prefill: `vpdpbusd` wants one unsigned operand, so the activations go
/// in as u = x + 128 (0..=255) and Σ w·x = Σ w·u - 128 Σ w, with Σ w once per row.
/// 64 codes per instruction; masked loads take the row tails (zeros add nothing).
#[cfg(target_arch = "x86_64")]
mod vnni {
    use core::arch::x86_64::*;
    use half::f16;
    use std::cell::RefCell;

    /// Tokens and rows per register tile (16 accumulators).
    pub const TT: usize = 4;
    const TN: usize = 4;

    thread_local! {
        /// Activations + 128 as bytes, (t, k); 128 · Σ w per row, (n).
        static BUF: RefCell<(Vec<u8>, Vec<i32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }

    /// Every whole tile of tokens, all rows; returns the number of tokens done.
    ///
    /// # Safety
    /// AVX-512 F, BW and VNNI present; shapes as checked by `matmul_w8a8`; t >= TT.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn matmul(
        codes: &[i8],
        scales: &[f16],
        k: usize,
        xq: &[i8],
        xs: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> usize {
        let t = xs.len();
        let n = y.len() / t;
        let (t4, n4) = (t - t % TT, n - n % TN);
        BUF.with(|b| {
            let (xu, wsum) = &mut *b.borrow_mut();
            xu.clear();
            xu.extend(xq[..t4 * k].iter().map(|&v| (v as i32 + 128) as u8));
            wsum.clear();
            wsum.extend(
                codes[..n * k]
                    .chunks_exact(k)
                    .map(|row| 128 * row.iter().map(|&c| c as i32).sum::<i32>()),
            );
            // Rows per cache block: about 256 KiB of codes.
            let nb = ((262_144 / k) / TN).max(1) * TN;
            let mut i0 = 0;
            while i0 < n4 {
                let i1 = (i0 + nb).min(n4);
                for j in (0..t4).step_by(TT) {
                    for i in (i0..i1).step_by(TN) {
                        let acc = tile(codes, xu, k, j, i);
                        for (a, accs) in acc.iter().enumerate() {
                            for (bq, &s) in accs.iter().enumerate() {
                                let r = i + bq;
                                y[(j + a) * n + r] =
                                    super::finish(s - wsum[r], scales[r], xs[j + a], bias, r);
                            }
                        }
                    }
                }
                i0 = i1;
            }
            super::last_rows(codes, scales, k, xq, xs, bias, y, t4, n4);
        });
        t4
    }

    /// Σ w·u for tokens j..j+4 (u = x + 128) and rows i..i+4, exact.
    #[inline(always)]
    unsafe fn tile(codes: &[i8], xu: &[u8], k: usize, j: usize, i: usize) -> [[i32; TN]; TT] {
        let ws = &codes[i * k..(i + TN) * k];
        let xs = &xu[j * k..(j + TT) * k];
        let (pw, px) = (ws.as_ptr(), xs.as_ptr());
        let mut acc = [[_mm512_setzero_si512(); TN]; TT];
        let mut c = 0;
        while c < k {
            let m: __mmask64 = if k - c >= 64 {
                !0
            } else {
                (1u64 << (k - c)) - 1
            };
            let wv: [__m512i; TN] =
                std::array::from_fn(|b| _mm512_maskz_loadu_epi8(m, pw.add(b * k + c)));
            for (a, row) in acc.iter_mut().enumerate() {
                let xv = _mm512_maskz_loadu_epi8(m, px.add(a * k + c) as *const i8);
                for (b, ab) in row.iter_mut().enumerate() {
                    *ab = _mm512_dpbusd_epi32(*ab, xv, wv[b]);
                }
            }
            c += 64;
        }
        acc.map(|row| row.map(|v| _mm512_reduce_add_epi32(v)))
    }
}

/// Rows `from..n` of tokens `0..t_done`, one dot product each: the rows a prefill
/// tile kernel's whole tiles leave over.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn last_rows(
    codes: &[i8],
    scales: &[f16],
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    t_done: usize,
    from: usize,
) {
    let n = y.len() / xs.len();
    for j in 0..t_done {
        for r in from..n {
            let s = dot_i8(&codes[r * k..(r + 1) * k], &xq[j * k..(j + 1) * k]);
            y[j * n + r] = finish(s, scales[r], xs[j], bias, r);
        }
    }
}

#[inline]
pub(crate) fn finish(acc: i32, scale: f16, xs: f32, bias: Option<&[f32]>, r: usize) -> f32 {
    let v = acc as f32 * super::f16_to_f32(scale) * xs;
    match bias {
        Some(b) => v + b[r],
        None => v,
    }
}

/// W8A32: y[r] = scales[r] · Σ codes[r]·x (+ b[r]), float sums in a fixed order
/// (eight running partial sums, reduced as in `f32dot`, then the tail). Explicit SIMD
/// with AVX2 (natively) and simd128 (wasm), four rows sharing each chunk of x; portable
/// code elsewhere, in the same order.
pub fn matvec_w8a32(codes: &[i8], scales: &[f16], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let k = x.len();
    assert!(
        codes.len() >= y.len() * k && scales.len() >= y.len(),
        "W8A32: codes or scales too short"
    );
    assert!(
        bias.is_none_or(|b| b.len() >= y.len()),
        "W8A32: bias too short"
    );
    let mut r = 0;
    while r < y.len() {
        let t = if y.len() - r >= 4 { 4 } else { 1 };
        let rows = &codes[r * k..(r + t) * k];
        let mut lanes = [[0.0f32; 8]; 4];
        w8a32_lanes(rows, x, &mut lanes[..t]);
        for (i, l) in lanes[..t].iter().enumerate() {
            y[r + i] = w8a32_finish(l, &rows[i * k..(i + 1) * k], x, scales, bias, r + i);
        }
        r += t;
    }
}

/// The eight running lanes of each of the rows in `codes` (lanes.len() rows of k).
fn w8a32_lanes(codes: &[i8], x: &[f32], lanes: &mut [[f32; 8]]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present; codes holds lanes.len() rows of x.len().
        return unsafe { w8a32_simd::lanes(codes, x, lanes) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        // SAFETY: codes holds lanes.len() rows of x.len().
        return unsafe { w8a32_simd::lanes(codes, x, lanes) };
    }
    #[allow(unreachable_code)]
    {
        let k = x.len();
        for (i, acc) in lanes.iter_mut().enumerate() {
            let row = &codes[i * k..(i + 1) * k];
            for (c, xc) in row.chunks_exact(8).zip(x.chunks_exact(8)) {
                for l in 0..8 {
                    acc[l] += c[l] as f32 * xc[l];
                }
            }
        }
    }
}

/// AVX2: one __m256 of lanes per row; i8 → i32 → f32 with `vpmovsxbd` + `vcvtdq2ps`.
#[cfg(target_arch = "x86_64")]
mod w8a32_simd {
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 present; codes holds lanes.len() (1..=4) rows of x.len().
    #[target_feature(enable = "avx2")]
    pub unsafe fn lanes(codes: &[i8], x: &[f32], lanes: &mut [[f32; 8]]) {
        let (k, t) = (x.len(), lanes.len());
        assert!(t <= 4 && codes.len() >= t * k);
        let (cp, xp) = (codes.as_ptr(), x.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut c = 0;
        while c + 8 <= k {
            let xv = _mm256_loadu_ps(xp.add(c));
            for (i, a) in acc.iter_mut().enumerate().take(t) {
                let b = _mm_loadl_epi64(cp.add(i * k + c) as *const __m128i);
                let w = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
                *a = _mm256_add_ps(*a, _mm256_mul_ps(w, xv));
            }
            c += 8;
        }
        for (l, a) in lanes.iter_mut().zip(acc) {
            _mm256_storeu_ps(l.as_mut_ptr(), a);
        }
    }
}

/// simd128: lanes 0..4 and 4..8 of each row in two v128; i8 → i16 → i32 → f32.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod w8a32_simd {
    use core::arch::wasm32::*;

    /// # Safety
    /// codes holds lanes.len() (1..=4) rows of x.len().
    pub unsafe fn lanes(codes: &[i8], x: &[f32], lanes: &mut [[f32; 8]]) {
        let (k, t) = (x.len(), lanes.len());
        assert!(t <= 4 && codes.len() >= t * k);
        let (cp, xp) = (codes.as_ptr(), x.as_ptr());
        let mut lo = [f32x4_splat(0.0); 4];
        let mut hi = [f32x4_splat(0.0); 4];
        let mut c = 0;
        while c + 8 <= k {
            let x0 = v128_load(xp.add(c) as *const v128);
            let x1 = v128_load(xp.add(c + 4) as *const v128);
            for i in 0..t {
                let w = i16x8_extend_low_i8x16(v128_load64_zero(cp.add(i * k + c) as *const u64));
                let w0 = f32x4_convert_i32x4(i32x4_extend_low_i16x8(w));
                let w1 = f32x4_convert_i32x4(i32x4_extend_high_i16x8(w));
                lo[i] = f32x4_add(lo[i], f32x4_mul(w0, x0));
                hi[i] = f32x4_add(hi[i], f32x4_mul(w1, x1));
            }
            c += 8;
        }
        for (i, l) in lanes.iter_mut().enumerate() {
            v128_store(l.as_mut_ptr() as *mut v128, lo[i]);
            v128_store(l.as_mut_ptr().add(4) as *mut v128, hi[i]);
        }
    }
}

#[inline(always)]
fn w8a32_finish(
    acc: &[f32; 8],
    row: &[i8],
    x: &[f32],
    scales: &[f16],
    bias: Option<&[f32]>,
    r: usize,
) -> f32 {
    let k8 = x.len() & !7;
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for j in k8..x.len() {
        s += row[j] as f32 * x[j];
    }
    let v = s * super::f16_to_f32(scales[r]);
    match bias {
        Some(b) => v + b[r],
        None => v,
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use half::f16;

    pub fn max_abs(x: &[f32]) -> f32 {
        x.iter().fold(0.0f32, |a, &v| a.max(v.abs()))
    }

    pub fn quantize(x: &[f32], inv: f32, q: &mut [i8]) {
        for (qi, &xi) in q.iter_mut().zip(x) {
            *qi = super::quantize_one(xi, inv);
        }
    }

    #[inline]
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let mut acc = [0i32; 16];
        let k16 = a.len() & !15;
        for (ca, cb) in a[..k16].chunks_exact(16).zip(b[..k16].chunks_exact(16)) {
            for l in 0..16 {
                acc[l] += ca[l] as i32 * cb[l] as i32;
            }
        }
        let mut s: i32 = acc.iter().sum();
        for j in k16..a.len() {
            s += a[j] as i32 * b[j] as i32;
        }
        s
    }

    /// On x86-64 with AVX2, 32 products per instruction pair (`avx2` below); the sums
    /// are exact integers, so the result is the same bits as the portable loop.
    pub fn matvec_w8a8(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k = xq.len();
        assert!(codes.len() >= y.len() * k);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present; the shapes were checked above.
            unsafe { super::avx2::matvec_w8a8(codes, scales, xq, xs, bias, y) };
            return;
        }
        for (r, (row, yr)) in codes.chunks_exact(k).zip(y.iter_mut()).enumerate() {
            *yr = super::finish(dot_i8(row, xq), scales[r], xs, bias, r);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;
    use half::f16;
    use std::cell::RefCell;

    /// Prefill register tile: 4 tokens x 2 rows (8 accumulators, the 4 tokens' |x|,
    /// the 2 rows' codes, a product and the ones: 16 ymm registers).
    pub const TT: usize = 4;
    const TN: usize = 2;

    thread_local! {
        /// |x| of the tiled tokens, (t, k) bytes.
        static ABS: RefCell<Vec<i8>> = const { RefCell::new(Vec::new()) };
    }

    /// W8A8 prefill without VNNI: every whole tile of `TT` tokens, all rows; returns
    /// the number of tokens done. Σ w·x = Σ |x| · (w with the sign of x) through
    /// `vpmaddubsw` (|x| ≤ 127 is the unsigned operand, so a pair of products is at
    /// most 2·127·127 and never saturates) and `vpmaddwd` into i32 lanes: exact, so the
    /// same bits as the matvec. |x| is computed once per call, and each load of a row's
    /// codes feeds four tokens. Rows in cache blocks of about 128 KiB of codes (L2),
    /// each swept by every tile of tokens.
    ///
    /// # Safety
    /// AVX2 present; shapes as checked by `matmul_w8a8`; t >= TT.
    #[target_feature(enable = "avx2")]
    pub unsafe fn matmul(
        codes: &[i8],
        scales: &[f16],
        k: usize,
        xq: &[i8],
        xs: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> usize {
        let t = xs.len();
        let n = y.len() / t;
        let (t4, n2) = (t - t % TT, n - n % TN);
        ABS.with(|b| {
            let ax = &mut *b.borrow_mut();
            ax.clear();
            ax.extend(xq[..t4 * k].iter().map(|&v| v.wrapping_abs()));
            let nb = ((131_072 / k) / TN).max(1) * TN;
            let mut i0 = 0;
            while i0 < n2 {
                let i1 = (i0 + nb).min(n2);
                for j in (0..t4).step_by(TT) {
                    for i in (i0..i1).step_by(TN) {
                        let acc = tile(codes, xq, ax, k, j, i);
                        for (a, accs) in acc.iter().enumerate() {
                            for (bq, &s) in accs.iter().enumerate() {
                                let r = i + bq;
                                y[(j + a) * n + r] =
                                    super::finish(s, scales[r], xs[j + a], bias, r);
                            }
                        }
                    }
                }
                i0 = i1;
            }
        });
        super::last_rows(codes, scales, k, xq, xs, bias, y, t4, n2);
        t4
    }

    /// Σ w·x for tokens j..j+4 and rows i..i+2, exact.
    #[inline(always)]
    unsafe fn tile(
        codes: &[i8],
        xq: &[i8],
        ax: &[i8],
        k: usize,
        j: usize,
        i: usize,
    ) -> [[i32; TN]; TT] {
        let k32 = k & !31;
        let ws = &codes[i * k..(i + TN) * k];
        let (xs, axs) = (&xq[j * k..(j + TT) * k], &ax[j * k..(j + TT) * k]);
        let (pw, px, pa) = (ws.as_ptr(), xs.as_ptr(), axs.as_ptr());
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_si256(); TN]; TT];
        let mut c = 0;
        while c < k32 {
            let wv: [__m256i; TN] =
                std::array::from_fn(|b| _mm256_loadu_si256(pw.add(b * k + c) as *const __m256i));
            for (a, row) in acc.iter_mut().enumerate() {
                let xv = _mm256_loadu_si256(px.add(a * k + c) as *const __m256i);
                let av = _mm256_loadu_si256(pa.add(a * k + c) as *const __m256i);
                for (b, ab) in row.iter_mut().enumerate() {
                    let p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(wv[b], xv));
                    *ab = _mm256_add_epi32(*ab, _mm256_madd_epi16(p, ones));
                }
            }
            c += 32;
        }
        let mut out = [[0i32; TN]; TT];
        for a in 0..TT {
            for b in 0..TN {
                let tail: i32 = (k32..k)
                    .map(|q| ws[b * k + q] as i32 * xs[a * k + q] as i32)
                    .sum();
                out[a][b] = hsum(acc[a][b]).wrapping_add(tail);
            }
        }
        out
    }

    #[inline(always)]
    unsafe fn hsum(v: __m256i) -> i32 {
        let mut l = [0i32; 8];
        _mm256_storeu_si256(l.as_mut_ptr() as *mut __m256i, v);
        l.iter().fold(0i32, |a, &b| a.wrapping_add(b))
    }

    /// |w| · sign(x, w) through `vpmaddubsw` (u8×i8 pairs into i16, no saturation since
    /// codes are within ±127), then `vpmaddwd` by ones into i32 lanes. Four rows share
    /// each load of x.
    #[target_feature(enable = "avx2")]
    pub unsafe fn matvec_w8a8(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k = xq.len();
        let n = y.len();
        let k32 = k & !31;
        let ones = _mm256_set1_epi16(1);
        let px = xq.as_ptr();
        let step = |acc: __m256i, w: __m256i, x: __m256i| -> __m256i {
            let p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
            _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones))
        };
        let tail = |row: &[i8]| -> i32 { (k32..k).map(|j| row[j] as i32 * xq[j] as i32).sum() };
        let mut r = 0;
        while r + 4 <= n {
            let p0 = codes.as_ptr().add(r * k);
            let (p1, p2, p3) = (p0.add(k), p0.add(2 * k), p0.add(3 * k));
            let mut a = [_mm256_setzero_si256(); 4];
            let mut i = 0;
            while i < k32 {
                let xv = _mm256_loadu_si256(px.add(i) as *const __m256i);
                a[0] = step(a[0], _mm256_loadu_si256(p0.add(i) as *const __m256i), xv);
                a[1] = step(a[1], _mm256_loadu_si256(p1.add(i) as *const __m256i), xv);
                a[2] = step(a[2], _mm256_loadu_si256(p2.add(i) as *const __m256i), xv);
                a[3] = step(a[3], _mm256_loadu_si256(p3.add(i) as *const __m256i), xv);
                i += 32;
            }
            for (q, acc) in a.into_iter().enumerate() {
                let row = &codes[(r + q) * k..(r + q + 1) * k];
                let s = hsum(acc).wrapping_add(tail(row));
                y[r + q] = super::finish(s, scales[r + q], xs, bias, r + q);
            }
            r += 4;
        }
        while r < n {
            let row = &codes[r * k..(r + 1) * k];
            let mut acc = _mm256_setzero_si256();
            let mut i = 0;
            while i < k32 {
                let xv = _mm256_loadu_si256(px.add(i) as *const __m256i);
                acc = step(
                    acc,
                    _mm256_loadu_si256(row.as_ptr().add(i) as *const __m256i),
                    xv,
                );
                i += 32;
            }
            y[r] = super::finish(hsum(acc).wrapping_add(tail(row)), scales[r], xs, bias, r);
            r += 1;
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;
    use half::f16;
    use std::cell::RefCell;

    thread_local! {
        /// x widened to i16 once per product, shared by every row. (k)
        static X16: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
        /// For the relaxed dot: |x| (0..=127) and the sign mask of x (-1 where x < 0). (k), (k)
        #[cfg(target_feature = "relaxed-simd")]
        static XABS: RefCell<(Vec<i8>, Vec<i8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }

    /// W8A8 through `i32x4.relaxed_dot_i8x16_i7x16_add_s`, which is exact only while its
    /// second operand is in 0..=127. So it gets |x| (x is -127..=127) and the weight
    /// gets the sign of x: w·x = (±w)·|x|, with ±w = (w ^ s) - s for the mask s. The
    /// integer sums are those of `matvec_w8a8`, hence the same bits. Four rows share each
    /// load of x; 32 codes per row per step, two accumulators each.
    #[cfg(target_feature = "relaxed-simd")]
    pub fn matvec_w8a8_relaxed(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        let k = xq.len();
        XABS.with(|buf| {
            let mut buf = buf.borrow_mut();
            let (xa, xm) = &mut *buf;
            xa.resize(k, 0);
            xm.resize(k, 0);
            let k16 = k & !15;
            for ((c, a), m) in xq[..k16]
                .chunks_exact(16)
                .zip(xa[..k16].chunks_exact_mut(16))
                .zip(xm[..k16].chunks_exact_mut(16))
            {
                // SAFETY: each chunk holds 16 bytes.
                unsafe {
                    let v = v128_load(c.as_ptr() as *const v128);
                    v128_store(a.as_mut_ptr() as *mut v128, i8x16_abs(v));
                    v128_store(m.as_mut_ptr() as *mut v128, i8x16_shr(v, 7));
                }
            }
            for j in k16..k {
                xa[j] = xq[j].unsigned_abs() as i8;
                xm[j] = xq[j] >> 7;
            }
            let (pa, pm) = (xa.as_ptr(), xm.as_ptr());
            rows4::<32>(codes, scales, xq, xs, bias, y, |ps, i, a| {
                // SAFETY: rows4 keeps i + 32 inside every row and inside xa, xm (length k).
                unsafe {
                    let a0 = v128_load(pa.add(i) as *const v128);
                    let a1 = v128_load(pa.add(i + 16) as *const v128);
                    let m0 = v128_load(pm.add(i) as *const v128);
                    let m1 = v128_load(pm.add(i + 16) as *const v128);
                    for q in 0..4 {
                        let w0 = v128_load(ps[q].add(i) as *const v128);
                        let w1 = v128_load(ps[q].add(i + 16) as *const v128);
                        let s0 = i8x16_sub(v128_xor(w0, m0), m0);
                        let s1 = i8x16_sub(v128_xor(w1, m1), m1);
                        a[2 * q] = i32x4_relaxed_dot_i8x16_i7x16_add(s0, a0, a[2 * q]);
                        a[2 * q + 1] = i32x4_relaxed_dot_i8x16_i7x16_add(s1, a1, a[2 * q + 1]);
                    }
                }
            });
        })
    }

    #[inline(always)]
    fn hsum(v: v128) -> i32 {
        i32x4_extract_lane::<0>(v)
            .wrapping_add(i32x4_extract_lane::<1>(v))
            .wrapping_add(i32x4_extract_lane::<2>(v))
            .wrapping_add(i32x4_extract_lane::<3>(v))
    }

    /// Rows r..r+4 finished at once: `acc` holds two partial i32x4 sums per row, `tail`
    /// each row's scalar rest. Integer sums are exact in any order, and the float steps
    /// are `finish`'s, lane by lane (acc · scale · xs + b), so the bits are `finish`'s.
    #[inline(always)]
    fn finish4(
        acc: &[v128; 8],
        tail: [i32; 4],
        scales: &[f16],
        xs: f32,
        bias: Option<&[f32]>,
        r: usize,
        y: &mut [f32],
    ) {
        let h = |x: v128, y: v128| {
            i32x4_add(
                i32x4_shuffle::<0, 2, 4, 6>(x, y),
                i32x4_shuffle::<1, 3, 5, 7>(x, y),
            )
        };
        let row: [v128; 4] = std::array::from_fn(|q| i32x4_add(acc[2 * q], acc[2 * q + 1]));
        // SAFETY: `tail` is four i32.
        let t = unsafe { v128_load(tail.as_ptr() as *const v128) };
        let sums = i32x4_add(h(h(row[0], row[1]), h(row[2], row[3])), t);
        let sc = crate::kernels::f16x4_to_f32(&scales[r..r + 4]);
        let mut v = f32x4_mul(f32x4_mul(f32x4_convert_i32x4(sums), sc), f32x4_splat(xs));
        if let Some(b) = bias {
            let b = &b[r..r + 4];
            // SAFETY: `b` holds four floats.
            v = f32x4_add(v, unsafe { v128_load(b.as_ptr() as *const v128) });
        }
        let out = &mut y[r..r + 4];
        // SAFETY: `out` holds four floats.
        unsafe { v128_store(out.as_mut_ptr() as *mut v128, v) };
    }

    /// max |x|; max is exact, so lane order does not matter. `pmax` (one instruction)
    /// skips a NaN as `f32::max` does.
    pub fn max_abs(x: &[f32]) -> f32 {
        let n4 = x.len() & !3;
        let mut m = f32x4_splat(0.0);
        for c in x[..n4].chunks_exact(4) {
            // SAFETY: c holds 4 floats.
            let v = unsafe { v128_load(c.as_ptr() as *const v128) };
            m = f32x4_pmax(m, f32x4_abs(v));
        }
        let mut r = f32x4_extract_lane::<0>(m)
            .max(f32x4_extract_lane::<1>(m))
            .max(f32x4_extract_lane::<2>(m))
            .max(f32x4_extract_lane::<3>(m));
        for &v in &x[n4..] {
            r = r.max(v.abs());
        }
        r
    }

    /// The same arithmetic as `quantize_one`, four lanes at a time; sixteen results
    /// packed per store (they are in -127..=127, so the saturating narrows are exact).
    /// Cheap forms with the same results: `pmax`/`pmin` clamp (one instruction each),
    /// the rounded integer is read off the bits of v + MAGIC (whose unit in the last
    /// place is 1), and a NaN gives 0, as `as i8` does.
    pub fn quantize(x: &[f32], inv: f32, q: &mut [i8]) {
        let n16 = x.len().min(q.len()) & !15;
        let n4 = x.len() & !3;
        let (vi, lo, hi, mg) = (
            f32x4_splat(inv),
            f32x4_splat(-127.0),
            f32x4_splat(127.0),
            f32x4_splat(super::MAGIC),
        );
        let one = |v: v128| {
            let p = f32x4_mul(v, vi);
            let r = f32x4_add(f32x4_pmin(f32x4_pmax(p, lo), hi), mg);
            v128_and(i32x4_sub(r, mg), f32x4_eq(p, p))
        };
        for (c, o) in x[..n16].chunks_exact(16).zip(q[..n16].chunks_exact_mut(16)) {
            // SAFETY: c holds 16 floats, o 16 bytes.
            unsafe {
                let p = c.as_ptr();
                let v: [v128; 4] =
                    std::array::from_fn(|i| one(v128_load(p.add(4 * i) as *const v128)));
                let packed = i8x16_narrow_i16x8(
                    i16x8_narrow_i32x4(v[0], v[1]),
                    i16x8_narrow_i32x4(v[2], v[3]),
                );
                v128_store(o.as_mut_ptr() as *mut v128, packed);
            }
        }
        for (c, o) in x[n16..n4]
            .chunks_exact(4)
            .zip(q[n16..n4].chunks_exact_mut(4))
        {
            // SAFETY: c holds 4 floats.
            let r = one(unsafe { v128_load(c.as_ptr() as *const v128) });
            o[0] = i32x4_extract_lane::<0>(r) as i8;
            o[1] = i32x4_extract_lane::<1>(r) as i8;
            o[2] = i32x4_extract_lane::<2>(r) as i8;
            o[3] = i32x4_extract_lane::<3>(r) as i8;
        }
        for (qi, &xi) in q[n4..].iter_mut().zip(&x[n4..]) {
            *qi = super::quantize_one(xi, inv);
        }
    }

    #[inline]
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let n8 = n & !7;
        let mut acc = i32x4_splat(0);
        let mut i = 0;
        // SAFETY: i + 8 <= n8 <= both lengths.
        unsafe {
            while i < n8 {
                let wa = i16x8_load_extend_i8x8(a.as_ptr().add(i));
                let wb = i16x8_load_extend_i8x8(b.as_ptr().add(i));
                acc = i32x4_add(acc, i32x4_dot_i16x8(wa, wb));
                i += 8;
            }
        }
        let mut s = hsum(acc);
        for j in n8..n {
            s += a[j] as i32 * b[j] as i32;
        }
        s
    }

    /// Rows four at a time: `chunk(ps, i, acc)` adds codes i..i+STEP of the four rows
    /// starting at `ps` into their two accumulators each (i + STEP <= k, inside every
    /// row); the rest of each row (k % STEP) is summed in scalar, and the rows after the
    /// last four by `dot_i8`. Integer sums are exact, so any of these gives the same bits.
    #[inline(always)]
    fn rows4<const STEP: usize>(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
        chunk: impl Fn([*const i8; 4], usize, &mut [v128; 8]),
    ) {
        let (k, n) = (xq.len(), y.len());
        assert!(codes.len() >= n * k);
        let ks = k - k % STEP;
        let tail = |row: &[i8]| -> i32 { (ks..k).map(|j| row[j] as i32 * xq[j] as i32).sum() };
        let mut r = 0;
        while r + 4 <= n {
            let mut a = [i32x4_splat(0); 8];
            let rows = &codes[r * k..(r + 4) * k];
            let ps = std::array::from_fn(|q| rows[q * k..].as_ptr());
            let mut i = 0;
            while i < ks {
                chunk(ps, i, &mut a);
                i += STEP;
            }
            let t = std::array::from_fn(|q| tail(&rows[q * k..(q + 1) * k]));
            finish4(&a, t, scales, xs, bias, r, y);
            r += 4;
        }
        while r < n {
            let s = dot_i8(&codes[r * k..(r + 1) * k], xq);
            y[r] = super::finish(s, scales[r], xs, bias, r);
            r += 1;
        }
    }

    /// x is widened to i16 once; each row then costs one widening load and one
    /// i16 dot (pairwise multiply-add into i32) per 8 weights. Four rows at a time,
    /// two accumulators each.
    pub fn matvec_w8a8(
        codes: &[i8],
        scales: &[f16],
        xq: &[i8],
        xs: f32,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        X16.with(|buf| {
            let mut x16 = buf.borrow_mut();
            x16.clear();
            x16.extend(xq.iter().map(|&v| v as i16));
            let px = x16.as_ptr();
            rows4::<16>(codes, scales, xq, xs, bias, y, |ps, i, a| {
                // SAFETY: rows4 keeps i + 16 inside every row and inside x16 (length k).
                unsafe {
                    let x0 = v128_load(px.add(i) as *const v128);
                    let x1 = v128_load(px.add(i + 8) as *const v128);
                    for q in 0..4 {
                        let w0 = i16x8_load_extend_i8x8(ps[q].add(i));
                        let w1 = i16x8_load_extend_i8x8(ps[q].add(i + 8));
                        a[2 * q] = i32x4_add(a[2 * q], i32x4_dot_i16x8(w0, x0));
                        a[2 * q + 1] = i32x4_add(a[2 * q + 1], i32x4_dot_i16x8(w1, x1));
                    }
                }
            });
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w8a8_matvec_is_bit_exact_against_scalar_sums() {
        for (n, k) in [(13, 128), (9, 512), (5, 77)] {
            let codes: Vec<i8> = (0..n * k)
                .map(|i| (((i * 131 + i / 7) % 255) as i32 - 127) as i8)
                .collect();
            let xq: Vec<i8> = (0..k)
                .map(|i| (((i * 53) % 255) as i32 - 127) as i8)
                .collect();
            let scales: Vec<f16> = (0..n)
                .map(|r| f16::from_f32(0.001 * (r + 1) as f32))
                .collect();
            let mut y = vec![0.0; n];
            matvec_w8a8(&codes, &scales, &xq, 0.02, None, &mut y);
            for r in 0..n {
                let s: i32 = (0..k).map(|j| codes[r * k + j] as i32 * xq[j] as i32).sum();
                assert_eq!(
                    y[r].to_bits(),
                    finish(s, scales[r], 0.02, None, r).to_bits(),
                    "{n}x{k} row {r}"
                );
            }
        }
    }

    #[test]
    fn w8a8_matmul_gives_the_matvec_bits_on_ragged_shapes() {
        for (t, n, k) in [
            (4, 4, 64),
            (9, 13, 128),
            (5, 7, 77),
            (12, 33, 512),
            (6, 5, 200),
            // Several of the AVX2 prefill's cache blocks of rows (32 rows at k = 4096).
            (8, 70, 4096),
        ] {
            let codes: Vec<i8> = (0..n * k)
                .map(|i| (((i * 131 + i / 7) % 255) as i32 - 127) as i8)
                .collect();
            let xq: Vec<i8> = (0..t * k)
                .map(|i| (((i * 53 + i / 5) % 255) as i32 - 127) as i8)
                .collect();
            let scales: Vec<f16> = (0..n)
                .map(|r| f16::from_f32(0.001 * (r + 1) as f32))
                .collect();
            let xs: Vec<f32> = (0..t).map(|j| 0.01 + 0.002 * j as f32).collect();
            let b: Vec<f32> = (0..n).map(|r| r as f32 * 0.3 - 1.0).collect();
            for bias in [None, Some(&b[..])] {
                let mut y = vec![f32::NAN; t * n];
                matmul_w8a8(&codes, &scales, k, &xq, &xs, bias, &mut y);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && t >= avx2::TT {
                    // The AVX2 tiles too, even on a CPU that takes the VNNI ones.
                    let mut ya = y.clone();
                    // SAFETY: AVX2 is present; the shapes are whole.
                    let done = unsafe { avx2::matmul(&codes, &scales, k, &xq, &xs, bias, &mut ya) };
                    let m = done * n;
                    assert_eq!(ya[..m], y[..m], "AVX2 tiles t{t} n{n} k{k}");
                }
                for j in 0..t {
                    let mut yv = vec![f32::NAN; n];
                    matvec_w8a8(
                        &codes,
                        &scales,
                        &xq[j * k..(j + 1) * k],
                        xs[j],
                        bias,
                        &mut yv,
                    );
                    for r in 0..n {
                        assert_eq!(
                            y[j * n + r].to_bits(),
                            yv[r].to_bits(),
                            "t{t} n{n} k{k} ({j},{r})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn integer_dot_is_exact_and_matvecs_match_dequantized_reference() {
        let (n, k) = (7, 70);
        let codes: Vec<i8> = (0..n * k)
            .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f16> = (0..n)
            .map(|r| f16::from_f32(0.01 + r as f32 * 0.001))
            .collect();
        let x: Vec<f32> = (0..k).map(|i| ((i as f32) * 0.37).sin()).collect();
        let mut xq = vec![0i8; k];
        let xs = quantize_act(&x, None, &mut xq);
        assert_eq!(xq.iter().map(|v| v.unsigned_abs()).max(), Some(127));
        for r in 0..n {
            let row = &codes[r * k..(r + 1) * k];
            let want: i32 = row
                .iter()
                .zip(&xq)
                .map(|(&a, &b)| a as i32 * b as i32)
                .sum();
            assert_eq!(dot_i8(row, &xq), want);
        }
        let (mut y8, mut y32) = (vec![0.0; n], vec![0.0; n]);
        matvec_w8a8(&codes, &scales, &xq, xs, None, &mut y8);
        matvec_w8a32(&codes, &scales, &x, None, &mut y32);
        for r in 0..n {
            let exact: f64 = (0..k)
                .map(|j| codes[r * k + j] as f64 * scales[r].to_f64() * x[j] as f64)
                .sum();
            let mag: f64 = (0..k)
                .map(|j| (codes[r * k + j] as f64 * scales[r].to_f64() * x[j] as f64).abs())
                .sum();
            assert!(
                (y32[r] as f64 - exact).abs() <= 1e-5 * mag + 1e-6,
                "w8a32 row {r}"
            );
            // Activation rounding: at most half a step per element.
            let bound: f64 = (0..k)
                .map(|j| (codes[r * k + j] as f64 * scales[r].to_f64()).abs())
                .sum::<f64>()
                * xs as f64
                * 0.5;
            assert!((y8[r] as f64 - exact).abs() <= bound + 1e-5, "w8a8 row {r}");
        }
    }
}
