// The Prune panel: achieved sparsity, size and quality of the running model (perplexity
// of pasted text included), the quality-vs-sparsity curve of both kinds, and where each
// sparse format (CSR, SELL) starts to beat dense.

import { fmt, fmtSmall } from './metrics.js';
import { bindTask } from './tasks.js';
import { put, putBytes, describeRecipe } from './recipe-controls.js';
import { drawLines, COLOURS } from './plot.js';
import { bindPerplexity } from './perplexity-box.js';

const $ = (id) => document.getElementById(id);
/** Ratios of the quality curve: 0, 10, …, 90 and 95 %. */
const CURVE_RATIOS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const SWEEP_SPARSITIES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99];

/** The sparse formats of the sweep, as the wasm rows name them, with their line style. */
const SWEEP_FORMATS = [
  { key: 'csr', label: 'CSR', dash: null },
  { key: 'sell', label: 'SELL', dash: [6, 4] },
];

/**
 * First sparsity from which `format`'s speedup stays at or above 1 (linear between
 * points), or NaN. Points: sweep rows `{sparsity, [format]: {speedup}}`.
 */
export function crossover(points, format = 'csr') {
  const sp = (q) => q[format].speedup;
  let i = points.length;
  while (i > 0 && sp(points[i - 1]) >= 1) i--;
  if (i === points.length) return NaN;
  const q = points[i];
  if (i === 0) return q.sparsity;
  const p = points[i - 1];
  return p.sparsity + ((1 - sp(p)) / (sp(q) - sp(p))) * (q.sparsity - p.sparsity);
}

export function createPrunePanel(ctx) {
  const err = (e) => ctx.showError('p', e.message || String(e));
  let model = null;
  const resetPerplexity = bindPerplexity('p', ctx, err);

  function onRecipe(report) {
    $('p-recipe').textContent = `· ${describeRecipe(report)}`;
    put('p-sparsity', fmt(100 * report.sparsity, 4), report.sparsity);
    $('p-sparsity').title = `${report.sparsity} of the block weights are zero`;
    putBytes('p-bytes', report.weight_bytes, report.base_weight_bytes);
    put('p-kld', fmtSmall(report.kld, 3), report.kld);
    put('p-top1', fmt(100 * report.top1_agreement, 4), 100 * report.top1_agreement);
    $('panel-prune').dataset.applied = `${report.prune_kind}:${Math.round(100 * report.prune)}`;
    resetPerplexity(); // it belonged to the previous running model
  }

  function onReady(m) {
    model = m;
    putBytes('p-bytes', m.info.weight_bytes, m.info.weight_bytes);
    $('p-recipe').textContent = '· as loaded';
    for (const id of ['p-sparsity', 'p-kld', 'p-top1']) put(id, '—');
    resetPerplexity();
  }

  // The slider's value shows while it moves; the recipe applies when it is let go.
  $('p-ratio').addEventListener('input', (e) => {
    $('p-ratio-val').textContent = `${e.target.value} %`;
  });

  bindTask({
    button: $('p-curve'),
    stop: $('p-curve-stop'),
    progress: $('p-curve-progress'),
    busyEl: $('p-curve-chart'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('pruneCurve', { ratios: CURVE_RATIOS }, p),
    done: ({ value }) => value && drawCurve(value),
    fail: err,
  });

  function drawCurve(v) {
    const canvas = $('p-curve-chart');
    const series = ['unstructured', 'structured'].map((kind, i) => ({
      label: `${kind}`,
      colour: COLOURS[i],
      points: v[kind].map((q) => ({ x: 100 * q.sparsity, y: 100 * q.top1_agreement })),
    }));
    drawLines(canvas, series, {
      xLabel: 'achieved sparsity of the block weights (%)',
      yLabel: 'top-1 agreement (%)',
      xMax: 100,
      yMax: 100,
    });
    const say = (kind) =>
      v[kind].map((q) => `${fmt(100 * q.sparsity, 3)} %: ${fmt(100 * q.top1_agreement, 3)} % (KL ${fmtSmall(q.kld, 3)})`).join('; ');
    canvas.setAttribute(
      'aria-label',
      `Top-1 agreement with f32 against sparsity. Unstructured: ${say('unstructured') || 'none yet'}. Structured: ${say('structured') || 'none yet'}.`,
    );
    canvas.dataset.points = `${v.unstructured.length},${v.structured.length}`;
  }

  bindTask({
    button: $('p-sweep'),
    stop: $('p-sweep-stop'),
    progress: $('p-sweep-progress'),
    busyEl: $('p-sweep-chart'),
    runner: ctx.runner,
    start: (p) => {
      const c = model.info.config;
      const f = 4 * c.d_model;
      const shapes = [
        { label: '512×512', rows: 512, cols: 512 },
        { label: `MLP up ${f}×${c.d_model}`, rows: f, cols: c.d_model },
        { label: `MLP down ${c.d_model}×${f}`, rows: c.d_model, cols: f },
      ];
      return ctx.runner.run('sparseSweep', { shapes, sparsities: SWEEP_SPARSITIES, runs: 7 }, p);
    },
    done: ({ value }) => value && drawSweep(value),
    fail: err,
  });

  function drawSweep(shapes) {
    const canvas = $('p-sweep-chart');
    const series = [];
    const marks = [];
    const words = [];
    shapes.forEach((s, i) => {
      const last = s.points[s.points.length - 1];
      const said = SWEEP_FORMATS.map((f) => {
        series.push({
          label: `${s.label} ${f.label}`,
          colour: COLOURS[i],
          dash: f.dash,
          points: s.points.map((q) => ({ x: 100 * q.sparsity, y: q[f.key].speedup })),
        });
        const x = crossover(s.points, f.key);
        if (Number.isFinite(x)) marks.push({ x: 100 * x, y: 1, colour: COLOURS[i] });
        return (
          `${f.label} ${Number.isFinite(x) ? `wins from about ${fmt(100 * x, 3)} % sparsity` : 'never wins here'}` +
          (last ? `, ${fmt(last[f.key].speedup, 3)}× at ${fmt(100 * last.sparsity, 3)} %` : '')
        );
      });
      words.push(`${s.label}: ${said.join(', ')}`);
    });
    // Colour = shape, line style = format.
    const legend = [
      ...shapes.map((s, i) => ({ label: s.label, colour: COLOURS[i] })),
      ...SWEEP_FORMATS.map((f) => ({ label: f.label, colour: '#6b7280', dash: f.dash || [] })),
    ];
    drawLines(canvas, series, {
      xLabel: 'sparsity (%)',
      yLabel: 'speedup over dense (×, log scale)',
      xMax: 100,
      yLog: true,
      hline: { y: 1, label: '1× (break-even)' },
      marks,
      legend,
    });
    canvas.setAttribute('aria-label', `Sparse matvec speedup over dense against sparsity, measured in this browser. ${words.join('. ')}.`);
    canvas.dataset.points = shapes.map((s) => s.points.length).join(',');
    $('p-sweep-cap').textContent =
      'Matvec speedup of each sparse format over the dense SIMD kernel (×) against sparsity (%), measured here, ' +
      'the three kernels alternating on the same matrix; colour = shape, solid = CSR, dashed = SELL; above the grey 1× line ' +
      `the format wins; circles mark the crossovers. ${words.join('; ')}.`;
  }

  return { onRecipe, onReady };
}
