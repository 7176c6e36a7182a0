//! Storage formats for weight matrices. Each variant knows its true byte count (codes,
//! scales and any other side data) and how to multiply a vector. Quantized formats are
//! packed for real: `i8` codes, int4 nibbles two to a byte, f16 scales.

use crate::kernels::sell::Sell;
use crate::kernels::sparse::{self, Csr};
use crate::kernels::{self, int4, int8, Kernel};
use half::f16;
use std::cell::RefCell;

crate::choice_enum! {
    /// The precision a student picks.
    pub enum Precision ("precision") {
        F32 = "f32",
        /// Half-float storage; products in f32.
        F16 = "f16",
        /// Int8 weights, f32 activations (W8A32).
        Int8 = "int8",
        /// Int8 weights and activations with integer dot products (W8A8).
        Int8Dynamic = "int8-dynamic",
        /// Int4 group-wise weights, int8 activations (W4A8).
        Int4 = "int4",
    }
}

impl Precision {
    /// Whether activations become int8 (and so can use a static, calibrated scale).
    pub fn quantizes_activations(self) -> bool {
        matches!(self, Precision::Int8Dynamic | Precision::Int4)
    }
}

/// How activations enter an integer product.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// Kept in f32 (weight-only quantization, e.g. W8A32).
    F32,
    /// Quantized to int8 per token at run time from the token's own max |x|.
    Dynamic,
    /// Quantized to int8 with one scale calibrated ahead of time (values clamp).
    Static(f32),
}

/// How a matrix's numbers are held in memory.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// Plain f32, (rows, cols).
    F32(Vec<f32>),
    /// IEEE half floats, (rows, cols); products run in f32.
    F16(Vec<f16>),
    /// Symmetric int8, one scale per row: w ≈ codes · scale. codes (rows, cols), scales (rows).
    Int8 {
        codes: Vec<i8>,
        scales: Vec<f16>,
        act: Act,
    },
    /// Symmetric int4 in groups of `group` along a row, two codes per byte (see
    /// `kernels::int4` for the layout). packed (rows, cols/2); scales_t (cols/group, rows),
    /// group-major so a panel of rows reads one group's scales with one load (files keep
    /// them row-major: see `int4::scales_row_major`).
    /// Activations are always int8 (dynamic unless `act_scale` was calibrated).
    Int4 {
        packed: Vec<u8>,
        scales_t: Vec<f16>,
        group: usize,
        act_scale: Option<f32>,
    },
    /// Compressed sparse rows of f32: the nonzeros of each row with their columns
    /// (see `kernels::sparse`).
    CsrF32(Csr<f32>),
    /// Compressed sparse rows of int8 codes with one f16 scale per row (f32 activations).
    /// scales (rows).
    CsrInt8 { codes: Csr<i8>, scales: Vec<f16> },
    /// Column-blocked sliced ELLPACK of f32: 16-row slices × 64-column blocks, padded
    /// (see `kernels::sell`).
    SellF32(Sell),
}

pub use crate::kernels::f16_to_f32;

/// A (rows, cols) weight matrix, row-major: one row per output feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Storage,
}

