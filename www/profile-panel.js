// The Profile panel: per-op time of a decode step (stacked bar and table), FLOPs and
// GFLOP/s, the sum of the parts against the measured total, and memory by kind.

import { fmt, fmtBytes } from './metrics.js';
import { bindTask } from './tasks.js';
import { put } from './recipe-controls.js';
import { drawStack, COLOURS } from './plot.js';
import { features } from './env-note.js';

const $ = (id) => document.getElementById(id);
const PROFILE = { tokens: 64, runs: 3 };

function cells(tr, values) {
  values.forEach((v, i) => {
    const c = i === 0 ? document.createElement('th') : document.createElement('td');
    if (i === 0) c.scope = 'row';
    if (v instanceof Node) c.appendChild(v);
    else c.textContent = v;
    tr.appendChild(c);
  });
}

export function createProfilePanel(ctx) {
  const err = (e) => ctx.showError('f', e.message || String(e));

  function showProfile(r) {
    $('f-sub').textContent = `· ${r.kernel} kernel, ${r.tokens} tokens × ${r.runs} runs`;
    put('f-flops', fmt(r.flops_per_token / 1e6, 4), r.flops_per_token);
    put('f-gflops', fmt(r.gflops, 3), r.gflops);
    put('f-sum', fmt(r.sum_ms_per_token, 4), r.sum_ms_per_token);
    put('f-total', fmt(r.total_ms_per_token, 4), r.total_ms_per_token);
    $('f-sum-d').textContent = `${fmt((100 * r.sum_ms_per_token) / r.total_ms_per_token, 4)} % of the measured total`;
    const t = r.token_ms;
    $('f-total-d').textContent =
      `per step: median ${fmt(t.median_ms)} ms, p90 ${fmt(t.p90_ms)} ms, IQR ${fmt(t.iqr_ms)} ms; ` +
      `${r.steps_kept} steps kept, ${r.steps_dropped} dropped`;
    const parts = r.ops.map((o, i) => ({ label: o.op, value: o.ms_per_token, colour: COLOURS[i % COLOURS.length] }));
    const canvas = $('f-stack');
    drawStack(canvas, parts, 'ms');
    canvas.setAttribute(
      'aria-label',
      'Time per token by op: ' + r.ops.map((o) => `${o.op} ${fmt(o.ms_per_token)} ms (${fmt(100 * o.share, 3)} %)`).join(', ') + '.',
    );
    const body = $('f-ops').tBodies[0];
    body.textContent = '';
    r.ops.forEach((o, i) => {
      const tr = body.insertRow();
      tr.dataset.op = o.op;
      const name = document.createElement('span');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = parts[i].colour;
      name.append(sw, o.op);
      cells(tr, [name, fmt(o.ms_per_token, 4), `${fmt(100 * o.share, 3)} %`, fmt(o.flops_per_token / 1e6, 4), fmt(o.gflops, 3)]);
    });
    const tr = body.insertRow();
    tr.className = 'sum';
    cells(tr, ['sum of ops', fmt(r.sum_ms_per_token, 4), '100 %', fmt(r.flops_per_token / 1e6, 4), fmt(r.gflops, 3)]);
    showMemory(r.memory);
  }

  function showMemory(m) {
    const body = $('f-mem').tBodies[0];
    body.textContent = '';
    for (const e of m.entries) {
      const tr = body.insertRow();
      tr.dataset.kind = e.kind;
      cells(tr, [e.kind.replace('_', ' '), e.detail || '', e.bytes.toLocaleString('en-US'), fmtBytes(e.bytes)]);
    }
  }

  bindTask({
    button: $('f-run'),
    progress: $('f-progress'),
    busyEl: $('f-ops'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('profile', { ...PROFILE, settings: ctx.settings() }, p),
    done: ({ value }) => value && showProfile(value),
    fail: err,
  });
  /** The whole page's memory as the browser counts it (every thread, every wasm memory),
   *  where the engine can measure it; otherwise it says so instead of leaving a blank. */
  let measuring = false;
  async function showPageMemory() {
    const out = $('f-mem-page');
    if (!features().memoryMeasure.ok) {
      out.textContent =
        'The whole page as the browser counts it: not available in this browser (it needs ' +
        'performance.measureUserAgentSpecificMemory on a cross-origin isolated page). The table is the engine\'s own allocator count.';
      return;
    }
    if (measuring) return;
    measuring = true;
    out.textContent = 'The whole page as the browser counts it: measuring… (the browser answers at its next garbage collection, up to 20 s)';
    try {
      const m = await performance.measureUserAgentSpecificMemory();
      out.textContent = `The whole page as the browser counts it (every thread and wasm memory): ${fmtBytes(m.bytes)} (${m.bytes.toLocaleString('en-US')} bytes, performance.measureUserAgentSpecificMemory).`;
      out.dataset.bytes = String(m.bytes);
    } catch (e) {
      out.textContent = `The whole page as the browser counts it: the browser refused to measure (${(e && e.message) || e}).`;
    } finally {
      measuring = false;
    }
  }

  bindTask({
    button: $('f-mem-run'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('memory', { settings: ctx.settings() }, p),
    done: ({ value }) => {
      if (value) showMemory(value);
      showPageMemory();
    },
    fail: err,
  });

  return {};
}
