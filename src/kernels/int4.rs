//! Int4 kernels. Layout: each run of 32 weights of a row is 16 bytes; byte j holds
//! weight j in its low nibble and weight j+16 in its high nibble, both offset by +8
//! (codes -8..=7). Unpacking a block then yields two in-order runs of 16, which line
//! up with contiguous activations: no shuffles needed.
//!
//! Scales are held group-major, (k/group, n): one group's scales of neighbouring rows
//! are contiguous, so a panel of rows converts them with one load (`vcvtph2ps`).
//!
//! Products are W4A8: activations are quantized to int8 per token. Canonical order of
//! an output y[j, r] (token j, row r): each group's sum Σ w·x is exact in i32; then
//! s = 0.0f32, s += (sum_g as f32) · scale_g for g ascending (multiply, then add);
//! then s · xs[j]; then + bias. The fast kernels keep exactly that order: they run a
//! panel of rows at once, one float lane per row, so the group-by-group float sum is a
//! vertical vector add, and each group's integer sums of the panel come out of one
//! transposing reduction (no per-row horizontal sum, no per-row scale conversion).
//!
//! The stored nibbles are used unsigned (u = w + 8, 0..=15), which is what the u8×i8
//! instructions want: Σ w·x = Σ u·x - 8 Σ x, with Σ x per group computed once per token.

use half::f16;
use std::cell::RefCell;

/// Weights per packed block.
pub const BLOCK: usize = 32;

/// Packs one block of 32 codes in -8..=7 into 16 bytes.
pub fn pack_block(codes: &[i8], out: &mut [u8]) {
    for j in 0..16 {
        let lo = (codes[j] + 8) as u8;
        let hi = (codes[j + 16] + 8) as u8;
        out[j] = lo | (hi << 4);
    }
}

/// Unpacks one 16-byte block into 32 codes.
pub fn unpack_block(bytes: &[u8], out: &mut [i8]) {
    for j in 0..16 {
        out[j] = (bytes[j] & 0x0F) as i8 - 8;
        out[j + 16] = (bytes[j] >> 4) as i8 - 8;
    }
}

/// Row-major scales (rows, gpr) → the kernels' group-major (gpr, rows).
pub fn scales_group_major(row_major: &[f16], rows: usize, gpr: usize) -> Vec<f16> {
    assert_eq!(
        row_major.len(),
        rows * gpr,
        "int4 scales are not (rows, groups)"
    );
    let mut out = vec![f16::ZERO; rows * gpr];
    for r in 0..rows {
        for g in 0..gpr {
            out[g * rows + r] = row_major[r * gpr + g];
        }
    }
    out
}

/// Group-major scales (gpr, rows) → row-major (rows, gpr), as files store them.
pub fn scales_row_major(group_major: &[f16], rows: usize, gpr: usize) -> Vec<f16> {
    assert_eq!(
        group_major.len(),
        rows * gpr,
        "int4 scales are not (groups, rows)"
    );
    let mut out = vec![f16::ZERO; rows * gpr];
    for r in 0..rows {
        for g in 0..gpr {
            out[r * gpr + g] = group_major[g * rows + r];
        }
    }
    out
}

thread_local! {
    /// Activations of the current product, prepared once for every row (see `Prepared`).
    static PREP: RefCell<Prepared> = RefCell::new(Prepared::default());
}

/// Per-token activation side data. xp (t, k): codes with the middle two 16-byte quarters
/// of every 64 swapped, to match a 32-byte load of two packed blocks (x86); x16 (t, k):
/// codes widened to i16 (wasm); sums (t, k/group): 8 · Σ x over each group.
#[derive(Default)]
struct Prepared {
    xp: Vec<i8>,
    x16: Vec<i16>,
    sums: Vec<i32>,
}

impl Prepared {
    fn fill(&mut self, xq: &[i8], k: usize, group: usize, permute: bool, widen: bool) {
        let t = xq.len() / k;
        self.sums.clear();
        for g in xq.chunks_exact(group) {
            self.sums.push(8 * g.iter().map(|&v| v as i32).sum::<i32>());
        }
        debug_assert_eq!(self.sums.len(), t * (k / group));
        if permute {
            self.xp.clear();
            self.xp.extend_from_slice(xq);
            for row in self.xp.chunks_exact_mut(k) {
                for c in row.chunks_exact_mut(64) {
                    let (a, b) = c.split_at_mut(32);
                    a[16..32].swap_with_slice(&mut b[..16]);
                }
            }
        }
        if widen {
            self.x16.clear();
            self.x16.extend(xq.iter().map(|&v| v as i16));
        }
    }
}

/// y[r] = xs · Σ_g scales[g, r] · (Σ_{i in g} w[r, i]·xq[i]) (+ b[r]).
/// packed (n, k/2), scales_t (k/group, n), xq (k), y (n). `k` and `group` are multiples of 32.
pub fn matvec_w4a8(
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    matmul_w4a8(packed, scales_t, group, xq.len(), xq, &[xs], bias, y)
}

