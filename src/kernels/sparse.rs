//! Sparse matrix-vector products in CSR (compressed sparse row) form.
//!
//! Why CSR: each row's nonzeros are contiguous, so y[r] is one running sum in
//! registers, and the model's matrices are small (≤ 65,536 columns), so a column index
//! fits in a `u16`. Cost per nonzero: 4 bytes of value + 2 of index read, one gather of
//! x (wasm has no gather instruction: four `load32_lane`s per vector), one multiply and
//! one add; per row, a `u32` row pointer and a lane reduction. Dense SIMD streams 4
//! (wasm) or 8 (AVX) floats per load with no gather, which is why CSR only wins at high
//! sparsity (see `sparsity_sweep`). `kernels::sell` trades padding for no gathers.
//!
//! Canonical order of a row's sum, on every target (so wasm and native agree bit for
//! bit): sixteen lanes, lane l accumulating vals[j]·x[idx[j]] over the row's nonzeros
//! j ≡ l (mod 16) in its full chunks of 16 (multiply, then add: never fused); the
//! lanes reduced as a tree: h_i = l_i + l_{i+8} (i < 8), q_i = h_i + h_{i+4} (i < 4),
//! d_i = q_i + q_{i+2} (i < 2), d_0 + d_1; then the tail nonzeros added in order; then,
//! for int8 values, × the row's scale; then the bias. On wasm the sixteen lanes are four
//! `v128` accumulators (a0 = lanes 0..4, …, a3 = lanes 12..16), x gathered with
//! `load32_lane`; on x86-64 with AVX (picked at run time) two `__m256`; elsewhere an
//! `[f32; 16]` the compiler vectorises. x is always gathered by scalar loads: the
//! hardware gathers of AVX2 and AVX-512 measured slower than that on the CPUs tried.
//!
//! Safety: the kernels read x without bounds checks. That is sound because a `Csr` can
//! only be built through `from_dense`, which guarantees every column index < `cols`
//! and a consistent `row_ptr`, and every kernel asserts x.len() == cols on entry.

use crate::error::{input_err, Result};
use half::f16;

/// A validated CSR matrix with values of type `V` (f32, or i8 codes).
#[derive(Clone, Debug, PartialEq)]
pub struct Csr<V> {
    cols: usize,
    row_ptr: Vec<u32>, // (rows + 1)
    idx: Vec<u16>,     // (nnz) column of each nonzero, < cols
    vals: Vec<V>,      // (nnz)
}

impl<V: CsrValue> Csr<V> {
    /// The nonzeros of a dense row-major (rows, cols) matrix, row by row.
    pub fn from_dense(rows: usize, cols: usize, w: &[V]) -> Result<Csr<V>> {
        if cols > u16::MAX as usize + 1 {
            return Err(input_err(format!(
                "CSR column indices are u16; {cols} columns is too many"
            )));
        }
        assert_eq!(w.len(), rows * cols, "CSR: data does not match the shape");
        let mut row_ptr = Vec::with_capacity(rows + 1);
        row_ptr.push(0u32);
        let (mut idx, mut vals) = (Vec::new(), Vec::new());
        for r in 0..rows {
            for (c, &v) in w[r * cols..(r + 1) * cols].iter().enumerate() {
                if v.f() != 0.0 {
                    idx.push(c as u16);
                    vals.push(v);
                }
            }
            row_ptr.push(idx.len() as u32);
        }
        Ok(Csr {
            cols,
            row_ptr,
            idx,
            vals,
        })
    }

    pub fn rows(&self) -> usize {
        self.row_ptr.len() - 1
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    /// Bytes of row pointers, indices and values.
    pub fn bytes(&self) -> usize {
        self.row_ptr.len() * 4 + self.idx.len() * 2 + self.vals.len() * std::mem::size_of::<V>()
    }

    /// Row `r`'s (columns, values).
    pub fn row(&self, r: usize) -> (&[u16], &[V]) {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        (&self.idx[a..b], &self.vals[a..b])
    }

    /// y[r] = (Σ_j vals[j]·x[idx[j]]) · scale[r] (+ b[r]); x (cols), y (rows).
    fn matvec_scaled(
        &self,
        x: &[f32],
        scales: Option<&[f16]>,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        assert_eq!(x.len(), self.cols, "CSR matvec: x is not (cols)");
        assert_eq!(y.len(), self.rows(), "CSR matvec: y is not (rows)");
        assert!(
            bias.is_none_or(|b| b.len() == y.len()),
            "CSR matvec: bias is not (rows)"
        );
        assert!(
            scales.is_none_or(|s| s.len() == y.len()),
            "CSR matvec: scales are not (rows)"
        );
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX is present; every index < cols == x.len() (from_dense).
            return unsafe { avx::rows(self, x, scales, bias, y) };
        }
        // SAFETY: every index < cols == x.len() (from_dense), ix.len() == vs.len().
        self.rows_with(scales, bias, y, |ix, vs| unsafe { imp::row_dot(ix, vs, x) })
    }

