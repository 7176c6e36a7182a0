//! The trainer's backward passes against finite differences, its forward against the
//! inference model, and short runs: loss falls, seeds repeat, resumes are exact;
//! distillation's loss, gradient, settings, metadata and resume.
//! Every corpus here is built in code.
#![cfg(not(target_arch = "wasm32"))] // training is native only

use tinyopt::model::{io, Config, KvCache, Logits, Scratch};
use tinyopt::rng::Rng;
use tinyopt::train::distill::{DistillOptions, Teacher};
use tinyopt::train::layers::*;
use tinyopt::train::{TrainOptions, Trainer};

fn randv(rng: &mut Rng, n: usize, s: f32) -> Vec<f32> {
    (0..n).map(|_| rng.normal() * s).collect()
}

/// Central differences of `f` at `x`, one coordinate at a time.
fn numgrad(x: &[f32], h: f32, f: &dyn Fn(&[f32]) -> f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            xp[i] = x[i] + h;
            let a = f(&xp);
            xp[i] = x[i] - h;
            let b = f(&xp);
            xp[i] = x[i];
            (a - b) / (2.0 * h as f64)
        })
        .collect()
}

/// f32 forward passes make finite differences noisy: compare with an absolute plus a
/// relative tolerance, and report the worst coordinate.
fn assert_close(what: &str, analytic: &[f32], numeric: &[f64], atol: f64, rtol: f64) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let err = (a as f64 - n).abs();
        assert!(
            err <= atol + rtol * n.abs(),
            "{what}[{i}]: analytic {a} vs numeric {n} (err {err})"
        );
    }
}

fn dotr(out: &[f32], r: &[f32]) -> f64 {
    out.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

#[test]
fn layernorm_backward_matches_finite_differences() {
    let mut rng = Rng::new(1);
    let (n, d) = (3, 8);
    let x = randv(&mut rng, n * d, 1.0);
    let g: Vec<f32> = randv(&mut rng, d, 0.3).iter().map(|v| v + 1.0).collect();
    let b = randv(&mut rng, d, 0.3);
    let r = randv(&mut rng, n * d, 1.0);
    let run = |x: &[f32], g: &[f32], b: &[f32]| {
        let (mut o, mut m, mut s) = (vec![0.0; n * d], vec![0.0; n], vec![0.0; n]);
        layernorm_fwd(&mut o, &mut m, &mut s, x, g, b, d);
        (o, m, s)
    };
    let (_, m, s) = run(&x, &g, &b);
    let (mut dx, mut dg, mut db) = (vec![0.0; n * d], vec![0.0; d], vec![0.0; d]);
    layernorm_bwd(&mut dx, &mut dg, &mut db, &r, &x, &m, &s, &g, d);
    let h = 1e-2;
    assert_close(
        "ln dx",
        &dx,
        &numgrad(&x, h, &|xp| dotr(&run(xp, &g, &b).0, &r)),
        2e-3,
        2e-2,
    );
    assert_close(
        "ln dg",
        &dg,
        &numgrad(&g, h, &|gp| dotr(&run(&x, gp, &b).0, &r)),
        2e-3,
        2e-2,
    );
    assert_close(
        "ln db",
        &db,
        &numgrad(&b, h, &|bp| dotr(&run(&x, &g, bp).0, &r)),
        2e-3,
        2e-2,
    );
}

#[test]
fn linear_backward_matches_finite_differences() {
    let mut rng = Rng::new(2);
    let (n, i, o) = (3, 5, 4);
    let x = randv(&mut rng, n * i, 1.0);
    let w = randv(&mut rng, o * i, 0.5);
    let b = randv(&mut rng, o, 0.5);
    let r = randv(&mut rng, n * o, 1.0);
    let run = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut y = vec![0.0; n * o];
        matmul_fwd(&mut y, x, w, Some(b), n, i, o);
        dotr(&y, &r)
    };
    let (mut dx, mut dw, mut db) = (vec![0.0; n * i], vec![0.0; o * i], vec![0.0; o]);
    matmul_bwd(&mut dx, &mut dw, Some(&mut db), &r, &x, &w, n, i, o);
    let h = 1e-2;
    assert_close(
        "lin dx",
        &dx,
        &numgrad(&x, h, &|p| run(p, &w, &b)),
        1e-3,
        1e-2,
    );
    assert_close(
        "lin dw",
        &dw,
        &numgrad(&w, h, &|p| run(&x, p, &b)),
        1e-3,
        1e-2,
    );
    assert_close(
        "lin db",
        &db,
        &numgrad(&b, h, &|p| run(&x, &w, p)),
        1e-3,
        1e-2,
    );
}

