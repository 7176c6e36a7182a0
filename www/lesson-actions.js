// The lab actions a lesson step may run, by name: each one calls the same worker tasks
// (tasks.js / worker.js TASKS) and generation path the lab tabs use, and turns what
// comes back into named fields (what templates may read) and report figures (with their
// spread where the figure is a speed). Lessons never compute figures: they name an
// action and the fields they read.
//
// An action is `{fields: {name: unit}, run(lab, args, ctl) -> {fields, figures}}`;
// `lab` is the page's handle (course.js), `ctl` carries progress and Stop (lesson-runner.js).

import { median } from './metrics.js';

/** Weight matrices of a decode step: the ops that read a weight matrix once per token. */
const WEIGHT_OPS = ['qkv', 'attn_out', 'mlp_up', 'mlp_down', 'lm_head'];

/** A recipe as people read it: its non-default keys (or "f32 as loaded") and its id. */
const named = (view) => `${view.query ? view.query.replace(/&/g, ', ') : 'f32 as loaded'} (${view.recipe_id})`;

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

/** A report figure: a measured quantity with its spread; `recipe` is the view whose
 *  recipe was measured (or null). */
function figure(name, label, unit, xs, view = null) {
  const s = spread(Array.isArray(xs) ? xs : [xs]);
  return { name, label, unit, ...s, recipe: view ? view.recipe : null, recipe_id: view ? view.recipe_id : null };
}

/** The recipe report's deterministic figures (the verifier recomputes them to the bit). */
function qualityFigures(report, view) {
  return [
    figure('kld', `KL divergence vs f32, ${named(view)}`, 'nats/token', report.kld, view),
    figure('top1_agreement', `top-1 agreement with f32, ${named(view)}`, 'fraction', report.top1_agreement, view),
    figure('weight_bytes', `weight bytes, ${named(view)}`, 'bytes', report.weight_bytes, view),
  ];
}

/** Runs a worker task through the page's runner, so Stop can cancel it. */
async function task(lab, ctl, name, args) {
  const h = lab.runner.run(name, args, ctl.progress);
  ctl.track(h.id);
  const { value, stopped } = await h.promise;
  if (stopped || ctl.stopped) throw new Error('stopped before it finished');
  if (value === null || value === undefined) {
    throw new Error(name === 'recipe' ? 'the loaded model is a quantized file, and recipes need an f32 model' : 'the model changed while it ran: measure again');
  }
  return value;
}

/** Applies a recipe query to the running model (as the lab's recipe controls do). */
async function applyQuery(lab, ctl, query) {
  const view = lab.recipeOf(query);
  const report = await task(lab, ctl, 'recipe', { settings: { ...lab.settings(), recipe: view.recipe }, force: false });
  return { view, report };
}

/** Decode timings of named recipe queries, alternating round by round (worker's decodeTimes). */
async function decodeTimes(lab, ctl, queries, rounds, tokens) {
  const views = Object.fromEntries(Object.entries(queries).map(([k, q]) => [k, lab.recipeOf(q)]));
  const recipes = Object.fromEntries(Object.entries(views).map(([k, v]) => [k, v.recipe]));
  const out = await task(lab, ctl, 'decodeTimes', { recipes, rounds, tokens });
  for (const k of Object.keys(queries)) if (!out[k] || !out[k].length) throw new Error('stopped before it finished');
  return { views, out };
}

/** Median step time of the first and the last quarter of a generation's decode steps. */
function earlyLate(run) {
  const ms = run.steps.slice(1).map((s) => (Number.isFinite(s.bms) ? s.bms : s.ms));
  const q = Math.max(1, Math.floor(ms.length / 4));
  return { early: median(ms.slice(0, q)), late: median(ms.slice(-q)) };
}

