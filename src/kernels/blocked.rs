//! Cache-blocked, register-tiled scalar loops: the classic optimisation before SIMD.
//!
//! Two levels of tiling:
//! - cache tiles: `ROWS_PER_TILE` rows of W by `K_PER_TILE` columns (64 KiB of f32) are
//!   reused for every token before moving on, so they stay in L1/L2;
//! - register tiles: 4 tokens x 4 output rows share each load, giving 16 independent
//!   scalar accumulators (instruction-level parallelism instead of one long add chain).
//!
//! Each output is summed tile by tile, so its rounding differs from `naive` and `simd`.

const K_PER_TILE: usize = 256;
const ROWS_PER_TILE: usize = 64;
/// Register tile: tokens x rows.
const RT: usize = 4;
const RN: usize = 4;

/// y (n) = W x (+ b); W (n, k) row-major, x (k).
pub fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    matmul(w, x, bias, y, x.len());
}

/// Y (t, n) = X Wᵀ (+ b); X (t, k), W (n, k).
pub fn matmul(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32], k: usize) {
    let (n, t) = (w.len() / k, x.len() / k);
    assert!(
        x.len() == t * k && y.len() == t * n,
        "blocked: shapes do not match"
    );
    for yr in y.chunks_exact_mut(n) {
        match bias {
            Some(b) => yr.copy_from_slice(&b[..n]),
            None => yr.fill(0.0),
        }
    }
    for k0 in (0..k).step_by(K_PER_TILE) {
        let k1 = (k0 + K_PER_TILE).min(k);
        for n0 in (0..n).step_by(ROWS_PER_TILE) {
            let n1 = (n0 + ROWS_PER_TILE).min(n);
            let mut r = 0;
            while r < t {
                let rt = if t - r >= RT { RT } else { 1 };
                let mut i = n0;
                while i < n1 {
                    let rn = if n1 - i >= RN { RN } else { 1 };
                    let tile = Tile { w, x, k, n, k0, k1 };
                    match (rt, rn) {
                        (RT, RN) => tile.run::<RT, RN>(r, i, y),
                        (RT, _) => tile.run::<RT, 1>(r, i, y),
                        (_, RN) => tile.run::<1, RN>(r, i, y),
                        _ => tile.run::<1, 1>(r, i, y),
                    }
                    i += rn;
                }
                r += rt;
            }
        }
    }
}

/// One cache tile's operands: columns k0..k1 of W (n, k) and X (t, k).
struct Tile<'a> {
    w: &'a [f32],
    x: &'a [f32],
    k: usize,
    n: usize,
    k0: usize,
    k1: usize,
}

impl Tile<'_> {
    /// Adds X[r..r+TT, k0..k1] · W[i..i+TN, k0..k1]ᵀ into Y[r..r+TT, i..i+TN].
    #[inline(always)]
    fn run<const TT: usize, const TN: usize>(&self, r: usize, i: usize, y: &mut [f32]) {
        let (k, len) = (self.k, self.k1 - self.k0);
        let xs: [&[f32]; TT] = std::array::from_fn(|a| {
            let s = (r + a) * k + self.k0;
            &self.x[s..s + len]
        });
        let ws: [&[f32]; TN] = std::array::from_fn(|b| {
            let s = (i + b) * k + self.k0;
            &self.w[s..s + len]
        });
        let mut acc = [[0.0f32; TN]; TT];
        for j in 0..len {
            for a in 0..TT {
                let xv = xs[a][j];
                for b in 0..TN {
                    acc[a][b] += xv * ws[b][j];
                }
            }
        }
        for a in 0..TT {
            for b in 0..TN {
                y[(r + a) * self.n + i + b] += acc[a][b];
            }
        }
    }
}