#[test]
fn attention_backward_matches_finite_differences() {
    let mut rng = Rng::new(3);
    let (bsz, t, d, nh) = (2, 5, 8, 2);
    let qkv = randv(&mut rng, bsz * t * 3 * d, 1.0);
    let r = randv(&mut rng, bsz * t * d, 1.0);
    let run = |qkv: &[f32]| {
        let (mut y, mut att) = (vec![0.0; bsz * t * d], vec![0.0; bsz * nh * t * t]);
        attention_fwd(&mut y, &mut att, qkv, bsz, t, d, nh);
        (y, att)
    };
    let (_, att) = run(&qkv);
    let (mut dqkv, mut dp) = (vec![0.0; qkv.len()], vec![0.0; t * t]);
    attention_bwd(&mut dqkv, &mut dp, &r, &qkv, &att, bsz, t, d, nh);
    let num = numgrad(&qkv, 1e-2, &|p| dotr(&run(p).0, &r));
    assert_close("attn dqkv", &dqkv, &num, 2e-3, 2e-2);
}

#[test]
fn gelu_backward_matches_finite_differences() {
    let mut rng = Rng::new(4);
    let x = randv(&mut rng, 40, 2.0);
    let r = randv(&mut rng, 40, 1.0);
    let run = |x: &[f32]| {
        let mut y = vec![0.0; x.len()];
        gelu_fwd(&mut y, x);
        dotr(&y, &r)
    };
    let mut dx = r.clone();
    gelu_bwd(&mut dx, &x);
    assert_close("gelu dx", &dx, &numgrad(&x, 1e-2, &run), 1e-3, 1e-2);
}

#[test]
fn softmax_cross_entropy_backward_matches_finite_differences() {
    let mut rng = Rng::new(5);
    let (n, v) = (4, 7);
    let logits = randv(&mut rng, n * v, 2.0);
    let targets = [0u32, 6, 3, 3];
    let scale = 1.0 / n as f32;
    let run = |z: &[f32]| {
        let (mut p, mut l) = (vec![0.0; n * v], vec![0.0; n]);
        softmax_xent_fwd(&mut p, &mut l, z, &targets, v);
        l.iter().map(|&x| x as f64).sum::<f64>() * scale as f64
    };
    let (mut p, mut l) = (vec![0.0; n * v], vec![0.0; n]);
    softmax_xent_fwd(&mut p, &mut l, &logits, &targets, v);
    softmax_xent_bwd(&mut p, &targets, v, scale);
    assert_close(
        "xent dlogits",
        &p,
        &numgrad(&logits, 1e-2, &run),
        5e-4,
        1e-2,
    );
}

#[test]
fn embedding_backward_matches_finite_differences() {
    let mut rng = Rng::new(6);
    let (vocab, t, d) = (5, 3, 4);
    let tokens = [1u32, 4, 1, 0, 1, 2]; // two sequences of 3
    let wte = randv(&mut rng, vocab * d, 1.0);
    let wpe = randv(&mut rng, t * d, 1.0);
    let r = randv(&mut rng, tokens.len() * d, 1.0);
    let run = |wte: &[f32], wpe: &[f32]| {
        let mut x = vec![0.0; tokens.len() * d];
        embed_fwd(&mut x, &tokens, wte, wpe, t, d);
        dotr(&x, &r)
    };
    let (mut dwte, mut dwpe) = (vec![0.0; wte.len()], vec![0.0; wpe.len()]);
    embed_bwd(&mut dwte, &mut dwpe, &r, &tokens, t, d);
    assert_close(
        "dwte",
        &dwte,
        &numgrad(&wte, 1e-2, &|p| run(p, &wpe)),
        1e-3,
        1e-2,
    );
    assert_close(
        "dwpe",
        &dwpe,
        &numgrad(&wpe, 1e-2, &|p| run(&wte, p)),
        1e-3,
        1e-2,
    );
}

/// A small corpus with structure to learn: counting words in a fixed rhythm.
fn tiny_corpus() -> String {
    let words = ["one", "two", "three", "four", "five", "six"];
    let mut s = String::new();
    for i in 0..400 {
        s.push_str(words[i % 6]);
        s.push(if i % 6 == 5 { '\n' } else { ' ' });
    }
    s
}