/// Y (t, n) = per token j: xs[j] · Σ_g scales[g, r] · (Σ_{i in g} w[r, i]·xq[j, i]) (+ b).
/// packed (n, k/2), scales_t (k/group, n), xq (t, k), xs (t), y (t, n). Every output in
/// the canonical order (module doc): the same bits as one `matvec_w4a8` per token.
#[allow(clippy::too_many_arguments)]
pub fn matmul_w4a8(
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    check_shapes(packed, scales_t, group, k, xq, xs, bias, y);
    with_path(Path::Best, packed, scales_t, group, k, xq, xs, bias, y)
}

/// The shapes every W4A8 product needs (see `matmul_w4a8`); panics with what is wrong.
#[allow(clippy::too_many_arguments)]
fn check_shapes(
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &[f32],
) {
    let t = xs.len();
    assert!(
        group.is_multiple_of(BLOCK) && k > 0 && k.is_multiple_of(group),
        "W4A8: k and the group must be multiples of 32"
    );
    assert!(t > 0 && xq.len() == t * k, "W4A8: X is not (t, k)");
    let n = y.len() / t;
    assert_eq!(y.len(), t * n, "W4A8: Y is not (t, n)");
    assert!(
        packed.len() >= n * k / 2 && scales_t.len() >= n * (k / group),
        "W4A8: packed codes or scales too short"
    );
    assert!(bias.is_none_or(|b| b.len() >= n), "W4A8: bias too short");
}

/// `matmul_w4a8` for the `relaxed` kernel: in the relaxed-SIMD build the nibbles
/// (0..=15) go straight into `i32x4.relaxed_dot_i8x16_i7x16_add_s` (exact in that range,
/// so the same bits); elsewhere `matmul_w4a8`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_w4a8_relaxed(
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        check_shapes(packed, scales_t, group, k, xq, xs, bias, y);
        return with_path(Path::Relaxed, packed, scales_t, group, k, xq, xs, bias, y);
    }
    #[allow(unreachable_code)]
    matmul_w4a8(packed, scales_t, group, k, xq, xs, bias, y)
}

/// Which implementation `with_path` may take (tests force the slower ones).
#[derive(Clone, Copy, PartialEq)]
enum Path {
    Best,
    #[cfg_attr(not(test), allow(dead_code))]
    NoVnni,
    /// The relaxed-SIMD dot (wasm relaxed-SIMD build only).
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    Relaxed,
}

#[allow(clippy::too_many_arguments)]
fn with_path(
    path: Path,
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let n = y.len() / xs.len();
    #[cfg(target_arch = "x86_64")]
    {
        let (avx2, f16c) = (
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("f16c"),
        );
        if avx2 && f16c {
            let vnni = path == Path::Best
                && std::arch::is_x86_feature_detected!("avx512vnni")
                && std::arch::is_x86_feature_detected!("avx512vl");
            return PREP.with(|p| {
                let mut p = p.borrow_mut();
                p.fill(xq, k, group, true, false);
                let a = x86::Args {
                    packed,
                    scales_t,
                    group,
                    k,
                    n,
                    xp: &p.xp,
                    sums: &p.sums,
                    xs,
                    bias,
                };
                // SAFETY: AVX2 and F16C (and AVX-512 VNNI + VL for the first) are
                // present; the shapes were checked above.
                let done = unsafe {
                    if vnni {
                        x86::panels_vnni(&a, y)
                    } else {
                        x86::panels_avx2(&a, y)
                    }
                };
                portable_rows(packed, scales_t, group, k, xq, xs, bias, y, done);
            });
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        return PREP.with(|p| {
            let mut p = p.borrow_mut();
            let relaxed = path == Path::Relaxed;
            p.fill(xq, k, group, false, !relaxed);
            let a = simd128::Args {
                packed,
                scales_t,
                group,
                k,
                n,
                xq,
                x16: &p.x16,
                sums: &p.sums,
                xs,
                bias,
            };
            #[cfg(target_feature = "relaxed-simd")]
            let done = if relaxed {
                simd128::panels::<true>(&a, y)
            } else {
                simd128::panels::<false>(&a, y)
            };
            #[cfg(not(target_feature = "relaxed-simd"))]
            let done = simd128::panels::<false>(&a, y);
            portable_rows(packed, scales_t, group, k, xq, xs, bias, y, done);
        });
    }
    #[allow(unreachable_code)]
    portable_rows(packed, scales_t, group, k, xq, xs, bias, y, 0)
}

/// The name of the code path W4A8 takes on this machine (for the kernel table; the
/// same checks as `with_path`).
#[allow(unreachable_code)]
pub fn path_name() -> &'static str {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return "simd128 panels of 4 rows";
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("f16c") {
        return if std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            "avx512 vnni panels of 8 rows"
        } else {
            "avx2 maddubs panels of 8 rows"
        };
    }
    "portable"
}

