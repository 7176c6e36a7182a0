//! Sparse matrix-vector products in SELL form: column-blocked, sliced ELLPACK.
//!
//! Layout: the rows are cut into slices of `SLICE` = 16 rows and the columns into
//! blocks of `BLOCK` = 64. For each (slice, block), in slice-major order, `len` = the
//! most nonzeros any of the slice's rows has in that block, and `len` *slots* follow;
//! slot t holds, for each of the 16 rows (lanes), that row's t-th nonzero in the block
//! as (u8 column within the block, f32 value), or the padding (0, 0.0) when the row has
//! fewer. lens (slices, blocks), idx (slots, 16), vals (slots, 16).
//!
//! Why: a slot is one vector of 16 values, one per row, and its x operands all lie in a
//! 64-float block of x that sits in four registers. With AVX-512 the "gather" is two
//! register permutes (`vpermt2ps`, 32 floats each) and a blend on the index's bit 5
//! instead of a memory gather, and the 16 rows' sums are one register, stored once per
//! slice: no row pointers, no lane reduction. The price is padding: a slot costs 5 bytes
//! per lane whether the lane is a nonzero or not. (64-column blocks pad less than 32:
//! measured at 90 % on 512×512, 22 % instead of 25 % of the dense bytes, for about 20 %
//! more time.)
//! Cost per stored slot lane: 4 bytes of value + 1 of index, a multiply and an add (16
//! lanes at once); per (slice, block) one byte of `len` and four loads of x. At 90 %
//! random sparsity about 40 % of the slot lanes are padding (≈ 1.7 × the nonzeros), yet
//! bytes stay near a fifth of dense f32 and, with AVX-512, it is several times faster
//! than dense. Without a register permute (wasm simd128, AVX2) every lane is a scalar
//! load again and the padding makes it slower than CSR: the format has to fit the
//! hardware.
//!
//! Summation order, on every path (so all give the same bits): each row's sum starts at
//! 0.0 and adds value·x (multiply, then add: never fused) over all its stored slots,
//! padding included, in (block, slot) order; then the bias. The AVX-512F path is picked
//! at run time; the portable path (wasm, other CPUs) computes the same lanes in the
//! same order.

/// Rows per slice (lanes of a slot).
pub const SLICE: usize = 16;
/// Columns per block (a u8 index within a block is < 64).
pub const BLOCK: usize = 64;

/// A matrix in SELL form (see the module docs). Built only by `from_dense`, so its
/// indices are < BLOCK and its lengths match its slots.
#[derive(Clone, Debug, PartialEq)]
pub struct Sell {
    rows: usize,
    cols: usize,
    lens: Vec<u8>,  // (slices, blocks): slots of each (slice, block)
    idx: Vec<u8>,   // (slots, SLICE): column within the block
    vals: Vec<f32>, // (slots, SLICE): value, 0.0 for padding
}