fn tiny_opts() -> TrainOptions {
    TrainOptions {
        cfg: Config {
            vocab: 0,
            ctx: 16,
            n_layer: 2,
            n_head: 2,
            d_model: 16,
        },
        steps: 60,
        batch: 8,
        lr: 1e-2,
        warmup: 5,
        seed: 7,
        ..TrainOptions::default()
    }
}

/// The trainer's gradient of its mean loss on a fixed batch against central
/// differences of that loss, on 300 random parameters.
fn check_whole_model_gradient(tr: &mut Trainer, text: &str) {
    let mut rng = Rng::new(9);
    let t = 8;
    let (x, y) = fixed_batch(tr, text, t);
    let n = x.len() as f64;
    tr.loss_and_grad(&x, &y, t);
    let analytic = tr.grads().to_vec();
    let base = tr.params_mut().to_vec();
    let h = 1e-2f32;
    let (mut err_sum, mut mag_sum) = (0.0f64, 0.0f64);
    for _ in 0..300 {
        let i = rng.below(base.len());
        tr.params_mut()[i] = base[i] + h;
        let a = tr.loss_and_grad(&x, &y, t) / n;
        tr.params_mut()[i] = base[i] - h;
        let b = tr.loss_and_grad(&x, &y, t) / n;
        tr.params_mut()[i] = base[i];
        let num = (a - b) / (2.0 * h as f64);
        let err = (analytic[i] as f64 - num).abs();
        assert!(
            err < 5e-4 + 5e-2 * num.abs(),
            "param {i}: {} vs {num}",
            analytic[i]
        );
        err_sum += err;
        mag_sum += num.abs();
    }
    assert!(
        err_sum < 0.02 * mag_sum,
        "total error {err_sum} vs gradient mass {mag_sum}"
    );
}

/// Two sequences of `t` characters from the start of `text`, and their targets.
fn fixed_batch(tr: &Trainer, text: &str, t: usize) -> (Vec<u32>, Vec<u32>) {
    let ids = tr.tokenizer().encode(&text[..40]).unwrap();
    (ids[..2 * t].to_vec(), ids[1..2 * t + 1].to_vec())
}

#[test]
fn whole_model_gradient_matches_finite_differences() {
    let text = tiny_corpus();
    let mut tr = Trainer::new(tiny_opts(), &text).unwrap();
    check_whole_model_gradient(&mut tr, &text);
}

#[test]
fn training_forward_matches_inference_forward() {
    let text = tiny_corpus();
    let mut opts = tiny_opts();
    opts.cfg.n_head = 4;
    let mut tr = Trainer::new(opts, &text).unwrap();
    for _ in 0..3 {
        tr.step().unwrap(); // move away from the init so biases and gains matter
    }
    let model = tr.model().unwrap();
    let tokens = model.tokenizer.encode("three four five").unwrap();
    let ours = tr.logits(&tokens).unwrap();
    let mut kv = KvCache::new(&model.cfg);
    let mut s = Scratch::new(&model.cfg);
    model
        .forward(&tokens, &mut kv, &mut s, Logits::All)
        .unwrap();
    let theirs = &s.logits[..tokens.len() * model.cfg.vocab];
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!((a - b).abs() < 1e-4, "logit {i}: {a} vs {b}");
    }
}

