// The Kernels tab's "exact or relaxed" section: which engine build runs (and why), and
// the comparison of the bit-exact `simd` kernel with the `relaxed` one at three
// precisions: speed gained and bits lost, both measured here (relaxed-tasks.js).

import { fmt, fmtSmall, median } from './metrics.js';
import { bindTask } from './tasks.js';

const $ = (id) => document.getElementById(id);
const ARGS = { rounds: 9, tokens: 255 };

/** `{median, min, max}` of numbers. */
function spread(xs) {
  const v = xs.filter(Number.isFinite);
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}
/** A cell: the median, with [min–max] on a second, smaller line. */
function putSpread(td, s, unit = '') {
  if (!s.n) {
    td.textContent = '—';
    return;
  }
  td.textContent = `${fmt(s.median)}${unit}`;
  const small = document.createElement('span');
  small.className = 'spread';
  small.textContent = `${fmt(s.min)}–${fmt(s.max)}${unit}`;
  td.appendChild(small);
}

/** Per-round ratios a[r] / b[r] of two runs' tokens/s (paired: same round, same load). */
function paired(a = [], b = []) {
  const n = Math.min(a.length, b.length);
  return spread(Array.from({ length: n }, (_, r) => a[r].tokens_per_s / b[r].tokens_per_s));
}

/** The table's rows from a (partial) result: figures as data, for the measure script too. */
export function relaxedRows(result) {
  const t = result.times || {};
  const tps = (key) => spread((t[key] || []).map((x) => x.tokens_per_s));
  return (result.precisions || []).map((p) => ({
    precision: p,
    simd: tps(`${p}/simd`),
    relaxed: tps(`${p}/relaxed`),
    gained: paired(t[`${p}/relaxed`], t[`${p}/simd`]),
    vsF32: paired(t[`${p}/relaxed`], t['f32/simd']),
    simdVsF32: paired(t[`${p}/simd`], t['f32/simd']),
    bits: (result.bits || {})[p] || null,
  }));
}

export function createRelaxedPanel(ctx) {
  const err = (e) => ctx.showError('k', e.message || String(e));

  function show(result) {
    const body = $('kr-table').tBodies[0];
    body.textContent = '';
    for (const row of relaxedRows(result)) {
      const tr = body.insertRow();
      tr.dataset.precision = row.precision;
      tr.dataset.figures = JSON.stringify(row);
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = row.precision;
      tr.appendChild(th);
      const b = row.bits;
      putSpread(tr.insertCell(), row.simd);
      putSpread(tr.insertCell(), row.relaxed);
      putSpread(tr.insertCell(), row.gained, '×');
      putSpread(tr.insertCell(), row.vsF32, '×');
      putSpread(tr.insertCell(), row.simdVsF32, '×');
      const cells = [
        b ? `${fmt((100 * b.identical) / b.logits, 4)} % of ${b.logits.toLocaleString('en-US')}` : '…',
        b ? (b.max_abs_diff === 0 ? '0 (same bits)' : fmtSmall(b.max_abs_diff)) : '…',
        b ? fmtSmall(b.kld) : '…',
        b ? (b.greedy_same === b.greedy_tokens ? `all ${b.greedy_tokens}` : `first ${b.greedy_same} of ${b.greedy_tokens}`) : '…',
      ];
      for (const c of cells) tr.insertCell().textContent = c;
    }
  }

  const task = bindTask({
    button: $('kr-run'),
    stop: $('kr-stop'),
    progress: $('kr-progress'),
    busyEl: $('kr-table'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('relaxedCompare', ARGS, p),
    done: ({ value }) => value && show(value),
    fail: err,
  });

  return {
    /** The worker is ready: say which build runs, and offer the comparison if it can. */
    onReady(model) {
      const e = model.engine || { build: 'simd128', name: 'wasm simd128', why: '' };
      const has = (model.kernels || []).includes('relaxed');
      const note = $('kr-build');
      note.dataset.build = e.build;
      note.textContent =
        `Engine build: ${e.name}${e.why ? ` (${e.why})` : ''}. ` +
        (has
          ? 'Both kernels are here; the running model uses the one picked above.'
          : 'The relaxed kernel needs the relaxed-SIMD build, so only the exact kernels run here.');
      if (!task.running()) $('kr-run').disabled = !has;
      const option = document.querySelector('#k-kernel option[value="relaxed"]');
      if (option) option.disabled = !has;
    },
  };
}
