//! The sparse kernels (CSR f32, CSR int8, SELL) against their spelled-out summation
//! orders and a dense f64 reference, on awkward shapes; SELL's AVX-512 and portable
//! paths bit for bit. The same orders are asserted in the browser (`tests/web_kernels.rs`).

#[path = "common/sparse_canon.rs"]
mod sparse_canon;

use sparse_canon::{bias_of, matrix, x_of, SHAPES};
use tinyopt::kernels::sell::Sell;
use tinyopt::kernels::Kernel;
use tinyopt::prune::{to_sparse, SparseFormat};
use tinyopt::weights::Matrix;

#[test]
fn every_sparse_kernel_follows_its_canonical_order() {
    sparse_canon::check_all().unwrap();
}

#[test]
fn sparse_formats_match_the_dense_f64_reference_and_round_trip() {
    for &(rows, cols, sp) in &SHAPES {
        let w = matrix(rows, cols, sp);
        let (x, b) = (x_of(cols), bias_of(rows));
        let dense = Matrix::dense(rows, cols, w.clone());
        for f in [SparseFormat::Csr, SparseFormat::Sell] {
            let m = to_sparse(&dense, f).unwrap();
            assert_eq!(m.to_f32(), w, "{f:?} {rows}x{cols}");
            let mut y = vec![f32::NAN; rows];
            m.matvec(Kernel::Simd, &x, Some(&b), &mut y);
            for r in 0..rows {
                let (mut want, mut mag) = (b[r] as f64, b[r].abs() as f64);
                for c in 0..cols {
                    let p = w[r * cols + c] as f64 * x[c] as f64;
                    want += p;
                    mag += p.abs();
                }
                let got = y[r] as f64;
                assert!(
                    (got - want).abs() <= 1e-5 * mag + 1e-6,
                    "{f:?} {rows}x{cols} row {r}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn sell_avx512_and_portable_paths_give_the_same_bits() {
    for &(rows, cols, sp) in &SHAPES {
        let w = matrix(rows, cols, sp);
        let (x, b) = (x_of(cols), bias_of(rows));
        let m = Sell::from_dense(rows, cols, &w);
        for bias in [None, Some(&b[..])] {
            let mut p = vec![f32::NAN; rows];
            m.matvec_portable(&x, bias, &mut p);
            let mut d = vec![f32::NAN; rows];
            m.matvec(&x, bias, &mut d);
            assert_eq!(bits(&p), bits(&d), "dispatch {rows}x{cols}");
            #[cfg(target_arch = "x86_64")]
            {
                let mut a = vec![f32::NAN; rows];
                if m.matvec_avx512(&x, bias, &mut a) {
                    assert_eq!(bits(&p), bits(&a), "avx512 {rows}x{cols}");
                } else {
                    eprintln!("no AVX-512F on this CPU: only the portable path was tested");
                }
            }
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn bytes_are_counted_exactly() {
    // 3 x 70: row 0 has columns 0 and 65, row 1 none, row 2 column 7.
    let mut w = vec![0.0f32; 3 * 70];
    w[0] = 1.0;
    w[65] = -2.0;
    w[2 * 70 + 7] = 0.5;
    let dense = Matrix::dense(3, 70, w);
    assert_eq!(dense.bytes(), 3 * 70 * 4);
    // CSR: 4 row pointers (u32) + 3 indices (u16) + 3 values (f32).
    let csr = to_sparse(&dense, SparseFormat::Csr).unwrap();
    assert_eq!(csr.bytes(), 4 * 4 + 3 * 2 + 3 * 4);
    assert_eq!(csr.stored_values(), 3);
    // SELL: one slice, two blocks; block 0 holds 1 slot (rows 0 and 2 have one each),
    // block 1 one slot (row 0): 2 slots × 16 lanes × (4 + 1) bytes + 2 lengths.
    let sell = to_sparse(&dense, SparseFormat::Sell).unwrap();
    assert_eq!(sell.bytes(), 2 * 16 * 5 + 2);
    assert_eq!(sell.stored_values(), 32);
    assert_eq!(sell.format_name(), "sell-f32");
}