#[test]
fn loss_falls_and_runs_repeat_and_resume_exactly() {
    let text = tiny_corpus();
    let run = |steps: usize| {
        let mut tr = Trainer::new(tiny_opts(), &text).unwrap();
        let losses: Vec<f32> = (0..steps).map(|_| tr.step().unwrap().loss).collect();
        (tr, losses)
    };
    let (mut a, la) = run(60);
    let first = la[..5].iter().sum::<f32>() / 5.0;
    let last = la[55..].iter().sum::<f32>() / 5.0;
    assert!(first > 2.0 && last < 0.7 * first, "loss {first} -> {last}");
    let val = a.val_loss();
    assert!(val < first as f64, "val {val} vs first train loss {first}");

    // Same seed, same curve, bit for bit.
    let (_, lb) = run(60);
    assert_eq!(la, lb);

    // Interrupt at step 25, resume from the checkpoint bytes, finish: identical.
    let (half, _) = run(25);
    let mut resumed = Trainer::resume(&half.checkpoint(), &text).unwrap();
    assert_eq!(resumed.step_count(), 25);
    let lr: Vec<f32> = (25..60).map(|_| resumed.step().unwrap().loss).collect();
    assert_eq!(lr, la[25..]);
    assert_eq!(
        resumed.model().unwrap().named_tensors(),
        a.model().unwrap().named_tensors()
    );

    // Another corpus is refused.
    assert!(Trainer::resume(&half.checkpoint(), &text.replace("six", "sex")).is_err());
    assert!(Trainer::resume(b"garbage", &text).is_err());
    let bytes = half.checkpoint();
    for cut in [8, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = Trainer::resume(&bytes[..cut], &text)
            .err()
            .expect("truncated");
        assert!(e.to_string().contains("checkpoint"), "{e}");
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let e = |r: Result<Trainer, tinyopt::Error>| r.err().expect("should fail").to_string();
    assert!(e(Trainer::new(tiny_opts(), "")).contains("empty"));
    assert!(e(Trainer::new(tiny_opts(), "abcdefghij")).contains("too short"));
    let mut o = tiny_opts();
    o.cfg.n_head = 3;
    assert!(e(Trainer::new(o, &tiny_corpus())).contains("divisible"));
    let mut o = tiny_opts();
    o.lr = -1.0;
    assert!(e(Trainer::new(o, &tiny_corpus())).contains("--lr"));
}

/// Fine-tuning after pruning: the pruned zeros stay exactly zero, and the loss the
/// pruning cost comes down.
#[test]
fn finetune_keeps_pruned_zeros_and_recovers() {
    use tinyopt::prune::{prune_model, PruneConfig, PruneKind};
    let text = tiny_corpus();
    let mut tr = Trainer::new(tiny_opts(), &text).unwrap();
    for _ in 0..60 {
        tr.step().unwrap();
    }
    let trained = tr.model().unwrap();
    let cfg = PruneConfig {
        kind: PruneKind::Unstructured,
        ratio: 0.8,
        ..PruneConfig::default()
    };
    let (pruned, _) = prune_model(&trained, &cfg).unwrap();
    let zeros = |m: &tinyopt::model::Gpt| -> Vec<usize> {
        m.blocks
            .iter()
            .flat_map(|b| [&b.w_qkv, &b.w_o, &b.w_up, &b.w_down])
            .flat_map(|w| w.to_f32())
            .enumerate()
            .filter(|(_, v)| *v == 0.0)
            .map(|(i, _)| i)
            .collect()
    };
    let before = zeros(&pruned);
    let mut opts = tiny_opts();
    opts.steps = 30;
    opts.lr = 3e-3;
    let mut ft = Trainer::finetune(opts, &text, &pruned).unwrap();
    assert_eq!(ft.frozen_count(), before.len());
    let loss0 = ft.val_loss();
    for _ in 0..30 {
        ft.step().unwrap();
    }
    let loss1 = ft.val_loss();
    assert!(loss1 < loss0, "val loss {loss0} -> {loss1}");
    assert_eq!(zeros(&ft.model().unwrap()), before);

    // A corpus with other characters is refused, saying why.
    let e = Trainer::finetune(tiny_opts(), &text.to_uppercase(), &pruned)
        .err()
        .expect("other characters");
    assert!(e.to_string().contains("vocabulary"), "{e}");
}

// ---------------------------------------------------------------- distillation

/// A small trained teacher for `tiny_corpus`, as model-file bytes.
fn tiny_teacher_bytes(steps: usize, seed: u64) -> Vec<u8> {
    let mut o = tiny_opts();
    o.cfg.d_model = 24;
    o.cfg.n_head = 3;
    o.cfg.ctx = 24;
    o.seed = seed;
    let mut tr = Trainer::new(o, &tiny_corpus()).unwrap();
    for _ in 0..steps {
        tr.step().unwrap();
    }
    io::save(&tr.model().unwrap()).unwrap()
}

fn teacher(bytes: &[u8]) -> Teacher {
    Teacher::from_bytes(bytes).unwrap()
}

fn student_opts() -> TrainOptions {
    let mut o = tiny_opts();
    o.cfg.n_layer = 1;
    o.seed = 11;
    o
}

const DOPTS: DistillOptions = DistillOptions {
    temperature: 2.0,
    alpha: 0.5,
};

#[test]
fn distillation_gradient_matches_finite_differences() {
    let text = tiny_corpus();
    let tb = tiny_teacher_bytes(20, 3);
    for d in [
        DOPTS,
        DistillOptions {
            temperature: 0.7,
            alpha: 1.0,
        },
    ] {
        let mut tr = Trainer::distill(student_opts(), d, &text, teacher(&tb)).unwrap();
        check_whole_model_gradient(&mut tr, &text);
    }
}

#[test]
fn a_distillation_step_lowers_the_distillation_loss() {
    let text = tiny_corpus();
    let mut tr = Trainer::distill(
        student_opts(),
        DOPTS,
        &text,
        teacher(&tiny_teacher_bytes(20, 3)),
    )
    .unwrap();
    let t = 8;
    let (x, y) = fixed_batch(&tr, &text, t);
    let before = tr.loss_and_grad(&x, &y, t);
    let g = tr.grads().to_vec();
    for (p, gi) in tr.params_mut().iter_mut().zip(&g) {
        *p -= 0.05 * gi;
    }
    let after = tr.loss_and_grad(&x, &y, t);
    assert!(after < before, "distillation loss {before} -> {after}");
    // And a real optimiser step moves it too.
    let info = tr.step().unwrap();
    assert!(info.kl.unwrap() > 0.0 && info.loss.is_finite());
}

#[test]
fn alpha_zero_is_plain_training_exactly() {
    let text = tiny_corpus();
    let d = DistillOptions {
        temperature: 2.0,
        alpha: 0.0,
    };
    let mut plain = Trainer::new(student_opts(), &text).unwrap();
    let mut dist =
        Trainer::distill(student_opts(), d, &text, teacher(&tiny_teacher_bytes(5, 3))).unwrap();
    let t = 8;
    let (x, y) = fixed_batch(&plain, &text, t);
    assert_eq!(
        plain.loss_and_grad(&x, &y, t),
        dist.loss_and_grad(&x, &y, t)
    );
    assert_eq!(plain.grads(), dist.grads());
    for _ in 0..5 {
        let (a, b) = (plain.step().unwrap(), dist.step().unwrap());
        assert_eq!((a.loss, a.grad_norm), (b.loss, b.grad_norm));
    }
    assert_eq!(
        plain.model().unwrap().named_tensors(),
        dist.model().unwrap().named_tensors()
    );
}

#[test]
fn distillation_settings_out_of_range_are_clear_errors() {
    let text = tiny_corpus();
    let tb = tiny_teacher_bytes(1, 3);
    for (temperature, alpha, flag) in [
        (0.0, 0.5, "--temperature"),
        (-1.0, 0.5, "--temperature"),
        (f32::NAN, 0.5, "--temperature"),
        (f32::INFINITY, 0.5, "--temperature"),
        (2.0, -0.1, "--alpha"),
        (2.0, 1.5, "--alpha"),
        (2.0, f32::NAN, "--alpha"),
    ] {
        let d = DistillOptions { temperature, alpha };
        let e = Trainer::distill(student_opts(), d, &text, teacher(&tb))
            .err()
            .expect("out of range");
        assert!(e.to_string().contains(flag), "{temperature} {alpha}: {e}");
    }
    // A teacher with other characters, or a shorter context, is refused.
    let mut o = student_opts();
    o.cfg.ctx = 32;
    let e = Trainer::distill(o, DOPTS, &text, teacher(&tb))
        .err()
        .unwrap();
    assert!(e.to_string().contains("context"), "{e}");
    let e = Trainer::distill(student_opts(), DOPTS, &text.to_uppercase(), teacher(&tb))
        .err()
        .unwrap();
    assert!(e.to_string().contains("vocabulary"), "{e}");
}

#[test]
fn student_saves_loads_and_resumes_with_its_teacher() {
    let text = tiny_corpus();
    let tb = tiny_teacher_bytes(10, 3);
    let mut tr = Trainer::distill(student_opts(), DOPTS, &text, teacher(&tb)).unwrap();
    let mut losses = Vec::new();
    for _ in 0..10 {
        losses.push(tr.step().unwrap().loss);
    }
    let mut model = tr.model().unwrap();
    let val = tinyopt::eval::evaluate_corpus(&model, &text)
        .unwrap()
        .val_loss;
    model.meta.extend(tr.distill_facts());
    model.meta.insert("val_loss".into(), format!("{val:.4}"));
    let back = io::load(&io::save(&model).unwrap()).unwrap();
    let sha = tinyopt::train::distill::sha256_hex(&tb);
    assert_eq!(back.meta["distill_teacher_sha256"], sha);
    assert_eq!(back.meta["distill_temperature"], "2");
    assert_eq!(back.meta["distill_alpha"], "0.5");
    assert_eq!(back.meta["val_loss"], format!("{val:.4}"));
    assert_eq!(back.named_tensors(), model.named_tensors());

    // Resumed at step 4 against the same teacher: the same losses, bit for bit.
    let mut half = Trainer::distill(student_opts(), DOPTS, &text, teacher(&tb)).unwrap();
    for _ in 0..4 {
        half.step().unwrap();
    }
    let ck = half.checkpoint();
    let mut resumed = Trainer::resume_distill(&ck, &text, teacher(&tb)).unwrap();
    assert_eq!(resumed.distill_options(), Some(DOPTS));
    let rest: Vec<f32> = (4..10).map(|_| resumed.step().unwrap().loss).collect();
    assert_eq!(rest, losses[4..]);
    // Another teacher, or resuming as plain training, is refused.
    let e = Trainer::resume_distill(&ck, &text, teacher(&tiny_teacher_bytes(10, 4)))
        .err()
        .unwrap();
    assert!(e.to_string().contains("another teacher"), "{e}");
    let e = Trainer::resume(&ck, &text).err().unwrap();
    assert!(e.to_string().contains("distill"), "{e}");
    let plain = Trainer::new(student_opts(), &text).unwrap().checkpoint();
    let e = Trainer::resume_distill(&plain, &text, teacher(&tb))
        .err()
        .unwrap();
    assert!(e.to_string().contains("plain"), "{e}");
}

#[path = "common/recover_canon.rs"]
mod recover_canon;

/// The recovery's weights after a few steps match the hashes the browser test checks
/// too (`tests/web.rs`), so the trainer gives the same bits natively and in wasm.
#[test]
fn recovery_weights_match_the_checked_in_hashes() {
    let got = recover_canon::runs();
    assert_eq!(
        got,
        recover_canon::expected(),
        "got {}",
        serde_json::to_string(&got).unwrap()
    );
}

/// Recovery holds the pruned weights at zero and brings the agreement back.
#[test]
fn recovery_keeps_the_zeros_and_raises_agreement() {
    use tinyopt::prune::{PruneConfig, PruneKind};
    use tinyopt::train::recover::{RecoverOptions, Recovery};
    let teacher = Trainer::new(tiny_opts(), &tiny_corpus())
        .map(|mut t| {
            while t.step_count() < 60 {
                t.step().unwrap();
            }
            t.model().unwrap()
        })
        .unwrap();
    let opts = RecoverOptions {
        prune: PruneConfig {
            kind: PruneKind::Unstructured,
            ratio: 0.7,
            ..PruneConfig::default()
        },
        steps: 40,
        batch: 4,
        samples: 16,
        lr: 3e-3,
        ..RecoverOptions::default()
    };
    let mut rec = Recovery::new(&teacher, opts).unwrap();
    let zeros = |m: &tinyopt::model::Gpt| -> Vec<usize> {
        m.named_tensors()
            .iter()
            .filter(|(n, _, _)| n.starts_with("h.") && n.ends_with(".w"))
            .flat_map(|(_, _, v)| v.clone())
            .enumerate()
            .filter(|(_, x)| *x == 0.0)
            .map(|(i, _)| i)
            .collect()
    };
    let z0 = zeros(rec.pruned());
    let before = rec.quality(rec.pruned()).unwrap();
    while !rec.done() {
        rec.step().unwrap();
    }
    let m = rec.model().unwrap();
    let after = rec.quality(&m).unwrap();
    let z1 = zeros(&m);
    assert!(
        z0.iter().all(|i| z1.binary_search(i).is_ok()),
        "a pruned weight moved"
    );
    assert!(
        after.top1_agreement >= before.top1_agreement && after.kld < 0.5 * before.kld,
        "before {before:?}, after {after:?}"
    );
    // The file the rest of the tool reads back, with its recovery recorded.
    let back = io::load(&io::save(&m).unwrap()).unwrap();
    assert!(back.meta["recover"].contains(&rec.weights_sha256()));
}

/// A schedule fitted to a time budget after the warmup is the schedule a run started
/// with that length has: the same weights, so `tinyopt recover --steps N` replays a
/// page run whose budget chose N. Past the warmup the length can no longer change.
#[test]
fn a_schedule_fitted_after_the_warmup_replays_as_a_fixed_length() {
    use tinyopt::model::tokenizer::DEFAULT_VOCAB;
    use tinyopt::model::{Gpt, Tokenizer};
    use tinyopt::prune::{PruneConfig, PruneKind};
    use tinyopt::train::recover::{RecoverOptions, Recovery};
    let cfg = Config {
        vocab: 65,
        ctx: 16,
        n_layer: 2,
        n_head: 2,
        d_model: 36,
    };
    let teacher = Gpt::random(cfg, Tokenizer::new(DEFAULT_VOCAB).unwrap(), 7).unwrap();
    let opts = |steps| RecoverOptions {
        prune: PruneConfig {
            kind: PruneKind::Unstructured,
            ratio: 0.6,
            ..PruneConfig::default()
        },
        steps,
        batch: 2,
        warmup: 2,
        samples: 4,
        seed: 5,
        ..RecoverOptions::default()
    };
    let mut fitted = Recovery::new(&teacher, opts(1000)).unwrap();
    while fitted.trainer.step_count() < fitted.fit_after() {
        fitted.step().unwrap();
    }
    // 2 steps took 20 ms; a 70 ms budget fits 5 more.
    assert_eq!(fitted.fit_to_budget(20.0, 70.0).unwrap(), 7);
    let mut fixed = Recovery::new(&teacher, opts(7)).unwrap();
    let mut lrs = (Vec::new(), Vec::new());
    while !fitted.done() {
        lrs.0.push(fitted.step().unwrap().lr);
    }
    while !fixed.done() {
        lrs.1.push(fixed.step().unwrap().lr);
    }
    assert_eq!(fitted.trainer.step_count(), 7);
    assert_eq!(lrs.0[..], lrs.1[2..]);
    assert_eq!(fitted.weights_sha256(), fixed.weights_sha256());
    assert!(
        fitted.fit_to_budget(20.0, 700.0).is_err(),
        "the length changed after the warmup"
    );
}

/// Where a recovery step's time goes on the shipped model (batch 8 x 256, one shard's
/// pieces on this thread): the teacher's forward, the student's forward and backward,
/// AdamW. Run: cargo test --release --test train profile_recovery_step -- --ignored --nocapture
#[test]
#[ignore]
fn profile_recovery_step() {
    use tinyopt::train::model::{backward, forward, Acts};
    use tinyopt::train::params::Layout;
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/shakespeare-char.safetensors"
    ))
    .unwrap();
    let mut teacher = io::load(&bytes).unwrap();
    teacher.kernel = tinyopt::kernels::Kernel::Simd;
    let cfg = teacher.cfg;
    let (bsz, t) = (4usize, cfg.ctx); // one of the step's two shards
    let lay = Layout::new(cfg);
    let p = lay.flatten(&teacher).unwrap();
    let mut g = vec![0.0f32; lay.total];
    let mut acts = Acts::new(&cfg, bsz);
    let mut rng = Rng::new(3);
    let x: Vec<u32> = (0..bsz * t).map(|_| rng.below(cfg.vocab) as u32).collect();
    let y: Vec<u32> = x.iter().skip(1).chain([0u32].iter()).copied().collect();
    let (mut kv, mut scratch) = (KvCache::new(&cfg), Scratch::new(&cfg));
    let time = |f: &mut dyn FnMut()| -> Vec<f64> {
        f();
        (0..5)
            .map(|_| {
                let t0 = tinyopt::clock::now_ms();
                f();
                tinyopt::clock::now_ms() - t0
            })
            .collect()
    };
    let show = |name: &str, mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        println!("{name:<28} {:>8.1} ms [{:.1}–{:.1}]", ms[2], ms[0], ms[4]);
    };
    show(
        "teacher forward (4 x 256)",
        time(&mut || {
            for seq in x.chunks_exact(t) {
                kv.clear();
                teacher
                    .forward(seq, &mut kv, &mut scratch, Logits::All)
                    .unwrap();
            }
        }),
    );
    show(
        "student forward",
        time(&mut || {
            forward(&p, &lay, &mut acts, &x, Some(&y), t);
        }),
    );
    show(
        "student forward + backward",
        time(&mut || {
            forward(&p, &lay, &mut acts, &x, Some(&y), t);
            backward(&p, &lay, &mut acts, &mut g, &x, &y, t, 1.0, None);
        }),
    );
}
