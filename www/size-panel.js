// What size costs (issue 14), in the Profile tab: the tab's read bandwidth per memory
// level, a sweep of random-weight sizes (scalingPoint), and the shipped teacher and
// student and the running model timed as points on the same log-log axes: tokens/s
// against weight bytes, with each level's roofline (bandwidth ÷ bytes).

import { fmt, fmtBytes } from './metrics.js';
import { bindTask } from './tasks.js';
import { prepare, remember, COLOURS } from './plot.js';
import { drawAxes } from './axes.js';
import { parseModel, modelName } from './state.js';

const $ = (id) => document.getElementById(id);
const SWEEP = { tokens: 64, runs: 3, bandwidthRuns: 5, shippedRounds: 3, maxSizes: 8 };

/** `[{n_layer, d_model}]` from "2x64, 4x128"; throws a plain-text error for a bad entry. */
export function parseSizes(text) {
  const parts = String(text).split(',').map((t) => t.trim()).filter(Boolean);
  if (!parts.length) throw new Error('sizes: give at least one, e.g. 2x64, 4x128');
  if (parts.length > SWEEP.maxSizes) throw new Error(`sizes: at most ${SWEEP.maxSizes}`);
  return parts.map((t) => {
    const m = /^([0-9]{1,2})\s*[x×]\s*([0-9]{1,4})$/i.exec(t);
    const p = m && parseModel(`random-L${Number(m[1])}-D${Number(m[2])}`);
    if (!p) {
      const shown = t.length > 30 ? t.slice(0, 29) + '…' : t;
      throw new Error(`sizes: “${shown}” is not layers×width with 1–16 layers and a width that is a multiple of 32 up to 1024`);
    }
    return { n_layer: p.nLayer, d_model: p.dModel };
  });
}