export const ACTIONS = {
  /** A recipe applied to the running model: its size and its quality against f32. */
  recipe: {
    fields: { kld: 'nats', top1_agreement: 'fraction', weight_bytes: 'bytes', base_weight_bytes: 'bytes', bytes_ratio: '×', sparsity: 'fraction', recipe_id: 'text' },
    async run(lab, { query }, ctl) {
      const { view, report } = await applyQuery(lab, ctl, query);
      return {
        fields: {
          kld: report.kld,
          top1_agreement: report.top1_agreement,
          weight_bytes: report.weight_bytes,
          base_weight_bytes: report.base_weight_bytes,
          bytes_ratio: report.base_weight_bytes / report.weight_bytes,
          sparsity: report.sparsity,
          recipe_id: view.recipe_id,
        },
        figures: qualityFigures(report, view),
      };
    },
  },

  /** Two recipes' decode speed, alternating (the Quantize tab's "Measure speed"). */
  speed: {
    fields: { a_tokens_per_s: 'tokens/s', b_tokens_per_s: 'tokens/s', speedup: '×', a_bytes: 'bytes', b_bytes: 'bytes', bytes_ratio: '×', rounds: 'count' },
    async run(lab, { a, b, rounds, tokens }, ctl) {
      const { views, out } = await decodeTimes(lab, ctl, { a, b }, rounds, tokens);
      const ta = out.a.map((t) => t.tokens_per_s);
      const tb = out.b.map((t) => t.tokens_per_s);
      const n = Math.min(ta.length, tb.length);
      const ratios = ta.slice(0, n).map((x, i) => tb[i] / x);
      const aBytes = out.a[0].weight_bytes;
      const bBytes = out.b[0].weight_bytes;
      return {
        fields: { a_tokens_per_s: median(ta), b_tokens_per_s: median(tb), speedup: median(ratios), a_bytes: aBytes, b_bytes: bBytes, bytes_ratio: aBytes / bBytes, rounds: n },
        figures: [
          figure('tokens_per_s', `decode tokens/s, ${named(views.a)}`, 'tokens/s', ta, views.a),
          figure('tokens_per_s', `decode tokens/s, ${named(views.b)}`, 'tokens/s', tb, views.b),
          figure('speedup', `speed ratio ${named(views.b)} / ${named(views.a)} (paired rounds)`, '×', ratios),
        ],
      };
    },
  },

  /** Generations with the KV cache on and off, alternating (the lab's Generate button). */
  kvCompare: {
    fields: { on_tokens_per_s: 'tokens/s', off_tokens_per_s: 'tokens/s', speedup: '×', on_early_ms: 'ms', on_late_ms: 'ms', off_early_ms: 'ms', off_late_ms: 'ms', off_growth: '×', kv_bytes: 'bytes', tokens: 'count' },
    async run(lab, { query, tokens, runs }, ctl) {
      const view = lab.recipeOf(query);
      const got = { on: [], off: [] };
      for (let r = 0; r < runs; r++) {
        for (const kv of r % 2 ? [false, true] : [true, false]) {
          if (ctl.stopped) throw new Error('stopped before it finished');
          const run = await lab.generate({ ...lab.settings(), recipe: view.recipe, kv, tokens, temp: 0 }, ctl);
          got[kv ? 'on' : 'off'].push(run);
          ctl.progress(got.on.length + got.off.length, 2 * runs);
        }
      }
      const tps = (runsOf) => runsOf.map((x) => x.summary.tokensPerS);
      const el = (runsOf) => runsOf.map((x) => earlyLate(x.run));
      const on = el(got.on);
      const off = el(got.off);
      const onT = tps(got.on);
      const offT = tps(got.off);
      const offEarly = median(off.map((x) => x.early));
      const offLate = median(off.map((x) => x.late));
      return {
        fields: {
          on_tokens_per_s: median(onT),
          off_tokens_per_s: median(offT),
          speedup: median(onT) / median(offT),
          on_early_ms: median(on.map((x) => x.early)),
          on_late_ms: median(on.map((x) => x.late)),
          off_early_ms: offEarly,
          off_late_ms: offLate,
          off_growth: offLate / offEarly,
          kv_bytes: got.on[got.on.length - 1].summary.kvBytes,
          tokens: got.on[0].summary.n,
        },
        figures: [
          figure('tokens_per_s', `tokens/s, KV cache on, ${named(view)}`, 'tokens/s', onT, view),
          figure('tokens_per_s', `tokens/s, KV cache off, ${named(view)}`, 'tokens/s', offT, view),
          figure('step_ms_late', 'ms per step, last quarter, KV cache off', 'ms', off.map((x) => x.late)),
          figure('kv_bytes_used', `KV cache bytes after ${got.on[0].summary.n} tokens`, 'bytes', got.on[got.on.length - 1].summary.kvBytes),
        ],
      };
    },
  },

  /** The Profile tab's op breakdown of a decode step. */
  profile: {
    fields: { top_op: 'text', top_share: 'fraction', weight_share: 'fraction', attention_share: 'fraction', total_ms: 'ms', gflops: 'GFLOP/s', flops_per_token: 'FLOP' },
    async run(lab, { query, tokens, runs }, ctl) {
      const view = lab.recipeOf(query);
      const r = await task(lab, ctl, 'profile', { tokens, runs, settings: { ...lab.settings(), recipe: view.recipe } });
      const top = [...r.ops].sort((x, y) => y.share - x.share)[0];
      const share = (pred) => r.ops.filter(pred).reduce((s, o) => s + o.share, 0);
      return {
        fields: {
          top_op: top.op,
          top_share: top.share,
          weight_share: share((o) => WEIGHT_OPS.includes(o.op)),
          attention_share: share((o) => o.op.startsWith('attn_scores') || o.op === 'softmax' || o.op === 'attn_weighted_v'),
          total_ms: r.total_ms_per_token,
          gflops: r.gflops,
          flops_per_token: r.flops_per_token,
        },
        figures: [
          figure('ms_per_token', `ms per decode step (profiled), ${named(view)}`, 'ms', [r.token_ms.median_ms], view),
          figure('gflops', `GFLOP/s of a decode step, ${named(view)}`, 'GFLOP/s', r.gflops, view),
        ],
      };
    },
  },

  /** The roofline of decoding: the read bandwidth of the memory level the weights fit
   *  in (the What-size-costs tab's bandwidth task) against the measured decode speed. */
  roofline: {
    fields: { level: 'text', level_gbps: 'GB/s', weight_bytes: 'bytes', roofline_tokens_per_s: 'tokens/s', tokens_per_s: 'tokens/s', of_roofline: 'fraction', achieved_gbps: 'GB/s' },
    async run(lab, { query, runs, rounds, tokens }, ctl) {
      const levels = await task(lab, ctl, 'scalingBandwidth', { runs });
      const { views, out } = await decodeTimes(lab, ctl, { x: query }, rounds, tokens);
      const bytes = out.x[0].weight_bytes;
      const level = levels.find((l) => bytes <= l.holds) || levels[levels.length - 1];
      const tps = out.x.map((t) => t.tokens_per_s);
      const roof = (level.gbps * 1e9) / bytes;
      return {
        fields: {
          level: level.name,
          level_gbps: level.gbps,
          weight_bytes: bytes,
          roofline_tokens_per_s: roof,
          tokens_per_s: median(tps),
          of_roofline: median(tps) / roof,
          achieved_gbps: (median(tps) * bytes) / 1e9,
        },
        figures: [
          figure('bandwidth_gbps', `read bandwidth, ${level.name}`, 'GB/s', level.gbps),
          figure('tokens_per_s', `decode tokens/s, ${named(views.x)}`, 'tokens/s', tps, views.x),
        ],
      };
    },
  },

  /** The Kernels tab's table: every kernel of this build on one case. */
  kernels: {
    fields: { case: 'text', naive_gflops: 'GFLOP/s', blocked_gflops: 'GFLOP/s', simd_gflops: 'GFLOP/s', relaxed_gflops: 'GFLOP/s', blocked_speedup: '×', simd_speedup: '×', relaxed_vs_simd: '×', best_kernel: 'text' },
    async run(lab, { prefill, runs, shape, m }, ctl) {
      const rows = await task(lab, ctl, 'kernelBench', { prefill, runs });
      const mine = rows.filter((r) => r.shape === shape && (m === undefined || r.m === m));
      const of = (k) => mine.find((r) => r.kernel === k);
      if (!of('naive') || !of('simd')) throw new Error(`the kernel table has no ${shape} case with naive and simd`);
      const g = (k) => (of(k) ? of(k).gflops : NaN);
      const best = [...mine].sort((x, y) => y.gflops - x.gflops)[0];
      const c = of('naive');
      return {
        fields: {
          case: `${c.shape} ${c.m}×${c.k}×${c.n}`,
          naive_gflops: g('naive'),
          blocked_gflops: g('blocked'),
          simd_gflops: g('simd'),
          relaxed_gflops: g('relaxed'),
          blocked_speedup: g('blocked') / g('naive'),
          simd_speedup: g('simd') / g('naive'),
          relaxed_vs_simd: g('relaxed') / g('simd'),
          best_kernel: best.kernel,
        },
        // p50 and p90 call times give the spread of each kernel's throughput.
        figures: mine.map((r) => ({
          ...figure('gflops', `GFLOP/s, ${r.kernel}, ${r.shape} ${r.m}×${r.k}×${r.n}`, 'GFLOP/s', r.gflops),
          min: (r.gflops * r.ms_p50) / r.ms_p90,
          n: r.runs,
        })),
      };
    },
  },

  /** The Prune tab's quality-vs-sparsity curve at one ratio, both kinds. */
  pruneCurve: {
    fields: { unstructured_kld: 'nats', structured_kld: 'nats', kld_ratio: '×', unstructured_bytes: 'bytes', structured_bytes: 'bytes' },
    async run(lab, { ratio }, ctl) {
      const r = await task(lab, ctl, 'pruneCurve', { ratios: [ratio] });
      const u = r.unstructured[0];
      const s = r.structured[0];
      if (!u || !s) throw new Error('stopped before it finished');
      return {
        fields: { unstructured_kld: u.kld, structured_kld: s.kld, kld_ratio: s.kld / u.kld, unstructured_bytes: u.weight_bytes, structured_bytes: s.weight_bytes },
        figures: [
          figure('prune_kld', `KL divergence, unstructured ${ratio}`, 'nats/token', u.kld),
          figure('prune_kld', `KL divergence, structured ${ratio}`, 'nats/token', s.kld),
        ],
      };
    },
  },

  /** The Prune tab's Recover (issue 22): prune the teacher, let it write its own training
   *  text, distill the pruned copy back for `seconds` (the worker's `recover` task). */
  recover: {
    fields: {
      top1_before: 'fraction', top1_after: 'fraction', top1_gain: 'fraction', kld_before: 'nats', kld_after: 'nats',
      steps: 'count', steps_per_s: 'steps/s', sparsity: 'fraction',
    },
    async run(lab, { kind, ratio, seconds, samples }, ctl) {
      const d = (await task(lab, ctl, 'recoverDefaults', {})).defaults;
      const opts = { ...d, steps: 100000, samples: samples || d.samples, prune: { ...d.prune, kind, ratio } };
      const r = await task(lab, ctl, 'recover', { opts, seconds });
      if (r.phase !== 'done') throw new Error('stopped before it finished');
      const rate = r.steps_done / (r.train_ms / 1e3);
      return {
        fields: {
          top1_before: r.before.top1_agreement, top1_after: r.after.top1_agreement,
          top1_gain: r.after.top1_agreement - r.before.top1_agreement,
          kld_before: r.before.kld, kld_after: r.after.kld, steps: r.steps_done, steps_per_s: rate, sparsity: r.sparsity,
        },
        figures: [
          figure('recover_top1', `top-1 agreement with the teacher, ${kind} ${ratio} pruned`, 'fraction', r.before.top1_agreement),
          figure('recover_top1', `top-1 agreement with the teacher, ${kind} ${ratio} recovered ${r.steps_done} steps`, 'fraction', r.after.top1_agreement),
          figure('recover_steps_per_s', `recovery steps/s in this browser, ${kind} ${ratio}`, 'steps/s', r.curve.map((c) => 1e3 / c.ms)),
        ],
      };
    },
  },

  /** The Prune tab's dense-vs-sparse sweep: where a sparse format starts to pay. */
  sparseSweep: {
    fields: { csr_crossover: 'fraction', sell_crossover: 'fraction', csr_speedup_max: '×', sell_speedup_max: '×', top_sparsity: 'fraction' },
    async run(lab, { rows, cols, sparsities, runs }, ctl) {
      const r = await task(lab, ctl, 'sparseSweep', { shapes: [{ rows, cols }], sparsities, runs });
      const pts = r[0].points;
      if (pts.length < sparsities.length) throw new Error('stopped before it finished');
      const cross = (f) => {
        const p = pts.find((x) => x[f].speedup > 1);
        return p ? p.sparsity : NaN;
      };
      const last = pts[pts.length - 1];
      return {
        fields: { csr_crossover: cross('csr'), sell_crossover: cross('sell'), csr_speedup_max: last.csr.speedup, sell_speedup_max: last.sell.speedup, top_sparsity: last.sparsity },
        figures: pts.map((p) => figure('csr_speedup', `CSR speed vs dense at ${p.sparsity} sparsity, ${rows}×${cols}`, '×', p.csr.speedup)),
      };
    },
  },

  /** The Quantize tab's per-matrix sensitivity. */
  sensitivity: {
    fields: { worst_matrix: 'text', worst_kld: 'nats', best_matrix: 'text', best_kld: 'nats', kld_spread: '×', matrices: 'count' },
    async run(lab, { query }, ctl) {
      const view = lab.recipeOf(query);
      const r = await task(lab, ctl, 'sensitivity', { settings: { ...lab.settings(), recipe: view.recipe } });
      const sorted = [...r].sort((x, y) => y.kld - x.kld);
      const worst = sorted[0];
      const best = sorted[sorted.length - 1];
      return {
        fields: { worst_matrix: worst.matrix, worst_kld: worst.kld, best_matrix: best.matrix, best_kld: best.kld, kld_spread: worst.kld / best.kld, matrices: r.length },
        figures: [figure('sensitivity_kld', `KL divergence, only ${worst.matrix} quantized (${view.recipe.quant.precision})`, 'nats/token', worst.kld)],
      };
    },
  },

  /** The model picker's shipped-models comparison: the teacher and its distilled student. */
  shippedSpeed: {
    fields: { teacher_tokens_per_s: 'tokens/s', student_tokens_per_s: 'tokens/s', speedup: '×', teacher_params: 'count', student_params: 'count', params_ratio: '×', teacher_val_loss: 'nats', student_val_loss: 'nats' },
    async run(lab, { rounds, tokens }, ctl) {
      const view = lab.recipeOf('');
      const r = await task(lab, ctl, 'shippedSpeed', { rounds, tokens, settings: { ...lab.settings(), recipe: view.recipe } });
      const t = r.find((x) => x.name === 'teacher');
      const s = r.find((x) => x.name === 'student');
      const fig = (x) => ({ ...figure('tokens_per_s', `decode tokens/s, shipped ${x.name} (f32)`, 'tokens/s', x.tokens_per_s), min: x.tokens_per_s_min, max: x.tokens_per_s_max, n: rounds });
      return {
        fields: {
          teacher_tokens_per_s: t.tokens_per_s,
          student_tokens_per_s: s.tokens_per_s,
          speedup: s.tokens_per_s / t.tokens_per_s,
          teacher_params: t.n_params,
          student_params: s.n_params,
          params_ratio: t.n_params / s.n_params,
          teacher_val_loss: t.val_loss ?? NaN,
          student_val_loss: s.val_loss ?? NaN,
        },
        figures: [fig(t), fig(s)],
      };
    },
  },

  /** The Benchmark tab's suite on a recipe: the sealed record's scores and gate. */
  bench: {
    fields: { all_round: '×', latency_ratio: '×', gate: 'text', kld: 'nats', rounds: 'count', recipe_id: 'text' },
    async run(lab, { query, suite }, ctl) {
      const view = lab.recipeOf(query);
      const v = await task(lab, ctl, 'bench', { settings: { ...lab.settings(), recipe: view.recipe }, suite, division: 'closed', handle: '' });
      if (!v.text) throw new Error('the suite did not finish, so there is no record');
      const rec = JSON.parse(v.text);
      return {
        fields: { all_round: rec.scores.all_round, latency_ratio: rec.scores.latency.ratio, gate: rec.scores.gate, kld: rec.quality.kld, rounds: rec.scores.latency.rounds, recipe_id: rec.recipe_id },
        figures: [
          figure('all_round', `all-round score, ${suite}, ${named(view)}`, '×', rec.scores.all_round, view),
          figure('latency_ratio', `latency ratio, ${suite}, ${named(view)}`, '×', rec.scores.latency.ratio, view),
        ],
        record: v.text,
      };
    },
  },
};
