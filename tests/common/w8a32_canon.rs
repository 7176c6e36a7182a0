//! W8A32's order spelled out one scalar at a time (eight lanes, the `f32dot` tree, the
//! tail, the row scale, the bias): its SIMD paths must give these bits natively
//! (`tests/kernels_golden.rs`) and in wasm (`tests/web_kernels.rs`).

use half::f16;
use tinyopt::kernels::int8::matvec_w8a32;

pub fn check() -> Result<(), String> {
    for (n, k) in [(13, 128), (6, 77), (1, 8), (5, 3)] {
        let codes: Vec<i8> = (0..n * k)
            .map(|i| (((i * 37 + i / 5) % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f16> = (0..n)
            .map(|r| f16::from_f32(0.01 + r as f32 * 1e-3))
            .collect();
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|r| r as f32 * 0.1).collect();
        let mut y = vec![0.0; n];
        matvec_w8a32(&codes, &scales, &x, Some(&b), &mut y);
        for r in 0..n {
            let row = &codes[r * k..(r + 1) * k];
            let mut l = [0.0f32; 8];
            for j in 0..k & !7 {
                l[j % 8] += row[j] as f32 * x[j];
            }
            let mut s = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
            for j in k & !7..k {
                s += row[j] as f32 * x[j];
            }
            let want = s * scales[r].to_f32() + b[r];
            if y[r].to_bits() != want.to_bits() {
                return Err(format!("W8A32 {n}x{k} row {r}: {} vs {want}", y[r]));
            }
        }
    }
    Ok(())
}
