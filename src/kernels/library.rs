//! The library kernel: ndarray's own products (`general_mat_vec_mul`, and
//! `general_mat_mul`, which calls the `matrixmultiply` GEMM), on views of our slices,
//! so nothing is copied or allocated by us.

use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

/// y (n) = W x (+ b); W (n, k) row-major, x (k).
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (n, k) = (y.len(), x.len());
    let w = ArrayView2::from_shape((n, k), w).expect("library: W is (n, k)");
    let x = ArrayView1::from(x);
    let mut y = ArrayViewMut1::from(y);
    let beta = match bias {
        Some(b) => {
            y.assign(&ArrayView1::from(b));
            1.0
        }
        None => 0.0,
    };
    general_mat_vec_mul(1.0, &w, &x, beta, &mut y);
}

/// Y (t, n) = X Wᵀ (+ b); X (t, k), W (n, k).
pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    let (n, t) = (w.len() / k, x.len() / k);
    let w = ArrayView2::from_shape((n, k), w).expect("library: W is (n, k)");
    let x = ArrayView2::from_shape((t, k), x).expect("library: X is (t, k)");
    let mut y = ArrayViewMut2::from_shape((t, n), y).expect("library: Y is (t, n)");
    let beta = match bias {
        Some(b) => {
            let b = ArrayView1::from(b);
            for mut row in y.axis_iter_mut(Axis(0)) {
                row.assign(&b);
            }
            1.0
        }
        None => 0.0,
    };
    general_mat_mul(1.0, &x, &w.t(), beta, &mut y);
}