/** Powers of ten (and 2×, 5× when the span is short) inside [lo, hi]. */
function logTicks(lo, hi) {
  const out = [];
  const short = Math.log10(hi / lo) < 3.5;
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of short ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** Powers of two inside [lo, hi], about `n` of them (byte axes: 64 KiB, 256 KiB, 1 MiB…). */
function byteTicks(lo, hi, n = 6) {
  const k0 = Math.ceil(Math.log2(lo));
  const k1 = Math.floor(Math.log2(hi));
  const step = Math.max(1, Math.ceil((k1 - k0 + 1) / n));
  const out = [];
  for (let k = k0; k <= k1; k += step) out.push(2 ** k);
  return out;
}

function compactNumber(v) {
  if (v >= 1e6) return `${fmt(v / 1e6, 3)}M`;
  if (v >= 1e3) return `${fmt(v / 1e3, 3)}k`;
  return fmt(v, 3);
}

/** Draws the sweep: `r = {levels, points, shipped}`. */
export function drawSizeChart(canvas, r) {
  remember(canvas, () => drawSizeChart(canvas, r));
  const { ctx, w, h, p } = prepare(canvas, 340);
  const pad = { l: 64, r: 16, t: 16, b: 44 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const pts = [
    ...r.points.map((q) => ({ x: q.weight_bytes, y: q.tokens_per_s, lo: q.tokens_per_s_min, hi: q.tokens_per_s_max, label: `${q.n_layer}×${q.d_model}`, shipped: false })),
    ...(r.shipped || []).filter((q) => Number.isFinite(q.tokens_per_s)).map((q) => ({
      x: q.weight_bytes, y: q.tokens_per_s, lo: q.tokens_per_s_min, hi: q.tokens_per_s_max, label: shippedLabel(q), shipped: true,
    })),
  ];
  if (!pts.length) return;
  const xsAll = pts.map((q) => q.x);
  const ysAll = pts.flatMap((q) => [q.lo, q.hi, q.y]);
  const x0 = Math.min(...xsAll) / 2;
  const x1 = Math.max(...xsAll) * 2;
  const y0 = Math.min(...ysAll) / 2;
  const y1 = Math.max(...ysAll, ...r.levels.map((l) => (l.gbps * 1e9) / Math.max(...xsAll))) * 2;
  const lx = (v) => Math.log10(v);
  const X = (v) => pad.l + ((lx(v) - lx(x0)) / (lx(x1) - lx(x0))) * pw;
  const Y = (v) => pad.t + ph - ((lx(v) - lx(y0)) / (lx(y1) - lx(y0))) * ph;
  drawAxes(ctx, p, { l: pad.l, t: pad.t, w: pw, h: ph }, {
    xs: byteTicks(x0, x1, w < 500 ? 3 : 6),
    ys: logTicks(y0, y1),
    X,
    Y,
    xGrid: true,
    fmtX: (v) => fmtBytes(v),
    fmtY: compactNumber,
    xLabel: 'weight bytes (log)',
    yLabel: 'tokens/s (log)',
  });
  // Rooflines: tokens/s = bandwidth / bytes, one dashed line per level, clipped to the plot.
  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.l, pad.t, pw, ph);
  ctx.clip();
  const dashes = [[6, 4], [2, 3], [10, 3, 2, 3]];
  r.levels.forEach((l, i) => {
    const bw = l.gbps * 1e9;
    ctx.strokeStyle = p.muted;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(dashes[i % dashes.length]);
    ctx.beginPath();
    ctx.moveTo(X(x0), Y(bw / x0));
    ctx.lineTo(X(x1), Y(bw / x1));
    ctx.stroke();
    ctx.setLineDash([]);
  });
  ctx.restore();
  // Legend of the rooflines, top right: dash sample and the measured bandwidth.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const labels = r.levels.map((l) => `${l.name} roofline: ${fmt(l.gbps, 3)} GB/s`);
  const lw = Math.max(...labels.map((t) => ctx.measureText(t).width)) + 34;
  const bx = pad.l + pw - lw - 6;
  ctx.fillStyle = getComputedStyle(canvas).getPropertyValue('--bg').trim() || '#fff';
  ctx.globalAlpha = 0.85;
  ctx.fillRect(bx - 4, pad.t + 2, lw + 8, 18 * labels.length + 6);
  ctx.globalAlpha = 1;
  labels.forEach((t, i) => {
    const y = pad.t + 14 + 18 * i;
    ctx.strokeStyle = p.muted;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(dashes[i % dashes.length]);
    ctx.beginPath();
    ctx.moveTo(bx, y + 0.5);
    ctx.lineTo(bx + 24, y + 0.5);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = p.fg;
    ctx.fillText(t, bx + 30, y);
  });
  // Points: the spread as a vertical bar, the median as a disc, the name beside it.
  for (const q of pts) {
    const colour = q.shipped ? COLOURS[1] : COLOURS[0];
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(X(q.x), Y(q.lo));
    ctx.lineTo(X(q.x), Y(q.hi));
    ctx.stroke();
    ctx.fillStyle = colour;
    ctx.beginPath();
    if (q.shipped) ctx.rect(X(q.x) - 5, Y(q.y) - 5, 10, 10);
    else ctx.arc(X(q.x), Y(q.y), 5, 0, 2 * Math.PI);
    ctx.fill();
    const tw = ctx.measureText(q.label).width;
    const right = X(q.x) + 9 + tw < w;
    ctx.fillStyle = p.fg;
    ctx.textAlign = right ? 'left' : 'right';
    ctx.textBaseline = q.shipped ? 'top' : 'bottom';
    ctx.fillText(q.label, X(q.x) + (right ? 9 : -9), Y(q.y) + (q.shipped ? 4 : -4));
  }
  canvas.setAttribute('aria-label', describe(r));
}

function shippedLabel(q) {
  if (q.name === 'running') return `running: ${modelName(q.model)}, ${q.recipe || 'f32'}`;
  return `${q.name}${q.val_loss !== null ? ` (val ${fmt(q.val_loss, 4)})` : ''}`;
}

function describe(r) {
  const lv = r.levels.map((l) => `${l.name} ${fmt(l.gbps, 3)} GB/s`).join(', ');
  const pts = r.points.map((q) => `${q.n_layer}×${q.d_model}: ${fmt(q.tokens_per_s)} tokens/s at ${fmtBytes(q.weight_bytes)}`);
  const sh = (r.shipped || []).map((q) => `${shippedLabel(q)}: ${fmt(q.tokens_per_s)} tokens/s at ${fmtBytes(q.weight_bytes)}`);
  return `Tokens/s against weight bytes (log-log); rooflines ${lv}. ${[...pts, ...sh].join('; ')}.`;
}

/** The level assumed to hold a shipped model of `bytes` (its decode is timed, not
 *  probed; scalingPoint instead measures reads at each random model's own size). */
function levelFor(levels, bytes) {
  return levels.find((l) => bytes <= l.holds) || levels[levels.length - 1];
}

function row(body, values, kind) {
  const tr = body.insertRow();
  tr.dataset.kind = kind;
  values.forEach((v, i) => {
    const c = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) c.scope = 'row';
    c.textContent = v;
    tr.appendChild(c);
  });
  return tr;
}

