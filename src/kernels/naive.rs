//! The textbook triple loop: one output at a time, one accumulator, indices as a
//! student writes them. Floating-point addition is not associative, so the compiler
//! must keep the sequential sum: this is the honest scalar baseline the others beat.

/// y (n) = W x (+ b); W (n, k) row-major, x (k).
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (n, k) = (y.len(), x.len());
    for i in 0..n {
        let mut s = 0.0f32;
        for j in 0..k {
            s += w[i * k + j] * x[j];
        }
        if let Some(b) = bias {
            s += b[i];
        }
        y[i] = s;
    }
}

/// Y (t, n) = X Wᵀ (+ b); X (t, k), W (n, k).
pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    let (n, t) = (w.len() / k, x.len() / k);
    for r in 0..t {
        for i in 0..n {
            let mut s = 0.0f32;
            for j in 0..k {
                s += x[r * k + j] * w[i * k + j];
            }
            if let Some(b) = bias {
                s += b[i];
            }
            y[r * n + i] = s;
        }
    }
}
