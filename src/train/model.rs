//! The training forward and backward of the whole GPT for one shard of a batch.
//!
//! `Acts` holds every activation the backward needs, sized once for `cap_b` sequences
//! of up to `ctx` tokens; a call may use fewer (`bsz * t <= cap_b * ctx`). Per-layer
//! buffers are stacked `(n_layer, n, ...)` with `n = bsz * t` of the current call.

use super::distill::{mix_dlogits, DistillOptions};
use super::layers::*;
use super::params::{two_mut, Layout};
use crate::model::Config;

/// Saved activations and gradient scratch for one shard.
pub struct Acts {
    cap_rows: usize,
    cap_b: usize,
    res: Vec<f32>,    // (L+1, n, d) residual stream entering each block; last = output
    resmid: Vec<f32>, // (L, n, d) residual after attention
    ln1: Vec<f32>,    // (L, n, d)
    ln1_mean: Vec<f32>, // (L, n)
    ln1_rstd: Vec<f32>, // (L, n)
    qkv: Vec<f32>,    // (L, n, 3d)
    att: Vec<f32>,    // (L, bsz, nh, t, t) attention probabilities
    atty: Vec<f32>,   // (L, n, d) heads' outputs before the projection
    ln2: Vec<f32>,    // (L, n, d)
    ln2_mean: Vec<f32>, // (L, n)
    ln2_rstd: Vec<f32>, // (L, n)
    up_pre: Vec<f32>, // (L, n, 4d) before GELU
    up_act: Vec<f32>, // (L, n, 4d) after GELU
    lnf: Vec<f32>,    // (n, d)
    lnf_mean: Vec<f32>, // (n)
    lnf_rstd: Vec<f32>, // (n)
    /// (n, vocab) logits of the last forward.
    pub logits: Vec<f32>,
    probs: Vec<f32>,  // (n, vocab); becomes dlogits in the backward
    losses: Vec<f32>, // (n)
    // Gradient scratch, reused by every layer.
    dres: Vec<f32>,  // (n, d) gradient of the residual stream
    dln: Vec<f32>,   // (n, d)
    datty: Vec<f32>, // (n, d)
    dqkv: Vec<f32>,  // (n, 3d)
    dup: Vec<f32>,   // (n, 4d)
    dp: Vec<f32>,    // (ctx, ctx)
}

impl Acts {
    pub fn new(cfg: &Config, cap_b: usize) -> Acts {
        let (l, d, f, v, t, nh) = (
            cfg.n_layer,
            cfg.d_model,
            cfg.d_ff(),
            cfg.vocab,
            cfg.ctx,
            cfg.n_head,
        );
        let n = cap_b * t;
        let z = |k: usize| vec![0.0f32; k];
        Acts {
            cap_rows: n,
            cap_b,
            res: z((l + 1) * n * d),
            resmid: z(l * n * d),
            ln1: z(l * n * d),
            ln1_mean: z(l * n),
            ln1_rstd: z(l * n),
            qkv: z(l * n * 3 * d),
            att: z(l * cap_b * nh * t * t),
            atty: z(l * n * d),
            ln2: z(l * n * d),
            ln2_mean: z(l * n),
            ln2_rstd: z(l * n),
            up_pre: z(l * n * f),
            up_act: z(l * n * f),
            lnf: z(n * d),
            lnf_mean: z(n),
            lnf_rstd: z(n),
            logits: z(n * v),
            probs: z(n * v),
            losses: z(n),
            dres: z(n * d),
            dln: z(n * d),
            datty: z(n * d),
            dqkv: z(n * 3 * d),
            dup: z(n * f),
            dp: z(t * t),
        }
    }

    /// Sequences this buffer holds at full context.
    pub fn capacity(&self) -> usize {
        self.cap_b
    }
}

/// Slice `l` of a buffer stacked as (L, per).
fn at(buf: &[f32], l: usize, per: usize) -> &[f32] {
    &buf[l * per..(l + 1) * per]
}

fn at_mut(buf: &mut [f32], l: usize, per: usize) -> &mut [f32] {
    &mut buf[l * per..(l + 1) * per]
}

