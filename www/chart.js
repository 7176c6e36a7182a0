// Canvas chart of per-token latency (ms) against position, one line per cache mode,
// plus a text description of the same lines for screen readers.

import { drawAxes } from './axes.js';
import { fmt, median, quantile } from './metrics.js';

/** "Nice" tick values (1, 2, 5 × 10^k) covering 0..max. */
export function ticks(max, target) {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < max) out.push(Number((out[out.length - 1] + step).toPrecision(12)));
  return out;
}

/** Colours from CSS custom properties on the canvas, so the chart follows the theme. */
function palette(canvas) {
  const cs = getComputedStyle(canvas);
  const v = (name, def) => cs.getPropertyValue(name).trim() || def;
  return {
    fg: v('--chart-fg', '#222'),
    grid: v('--chart-grid', '#ddd'),
    on: v('--chart-on', '#1f6feb'),
    off: v('--chart-off', '#c2410c'),
    font: cs.fontFamily || 'sans-serif',
  };
}

/**
 * Draws `series`: `[{label, mode: 'on'|'off', points: [{pos, ms}]}]`.
 * The y axis is scaled to the decode steps; a first step far above them (a long
 * prompt's prefill) is drawn clipped at the top edge with an arrow.
 */
export function drawChart(canvas, series, xMaxHint = 0) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 280;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const p = palette(canvas);
  const pad = { l: 56, r: 14, t: 34, b: 42 };
  const w = cssW - pad.l - pad.r;
  const h = cssH - pad.t - pad.b;

  const live = series.filter((s) => s.points.length > 0);
  const smooth = new Map(live.map((s) => [s, rollingMedian(s.points, 9)]));
  // The y axis fits the trend (rolling medians, and most single steps), not the rare
  // spike from the OS or the browser pausing the worker: spikes are cut off at the top.
  let xMax = xMaxHint;
  let yMax = 0;
  for (const s of live) {
    for (const q of s.points) xMax = Math.max(xMax, q.pos);
    const body = s.points.length > 1 ? s.points.slice(1) : s.points;
    const sorted = body.map((q) => q.ms).sort((a, b) => a - b);
    yMax = Math.max(yMax, quantile(sorted, 0.95), ...smooth.get(s).map((q) => q.ms));
  }
  xMax = Math.max(xMax, 8);
  // The x axis ends at the context size (or the last position): ticks stay inside it.
  const xs = ticks(xMax, cssW < 500 ? 4 : 8).filter((v) => v <= xMax);
  const ys = ticks(yMax > 0 ? yMax * 1.05 : 1, 5);
  const X = (pos) => pad.l + (pos / xMax) * w;
  const Y = (ms) => pad.t + h - (Math.min(ms, ys[ys.length - 1]) / ys[ys.length - 1]) * h;

  ctx.font = `12px ${p.font}`;
  drawAxes(ctx, p, { l: pad.l, t: pad.t, w, h }, {
    xs,
    ys,
    X,
    Y,
    fmtX: String,
    fmtY: fmt,
    xGrid: true,
    xLabel: 'position in the sequence (tokens)',
    yLabel: 'latency per token (ms)',
  });

  // Lines: every step thin and faint, a rolling median bold on top (a busy machine
  // adds spikes; the median shows the trend the cache changes).
  const path = (pts) => {
    ctx.beginPath();
    pts.forEach((q, i) => (i ? ctx.lineTo(X(q.pos), Y(q.ms)) : ctx.moveTo(X(q.pos), Y(q.ms))));
    ctx.stroke();
  };
  for (const s of live) {
    ctx.strokeStyle = p[s.mode];
    ctx.fillStyle = p[s.mode];
    ctx.setLineDash(s.mode === 'off' ? [6, 3] : []);
    ctx.globalAlpha = 0.35;
    ctx.lineWidth = 1;
    path(s.points);
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2.5;
    path(smooth.get(s));
    ctx.setLineDash([]);
    if (s.points.length === 1) {
      ctx.beginPath();
      ctx.arc(X(s.points[0].pos), Y(s.points[0].ms), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    // A small tick on the top edge marks each clipped spike.
    for (const q of s.points) {
      if (q.ms > ys[ys.length - 1]) {
        const x = X(q.pos);
        ctx.beginPath();
        ctx.moveTo(x - 4, pad.t + 6);
        ctx.lineTo(x + 4, pad.t + 6);
        ctx.lineTo(x, pad.t);
        ctx.closePath();
        ctx.fill();
      }
    }
  }

  // Legend, above the plot.
  ctx.lineWidth = 2;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let lx = pad.l;
  for (const mode of ['on', 'off']) {
    const s = series.find((t) => t.mode === mode);
    const label = s ? s.label : mode === 'on' ? 'KV cache on' : 'KV cache off';
    const extra = s && s.points.length ? '' : ' (no run yet)';
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = p[mode];
    ctx.setLineDash(mode === 'off' ? [6, 3] : []);
    ctx.beginPath();
    ctx.moveTo(lx, 14);
    ctx.lineTo(lx + 26, 14);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = p.fg;
    const text = label + extra;
    ctx.fillText(text, lx + 32, 14);
    lx += 32 + ctx.measureText(text).width + 24;
  }
}

/** Each point's ms replaced by the median of the `k` points centred on it. */
export function rollingMedian(points, k) {
  const half = Math.floor(k / 2);
  return points.map((q, i) => {
    const win = points.slice(Math.max(0, i - half), i + half + 1).map((t) => t.ms);
    return { pos: q.pos, ms: median(win) };
  });
}

/** Median of the first and last tenth of a series' decode steps: the line's shape in words. */
function ends(points) {
  const body = points.length > 1 ? points.slice(1) : points;
  const k = Math.max(1, Math.floor(body.length / 10));
  const mid = (a) => median(a.map((q) => q.ms));
  return { head: mid(body.slice(0, k)), tail: mid(body.slice(-k)), from: body[0].pos, to: body[body.length - 1].pos };
}

/** A sentence per line of the chart, for its aria-label. */
export function describeChart(series) {
  const parts = ['Chart of latency per token in milliseconds against position.'];
  for (const mode of ['on', 'off']) {
    const s = series.find((t) => t.mode === mode);
    if (!s || s.points.length === 0) {
      parts.push(`KV cache ${mode}: no run yet.`);
      continue;
    }
    const e = ends(s.points);
    const med = median((s.points.length > 1 ? s.points.slice(1) : s.points).map((q) => q.ms));
    parts.push(
      `${s.label}: ${s.points.length} tokens at positions ${s.points[0].pos} to ${e.to}, ` +
        `median ${fmt(med)} ms; about ${fmt(e.head)} ms near position ${e.from} ` +
        `and ${fmt(e.tail)} ms near position ${e.to}.`,
    );
  }
  return parts.join(' ');
}
