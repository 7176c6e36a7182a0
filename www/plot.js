// Small canvas plots for the lab panels: lines (quality and speedup curves), horizontal
// bars (sensitivity, kernel throughput) and one stacked bar (op breakdown). They only
// draw; each caller also writes the same figures as text (aria-label, tables).

import { fmt, fmtSmall } from './metrics.js';
import { drawAxes } from './axes.js';
import { ticks } from './chart.js';

/** A distinct colour per series, readable on light and dark backgrounds. */
export const COLOURS = ['#1f6feb', '#c2410c', '#15803d', '#9333ea', '#b45309', '#0e7490', '#be185d', '#4d7c0f'];

/** The last drawing of each canvas, so charts can be redrawn at a new size. */
const last = new Map();

/** Records how `canvas` was drawn (call at the top of a draw function). */
export function remember(canvas, redraw) {
  last.set(canvas, redraw);
}

/** Drops a canvas's recorded drawing (its figures no longer apply). */
export function forget(canvas) {
  last.delete(canvas);
}

/** Redraws the charts inside `root` that are visible (after a resize or a tab switch). */
export function redraw(root = document) {
  for (const [canvas, fn] of last) {
    if (canvas.clientWidth > 0 && root.contains(canvas)) fn();
  }
}

/** Sizes the canvas for its CSS box and the screen, and returns a cleared context. */
export function prepare(canvas, cssHeight) {
  if (cssHeight) canvas.style.height = `${cssHeight}px`;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const h = canvas.clientHeight || 300;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  canvas.dataset.drawn = '1';
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const cs = getComputedStyle(canvas);
  const v = (name, def) => cs.getPropertyValue(name).trim() || def;
  const p = { fg: v('--chart-fg', '#222'), grid: v('--chart-grid', '#ddd'), muted: v('--muted', '#888') };
  ctx.font = `12px ${cs.fontFamily || 'sans-serif'}`;
  return { ctx, w, h, p };
}

/** Draws a legend row at the top; returns nothing. */
function legend(ctx, p, items, x0, y) {
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let x = x0;
  for (const it of items) {
    if (it.dash) {
      // A dashed series: its line sample, not a swatch.
      ctx.strokeStyle = it.colour;
      ctx.lineWidth = 2;
      ctx.setLineDash(it.dash);
      ctx.beginPath();
      ctx.moveTo(x, y + 0.5);
      ctx.lineTo(x + 14, y + 0.5);
      ctx.stroke();
      ctx.setLineDash([]);
    } else {
      ctx.fillStyle = it.colour;
      ctx.fillRect(x, y - 5, 14, 10);
    }
    ctx.fillStyle = p.fg;
    ctx.fillText(it.label, x + 19, y);
    x += 19 + ctx.measureText(it.label).width + 18;
  }
}

/**
 * Line chart. `series: [{label, colour, dash?, points: [{x, y}]}]`; `opts: {xLabel,
 * yLabel, xMax, yMin, yMax, hline: {y, label}, marks: [{x, y, colour}], legend?}`
 * (`legend: [{label, colour, dash?}]` replaces the one built from the series).
 */