/// Runs `bsz` sequences of `t` tokens (`tokens` is (bsz, t)); with `targets` also the
/// loss. Returns the sum of per-token losses in f64 (0 without targets).
pub fn forward(
    p: &[f32],
    lay: &Layout,
    a: &mut Acts,
    tokens: &[u32],
    targets: Option<&[u32]>,
    t: usize,
) -> f64 {
    let c = &lay.cfg;
    let (d, f, v, nh) = (c.d_model, c.d_ff(), c.vocab, c.n_head);
    let n = tokens.len();
    let bsz = n / t;
    assert!(
        n.is_multiple_of(t) && n <= a.cap_rows && t <= c.ctx,
        "batch does not fit the buffers"
    );
    let nd = n * d;
    let natt = bsz * nh * t * t;
    embed_fwd(
        &mut a.res[..nd],
        tokens,
        &p[lay.wte.clone()],
        &p[lay.wpe.clone()],
        t,
        d,
    );
    for (l, br) in lay.blocks.iter().enumerate() {
        let (res_in, res_rest) = a.res.split_at_mut((l + 1) * nd);
        let res_in = &res_in[l * nd..];
        let res_out = &mut res_rest[..nd];
        let ln1 = at_mut(&mut a.ln1, l, nd);
        layernorm_fwd(
            ln1,
            at_mut(&mut a.ln1_mean, l, n),
            at_mut(&mut a.ln1_rstd, l, n),
            res_in,
            &p[br.ln1_g.clone()],
            &p[br.ln1_b.clone()],
            d,
        );
        let qkv = at_mut(&mut a.qkv, l, 3 * nd);
        matmul_fwd(
            qkv,
            ln1,
            &p[br.qkv_w.clone()],
            Some(&p[br.qkv_b.clone()]),
            n,
            d,
            3 * d,
        );
        let atty = at_mut(&mut a.atty, l, nd);
        attention_fwd(atty, at_mut(&mut a.att, l, natt), qkv, bsz, t, d, nh);
        let mid = at_mut(&mut a.resmid, l, nd);
        matmul_fwd(
            mid,
            atty,
            &p[br.proj_w.clone()],
            Some(&p[br.proj_b.clone()]),
            n,
            d,
            d,
        );
        for (m, r) in mid.iter_mut().zip(res_in) {
            *m += r;
        }
        let ln2 = at_mut(&mut a.ln2, l, nd);
        layernorm_fwd(
            ln2,
            at_mut(&mut a.ln2_mean, l, n),
            at_mut(&mut a.ln2_rstd, l, n),
            mid,
            &p[br.ln2_g.clone()],
            &p[br.ln2_b.clone()],
            d,
        );
        let up_pre = at_mut(&mut a.up_pre, l, n * f);
        matmul_fwd(
            up_pre,
            ln2,
            &p[br.up_w.clone()],
            Some(&p[br.up_b.clone()]),
            n,
            d,
            f,
        );
        let up_act = at_mut(&mut a.up_act, l, n * f);
        gelu_fwd(up_act, up_pre);
        matmul_fwd(
            res_out,
            up_act,
            &p[br.down_w.clone()],
            Some(&p[br.down_b.clone()]),
            n,
            f,
            d,
        );
        for (o, m) in res_out.iter_mut().zip(mid.iter()) {
            *o += m;
        }
    }
    let last = at(&a.res, c.n_layer, nd);
    layernorm_fwd(
        &mut a.lnf[..nd],
        &mut a.lnf_mean[..n],
        &mut a.lnf_rstd[..n],
        last,
        &p[lay.lnf_g.clone()],
        &p[lay.lnf_b.clone()],
        d,
    );
    matmul_fwd(
        &mut a.logits[..n * v],
        &a.lnf[..nd],
        &p[lay.head.clone()],
        None,
        n,
        d,
        v,
    );
    match targets {
        None => 0.0,
        Some(tg) => {
            softmax_xent_fwd(
                &mut a.probs[..n * v],
                &mut a.losses[..n],
                &a.logits[..n * v],
                tg,
                v,
            );
            a.losses[..n].iter().map(|&x| x as f64).sum()
        }
    }
}

/// A teacher's logits for the rows of the last `forward`, for distillation.
pub struct Soft<'a> {
    pub teacher: &'a [f32], // (n, vocab)
    pub opts: DistillOptions,
}