impl Sell {
    /// Packs a dense row-major (rows, cols) matrix; entries equal to 0.0 are dropped.
    pub fn from_dense(rows: usize, cols: usize, w: &[f32]) -> Sell {
        assert_eq!(w.len(), rows * cols, "SELL: data does not match the shape");
        let (ns, nb) = (rows.div_ceil(SLICE), cols.div_ceil(BLOCK));
        let mut m = Sell {
            rows,
            cols,
            lens: Vec::with_capacity(ns * nb),
            idx: Vec::new(),
            vals: Vec::new(),
        };
        for s in 0..ns {
            for b in 0..nb {
                // Each lane's nonzeros in this block, as (column within block, value).
                let mut lane = [[(0u8, 0.0f32); BLOCK]; SLICE];
                let mut count = [0usize; SLICE];
                for l in 0..SLICE.min(rows - s * SLICE) {
                    let r = s * SLICE + l;
                    let c0 = b * BLOCK;
                    for (c, &v) in w[r * cols + c0..r * cols + cols.min(c0 + BLOCK)]
                        .iter()
                        .enumerate()
                    {
                        if v != 0.0 {
                            lane[l][count[l]] = (c as u8, v);
                            count[l] += 1;
                        }
                    }
                }
                let len = count.iter().copied().max().unwrap_or(0);
                m.lens.push(len as u8);
                for t in 0..len {
                    // Padding beyond a lane's count is (0, 0.0).
                    for (l, ln) in lane.iter().enumerate() {
                        let (c, v) = if t < count[l] { ln[t] } else { (0, 0.0) };
                        m.idx.push(c);
                        m.vals.push(v);
                    }
                }
            }
        }
        m
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Stored slots (each `SLICE` lanes wide, padding included).
    pub fn slots(&self) -> usize {
        self.lens.iter().map(|&l| l as usize).sum()
    }

    /// Bytes of values, indices and lengths: 5 per slot lane plus 1 per (slice, block).
    pub fn bytes(&self) -> usize {
        self.vals.len() * 4 + self.idx.len() + self.lens.len()
    }

    /// Copies row `r` (cols) into `out`, zeros included.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols.div_ceil(BLOCK);
        let (s, l) = (r / SLICE, r % SLICE);
        let mut p: usize = self.lens[..s * nb].iter().map(|&n| n as usize).sum();
        out.fill(0.0);
        for (b, &len) in self.lens[s * nb..(s + 1) * nb].iter().enumerate() {
            for t in p..p + len as usize {
                let v = self.vals[t * SLICE + l];
                // Padding is (0, 0.0): skip it, stored values are never zero.
                if v != 0.0 {
                    out[b * BLOCK + self.idx[t * SLICE + l] as usize] = v;
                }
            }
            p += len as usize;
        }
    }

    fn check(&self, x: &[f32], bias: Option<&[f32]>, y: &[f32]) {
        assert_eq!(x.len(), self.cols, "SELL matvec: x is not (cols)");
        assert_eq!(y.len(), self.rows, "SELL matvec: y is not (rows)");
        assert!(
            bias.is_none_or(|b| b.len() == y.len()),
            "SELL matvec: bias is not (rows)"
        );
    }

    /// y (rows) = W x (+ b), x (cols): AVX-512F when the CPU has it, else portable.
    pub fn matvec(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.matvec_avx512(x, bias, y) {
            return;
        }
        self.matvec_portable(x, bias, y)
    }

    /// The portable path: same lanes, same order as the AVX-512 one.
    pub fn matvec_portable(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        self.check(x, bias, y);
        let nb = self.cols.div_ceil(BLOCK);
        let (mut lens, mut idx, mut vals) = (
            self.lens.iter(),
            self.idx.chunks_exact(SLICE),
            self.vals.chunks_exact(SLICE),
        );
        for (s, ys) in y.chunks_mut(SLICE).enumerate() {
            let mut acc = [0.0f32; SLICE];
            for b in 0..nb {
                // The block of x, zero-padded past the last column.
                let c0 = b * BLOCK;
                let mut xb = [0.0f32; BLOCK];
                let n = BLOCK.min(self.cols - c0);
                xb[..n].copy_from_slice(&x[c0..c0 + n]);
                let len = *lens.next().expect("a length per (slice, block)") as usize;
                for _ in 0..len {
                    let (ci, cv) = (idx.next().expect("slot"), vals.next().expect("slot"));
                    for l in 0..SLICE {
                        acc[l] += cv[l] * xb[ci[l] as usize % BLOCK];
                    }
                }
            }
            for (l, yr) in ys.iter_mut().enumerate() {
                *yr = match bias {
                    Some(bb) => acc[l] + bb[s * SLICE + l],
                    None => acc[l],
                };
            }
        }
    }

    /// The AVX-512F path; returns false (and does nothing) when the CPU lacks AVX-512F.
    #[cfg(target_arch = "x86_64")]
    pub fn matvec_avx512(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> bool {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return false;
        }
        self.check(x, bias, y);
        // SAFETY: AVX-512F is present; shapes checked; `from_dense` built lens/idx/vals.
        unsafe { avx512::matvec(self, x, bias, y) };
        true
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Sell, BLOCK, SLICE};
    use std::arch::x86_64::*;

