//! Forward and backward of each layer on flat row-major slices.
//!
//! Every function works on `n` rows at once (`n = B*T` tokens) so the big products are
//! single GEMMs (`gemm`: the `simd` kernel's canonical order, the same bits in wasm).
//! Backward functions take the gradient of the layer's output and the activations the
//! forward saved, and either overwrite an input gradient (`dx = ...`) or accumulate into
//! it (`dx += ...`, where the residual stream already holds a gradient); each says which.
//! Parameter gradients always accumulate (`dw += ...`).

use super::gemm::{gemm, Mat, Op};
use crate::detmath;
use crate::model::ops;

// ---------------------------------------------------------------- embeddings

/// x (n, d) = wte[token] + wpe[position], positions `i % t` for `n = B*t` tokens.
pub fn embed_fwd(x: &mut [f32], tokens: &[u32], wte: &[f32], wpe: &[f32], t: usize, d: usize) {
    for (i, &tok) in tokens.iter().enumerate() {
        let (e, p) = (tok as usize * d, (i % t) * d);
        for j in 0..d {
            x[i * d + j] = wte[e + j] + wpe[p + j];
        }
    }
}

/// dwte[token] += dx row, dwpe[position] += dx row.
pub fn embed_bwd(
    dwte: &mut [f32],
    dwpe: &mut [f32],
    dx: &[f32], // (n, d)
    tokens: &[u32],
    t: usize,
    d: usize,
) {
    for (i, &tok) in tokens.iter().enumerate() {
        let (e, p) = (tok as usize * d, (i % t) * d);
        for j in 0..d {
            dwte[e + j] += dx[i * d + j];
            dwpe[p + j] += dx[i * d + j];
        }
    }
}

// ---------------------------------------------------------------- layernorm

/// out (n, d) = (x - mean) * rstd * g + b, saving mean (n) and rstd (n).
pub fn layernorm_fwd(
    out: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
    x: &[f32],
    g: &[f32],
    b: &[f32],
    d: usize,
) {
    for (r, (xr, or)) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
        let m = xr.iter().sum::<f32>() / d as f32;
        let var = xr.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / d as f32;
        let s = 1.0 / (var + ops::LN_EPS).sqrt();
        for j in 0..d {
            or[j] = (xr[j] - m) * s * g[j] + b[j];
        }
        mean[r] = m;
        rstd[r] = s;
    }
}

/// dx += LN'(dout); dg += Σ dout·x̂; db += Σ dout. With x̂ = (x - mean)·rstd and
/// dx̂ = dout·g: dx = rstd · (dx̂ - mean(dx̂) - x̂ · mean(dx̂·x̂)).
#[allow(clippy::too_many_arguments)]
pub fn layernorm_bwd(
    dx: &mut [f32], // (n, d), accumulated
    dg: &mut [f32], // (d)
    db: &mut [f32], // (d)
    dout: &[f32],   // (n, d)
    x: &[f32],      // (n, d)
    mean: &[f32],   // (n)
    rstd: &[f32],   // (n)
    g: &[f32],      // (d)
    d: usize,
) {
    for (r, (xr, dor)) in x.chunks_exact(d).zip(dout.chunks_exact(d)).enumerate() {
        let (m, s) = (mean[r], rstd[r]);
        let (mut mean_dn, mut mean_dn_xh) = (0.0f32, 0.0f32);
        for j in 0..d {
            let xh = (xr[j] - m) * s;
            let dn = dor[j] * g[j];
            mean_dn += dn;
            mean_dn_xh += dn * xh;
        }
        mean_dn /= d as f32;
        mean_dn_xh /= d as f32;
        let dxr = &mut dx[r * d..(r + 1) * d];
        for j in 0..d {
            let xh = (xr[j] - m) * s;
            db[j] += dor[j];
            dg[j] += dor[j] * xh;
            dxr[j] += s * (dor[j] * g[j] - mean_dn - xh * mean_dn_xh);
        }
    }
}