/// Rows `from..n` of every token, one row at a time: the canonical order spelled out.
#[allow(clippy::too_many_arguments)]
fn portable_rows(
    packed: &[u8],
    scales_t: &[f16],
    group: usize,
    k: usize,
    xq: &[i8],
    xs: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    from: usize,
) {
    let t = xs.len();
    let n = y.len() / t;
    let (bpr, gpr) = (k / 2, k / group); // bytes and groups per row
    for (j, (xr, yr)) in xq.chunks_exact(k).zip(y.chunks_exact_mut(n)).enumerate() {
        for (r, yv) in yr.iter_mut().enumerate().skip(from) {
            let row = &packed[r * bpr..(r + 1) * bpr];
            let mut s = 0.0f32;
            for g in 0..gpr {
                let acc = imp::group_dot(
                    &row[g * group / 2..(g + 1) * group / 2],
                    &xr[g * group..(g + 1) * group],
                );
                s += acc as f32 * super::f16_to_f32(scales_t[g * n + r]);
            }
            let v = s * xs[j];
            *yv = match bias {
                Some(b) => v + b[r],
                None => v,
            };
        }
    }
}

/// x86-64: panels of 8 rows; per 64 weights of a row one 32-byte load of two packed
/// blocks, two `and`s and a shift split the nibbles, and the products go through
/// `vpdpbusd` (AVX-512 VNNI) or `vpmaddubsw` + `vpmaddwd` (AVX2). In the accumulator
/// of a row, lanes 0..4 hold the first block's sums and lanes 4..8 the second's.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use half::f16;
    use std::arch::x86_64::*;

    /// Rows per panel: one f32 lane each in a `__m256`.
    const P: usize = 8;

    pub struct Args<'a> {
        pub packed: &'a [u8],
        pub scales_t: &'a [f16],
        pub group: usize,
        pub k: usize,
        pub n: usize,
        pub xp: &'a [i8],    // (t, k), quarters permuted
        pub sums: &'a [i32], // (t, k/group)
        pub xs: &'a [f32],   // (t)
        pub bias: Option<&'a [f32]>,
    }

    /// # Safety
    /// AVX2, F16C, AVX-512 VNNI and VL present; shapes as checked by `matmul_w4a8`.
    #[target_feature(enable = "avx2,f16c,avx512vnni,avx512vl")]
    pub unsafe fn panels_vnni(a: &Args, y: &mut [f32]) -> usize {
        panels::<true>(a, y)
    }

    /// # Safety
    /// AVX2 and F16C present; shapes as checked by `matmul_w4a8`.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn panels_avx2(a: &Args, y: &mut [f32]) -> usize {
        panels::<false>(a, y)
    }

    /// Every whole panel of rows for every token; returns the first row not done.
    /// Panel outside, tokens inside: a panel's codes (8 rows of k/2 bytes) stay in L1
    /// while every token of a prefill passes over them.
    #[inline(always)]
    unsafe fn panels<const VNNI: bool>(a: &Args, y: &mut [f32]) -> usize {
        let t = a.xs.len();
        let (n, k) = (a.n, a.k);
        let gpr = k / a.group;
        let full = n - n % P;
        // Prefill at group 32: two tokens per pass share each row's unpacked nibbles.
        let pairs = if a.group == 32 && k.is_multiple_of(64) {
            t / 2
        } else {
            0
        };
        for r0 in (0..full).step_by(P) {
            for p in 0..pairs {
                let j = 2 * p;
                let (s0, s1) = panel2::<VNNI>(a, r0, j);
                for (jj, s) in [(j, s0), (j + 1, s1)] {
                    let mut v = _mm256_mul_ps(s, _mm256_set1_ps(a.xs[jj]));
                    if let Some(b) = a.bias {
                        v = _mm256_add_ps(v, _mm256_loadu_ps(b[r0..r0 + P].as_ptr()));
                    }
                    _mm256_storeu_ps(y[jj * n + r0..jj * n + r0 + P].as_mut_ptr(), v);
                }
            }
            for j in 2 * pairs..t {
                let s = panel::<VNNI>(a, r0, &a.xp[j * k..(j + 1) * k], &a.sums[j * gpr..]);
                let mut v = _mm256_mul_ps(s, _mm256_set1_ps(a.xs[j]));
                if let Some(b) = a.bias {
                    v = _mm256_add_ps(v, _mm256_loadu_ps(b[r0..r0 + P].as_ptr()));
                }
                _mm256_storeu_ps(y[j * n + r0..j * n + r0 + P].as_mut_ptr(), v);
            }
        }
        full
    }

    /// The group-by-group float sums s of rows r0..r0+8 for one token (lane q = row r0+q).
    #[inline(always)]
    unsafe fn panel<const VNNI: bool>(a: &Args, r0: usize, xp: &[i8], sums: &[i32]) -> __m256 {
        let (k, n, group) = (a.k, a.n, a.group);
        let bpr = k / 2;
        let rows = &a.packed[r0 * bpr..(r0 + P) * bpr];
        let pw = rows.as_ptr();
        let px = xp.as_ptr();
        let k64 = k & !63;
        // s += (sum as f32) · scale for one group of the panel. (A function, not a
        // closure: a closure here would not inherit the caller's target features, and
        // once LLVM stops inlining it every intrinsic inside becomes a call.)
        #[inline(always)]
        unsafe fn step1(s: __m256, gv: __m256i, sum: i32, sc: &[f16]) -> __m256 {
            let gv = _mm256_sub_epi32(gv, _mm256_set1_epi32(sum));
            _mm256_add_ps(s, _mm256_mul_ps(_mm256_cvtepi32_ps(gv), scales8(sc)))
        }
        let scales_of = |g: usize| &a.scales_t[g * n + r0..];
        let mut s = _mm256_setzero_ps();
        if group == 32 {
            // Each 64 weights are two groups: the two halves of the reduction.
            let mut c = 0;
            while c < k64 {
                let mut acc = [_mm256_setzero_si256(); P];
                for (q, aq) in acc.iter_mut().enumerate() {
                    *aq = chunk::<VNNI>(*aq, pw.add(q * bpr + c / 2), px.add(c));
                }
                let (lo, hi) = reduce8(acc);
                s = step1(s, lo, sums[c / 32], scales_of(c / 32));
                s = step1(s, hi, sums[c / 32 + 1], scales_of(c / 32 + 1));
                c += 64;
            }
            if k64 < k {
                // A last lone block (k = 32 mod 64): its 32 weights in natural order.
                let mut acc = [_mm256_setzero_si256(); P];
                for (q, aq) in acc.iter_mut().enumerate() {
                    *aq = block::<VNNI>(pw.add(q * bpr + k64 / 2), px.add(k64));
                }
                let (lo, hi) = reduce8(acc);
                s = step1(
                    s,
                    _mm256_add_epi32(lo, hi),
                    sums[k64 / 32],
                    scales_of(k64 / 32),
                );
            }
        } else {
            // group = 64·m, so k is a multiple of 64 and groups hold whole chunks.
            for (g, &sum) in sums[..k / group].iter().enumerate() {
                let mut acc = [_mm256_setzero_si256(); P];
                let mut c = g * group;
                while c < (g + 1) * group {
                    for (q, aq) in acc.iter_mut().enumerate() {
                        *aq = chunk::<VNNI>(*aq, pw.add(q * bpr + c / 2), px.add(c));
                    }
                    c += 64;
                }
                let (lo, hi) = reduce8(acc);
                s = step1(s, _mm256_add_epi32(lo, hi), sum, scales_of(g));
            }
        }
        s
    }

    /// `panel` for tokens j and j+1 at once (group 32, k a multiple of 64): each row's
    /// 64 weights are unpacked once for both, each group's scales converted once, and
    /// the transposing reduction is done pairwise as rows come in, so few registers are
    /// live. The same integer sums and float steps as `panel`, so the same bits.
    #[inline(always)]
    unsafe fn panel2<const VNNI: bool>(a: &Args, r0: usize, j: usize) -> (__m256, __m256) {
        let (k, n) = (a.k, a.n);
        let (bpr, gpr) = (k / 2, k / 32);
        let pw = a.packed[r0 * bpr..(r0 + P) * bpr].as_ptr();
        let px0 = a.xp[j * k..(j + 1) * k].as_ptr();
        let px1 = a.xp[(j + 1) * k..(j + 2) * k].as_ptr();
        let (sums0, sums1) = (&a.sums[j * gpr..], &a.sums[(j + 1) * gpr..]);
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut c = 0;
        while c < k {
            let x = [
                _mm256_loadu_si256(px0.add(c) as *const __m256i),
                _mm256_loadu_si256(px0.add(c + 32) as *const __m256i),
                _mm256_loadu_si256(px1.add(c) as *const __m256i),
                _mm256_loadu_si256(px1.add(c + 32) as *const __m256i),
            ];
            let w = pw.add(c / 2);
            let (h01a, h01b) = rows2::<VNNI>(w, bpr, &x);
            let (h23a, h23b) = rows2::<VNNI>(w.add(2 * bpr), bpr, &x);
            let (q0a, q0b) = (_mm256_hadd_epi32(h01a, h23a), _mm256_hadd_epi32(h01b, h23b));
            let (h45a, h45b) = rows2::<VNNI>(w.add(4 * bpr), bpr, &x);
            let (h67a, h67b) = rows2::<VNNI>(w.add(6 * bpr), bpr, &x);
            let (q1a, q1b) = (_mm256_hadd_epi32(h45a, h67a), _mm256_hadd_epi32(h45b, h67b));
            let g = c / 32;
            let sc = [
                scales8(&a.scales_t[g * n + r0..]),
                scales8(&a.scales_t[(g + 1) * n + r0..]),
            ];
            s0 = steps2(s0, q0a, q1a, [sums0[g], sums0[g + 1]], sc);
            s1 = steps2(s1, q0b, q1b, [sums1[g], sums1[g + 1]], sc);
            c += 64;
        }
        (s0, s1)
    }

    /// Rows at `w` and `w + bpr` (64 weights each) against both tokens' activations
    /// x = [lo0, hi0, lo1, hi1]: (hadd(row0, row1) of token 0, of token 1).
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn rows2<const VNNI: bool>(
        w: *const u8,
        bpr: usize,
        x: &[__m256i; 4],
    ) -> (__m256i, __m256i) {
        let mask = _mm256_set1_epi8(0x0F);
        let z = _mm256_setzero_si256();
        let mut out = [[z; 2]; 2]; // [token][row]
        for r in 0..2 {
            let v = _mm256_loadu_si256(w.add(r * bpr) as *const __m256i);
            let lo = _mm256_and_si256(v, mask);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
            out[0][r] = dot2::<VNNI>(z, lo, x[0], hi, x[1]);
            out[1][r] = dot2::<VNNI>(z, lo, x[2], hi, x[3]);
        }
        (
            _mm256_hadd_epi32(out[0][0], out[0][1]),
            _mm256_hadd_epi32(out[1][0], out[1][1]),
        )
    }

    /// Eight rows' f16 scales of one group as f32.
    #[inline(always)]
    unsafe fn scales8(p: &[f16]) -> __m256 {
        let p = &p[..P];
        _mm256_cvtph_ps(_mm_loadu_si128(p.as_ptr() as *const __m128i))
    }

    /// The two groups of one 64-weight chunk added to s, as `panel`'s two `step`s:
    /// q0/q1 are the transposed sums (rows 0..4 | 4..8), sums the 8·Σx of each group.
    #[inline(always)]
    unsafe fn steps2(
        s: __m256,
        q0: __m256i,
        q1: __m256i,
        sums: [i32; 2],
        sc: [__m256; 2],
    ) -> __m256 {
        let lo = _mm256_permute2x128_si256::<0x20>(q0, q1);
        let hi = _mm256_permute2x128_si256::<0x31>(q0, q1);
        let lo = _mm256_sub_epi32(lo, _mm256_set1_epi32(sums[0]));
        let hi = _mm256_sub_epi32(hi, _mm256_set1_epi32(sums[1]));
        let s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_cvtepi32_ps(lo), sc[0]));
        _mm256_add_ps(s, _mm256_mul_ps(_mm256_cvtepi32_ps(hi), sc[1]))
    }

    /// acc + the products of 64 weights (two packed blocks at `w`, 32 bytes) with the
    /// permuted activations at `x` (64 bytes): lanes 0..4 the first block, 4..8 the second.
    #[inline(always)]
    unsafe fn chunk<const VNNI: bool>(acc: __m256i, w: *const u8, x: *const i8) -> __m256i {
        let mask = _mm256_set1_epi8(0x0F);
        let v = _mm256_loadu_si256(w as *const __m256i);
        let lo = _mm256_and_si256(v, mask);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
        let xl = _mm256_loadu_si256(x as *const __m256i);
        let xh = _mm256_loadu_si256(x.add(32) as *const __m256i);
        dot2::<VNNI>(acc, lo, xl, hi, xh)
    }

    /// The products of one lone block (16 bytes at `w`) with 32 natural activations.
    #[inline(always)]
    unsafe fn block<const VNNI: bool>(w: *const u8, x: *const i8) -> __m256i {
        let mask = _mm_set1_epi8(0x0F);
        let v = _mm_loadu_si128(w as *const __m128i);
        let lo = _mm_and_si128(v, mask);
        let hi = _mm_and_si128(_mm_srli_epi16::<4>(v), mask);
        let wv = _mm256_set_m128i(hi, lo);
        let xv = _mm256_loadu_si256(x as *const __m256i);
        dot2::<VNNI>(_mm256_setzero_si256(), wv, xv, _mm256_setzero_si256(), xv)
    }

    /// acc + Σ u·x in groups of four bytes, for (u0, x0) and (u1, x1); u in 0..=15.
    /// AVX2: `vpmaddubsw` pairs stay within ±3810, their sum within ±7620 (no i16
    /// saturation), then `vpmaddwd` by ones into i32.
    #[inline(always)]
    unsafe fn dot2<const VNNI: bool>(
        acc: __m256i,
        u0: __m256i,
        x0: __m256i,
        u1: __m256i,
        x1: __m256i,
    ) -> __m256i {
        if VNNI {
            _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(acc, u0, x0), u1, x1)
        } else {
            let p = _mm256_add_epi16(_mm256_maddubs_epi16(u0, x0), _mm256_maddubs_epi16(u1, x1));
            _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)))
        }
    }

    /// Eight rows' accumulators → (Σ lanes 0..4, Σ lanes 4..8) of each row, row q in
    /// lane q: two rounds of `vphaddd` and a swap of 128-bit halves. Exact (integers).
    #[inline(always)]
    unsafe fn reduce8(a: [__m256i; P]) -> (__m256i, __m256i) {
        let h01 = _mm256_hadd_epi32(a[0], a[1]);
        let h23 = _mm256_hadd_epi32(a[2], a[3]);
        let h45 = _mm256_hadd_epi32(a[4], a[5]);
        let h67 = _mm256_hadd_epi32(a[6], a[7]);
        let q0 = _mm256_hadd_epi32(h01, h23); // rows 0..4: lo sums | hi sums
        let q1 = _mm256_hadd_epi32(h45, h67); // rows 4..8
        (
            _mm256_permute2x128_si256::<0x20>(q0, q1),
            _mm256_permute2x128_si256::<0x31>(q0, q1),
        )
    }
}

