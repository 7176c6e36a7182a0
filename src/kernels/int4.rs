//! Int4 kernels. Layout: each run of 32 weights of a row is 16 bytes; byte j holds
//! weight j in its low nibble and weight j+16 in its high nibble, both offset by +8
//! (codes -8..=7). Unpacking a block then yields two in-order runs of 16, which line
//! up with contiguous activations: no shuffles needed.
//!
//! Products are W4A8: activations are quantized to int8 per token, each group of
//! `group` weights accumulates exactly in i32 and is scaled once by its own scale.

use half::f16;

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

/// y[r] = xs · Σ_g scales[r, g] · (Σ_{i in g} w[r, i]·xq[i]) (+ b[r]).
/// packed (n, k/2), scales (n, k/group), xq (k), y (n). `k` and `group` are multiples of 32.
pub fn matvec_w4a8(
    packed: &[u8],
    scales: &[f16],
    group: usize,
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let k = xq.len();
    let (bpr, gpr) = (k / 2, k / group); // bytes and groups per row
    assert!(
        group.is_multiple_of(BLOCK) && k.is_multiple_of(group),
        "W4A8: k and the group must be multiples of 32"
    );
    assert!(
        packed.len() >= y.len() * bpr && scales.len() >= y.len() * gpr,
        "W4A8: packed codes or scales too short"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let dot = |b: &[u8], x: &[i8]| {
            // SAFETY: AVX2 is present; b holds whole 16-byte blocks of x's 32 codes.
            unsafe { avx2::group_dot(b, x) }
        };
        return rows(packed, scales, group, xq, xs, bias, y, dot);
    }
    rows(packed, scales, group, xq, xs, bias, y, imp::group_dot)
}

/// The row loop around an exact group dot product (the float steps in one order).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rows(
    packed: &[u8],
    scales: &[f16],
    group: usize,
    xq: &[i8],
    xs: f32,
    bias: Option<&[f32]>,
    y: &mut [f32],
    group_dot: impl Fn(&[u8], &[i8]) -> i32,
) {
    let k = xq.len();
    let (bpr, gpr) = (k / 2, k / group);
    for (r, yr) in y.iter_mut().enumerate() {
        let row = &packed[r * bpr..(r + 1) * bpr];
        let sc = &scales[r * gpr..(r + 1) * gpr];
        let mut s = 0.0f32;
        for (g, sg) in sc.iter().enumerate() {
            let acc = group_dot(
                &row[g * group / 2..(g + 1) * group / 2],
                &xq[g * group..(g + 1) * group],
            );
            s += acc as f32 * super::f16_to_f32(*sg);
        }
        let v = s * xs;
        *yr = match bias {
            Some(b) => v + b[r],
            None => v,
        };
    }
}

/// AVX2: a block's 32 codes in one register, signed products through `vpmaddubsw`
/// (|w| ≤ 8 times x with w's sign, so no i16 saturation), then `vpmaddwd` into i32.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 present; bytes.len() = 16·blocks and xq.len() = 32·blocks.
    #[target_feature(enable = "avx2")]
    pub unsafe fn group_dot(bytes: &[u8], xq: &[i8]) -> i32 {
        let blocks = bytes.len() / 16;
        assert!(xq.len() >= 32 * blocks);
        let (mask, eight, ones) = (_mm_set1_epi8(0x0F), _mm_set1_epi8(8), _mm256_set1_epi16(1));
        let mut acc = _mm256_setzero_si256();
        for b in 0..blocks {
            let v = _mm_loadu_si128(bytes.as_ptr().add(16 * b) as *const __m128i);
            let lo = _mm_sub_epi8(_mm_and_si128(v, mask), eight);
            let hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16::<4>(v), mask), eight);
            let w = _mm256_set_m128i(hi, lo); // weights 0..16, then 16..32
            let x = _mm256_loadu_si256(xq.as_ptr().add(32 * b) as *const __m256i);
            let p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
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

    #[test]
    fn pack_round_trip_and_matvec_matches_reference() {
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
            .collect();
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut xq = vec![0i8; k];
        let xs = quantize_act(&x, None, &mut xq);
        let mut y = vec![0.0; n];
        matvec_w4a8(&packed, &scales, group, &xq, xs, None, &mut y);
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