// ---------------------------------------------------------------- linear

/// y (n, o) = x (n, i) · wᵀ (+ b), with w (o, i) row-major as in the inference model.
pub fn matmul_fwd(
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    n: usize,
    i: usize,
    o: usize,
) {
    gemm(
        Op::NT,
        1.0,
        Mat::new(x, n, i),
        Mat::new(w, o, i),
        y,
        o,
        false,
    );
    if let Some(b) = b {
        for yr in y[..n * o].chunks_exact_mut(o) {
            for (v, bb) in yr.iter_mut().zip(b) {
                *v += bb;
            }
        }
    }
}

/// dx (n, i) = dy · w (overwritten); dw (o, i) += dyᵀ · x; db (o) += Σ_rows dy.
#[allow(clippy::too_many_arguments)]
pub fn matmul_bwd(
    dx: &mut [f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dy: &[f32], // (n, o)
    x: &[f32],  // (n, i)
    w: &[f32],  // (o, i)
    n: usize,
    i: usize,
    o: usize,
) {
    let dyv = Mat::new(dy, n, o);
    gemm(Op::NN, 1.0, dyv, Mat::new(w, o, i), dx, i, false);
    gemm(Op::TN, 1.0, dyv, Mat::new(x, n, i), dw, i, true);
    if let Some(db) = db {
        for dyr in dy[..n * o].chunks_exact(o) {
            for (g, v) in db.iter_mut().zip(dyr) {
                *g += v;
            }
        }
    }
}

// ---------------------------------------------------------------- gelu

const GELU_C: f32 = 0.797_884_6; // sqrt(2/pi)

/// out = gelu(x), the tanh approximation the inference model uses.
pub fn gelu_fwd(out: &mut [f32], x: &[f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = ops::gelu(v);
    }
}

/// d (in place): d ← d · gelu'(x), with u = c(x + 0.044715x³),
/// gelu'(x) = ½(1 + tanh u) + ½x(1 - tanh²u)·c(1 + 3·0.044715x²).
pub fn gelu_bwd(d: &mut [f32], x: &[f32]) {
    for (g, &v) in d.iter_mut().zip(x) {
        let u = GELU_C * (v + 0.044_715 * v * v * v);
        let th = ops::tanh(u);
        let du = GELU_C * (1.0 + 3.0 * 0.044_715 * v * v);
        *g *= 0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * du;
    }
}

// ---------------------------------------------------------------- attention

/// Causal multi-head self-attention over `bsz` sequences of `t` tokens.
/// qkv (bsz, t, 3d) packs Q | K | V, head h owning columns h*hd..(h+1)*hd of each;
/// att (bsz, nh, t, t) receives the probabilities (zero above the diagonal);
/// y (bsz, t, d) the heads' outputs side by side.
pub fn attention_fwd(
    y: &mut [f32],
    att: &mut [f32],
    qkv: &[f32],
    bsz: usize,
    t: usize,
    d: usize,
    nh: usize,
) {
    let hd = d / nh;
    let scale = 1.0 / (hd as f32).sqrt();
    for b in 0..bsz {
        let base = b * t * 3 * d;
        for h in 0..nh {
            let q = Mat::strided(&qkv[base + h * hd..], t, hd, 3 * d);
            let k = Mat::strided(&qkv[base + d + h * hd..], t, hd, 3 * d);
            let v = Mat::strided(&qkv[base + 2 * d + h * hd..], t, hd, 3 * d);
            let a = &mut att[(b * nh + h) * t * t..(b * nh + h + 1) * t * t];
            gemm(Op::NT, scale, q, k, a, t, false);
            for (i, row) in a.chunks_exact_mut(t).enumerate() {
                ops::softmax(&mut row[..=i]);
                row[i + 1..].fill(0.0);
            }
            gemm(
                Op::NN,
                1.0,
                Mat::new(a, t, t),
                v,
                &mut y[b * t * d + h * hd..],
                d,
                false,
            );
        }
    }
}

/// dqkv (bsz, t, 3d) (overwritten) from dy (bsz, t, d). Per head, with P = softmax(S),
/// S = scale·QKᵀ: dP = dY·Vᵀ, dV = Pᵀ·dY, dS = P ∘ (dP - rowsum(P∘dP)),
/// dQ = scale·dS·K, dK = scale·dSᵀ·Q. `dp` (t, t) is scratch.
#[allow(clippy::too_many_arguments)]
pub fn attention_bwd(
    dqkv: &mut [f32],
    dp: &mut [f32],
    dy: &[f32],
    qkv: &[f32],
    att: &[f32],
    bsz: usize,
    t: usize,
    d: usize,
    nh: usize,
) {
    let hd = d / nh;
    let scale = 1.0 / (hd as f32).sqrt();
    for b in 0..bsz {
        let base = b * t * 3 * d;
        for h in 0..nh {
            let q = Mat::strided(&qkv[base + h * hd..], t, hd, 3 * d);
            let k = Mat::strided(&qkv[base + d + h * hd..], t, hd, 3 * d);
            let v = Mat::strided(&qkv[base + 2 * d + h * hd..], t, hd, 3 * d);
            let p = &att[(b * nh + h) * t * t..(b * nh + h + 1) * t * t];
            let pv = Mat::new(p, t, t);
            let dyv = Mat::strided(&dy[b * t * d + h * hd..], t, hd, d);
            gemm(Op::NT, 1.0, dyv, v, dp, t, false);
            let dv = &mut dqkv[base + 2 * d + h * hd..];
            gemm(Op::TN, 1.0, pv, dyv, dv, 3 * d, false);
            for i in 0..t {
                let (pr, dr) = (&p[i * t..i * t + i + 1], &mut dp[i * t..(i + 1) * t]);
                let s: f32 = pr.iter().zip(dr.iter()).map(|(a, b)| a * b).sum();
                for j in 0..=i {
                    dr[j] = pr[j] * (dr[j] - s);
                }
                dr[i + 1..].fill(0.0);
            }
            let ds = Mat::new(dp, t, t);
            gemm(
                Op::NN,
                scale,
                ds,
                k,
                &mut dqkv[base + h * hd..],
                3 * d,
                false,
            );
            gemm(
                Op::TN,
                scale,
                ds,
                q,
                &mut dqkv[base + d + h * hd..],
                3 * d,
                false,
            );
        }
    }
}

// ---------------------------------------------------------------- loss

/// probs (n, v) = softmax(logits); losses (n) = -ln probs[target].
pub fn softmax_xent_fwd(
    probs: &mut [f32],
    losses: &mut [f32],
    logits: &[f32],
    targets: &[u32],
    v: usize,
) {
    for (r, (lr, pr)) in logits
        .chunks_exact(v)
        .zip(probs.chunks_exact_mut(v))
        .enumerate()
    {
        let max = lr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (p, &z) in pr.iter_mut().zip(lr) {
            *p = ops::exp(z - max);
            sum += *p;
        }
        for p in pr.iter_mut() {
            *p /= sum;
        }
        let tg = targets[r] as usize;
        losses[r] = max + detmath::ln(sum as f64) as f32 - lr[tg];
    }
}

/// In place: probs (n, v) becomes dlogits = (probs - onehot(target)) · scale, where
/// `scale` is the loss's weight per row (1 / rows in the whole batch).
pub fn softmax_xent_bwd(probs: &mut [f32], targets: &[u32], v: usize, scale: f32) {
    for (pr, &tg) in probs.chunks_exact_mut(v).zip(targets) {
        pr[tg as usize] -= 1.0;
        for p in pr.iter_mut() {
            *p *= scale;
        }
    }
}
