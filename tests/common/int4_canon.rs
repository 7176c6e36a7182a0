//! W4A8's order spelled out one scalar at a time (exact group sums, then s += sum·scale
//! group by group, then · xs, then the bias): the panel kernels must give these bits
//! natively (`tests/kernels_golden.rs`) and in wasm (`tests/web_kernels.rs`), for one
//! token (decode) and many (prefill), with ragged rows (panel tails).

use half::f16;
use tinyopt::kernels::int4::{matmul_w4a8, pack_block, scales_group_major};

pub fn check() -> Result<(), String> {
    for (n, k, t) in [
        (13, 128, 1),
        (8, 64, 3),
        (65, 256, 2),
        (6, 96, 1),
        (21, 384, 4),
    ] {
        for group in [32, 64, 128] {
            if k % group != 0 {
                continue;
            }
            let gpr = k / group;
            let codes: Vec<i8> = (0..n * k)
                .map(|i| ((i * 37 + i / 5 + group) % 16) as i8 - 8)
                .collect();
            let mut packed = vec![0u8; n * k / 2];
            for (b, blk) in codes.chunks_exact(32).enumerate() {
                pack_block(blk, &mut packed[b * 16..(b + 1) * 16]);
            }
            let scales: Vec<f16> =
                (0..n * gpr) // (n, gpr)
                    .map(|i| f16::from_f32(0.003 + (i * 13 % 29) as f32 * 1.7e-4))
                    .collect();
            let scales_t = scales_group_major(&scales, n, gpr);
            let xq: Vec<i8> = (0..t * k)
                .map(|i| (((i * 53 + i / 3) % 255) as i32 - 127) as i8)
                .collect();
            let xs: Vec<f32> = (0..t).map(|j| 0.013 + j as f32 * 0.002).collect();
            let b: Vec<f32> = (0..n).map(|r| r as f32 * 0.1 - 0.5).collect();
            let mut y = vec![f32::NAN; t * n];
            matmul_w4a8(&packed, &scales_t, group, k, &xq, &xs, Some(&b), &mut y);
            for j in 0..t {
                for r in 0..n {
                    let mut s = 0.0f32;
                    for g in 0..gpr {
                        let acc: i32 = (g * group..(g + 1) * group)
                            .map(|i| codes[r * k + i] as i32 * xq[j * k + i] as i32)
                            .sum();
                        s += acc as f32 * scales[r * gpr + g].to_f32();
                    }
                    let want = s * xs[j] + b[r];
                    if y[j * n + r].to_bits() != want.to_bits() {
                        return Err(format!(
                            "n{n} k{k} t{t} g{group} ({j},{r}): {} vs {want}",
                            y[j * n + r]
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
