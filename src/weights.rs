//! Storage formats for weight matrices. Each variant knows its true byte count and
//! how to multiply a vector; later formats (f16, int8, int4, sparse) join this enum.

use crate::kernels::{self, Kernel};

/// How a matrix's numbers are held in memory.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// Plain f32, row-major (rows, cols).
    F32(Vec<f32>),
}

/// A (rows, cols) weight matrix, row-major: one row per output feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Storage,
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
        }
    }

    pub fn format_name(&self) -> &'static str {
        match &self.data {
            Storage::F32(_) => "f32",
        }
    }

    /// The matrix as dense f32, (rows, cols).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            Storage::F32(v) => v.clone(),
        }
    }

    /// Copies row `r` (cols) into `out`: an embedding lookup.
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        match &self.data {
            Storage::F32(v) => out.copy_from_slice(&v[r * self.cols..(r + 1) * self.cols]),
        }
    }

    /// y (rows) = W x (+ b), x (cols).
    pub fn matvec(&self, kernel: Kernel, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        match &self.data {
            Storage::F32(w) => kernels::matvec(kernel, w, x, bias, y),
        }
    }

    /// Y (t, rows) = X Wᵀ (+ b), X (t, cols).
    pub fn matmul(&self, kernel: Kernel, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        match &self.data {
            Storage::F32(w) => kernels::matmul(kernel, w, x, bias, y, self.cols),
        }
    }
}