export function drawLines(canvas, series, opts) {
  remember(canvas, () => drawLines(canvas, series, opts));
  const { ctx, w, h, p } = prepare(canvas);
  const pad = { l: 56, r: 14, t: 30, b: 42 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const all = series.flatMap((s) => s.points);
  const xMax = opts.xMax ?? Math.max(1, ...all.map((q) => q.x));
  const xs = ticks(xMax, w < 500 ? 4 : 10).filter((t) => t <= xMax + 1e-9);
  const X = (x) => pad.l + (x / xMax) * pw;
  let ys;
  let Y;
  if (opts.yLog) {
    // Log scale (speedups): ratios read the same above and below 1×.
    const pos = all.map((q) => q.y).filter((y) => y > 0);
    const lo = Math.min(1, ...pos);
    const hi = Math.max(1, ...pos);
    ys = [];
    for (let e = -3; e <= 3; e++) for (const m of [1, 2, 5]) ys.push(Number((m * 10 ** e).toPrecision(3)));
    const below = ys.filter((t) => t <= lo);
    const above = ys.filter((t) => t >= hi);
    const yMin = below.length ? below[below.length - 1] : ys[0];
    const yMax = above.length ? above[0] : ys[ys.length - 1];
    ys = ys.filter((t) => t >= yMin && t <= yMax);
    const L = (y) => Math.log10(Math.min(yMax, Math.max(yMin, y)));
    Y = (y) => pad.t + ph - ((L(y) - L(yMin)) / (L(yMax) - L(yMin))) * ph;
  } else {
    const yMin = opts.yMin ?? 0;
    const yTop = opts.yMax ?? Math.max(yMin + 1e-9, ...all.map((q) => q.y), opts.hline ? opts.hline.y : 0);
    ys = ticks(yTop - yMin, 5).map((t) => t + yMin);
    const yMax = ys[ys.length - 1];
    Y = (y) => pad.t + ph - ((Math.min(y, yMax) - yMin) / (yMax - yMin)) * ph;
  }
  drawAxes(ctx, p, { l: pad.l, t: pad.t, w: pw, h: ph }, {
    xs,
    ys,
    X,
    Y,
    fmtX: fmt,
    fmtY: fmt,
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
  });
  if (opts.hline) {
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = p.muted;
    ctx.beginPath();
    ctx.moveTo(pad.l, Y(opts.hline.y) + 0.5);
    ctx.lineTo(pad.l + pw, Y(opts.hline.y) + 0.5);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = p.muted;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(opts.hline.label, pad.l + 4, Y(opts.hline.y) - 2);
  }
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    s.points.forEach((q, i) => (i ? ctx.lineTo(X(q.x), Y(q.y)) : ctx.moveTo(X(q.x), Y(q.y))));
    ctx.stroke();
    ctx.setLineDash([]);
    for (const q of s.points) {
      ctx.beginPath();
      ctx.arc(X(q.x), Y(q.y), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  for (const m of opts.marks || []) {
    ctx.strokeStyle = m.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(X(m.x), Y(m.y), 6, 0, 2 * Math.PI);
    ctx.stroke();
  }
  legend(ctx, p, opts.legend || series, pad.l, 12);
}

/**
 * Horizontal grouped bars. `groups: [{label, bars: [{value, colour, text}]}]`, one row per
 * bar; `opts: {xLabel, legend: [{label, colour}], barH}`. Sets the canvas height to fit.
 */
export function drawBars(canvas, groups, opts) {
  remember(canvas, () => drawBars(canvas, groups, opts));
  const barH = opts.barH || 14;
  const nBars = groups.reduce((n, g) => n + g.bars.length, 0);
  const height = 40 + 34 + nBars * barH + groups.length * 8;
  const { ctx, w, p } = prepare(canvas, height);
  ctx.font = ctx.font; // keep the page font
  const labelW = Math.min(170, Math.max(...groups.map((g) => ctx.measureText(g.label).width), 40) + 10);
  // Room on the right for the longest value label.
  const textW = Math.max(30, ...groups.flatMap((g) => g.bars.map((b) => ctx.measureText(b.text ?? fmt(b.value)).width)));
  const pad = { l: labelW + 6, r: Math.min(w / 3, textW + 10), t: 30, b: 36 };
  const pw = Math.max(40, w - pad.l - pad.r);
  const max = Math.max(1e-12, ...groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite));
  const xs = ticks(max, w < 500 ? 3 : 6);
  const xMax = xs[xs.length - 1];
  const X = (v) => pad.l + (v / xMax) * pw;
  const plotH = height - pad.t - pad.b;
  ctx.strokeStyle = p.grid;
  ctx.fillStyle = p.fg;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xs) {
    ctx.beginPath();
    ctx.moveTo(X(t) + 0.5, pad.t);
    ctx.lineTo(X(t) + 0.5, pad.t + plotH);
    ctx.stroke();
    ctx.fillText(fmtSmall(t), X(t), pad.t + plotH + 4);
  }
  ctx.fillText(opts.xLabel, pad.l + pw / 2, pad.t + plotH + 20);
  let y = pad.t + 4;
  for (const g of groups) {
    ctx.fillStyle = p.fg;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(g.label, pad.l - 6, y + (g.bars.length * barH) / 2);
    for (const b of g.bars) {
      const v = Number.isFinite(b.value) ? b.value : 0;
      ctx.fillStyle = b.colour;
      ctx.fillRect(pad.l, y + 1, Math.max(1, X(v) - pad.l), barH - 2);
      ctx.fillStyle = p.fg;
      ctx.textAlign = 'left';
      ctx.fillText(b.text ?? fmt(v), X(v) + 4, y + barH / 2);
      y += barH;
    }
    y += 8;
  }
  if (opts.legend) legend(ctx, p, opts.legend, pad.l, 12);
}

/** One stacked horizontal bar: `parts: [{label, value, colour}]`, widths by value. */
export function drawStack(canvas, parts, unit) {
  remember(canvas, () => drawStack(canvas, parts, unit));
  const { ctx, w, p } = prepare(canvas);
  const total = parts.reduce((s, q) => s + q.value, 0);
  if (!(total > 0)) return;
  const pad = 8;
  const pw = w - 2 * pad;
  let x = pad;
  for (const q of parts) {
    const bw = (q.value / total) * pw;
    ctx.fillStyle = q.colour;
    ctx.fillRect(x, 10, bw, 44);
    // Label inside when it fits, else leave it to the legend and the table.
    const text = `${q.label} ${fmt((100 * q.value) / total, 2)}%`;
    if (ctx.measureText(text).width + 6 < bw) {
      ctx.fillStyle = '#fff';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(text, x + bw / 2, 32);
    }
    x += bw;
  }
  ctx.fillStyle = p.fg;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(`0`, pad, 60);
  ctx.textAlign = 'right';
  ctx.fillText(`${fmt(total)} ${unit}`, pad + pw, 60);
  // Legend rows below the bar (wrapping).
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  let lx = pad;
  let ly = 92;
  for (const q of parts) {
    const label = `${q.label} ${fmt(q.value)} ${unit}`;
    const need = 19 + ctx.measureText(label).width + 16;
    if (lx + need > w && lx > pad) {
      lx = pad;
      ly += 18;
    }
    ctx.fillStyle = q.colour;
    ctx.fillRect(lx, ly - 5, 14, 10);
    ctx.fillStyle = p.fg;
    ctx.fillText(label, lx + 19, ly);
    lx += need;
  }
}

/** An empty chart's message, so a blank canvas says what fills it. */
export function placeholder(canvas, text) {
  const { ctx, w, h, p } = prepare(canvas);
  ctx.fillStyle = p.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, w / 2, h / 2);
  delete canvas.dataset.drawn;
}

/** Draws the placeholder of every still-empty chart in `root` (once it is visible). */
export function placeholders(root) {
  for (const c of root.querySelectorAll('canvas[data-empty]')) {
    if (!c.dataset.drawn && !last.has(c) && c.clientWidth > 0) placeholder(c, c.dataset.empty);
  }
}