thread_local! {
    /// Reused per-call buffers: int8 activations and a dequantized row (or, for an f16
    /// prefill, the whole dequantized matrix).
    static XQ: RefCell<Vec<i8>> = const { RefCell::new(Vec::new()) };
    static ROW: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl Matrix {
    pub fn dense(rows: usize, cols: usize, data: Vec<f32>) -> Matrix {
        assert_eq!(
            data.len(),
            rows * cols,
            "matrix data does not match its shape"
        );
        Matrix {
            rows,
            cols,
            data: Storage::F32(data),
        }
    }

    /// Bytes this matrix really occupies (codes, scales and indices included).
    pub fn bytes(&self) -> usize {
        match &self.data {
            Storage::F32(v) => v.len() * 4,
            Storage::F16(v) => v.len() * 2,
            Storage::Int8 { codes, scales, act } => {
                codes.len() + scales.len() * 2 + if matches!(act, Act::Static(_)) { 4 } else { 0 }
            }
            Storage::Int4 {
                packed,
                scales_t,
                act_scale,
                ..
            } => packed.len() + scales_t.len() * 2 + if act_scale.is_some() { 4 } else { 0 },
            Storage::CsrF32(m) => m.bytes(),
            Storage::CsrInt8 { codes, scales } => codes.bytes() + scales.len() * 2,
            Storage::SellF32(m) => m.bytes(),
        }
    }

    pub fn format_name(&self) -> &'static str {
        match &self.data {
            Storage::F32(_) => "f32",
            Storage::F16(_) => "f16",
            Storage::Int8 { act: Act::F32, .. } => "int8",
            Storage::Int8 {
                act: Act::Static(_),
                ..
            } => "int8-w8a8-static",
            Storage::Int8 { .. } => "int8-w8a8",
            Storage::Int4 {
                act_scale: Some(_), ..
            } => "int4-static",
            Storage::Int4 { .. } => "int4",
            Storage::CsrF32 { .. } => "csr-f32",
            Storage::CsrInt8 { .. } => "csr-int8",
            Storage::SellF32(_) => "sell-f32",
        }
    }

    /// The matrix as f32 (dequantized), (rows, cols).
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        for (r, row) in out.chunks_exact_mut(self.cols).enumerate() {
            self.row_into(r, row);
        }
        out
    }

    /// Copies row `r` (cols), dequantized, into `out`: an embedding lookup.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let c = self.cols;
        match &self.data {
            Storage::F32(v) => out.copy_from_slice(&v[r * c..(r + 1) * c]),
            Storage::F16(v) => {
                for (o, &h) in out.iter_mut().zip(&v[r * c..(r + 1) * c]) {
                    *o = f16_to_f32(h);
                }
            }
            Storage::Int8 { codes, scales, .. } => {
                let s = scales[r].to_f32();
                for (o, &q) in out.iter_mut().zip(&codes[r * c..(r + 1) * c]) {
                    *o = q as f32 * s;
                }
            }
            Storage::Int4 {
                packed,
                scales_t,
                group,
                ..
            } => {
                let bpr = c / 2;
                let mut blk = [0i8; int4::BLOCK];
                for b in 0..c / int4::BLOCK {
                    int4::unpack_block(&packed[r * bpr + b * 16..r * bpr + b * 16 + 16], &mut blk);
                    for (j, &q) in blk.iter().enumerate() {
                        let i = b * int4::BLOCK + j;
                        out[i] = q as f32 * scales_t[(i / group) * self.rows + r].to_f32();
                    }
                }
            }
            Storage::CsrF32(m) => {
                out.fill(0.0);
                let (ix, vs) = m.row(r);
                for (&c, &v) in ix.iter().zip(vs) {
                    out[c as usize] = v;
                }
            }
            Storage::CsrInt8 { codes, scales } => {
                out.fill(0.0);
                let s = scales[r].to_f32();
                let (ix, cs) = codes.row(r);
                for (&c, &q) in ix.iter().zip(cs) {
                    out[c as usize] = q as f32 * s;
                }
            }
            Storage::SellF32(m) => m.row_into(r, out),
        }
    }

    /// Stored values: nonzeros (CSR), slot lanes with their padding (SELL), or all
    /// entries (dense formats).
    pub fn stored_values(&self) -> usize {
        match &self.data {
            Storage::CsrF32(m) => m.nnz(),
            Storage::CsrInt8 { codes, .. } => codes.nnz(),
            Storage::SellF32(m) => m.slots() * kernels::sell::SLICE,
            _ => self.rows * self.cols,
        }
    }

    /// y (rows) = W x (+ b), x (cols). `kernel` picks the f32 implementation; the
    /// quantized formats each have one integer kernel, run through the relaxed-SIMD dot
    /// for `Kernel::Relaxed` (W8A8 and int4; same bits).
    pub fn matvec(&self, kernel: Kernel, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        match &self.data {
            Storage::F32(w) => kernels::matvec(kernel, w, x, bias, y),
            Storage::F16(w) => ROW.with(|row| {
                // Dequantize a row at a time, then the canonical f32 dot.
                let mut row = row.borrow_mut();
                row.resize(self.cols, 0.0);
                for (r, yr) in y.iter_mut().enumerate() {
                    for (o, &h) in row.iter_mut().zip(&w[r * self.cols..(r + 1) * self.cols]) {
                        *o = f16_to_f32(h);
                    }
                    let s = kernels::f32dot::dot(&row, x);
                    *yr = match bias {
                        Some(b) => s + b[r],
                        None => s,
                    };
                }
            }),
            Storage::Int8 {
                codes,
                scales,
                act: Act::F32,
            } => int8::matvec_w8a32(codes, scales, x, bias, y),
            Storage::Int8 { codes, scales, act } => XQ.with(|xq| {
                let mut xq = xq.borrow_mut();
                xq.resize(self.cols, 0);
                let fixed = if let Act::Static(s) = act {
                    Some(*s)
                } else {
                    None
                };
                let xs = int8::quantize_act(x, fixed, &mut xq);
                if kernel == Kernel::Relaxed {
                    int8::matvec_w8a8_relaxed(codes, scales, &xq, xs, bias, y)
                } else {
                    int8::matvec_w8a8(codes, scales, &xq, xs, bias, y)
                }
            }),
            Storage::Int4 { .. } => self.matmul(kernel, x, bias, y),
            Storage::CsrF32(m) => sparse::csr_matvec(m, x, bias, y),
            Storage::CsrInt8 { codes, scales } => sparse::csr_matvec_i8(codes, scales, x, bias, y),
            Storage::SellF32(m) => m.matvec(x, bias, y),
        }
    }

    /// Y (t, rows) = X Wᵀ (+ b), X (t, cols). Each row of Y has the bits of a `matvec`
    /// of its row of X.
    pub fn matmul(&self, kernel: Kernel, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        match &self.data {
            Storage::F32(w) => kernels::matmul(kernel, w, x, bias, y, self.cols),
            Storage::Int8 { codes, scales, act } if *act != Act::F32 => XQ.with(|xq| {
                // Every token quantized first (its own scale), then one pass over W.
                let fixed = if let Act::Static(s) = act {
                    Some(*s)
                } else {
                    None
                };
                let t = x.len() / self.cols;
                let mut xq = xq.borrow_mut();
                xq.resize(t * self.cols, 0);
                let xs: Vec<f32> = x
                    .chunks_exact(self.cols)
                    .zip(xq.chunks_exact_mut(self.cols))
                    .map(|(xr, qr)| int8::quantize_act(xr, fixed, qr))
                    .collect();
                if kernel == Kernel::Relaxed {
                    int8::matmul_w8a8_relaxed(codes, scales, self.cols, &xq, &xs, bias, y)
                } else {
                    int8::matmul_w8a8(codes, scales, self.cols, &xq, &xs, bias, y)
                }
            }),
            Storage::Int4 {
                packed,
                scales_t,
                group,
                act_scale,
            } => XQ.with(|xq| {
                // Every token quantized first (its own scale), then one pass over W.
                let t = x.len() / self.cols;
                let mut xq = xq.borrow_mut();
                xq.resize(t * self.cols, 0);
                let xs: Vec<f32> = x
                    .chunks_exact(self.cols)
                    .zip(xq.chunks_exact_mut(self.cols))
                    .map(|(xr, qr)| int8::quantize_act(xr, *act_scale, qr))
                    .collect();
                let f = if kernel == Kernel::Relaxed {
                    int4::matmul_w4a8_relaxed
                } else {
                    int4::matmul_w4a8
                };
                f(packed, scales_t, *group, self.cols, &xq, &xs, bias, y)
            }),
            Storage::F16(w) if x.len() > self.cols => ROW.with(|w32| {
                // Prefill: dequantize the whole matrix once (exact), then the canonical
                // f32 GEMM, whose rows have the bits of the row-at-a-time `matvec`. Per
                // token, the conversion cost more than the products (1 s of the 8 x 128
                // quality evaluation's 1.1 s).
                let mut w32 = w32.borrow_mut();
                w32.clear();
                w32.extend(w.iter().map(|&h| f16_to_f32(h))); // (rows, cols)
                kernels::f32dot::matmul(&w32, x, bias, y, self.cols);
            }),
            Storage::Int8 {
                codes,
                scales,
                act: Act::F32,
            } if x.len() > self.cols => ROW.with(|w32| {
                // Prefill: W8A32 is the canonical dot of the codes (exact as f32) with x,
                // times the row's scale, plus the bias: so the codes once as f32, the
                // canonical GEMM, then each row's scale and bias, in that order.
                let mut w32 = w32.borrow_mut();
                w32.clear();
                w32.extend(codes.iter().map(|&c| c as f32)); // (rows, cols)
                kernels::f32dot::matmul(&w32, x, None, y, self.cols);
                for yr in y.chunks_exact_mut(self.rows) {
                    for (r, v) in yr.iter_mut().enumerate() {
                        let s = *v * f16_to_f32(scales[r]);
                        *v = match bias {
                            Some(b) => s + b[r],
                            None => s,
                        };
                    }
                }
            }),
            _ => {
                for (xr, yr) in x.chunks_exact(self.cols).zip(y.chunks_exact_mut(self.rows)) {
                    self.matvec(kernel, xr, bias, yr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f16 and W8A32 prefill paths (whole matrix converted once, then the GEMM)
    /// against the decode path, row by row, bit for bit.
    #[test]
    fn f16_and_w8a32_prefill_rows_have_the_bits_of_the_row_at_a_time_matvec() {
        for (rows, cols, t, int8) in [
            (7, 24, 5, false),
            (64, 128, 17, false),
            (33, 13, 2, false),
            (48, 64, 40, false),
            (7, 24, 5, true),
            (64, 128, 17, true),
            (33, 13, 2, true),
            (48, 64, 40, true),
        ] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013)
                .collect();
            let data = if int8 {
                Storage::Int8 {
                    codes: (0..rows * cols)
                        .map(|i| ((i * 53 % 255) as i32 - 127) as i8)
                        .collect(),
                    scales: (0..rows)
                        .map(|r| f16::from_f32(0.001 + r as f32 * 1e-4))
                        .collect(),
                    act: Act::F32,
                }
            } else {
                Storage::F16(w.iter().map(|&v| f16::from_f32(v)).collect())
            };
            let m = Matrix { rows, cols, data };
            let x: Vec<f32> = (0..t * cols).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..rows).map(|i| i as f32 * 0.1 - 1.0).collect();
            for bias in [None, Some(&b[..])] {
                let mut y = vec![0.0; t * rows];
                m.matmul(Kernel::Simd, &x, bias, &mut y);
                for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact(rows)) {
                    let mut want = vec![0.0; rows];
                    m.matvec(Kernel::Simd, xr, bias, &mut want);
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(yr), bits(&want), "{rows}x{cols}, t {t}");
                }
            }
        }
    }

    #[test]
    fn fast_f16_conversion_is_exact_for_every_finite_value() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            if !h.is_finite() {
                continue;
            }
            let (a, b) = (f16_to_f32(h), h.to_f32());
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "bits {bits:#x}"
            );
        }
    }
}