const spread = (q) => `${fmt(q.tokens_per_s)} (${fmt(q.tokens_per_s_min)}–${fmt(q.tokens_per_s_max)})`;

function showTable(r) {
  const body = $('z-table').tBodies[0];
  body.textContent = '';
  for (const q of r.points) {
    row(body, [
      `random ${q.n_layer}×${q.d_model}`,
      q.n_params.toLocaleString('en-US'),
      fmtBytes(q.weight_bytes),
      spread(q),
      fmt(q.flops_per_token / 1e6, 4),
      fmt(q.gflops, 3),
      fmt(q.gbps, 3),
      `${q.bound_by} (${fmt(q.bound_gbps, 3)} GB/s)`,
      `${fmt(100 * q.of_roofline, 3)} %`,
      '— (random)',
    ], 'size');
  }
  for (const q of r.shipped || []) {
    const l = levelFor(r.levels, q.weight_bytes);
    const gbps = (q.tokens_per_s * q.weight_bytes) / 1e9;
    const roof = (l.gbps * 1e9) / q.weight_bytes;
    row(body, [
      shippedLabel(q),
      q.n_params.toLocaleString('en-US'),
      fmtBytes(q.weight_bytes),
      spread(q),
      '—',
      '—',
      fmt(gbps, 3),
      `${l.name} (${fmt(l.gbps, 3)} GB/s)`,
      `${fmt((100 * q.tokens_per_s) / roof, 3)} %`,
      q.val_loss !== null ? fmt(q.val_loss, 4) : '—',
    ], q.name);
  }
}

export function createSizePanel(ctx) {
  const err = (e) => {
    $('z-error').textContent = (e && e.message) || String(e);
  };
  let result = null;
  const show = (r) => {
    result = r;
    if (r.levels.length) {
      $('z-levels').textContent =
        'Bandwidth of this tab (one core, medians): ' +
        r.levels.map((l) => `${l.name} ${fmt(l.gbps, 3)} GB/s (${fmtBytes(l.bytes)} buffer; holds weights up to ${fmtBytes(l.holds)})`).join(', ') + '.';
    }
    $('z-sub').textContent = `· ${r.points.length} size${r.points.length === 1 ? '' : 's'}, ${SWEEP.tokens} tokens × ${SWEEP.runs} runs each`;
    showTable(r);
    if (r.points.length || (r.shipped && r.shipped.length)) drawSizeChart($('z-chart'), r);
  };

  bindTask({
    button: $('z-run'),
    stop: $('z-stop'),
    progress: $('z-progress'),
    busyEl: $('z-table'),
    runner: ctx.runner,
    start: (onProgress) => {
      $('z-error').textContent = '';
      const sizes = parseSizes($('z-sizes').value); // a bad entry fails the task, as text
      const h = { id: null };
      const r = { levels: [], points: [], shipped: [] };
      const total = sizes.length + 2;
      h.promise = (async () => {
        onProgress(0, total);
        let t = ctx.runner.run('scalingBandwidth', { runs: SWEEP.bandwidthRuns });
        h.id = t.id;
        const bw = await t.promise;
        if (bw.stopped || !bw.value) return { value: r, stopped: true };
        r.levels = bw.value;
        onProgress(1, total);
        show(r);
        t = ctx.runner.run('sizeSweep', { sizes, tokens: SWEEP.tokens, runs: SWEEP.runs, levels: r.levels }, (d, _n, partial) => {
          if (partial) r.points = partial;
          onProgress(1 + d, total);
          show(r);
        });
        h.id = t.id;
        const sw = await t.promise;
        if (sw.value) r.points = sw.value;
        show(r);
        if (sw.stopped) return { value: r, stopped: true };
        t = ctx.runner.run('shippedSpeed', { tokens: SWEEP.tokens, rounds: SWEEP.shippedRounds, settings: ctx.settings() });
        h.id = t.id;
        const sh = await t.promise;
        r.shipped = sh.value || [];
        onProgress(total, total);
        return { value: r, stopped: sh.stopped };
      })();
      return h;
    },
    done: ({ value, stopped }) => {
      if (!value) return;
      show(value);
      document.getElementById('z-box').dataset.done = stopped ? 'stopped' : 'done';
    },
    fail: err,
  });

  return {
    /** A new model: the sweep's sizes stand, but the running-model point is stale. */
    onReady() {
      if (result && result.shipped.length) {
        result.shipped = result.shipped.filter((q) => q.name !== 'running');
        show(result);
      }
    },
  };
}
