//! Sparse matrix-vector products in CSR (compressed sparse row) form.
//!
//! Why CSR: the model's matrices are small (≤ 512 columns), so a column index fits in
//! a `u16`, and each row's nonzeros are contiguous, which keeps the y[r] sum in
//! registers. The cost per nonzero is a value, an index and a gather of x; dense
//! SIMD streams 4 floats per load with no gather, which is why sparse only wins at
//! high sparsity (see the crossover sweep).
//!
//! Order of sums: four running lanes over chunks of 4 nonzeros, reduced as
//! (l0+l1)+(l2+l3), then the tail, on every target.

use half::f16;

/// y[r] = Σ_j vals[j]·x[idx[j]] over row r's nonzeros (+ b[r]).
/// row_ptr (rows+1), idx (nnz), vals (nnz), x (cols), y (rows).
pub fn csr_matvec(
    row_ptr: &[u32],
    idx: &[u16],
    vals: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    for (r, yr) in y.iter_mut().enumerate() {
        let (a, b) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
        let s = imp::row_dot(&idx[a..b], &vals[a..b], x);
        *yr = match bias {
            Some(bb) => s + bb[r],
            None => s,
        };
    }
}

/// Int8 values with one f16 scale per row (f32 activations).
pub fn csr_matvec_i8(
    row_ptr: &[u32],
    idx: &[u16],
    codes: &[i8],
    scales: &[f16],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    for (r, yr) in y.iter_mut().enumerate() {
        let (a, b) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
        let (ix, cs) = (&idx[a..b], &codes[a..b]);
        let n4 = ix.len() & !3;
        let mut acc = [0.0f32; 4];
        for (ci, cc) in ix[..n4].chunks_exact(4).zip(cs[..n4].chunks_exact(4)) {
            for l in 0..4 {
                acc[l] += cc[l] as f32 * x[ci[l] as usize];
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for j in n4..ix.len() {
            s += cs[j] as f32 * x[ix[j] as usize];
        }
        let v = s * super::f16_to_f32(scales[r]);
        *yr = match bias {
            Some(bb) => v + bb[r],
            None => v,
        };
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[inline]
    pub fn row_dot(idx: &[u16], vals: &[f32], x: &[f32]) -> f32 {
        let n4 = idx.len() & !3;
        let mut acc = [0.0f32; 4];
        for (ci, cv) in idx[..n4].chunks_exact(4).zip(vals[..n4].chunks_exact(4)) {
            for l in 0..4 {
                acc[l] += cv[l] * x[ci[l] as usize];
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for j in n4..idx.len() {
            s += vals[j] * x[idx[j] as usize];
        }
        s
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// Gathers four x values into a vector (wasm has no gather instruction) and
    /// multiplies them with four contiguous values at once.
    #[inline]
    pub fn row_dot(idx: &[u16], vals: &[f32], x: &[f32]) -> f32 {
        let n4 = idx.len() & !3;
        let mut acc = f32x4_splat(0.0);
        let mut j = 0;
        while j < n4 {
            let g = f32x4(
                x[idx[j] as usize],
                x[idx[j + 1] as usize],
                x[idx[j + 2] as usize],
                x[idx[j + 3] as usize],
            );
            // SAFETY: j + 4 <= n4 <= vals.len().
            let v = unsafe { v128_load(vals.as_ptr().add(j) as *const v128) };
            acc = f32x4_add(acc, f32x4_mul(v, g));
            j += 4;
        }
        let mut s = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
            + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
        for j in n4..idx.len() {
            s += vals[j] * x[idx[j] as usize];
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_matches_dense() {
        let (n, k) = (9, 50);
        let dense: Vec<f32> = (0..n * k)
            .map(|i| {
                if i % 3 == 0 || i % 7 == 0 {
                    (i as f32 * 0.1).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let (mut rp, mut ix, mut vs) = (vec![0u32], Vec::new(), Vec::new());
        for r in 0..n {
            for c in 0..k {
                if dense[r * k + c] != 0.0 {
                    ix.push(c as u16);
                    vs.push(dense[r * k + c]);
                }
            }
            rp.push(ix.len() as u32);
        }
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.2).cos()).collect();
        let mut y = vec![0.0; n];
        csr_matvec(&rp, &ix, &vs, &x, None, &mut y);
        for r in 0..n {
            let want: f32 = (0..k).map(|c| dense[r * k + c] * x[c]).sum();
            assert!((y[r] - want).abs() < 1e-5, "row {r}");
        }
    }
}