/// wasm simd128: panels of 4 rows (one f32x4 lane each); per block, the nibbles widened
/// to i16 and multiplied with `i32x4.dot_i16x8_s` against activations widened once per
/// token; one transposing reduction per group for the panel.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use crate::kernels::f16x4_to_f32;
    use core::arch::wasm32::*;
    use half::f16;

    const P: usize = 4;

    /// [Σ a0, Σ a1, Σ a2, Σ a3] from pairwise sums of neighbouring lanes (exact).
    #[inline(always)]
    fn reduce4(a: [v128; P]) -> v128 {
        let h = |x: v128, y: v128| {
            i32x4_add(
                i32x4_shuffle::<0, 2, 4, 6>(x, y),
                i32x4_shuffle::<1, 3, 5, 7>(x, y),
            )
        };
        h(h(a[0], a[1]), h(a[2], a[3]))
    }

    /// One product's operands: xq (t, k) the int8 activations, x16 the same widened
    /// to i16 (empty for the relaxed path), sums (t, k/group) 8 · Σ x per group.
    pub struct Args<'a> {
        pub packed: &'a [u8],
        pub scales_t: &'a [f16],
        pub group: usize,
        pub k: usize,
        pub n: usize,
        pub xq: &'a [i8],
        pub x16: &'a [i16],
        pub sums: &'a [i32],
        pub xs: &'a [f32],
        pub bias: Option<&'a [f32]>,
    }

    /// Σ u·x of one 32-weight block for one row: `v` its 16 packed bytes, `px` its 32
    /// activations. simd128: the nibbles widened to i16, four `i32x4.dot_i16x8_s`;
    /// `RELAXED`: two relaxed i8 dots, the nibbles (0..=15) as the 7-bit operand.
    #[inline(always)]
    unsafe fn block<const RELAXED: bool>(v: v128, a: &Args, j: usize, b: usize, acc: v128) -> v128 {
        let mask = u8x16_splat(0x0F);
        let lo = v128_and(v, mask);
        let hi = u8x16_shr(v, 4);
        #[cfg(target_feature = "relaxed-simd")]
        if RELAXED {
            let px = a.xq.as_ptr().add(j * a.k + 32 * b);
            let x0 = v128_load(px as *const v128);
            let x1 = v128_load(px.add(16) as *const v128);
            let acc = i32x4_relaxed_dot_i8x16_i7x16_add(x0, lo, acc);
            return i32x4_relaxed_dot_i8x16_i7x16_add(x1, hi, acc);
        }
        let px = a.x16.as_ptr().add(j * a.k + 32 * b);
        let x0 = v128_load(px as *const v128);
        let x1 = v128_load(px.add(8) as *const v128);
        let x2 = v128_load(px.add(16) as *const v128);
        let x3 = v128_load(px.add(24) as *const v128);
        let d0 = i32x4_add(
            i32x4_dot_i16x8(u16x8_extend_low_u8x16(lo), x0),
            i32x4_dot_i16x8(u16x8_extend_high_u8x16(lo), x1),
        );
        let d1 = i32x4_add(
            i32x4_dot_i16x8(u16x8_extend_low_u8x16(hi), x2),
            i32x4_dot_i16x8(u16x8_extend_high_u8x16(hi), x3),
        );
        i32x4_add(acc, i32x4_add(d0, d1))
    }

    /// Every whole panel of rows for every token; returns the first row not done.
    pub fn panels<const RELAXED: bool>(a: &Args, y: &mut [f32]) -> usize {
        let Args {
            packed,
            scales_t,
            group,
            k,
            n,
            sums,
            xs,
            bias,
            ..
        } = *a;
        let (bpr, gpr) = (k / 2, k / group);
        let bpg = group / 32; // blocks per group
        let full = n - n % P;
        for r0 in (0..full).step_by(P) {
            let rows = &packed[r0 * bpr..(r0 + P) * bpr];
            for (j, &xsj) in xs.iter().enumerate() {
                assert!(if RELAXED { a.xq.len() } else { a.x16.len() } >= (j + 1) * k);
                let sj = &sums[j * gpr..(j + 1) * gpr];
                let mut s = f32x4_splat(0.0);
                for g in 0..gpr {
                    let mut acc = [i32x4_splat(0); P];
                    for b in g * bpg..(g + 1) * bpg {
                        for (q, aq) in acc.iter_mut().enumerate() {
                            // SAFETY: block b of each row lies inside `rows`, and its 32
                            // activations inside token j's (checked above; b < k/32).
                            unsafe {
                                let v =
                                    v128_load(rows.as_ptr().add(q * bpr + 16 * b) as *const v128);
                                *aq = block::<RELAXED>(v, a, j, b, *aq);
                            }
                        }
                    }
                    let gv = i32x4_sub(reduce4(acc), i32x4_splat(sj[g]));
                    let sc = f16x4_to_f32(&scales_t[g * n + r0..g * n + r0 + P]);
                    s = f32x4_add(s, f32x4_mul(f32x4_convert_i32x4(gv), sc));
                }
                let mut v = f32x4_mul(s, f32x4_splat(xsj));
                if let Some(b) = bias {
                    // SAFETY: b holds at least n >= r0 + 4 floats.
                    v = f32x4_add(v, unsafe {
                        v128_load(b[r0..r0 + P].as_ptr() as *const v128)
                    });
                }
                let out = &mut y[j * n + r0..j * n + r0 + P];
                // SAFETY: `out` holds four floats.
                unsafe { v128_store(out.as_mut_ptr() as *mut v128, v) };
            }
        }
        full
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Exact i32 dot of a packed group against int8 activations.
    #[inline]
    pub fn group_dot(bytes: &[u8], xq: &[i8]) -> i32 {
        let mut acc = [0i32; 16];
        for (blk, xb) in bytes.chunks_exact(16).zip(xq.chunks_exact(32)) {
            for j in 0..16 {
                let lo = (blk[j] & 0x0F) as i32 - 8;
                let hi = (blk[j] >> 4) as i32 - 8;
                acc[j] += lo * xb[j] as i32 + hi * xb[j + 16] as i32;
            }
        }
        acc.iter().sum()
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[inline]
    pub fn group_dot(bytes: &[u8], xq: &[i8]) -> i32 {
        let mask = u8x16_splat(0x0F);
        let eight = i8x16_splat(8);
        let mut acc = i32x4_splat(0);
        let blocks = bytes.len() / 16;
        assert!(xq.len() >= 32 * blocks);
        // SAFETY: block b reads bytes[16b..16b+16] and xq[32b..32b+32], inside both.
        unsafe {
            for b in 0..blocks {
                let v = v128_load(bytes.as_ptr().add(16 * b) as *const v128);
                let lo = i8x16_sub(v128_and(v, mask), eight);
                let hi = i8x16_sub(u8x16_shr(v, 4), eight);
                let x0 = v128_load(xq.as_ptr().add(32 * b) as *const v128);
                let x1 = v128_load(xq.as_ptr().add(32 * b + 16) as *const v128);
                let d0 = i32x4_add(
                    i32x4_dot_i16x8(i16x8_extend_low_i8x16(lo), i16x8_extend_low_i8x16(x0)),
                    i32x4_dot_i16x8(i16x8_extend_high_i8x16(lo), i16x8_extend_high_i8x16(x0)),
                );
                let d1 = i32x4_add(
                    i32x4_dot_i16x8(i16x8_extend_low_i8x16(hi), i16x8_extend_low_i8x16(x1)),
                    i32x4_dot_i16x8(i16x8_extend_high_i8x16(hi), i16x8_extend_high_i8x16(x1)),
                );
                acc = i32x4_add(acc, i32x4_add(d0, d1));
            }
        }
        i32x4_extract_lane::<0>(acc)
            + i32x4_extract_lane::<1>(acc)
            + i32x4_extract_lane::<2>(acc)
            + i32x4_extract_lane::<3>(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::int8::quantize_act;
    use crate::rng::Rng;

    /// Random codes packed, random scales (group-major), random int8 activations.
    fn case(n: usize, k: usize, t: usize, group: usize, seed: u64) -> Case {
        let mut rng = Rng::new(seed);
        let codes: Vec<i8> = (0..n * k)
            .map(|_| (rng.next_u64() % 16) as i8 - 8)
            .collect();
        let mut packed = vec![0u8; n * k / 2];
        for (b, blk) in codes.chunks_exact(32).enumerate() {
            pack_block(blk, &mut packed[b * 16..(b + 1) * 16]);
        }
        let scales_t: Vec<f16> = (0..n * k / group)
            .map(|_| f16::from_f32(0.001 + rng.normal().abs() * 0.02))
            .collect();
        let xq: Vec<i8> = (0..t * k)
            .map(|_| ((rng.next_u64() % 255) as i32 - 127) as i8)
            .collect();
        let xs: Vec<f32> = (0..t).map(|j| 0.01 + 0.003 * j as f32).collect();
        let bias: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        Case {
            codes,
            packed,
            scales_t,
            xq,
            xs,
            bias,
        }
    }

    struct Case {
        codes: Vec<i8>,
        packed: Vec<u8>,
        scales_t: Vec<f16>,
        xq: Vec<i8>,
        xs: Vec<f32>,
        bias: Vec<f32>,
    }

    /// The canonical order written out from the unpacked codes: the specification.
    fn spec(c: &Case, n: usize, k: usize, group: usize, bias: bool, j: usize, r: usize) -> f32 {
        let mut s = 0.0f32;
        for g in 0..k / group {
            let acc: i32 = (g * group..(g + 1) * group)
                .map(|i| c.codes[r * k + i] as i32 * c.xq[j * k + i] as i32)
                .sum();
            s += acc as f32 * c.scales_t[g * n + r].to_f32();
        }
        let v = s * c.xs[j];
        if bias {
            v + c.bias[r]
        } else {
            v
        }
    }

    #[test]
    fn fast_kernels_give_the_canonical_bits_on_ragged_shapes() {
        let shapes = [
            (8, 64, 1),
            (13, 96, 3),
            (17, 128, 2),
            (65, 256, 1),
            (24, 512, 5),
            (7, 192, 2),
            (33, 384, 4),
        ];
        for (si, &(n, k, t)) in shapes.iter().enumerate() {
            for group in [32, 64, 128] {
                if k % group != 0 {
                    continue;
                }
                let c = case(n, k, t, group, 100 + si as u64);
                for bias in [false, true] {
                    let b = bias.then_some(&c.bias[..]);
                    let mut y = vec![f32::NAN; t * n];
                    matmul_w4a8(&c.packed, &c.scales_t, group, k, &c.xq, &c.xs, b, &mut y);
                    for j in 0..t {
                        let mut yv = vec![f32::NAN; n];
                        matvec_w4a8(
                            &c.packed,
                            &c.scales_t,
                            group,
                            &c.xq[j * k..(j + 1) * k],
                            c.xs[j],
                            b,
                            &mut yv,
                        );
                        let mut yp = vec![f32::NAN; n];
                        portable_rows(
                            &c.packed,
                            &c.scales_t,
                            group,
                            k,
                            &c.xq[j * k..(j + 1) * k],
                            &c.xs[j..j + 1],
                            b,
                            &mut yp,
                            0,
                        );
                        let mut ya = vec![f32::NAN; n];
                        with_path(
                            Path::NoVnni,
                            &c.packed,
                            &c.scales_t,
                            group,
                            k,
                            &c.xq[j * k..(j + 1) * k],
                            &c.xs[j..j + 1],
                            b,
                            &mut ya,
                        );
                        for r in 0..n {
                            let want = spec(&c, n, k, group, bias, j, r).to_bits();
                            assert_eq!(ya[r].to_bits(), want, "no-VNNI path n{n} k{k} g{group}");
                            let at = format!("n{n} k{k} t{t} g{group} bias {bias} ({j},{r})");
                            assert_eq!(y[j * n + r].to_bits(), want, "matmul {at}");
                            assert_eq!(yv[r].to_bits(), want, "matvec {at}");
                            assert_eq!(yp[r].to_bits(), want, "portable {at}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pack_round_trip_scale_layouts_and_matvec_matches_reference() {
        let codes: Vec<i8> = (0..32).map(|i| (i % 16) as i8 - 8).collect();
        let mut bytes = [0u8; 16];
        pack_block(&codes, &mut bytes);
        let mut back = [0i8; 32];
        unpack_block(&bytes, &mut back);
        assert_eq!(&back[..], &codes[..]);

        let (n, k, group) = (5, 128, 64);
        let all: Vec<i8> = (0..n * k)
            .map(|i| ((i * 7 + i / 3) % 15) as i8 - 7)
            .collect();
        let mut packed = vec![0u8; n * k / 2];
        for (b, blk) in all.chunks_exact(32).enumerate() {
            pack_block(blk, &mut packed[b * 16..(b + 1) * 16]);
        }
        let scales: Vec<f16> = (0..n * k / group)
            .map(|i| f16::from_f32(0.01 * (1 + i) as f32))
            .collect(); // (n, k/group)
        let scales_t = scales_group_major(&scales, n, k / group);
        assert_eq!(scales_row_major(&scales_t, n, k / group), scales);
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut xq = vec![0i8; k];
        let xs = quantize_act(&x, None, &mut xq);
        let mut y = vec![0.0; n];
        matvec_w4a8(&packed, &scales_t, group, &xq, xs, None, &mut y);
        for r in 0..n {
            let want: f64 = (0..k)
                .map(|i| {
                    all[r * k + i] as f64
                        * scales[(r * k + i) / group].to_f64()
                        * xq[i] as f64
                        * xs as f64
                })
                .sum();
            assert!(
                (y[r] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                "row {r}: {} vs {want}",
                y[r]
            );
        }
    }
}