/// Accumulates into `g` the gradient of `scale * Σ losses` of the last `forward`
/// (which must have had targets). `scale` is 1 / (tokens in the whole batch). With
/// `soft`, the loss is the distillation mix (`distill`), whose logits' gradient is
/// formed here and then flows back through the same layers.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &[f32],
    lay: &Layout,
    a: &mut Acts,
    g: &mut [f32],
    tokens: &[u32],
    targets: &[u32],
    t: usize,
    scale: f32,
    soft: Option<Soft<'_>>,
) {
    let c = &lay.cfg;
    let (d, f, v, nh) = (c.d_model, c.d_ff(), c.vocab, c.n_head);
    let n = tokens.len();
    let bsz = n / t;
    let nd = n * d;
    let natt = bsz * nh * t * t;
    softmax_xent_bwd(&mut a.probs[..n * v], targets, v, scale);
    if let Some(sf) = soft {
        mix_dlogits(
            &mut a.probs[..n * v],
            &a.logits[..n * v],
            sf.teacher,
            sf.opts,
            v,
            scale,
        );
    }
    matmul_bwd(
        &mut a.dln[..nd],
        &mut g[lay.head.clone()],
        None,
        &a.probs[..n * v],
        &a.lnf[..nd],
        &p[lay.head.clone()],
        n,
        d,
        v,
    );
    a.dres[..nd].fill(0.0);
    {
        let (dg, db) = two_mut(g, lay.lnf_g.clone(), lay.lnf_b.clone());
        layernorm_bwd(
            &mut a.dres[..nd],
            dg,
            db,
            &a.dln[..nd],
            at(&a.res, c.n_layer, nd),
            &a.lnf_mean[..n],
            &a.lnf_rstd[..n],
            &p[lay.lnf_g.clone()],
            d,
        );
    }
    for (l, br) in lay.blocks.iter().enumerate().rev() {
        // MLP: res_out = mid + down(gelu(up(ln2(mid)))).
        let (dw, db) = two_mut(g, br.down_w.clone(), br.down_b.clone());
        let dup = &mut a.dup[..n * f];
        matmul_bwd(
            dup,
            dw,
            Some(db),
            &a.dres[..nd],
            at(&a.up_act, l, n * f),
            &p[br.down_w.clone()],
            n,
            f,
            d,
        );
        gelu_bwd(dup, at(&a.up_pre, l, n * f));
        let (dw, db) = two_mut(g, br.up_w.clone(), br.up_b.clone());
        matmul_bwd(
            &mut a.dln[..nd],
            dw,
            Some(db),
            dup,
            at(&a.ln2, l, nd),
            &p[br.up_w.clone()],
            n,
            d,
            f,
        );
        let (dg, db) = two_mut(g, br.ln2_g.clone(), br.ln2_b.clone());
        layernorm_bwd(
            &mut a.dres[..nd],
            dg,
            db,
            &a.dln[..nd],
            at(&a.resmid, l, nd),
            at(&a.ln2_mean, l, n),
            at(&a.ln2_rstd, l, n),
            &p[br.ln2_g.clone()],
            d,
        );
        // Attention: mid = res_in + proj(attn(qkv(ln1(res_in)))).
        let (dw, db) = two_mut(g, br.proj_w.clone(), br.proj_b.clone());
        matmul_bwd(
            &mut a.datty[..nd],
            dw,
            Some(db),
            &a.dres[..nd],
            at(&a.atty, l, nd),
            &p[br.proj_w.clone()],
            n,
            d,
            d,
        );
        attention_bwd(
            &mut a.dqkv[..3 * nd],
            &mut a.dp[..t * t],
            &a.datty[..nd],
            at(&a.qkv, l, 3 * nd),
            at(&a.att, l, natt),
            bsz,
            t,
            d,
            nh,
        );
        let (dw, db) = two_mut(g, br.qkv_w.clone(), br.qkv_b.clone());
        matmul_bwd(
            &mut a.dln[..nd],
            dw,
            Some(db),
            &a.dqkv[..3 * nd],
            at(&a.ln1, l, nd),
            &p[br.qkv_w.clone()],
            n,
            d,
            3 * d,
        );
        let (dg, db) = two_mut(g, br.ln1_g.clone(), br.ln1_b.clone());
        layernorm_bwd(
            &mut a.dres[..nd],
            dg,
            db,
            &a.dln[..nd],
            at(&a.res, l, nd),
            at(&a.ln1_mean, l, n),
            at(&a.ln1_rstd, l, n),
            &p[br.ln1_g.clone()],
            d,
        );
    }
    let (dwte, dwpe) = two_mut(g, lay.wte.clone(), lay.wpe.clone());
    embed_bwd(dwte, dwpe, &a.dres[..nd], tokens, t, d);
}