    /// Lanes 0..n set (n ≤ 16).
    #[inline(always)]
    fn mask(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// # Safety
    /// AVX-512F present; x (cols), y (rows), bias (rows); `m` from `Sell::from_dense`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn matvec(m: &Sell, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        let nb = m.cols.div_ceil(BLOCK);
        let (mut ip, mut vp, mut lp) = (m.idx.as_ptr(), m.vals.as_ptr(), m.lens.as_ptr());
        let xp = x.as_ptr();
        let bit5 = _mm512_set1_epi32(32);
        for s in 0..m.rows.div_ceil(SLICE) {
            let mut acc = _mm512_setzero_ps();
            for b in 0..nb {
                // x[c0..c0+64] in four registers; masked loads never read past x.
                let c0 = b * BLOCK;
                let n = BLOCK.min(m.cols - c0);
                let xs: [__m512; 4] = std::array::from_fn(|q| {
                    let k = n.saturating_sub(16 * q).min(16);
                    if k == 16 {
                        _mm512_loadu_ps(xp.add(c0 + 16 * q))
                    } else {
                        _mm512_maskz_loadu_ps(mask(k), xp.add(c0 + 16 * q))
                    }
                });
                let len = *lp as usize;
                lp = lp.add(1);
                for _ in 0..len {
                    let iv = _mm512_cvtepu8_epi32(_mm_loadu_si128(ip as *const __m128i));
                    // Columns 0..32 from xs[0..2], 32..64 from xs[2..4], by bit 5.
                    let lo = _mm512_permutex2var_ps(xs[0], iv, xs[1]);
                    let hi = _mm512_permutex2var_ps(xs[2], iv, xs[3]);
                    let g = _mm512_mask_blend_ps(_mm512_test_epi32_mask(iv, bit5), lo, hi);
                    // Multiply, then add: the portable path's order, never fused.
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(vp), g));
                    ip = ip.add(SLICE);
                    vp = vp.add(SLICE);
                }
            }
            let r0 = s * SLICE;
            let k = mask(SLICE.min(m.rows - r0));
            if let Some(bb) = bias {
                acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(k, bb.as_ptr().add(r0)));
            }
            _mm512_mask_storeu_ps(y.as_mut_ptr().add(r0), k, acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_layout_of_a_hand_checked_case() {
        // 17 x 65: two slices (16 + 1 rows), two blocks (64 + 1 columns).
        let (rows, cols) = (17, 65);
        let mut w = vec![0.0f32; rows * cols];
        w[0] = 1.0; // row 0, col 0
        w[5] = 2.0; // row 0, col 5
        w[cols + 64] = 3.0; // row 1, col 64 (block 1)
        w[16 * cols + 63] = 4.0; // row 16 (slice 1), col 63
        let m = Sell::from_dense(rows, cols, &w);
        // lens: slice 0 → block 0: 2 (row 0), block 1: 1 (row 1); slice 1 → 1, 0.
        assert_eq!(m.lens, [2, 1, 1, 0]);
        assert_eq!(m.slots(), 4);
        assert_eq!(m.bytes(), 4 * 16 * (4 + 1) + 4);
        assert_eq!(
            (m.idx[0], m.vals[0], m.idx[16], m.vals[16]),
            (0, 1.0, 5, 2.0)
        );
        assert_eq!((m.idx[2 * 16 + 1], m.vals[2 * 16 + 1]), (0, 3.0));
        assert_eq!((m.idx[3 * 16], m.vals[3 * 16]), (63, 4.0));
        let mut row = vec![9.0; cols];
        m.row_into(16, &mut row);
        assert_eq!(row.iter().filter(|v| **v != 0.0).count(), 1);
        assert_eq!(row[63], 4.0);
    }
}