    /// y[r] = dot(row r) · scale[r] (+ b[r]) for every row.
    #[inline(always)]
    fn rows_with(
        &self,
        scales: Option<&[f16]>,
        bias: Option<&[f32]>,
        y: &mut [f32],
        dot: impl Fn(&[u16], &[V]) -> f32,
    ) {
        for (r, yr) in y.iter_mut().enumerate() {
            let (ix, vs) = self.row(r);
            let mut s = dot(ix, vs);
            if let Some(sc) = scales {
                s *= super::f16_to_f32(sc[r]);
            }
            *yr = match bias {
                Some(bb) => s + bb[r],
                None => s,
            };
        }
    }
}

/// The values a CSR matrix can hold: f32, or i8 codes (exact in f32).
pub trait CsrValue: Copy {
    fn f(self) -> f32;
    /// Sixteen consecutive values as f32.
    ///
    /// # Safety
    /// `p..p+16` must be readable.
    #[inline(always)]
    unsafe fn load16(p: *const Self) -> [f32; 16] {
        std::array::from_fn(|l| (*p.add(l)).f())
    }
    /// Four consecutive values as an f32x4.
    ///
    /// # Safety
    /// `p..p+4` must be readable.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load4(p: *const Self) -> core::arch::wasm32::v128;
}

