// The Kernels panel: the matrix kernels this build has timed on a 512×512 matvec and on
// the model's own shapes (decode and prefill), shown as GFLOP/s bars and a speedup table.

import { fmt } from './metrics.js';
import { bindTask } from './tasks.js';
import { drawBars, COLOURS } from './plot.js';

const $ = (id) => document.getElementById(id);
const BENCH = { prefill: 64, runs: 7 };

const caseName = (r) => `${r.shape} ${r.m}×${r.k}×${r.n}`;
/** A colour per kernel that stays the same whichever kernels a build has. */
const COLOUR_OF = { naive: 0, blocked: 1, simd: 2, library: 3, relaxed: 5 };
const colourOf = (k) => COLOURS[COLOUR_OF[k] ?? 6];

export function createKernelsPanel(ctx) {
  const err = (e) => ctx.showError('k', e.message || String(e));

  function show(rows) {
    // The kernels in the order the engine timed them (naive first; relaxed only in the
    // relaxed-SIMD build), and the rows grouped by case, in the order they came.
    const KERNELS = [...new Set(rows.map((r) => r.kernel))];
    const head = $('k-table').tHead.rows[0];
    while (head.cells.length > 1) head.deleteCell(1);
    for (const k of KERNELS) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = k;
      head.appendChild(th);
    }
    const cases = [];
    for (const r of rows) {
      let c = cases.find((x) => x.name === caseName(r));
      if (!c) cases.push((c = { name: caseName(r), rows: {} }));
      c.rows[r.kernel] = r;
    }
    const canvas = $('k-chart');
    drawBars(
      canvas,
      cases.map((c) => ({
        label: c.name,
        bars: KERNELS.filter((k) => c.rows[k]).map((k) => ({
          value: c.rows[k].gflops,
          colour: colourOf(k),
          text: `${fmt(c.rows[k].gflops, 3)}`,
        })),
      })),
      { xLabel: 'GFLOP/s (higher is faster)', legend: KERNELS.map((k) => ({ label: k, colour: colourOf(k) })), barH: 11 },
    );
    canvas.setAttribute(
      'aria-label',
      'Kernel throughput in GFLOP/s. ' +
        cases.map((c) => `${c.name}: ` + KERNELS.filter((k) => c.rows[k]).map((k) => `${k} ${fmt(c.rows[k].gflops, 3)}`).join(', ')).join('. ') + '.',
    );
    const body = $('k-table').tBodies[0];
    body.textContent = '';
    for (const c of cases) {
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = c.name;
      tr.appendChild(th);
      for (const k of KERNELS) {
        const td = tr.insertCell();
        const r = c.rows[k];
        td.textContent = r ? `${fmt(r.gflops, 3)} (${fmt(r.speedup_vs_naive, 3)}×)` : '—';
        if (r) {
          td.dataset.gflops = String(r.gflops);
          td.dataset.kernel = k;
          td.title = `${r.path}: median ${fmt(r.ms_p50 * 1000, 4)} µs per call, p90 ${fmt(r.ms_p90 * 1000, 4)} µs, ${r.runs} runs`;
        }
      }
    }
    // Which code the simd kernel ran here: the engine's own dispatch, by operation.
    const paths = [];
    for (const r of rows) {
      if (r.kernel !== 'simd') continue;
      const p = `${r.op}: ${r.path}`;
      if (!paths.includes(p)) paths.push(p);
    }
    const note = $('k-paths');
    note.textContent = paths.length ? `simd ran ${paths.join('; ')} (chosen at run time for this engine and CPU).` : '';
    note.hidden = !paths.length;
  }

  bindTask({
    button: $('k-bench'),
    stop: $('k-bench-stop'),
    progress: $('k-progress'),
    busyEl: $('k-table'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('kernelBench', BENCH, p),
    done: ({ value }) => value && show(value),
    fail: err,
  });
  return {};
}
