//! The trainer's matrix products, all built on the `simd` kernel's `f32dot::matmul`
//! (Y = X Wᵀ, every element summed in the one canonical order), so a training step
//! has the same bits natively and in wasm. Other layouts are copied into contiguous
//! scratch first (a transpose is O(n²) next to the product's O(n³)).

use crate::kernels::f32dot;

/// dst (rows, cols) contiguous = the (rows, cols) block of `src` whose rows are
/// `stride` apart.
fn gather(src: &[f32], rows: usize, cols: usize, stride: usize) -> Vec<f32> {
    let mut dst = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        dst.extend_from_slice(&src[r * stride..r * stride + cols]);
    }
    dst
}

/// dst (cols, rows) = transpose of the (rows, cols) block of `src` (rows `stride` apart).
fn transpose(src: &[f32], rows: usize, cols: usize, stride: usize) -> Vec<f32> {
    let mut dst = vec![0.0; rows * cols];
    for r in 0..rows {
        for (c, &v) in src[r * stride..r * stride + cols].iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
    dst
}

/// Writes `alpha · src` (rows, cols contiguous) into `dst` (rows `stride` apart),
/// adding to what is there when `acc`.
fn scatter(dst: &mut [f32], src: &[f32], cols: usize, stride: usize, alpha: f32, acc: bool) {
    for (r, sr) in src.chunks_exact(cols).enumerate() {
        let dr = &mut dst[r * stride..r * stride + cols];
        for (d, &s) in dr.iter_mut().zip(sr) {
            let v = if alpha == 1.0 { s } else { alpha * s };
            *d = if acc { *d + v } else { v };
        }
    }
}

/// A strided (rows, cols) operand: `data[r * stride + c]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl<'a> Mat<'a> {
    /// A contiguous (rows, cols) matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat::strided(data, rows, cols, cols)
    }

    pub fn strided(data: &'a [f32], rows: usize, cols: usize, stride: usize) -> Mat<'a> {
        Mat {
            data,
            rows,
            cols,
            stride,
        }
    }

    /// Rows as one contiguous buffer (borrowed when already contiguous).
    fn rows_major(&self) -> std::borrow::Cow<'a, [f32]> {
        if self.stride == self.cols {
            std::borrow::Cow::Borrowed(&self.data[..self.rows * self.cols])
        } else {
            std::borrow::Cow::Owned(gather(self.data, self.rows, self.cols, self.stride))
        }
    }

    /// The transpose (cols, rows), contiguous.
    fn transposed(&self) -> Vec<f32> {
        transpose(self.data, self.rows, self.cols, self.stride)
    }
}

/// Which operands of `gemm` enter transposed.
#[derive(Clone, Copy, PartialEq)]
pub enum Op {
    /// C = A · Bᵀ
    NT,
    /// C = A · B
    NN,
    /// C = Aᵀ · B
    TN,
}

/// C (rows `c_stride` apart) = alpha · op(A, B), or += when `acc`. Every element is one
/// canonical-order dot product, whatever the layouts.
pub fn gemm(op: Op, alpha: f32, a: Mat, b: Mat, c: &mut [f32], c_stride: usize, acc: bool) {
    // X (m, k) and W (n, k), both contiguous, for Y = X Wᵀ.
    let (x, w, k) = match op {
        Op::NT => (a.rows_major(), b.rows_major(), a.cols),
        Op::NN => (a.rows_major(), b.transposed().into(), a.cols),
        Op::TN => (a.transposed().into(), b.transposed().into(), a.rows),
    };
    let (m, n) = (x.len() / k, w.len() / k);
    let direct = c_stride == n && alpha == 1.0 && !acc;
    if direct {
        f32dot::matmul(&w, &x, None, &mut c[..m * n], k);
    } else {
        let mut y = vec![0.0; m * n];
        f32dot::matmul(&w, &x, None, &mut y, k);
        scatter(c, &y, n, c_stride, alpha, acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three layouts against a naive f64 product, strided operands included.
    #[test]
    fn layouts_match_a_naive_product() {
        let (m, k, n) = (5, 11, 7);
        let f = |i: usize| ((i * 37 % 17) as f32 - 8.0) / 5.0;
        let a: Vec<f32> = (0..m * k).map(f).collect(); // (m, k)
        let bt: Vec<f32> = (0..n * k).map(|i| f(i + 3)).collect(); // (n, k)
        let want = |i: usize, j: usize| -> f32 {
            (0..k)
                .map(|p| a[i * k + p] as f64 * bt[j * k + p] as f64)
                .sum::<f64>() as f32
        };
        let b: Vec<f32> = transpose(&bt, n, k, k); // (k, n)
        let at: Vec<f32> = transpose(&a, m, k, k); // (k, m)
        let mut c = vec![1.0; m * (n + 2)];
        gemm(
            Op::NT,
            1.0,
            Mat::new(&a, m, k),
            Mat::new(&bt, n, k),
            &mut c,
            n + 2,
            false,
        );
        let mut d = vec![0.0; m * n];
        gemm(
            Op::NN,
            2.0,
            Mat::new(&a, m, k),
            Mat::new(&b, k, n),
            &mut d,
            n,
            false,
        );
        let mut e = vec![1.0; m * n];
        gemm(
            Op::TN,
            1.0,
            Mat::new(&at, k, m),
            Mat::new(&b, k, n),
            &mut e,
            n,
            true,
        );
        for i in 0..m {
            for j in 0..n {
                let w = want(i, j);
                assert!((c[i * (n + 2) + j] - w).abs() < 1e-4);
                assert!((d[i * n + j] - 2.0 * w).abs() < 2e-4);
                assert!((e[i * n + j] - 1.0 - w).abs() < 1e-4);
            }
        }
        assert_eq!(c[n], 1.0, "the stride's gap is left alone");
    }
}