impl CsrValue for f32 {
    #[inline(always)]
    fn f(self) -> f32 {
        self
    }
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> [f32; 16] {
        (p as *const [f32; 16]).read_unaligned()
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn load4(p: *const f32) -> core::arch::wasm32::v128 {
        core::arch::wasm32::v128_load(p as *const core::arch::wasm32::v128)
    }
}

impl CsrValue for i8 {
    #[inline(always)]
    fn f(self) -> f32 {
        self as f32
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn load4(p: *const i8) -> core::arch::wasm32::v128 {
        use core::arch::wasm32::*;
        let b = v128_load32_zero(p as *const u32);
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(i16x8_extend_low_i8x16(b)))
    }
}

/// y (rows) = W x (+ b) for f32 values; x (cols).
pub fn csr_matvec(m: &Csr<f32>, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    m.matvec_scaled(x, None, bias, y)
}

/// Int8 codes with one f16 scale per row (scales (rows)), f32 activations.
pub fn csr_matvec_i8(m: &Csr<i8>, scales: &[f16], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    m.matvec_scaled(x, Some(scales), bias, y)
}

/// The lane tree of the canonical order: (i, i+8), (i, i+4), (i, i+2), (i, i+1).
#[inline(always)]
pub fn reduce16(l: &[f32; 16]) -> f32 {
    let h: [f32; 8] = std::array::from_fn(|i| l[i] + l[i + 8]);
    let q: [f32; 4] = std::array::from_fn(|i| h[i] + h[i + 4]);
    (q[0] + q[2]) + (q[1] + q[3])
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use super::{reduce16, CsrValue};

    /// Gathers 16 x values into an array, then one vectorisable multiply-add.
    ///
    /// # Safety
    /// Every idx[j] < x.len(), and idx.len() == vals.len().
    #[inline(always)]
    pub unsafe fn row_dot<V: CsrValue>(idx: &[u16], vals: &[V], x: &[f32]) -> f32 {
        let (ip, vp, xp) = (idx.as_ptr(), vals.as_ptr(), x.as_ptr());
        let n = idx.len();
        let mut acc = [0.0f32; 16];
        let mut j = 0;
        while j + 16 <= n {
            let g: [f32; 16] = std::array::from_fn(|l| *xp.add(*ip.add(j + l) as usize));
            let v = V::load16(vp.add(j));
            for l in 0..16 {
                acc[l] += v[l] * g[l];
            }
            j += 16;
        }
        let mut s = reduce16(&acc);
        while j < n {
            s += (*vp.add(j)).f() * *xp.add(*ip.add(j) as usize);
            j += 1;
        }
        s
    }
}

/// x86-64 with AVX: the same sixteen lanes as two `__m256` (lanes 0..8 and 8..16),
/// x gathered by scalar loads (AVX2's gather instruction is slower here).
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{Csr, CsrValue};
    use half::f16;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX present; every idx[j] < x.len(), and idx.len() == vals.len().
    #[target_feature(enable = "avx")]
    unsafe fn row_dot<V: CsrValue>(idx: &[u16], vals: &[V], x: &[f32]) -> f32 {
        let (ip, vp, xp) = (idx.as_ptr(), vals.as_ptr(), x.as_ptr());
        let g = |k: usize| *xp.add(*ip.add(k) as usize);
        let n = idx.len();
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut j = 0;
        while j + 16 <= n {
            let v = V::load16(vp.add(j));
            let g0 = _mm256_setr_ps(
                g(j),
                g(j + 1),
                g(j + 2),
                g(j + 3),
                g(j + 4),
                g(j + 5),
                g(j + 6),
                g(j + 7),
            );
            let g1 = _mm256_setr_ps(
                g(j + 8),
                g(j + 9),
                g(j + 10),
                g(j + 11),
                g(j + 12),
                g(j + 13),
                g(j + 14),
                g(j + 15),
            );
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(v.as_ptr()), g0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(v.as_ptr().add(8)), g1));
            j += 16;
        }
        // Lanes (i, i+8), then (i, i+4), then (i, i+2), (i, i+1).
        let h = _mm256_add_ps(a0, a1);
        let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let mut t = [0.0f32; 4];
        _mm_storeu_ps(t.as_mut_ptr(), q);
        let mut s = (t[0] + t[2]) + (t[1] + t[3]);
        while j < n {
            s += (*vp.add(j)).f() * g(j);
            j += 1;
        }
        s
    }

    /// # Safety
    /// AVX present; shapes checked; `m` built by `Csr::from_dense`.
    #[target_feature(enable = "avx")]
    pub unsafe fn rows<V: CsrValue>(
        m: &Csr<V>,
        x: &[f32],
        scales: Option<&[f16]>,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) {
        m.rows_with(scales, bias, y, |ix, vs| row_dot(ix, vs, x))
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use super::CsrValue;
    use core::arch::wasm32::*;

    /// x[i[0..4]] as an f32x4: wasm has no gather, so four lane loads.
    #[inline(always)]
    unsafe fn gather4(x: *const f32, i: *const u16) -> v128 {
        let v = v128_load32_zero(x.add(*i as usize) as *const u32);
        let v = v128_load32_lane::<1>(v, x.add(*i.add(1) as usize) as *const u32);
        let v = v128_load32_lane::<2>(v, x.add(*i.add(2) as usize) as *const u32);
        v128_load32_lane::<3>(v, x.add(*i.add(3) as usize) as *const u32)
    }

    /// # Safety
    /// Every idx[j] < x.len(), and idx.len() == vals.len().
    #[inline]
    pub unsafe fn row_dot<V: CsrValue>(idx: &[u16], vals: &[V], x: &[f32]) -> f32 {
        let (ip, vp, xp) = (idx.as_ptr(), vals.as_ptr(), x.as_ptr());
        let n = idx.len();
        let mut acc = [f32x4_splat(0.0); 4];
        let mut j = 0;
        while j + 16 <= n {
            for (q, a) in acc.iter_mut().enumerate() {
                let o = j + 4 * q;
                *a = f32x4_add(*a, f32x4_mul(V::load4(vp.add(o)), gather4(xp, ip.add(o))));
            }
            j += 16;
        }
        // h = lanes (i, i+8), then q = (i, i+4), then (i, i+2), (i, i+1).
        let q = f32x4_add(f32x4_add(acc[0], acc[2]), f32x4_add(acc[1], acc[3]));
        let mut s = (f32x4_extract_lane::<0>(q) + f32x4_extract_lane::<2>(q))
            + (f32x4_extract_lane::<1>(q) + f32x4_extract_lane::<3>(q));
        while j < n {
            s += (*vp.add(j)).f() * *xp.add(*ip.add(j) as usize);
            j += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_too_many_columns() {
        let e = Csr::<f32>::from_dense(0, 70_000, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("u16"), "{e}");
    }

    #[test]
    fn int8_values_are_scaled_per_row() {
        // 2 x 3: [[1, 0, -2], [0, 3, 0]], scales 0.5 and 2.
        let m = Csr::from_dense(2, 3, &[1i8, 0, -2, 0, 3, 0]).unwrap();
        let sc = [f16::from_f32(0.5), f16::from_f32(2.0)];
        let mut y = [0.0; 2];
        csr_matvec_i8(&m, &sc, &[1.0, 2.0, 3.0], Some(&[0.25, 0.0]), &mut y);
        assert_eq!(y, [(1.0 - 6.0) * 0.5 + 0.25, 6.0 * 2.0]);
        assert_eq!(m.bytes(), 3 * 4 + 3 * 2 + 3);
    }
}
