// Scatter of speed against quality with each point's bytes as its size and label, and
// the Pareto front (the points no other point beats on both axes) joined by a dashed
// line. It only draws; the caller writes the same figures as text.

import { fmt, fmtBytes, fmtSmall } from './metrics.js';
import { drawAxes } from './axes.js';
import { prepare, remember, COLOURS } from './plot.js';

/** Nice ticks (1, 2, 5 × 10^k) covering lo..hi, which need not start at 0. */
function spanTicks(lo, hi, target) {
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** `lo..hi` of `xs` padded, never empty. */
function range(xs, floorAtZero) {
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  const pad = (hi - lo) * 0.12 || Math.abs(hi) * 0.05 || 1e-3;
  lo -= pad;
  hi += pad;
  if (floorAtZero && lo < 0) lo = 0;
  return [lo, hi];
}

/** Indices of the points on the Pareto front: higher y is better; x better as `xBetter`. */
export function front(points, xBetter) {
  const better = (a, b) => (xBetter === 'lower' ? a <= b : a >= b);
  return points
    .map((p, i) => i)
    .filter((i) => !points.some((q, j) => j !== i && q.y >= points[i].y && better(q.x, points[i].x) && (q.y > points[i].y || q.x !== points[i].x)));
}

/**
 * `points: [{x, y, bytes, label}]` (the reference among them); `opts: {xLabel, yLabel,
 * xBetter: 'lower'|'higher', small: bool (KL-sized x ticks)}`.
 */
export function drawPareto(canvas, points, opts) {
  remember(canvas, () => drawPareto(canvas, points, opts));
  const { ctx, w, h, p } = prepare(canvas);
  const pad = { l: 60, r: 24, t: 24, b: 44 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  // KL is never negative, but the padding below 0 keeps the reference's disc off the y axis.
  const [x0, x1] = range(points.map((q) => q.x), false);
  const [y0, y1] = range([...points.map((q) => q.y), 1], true);
  const xs = spanTicks(x0, x1, w < 500 ? 3 : 6).filter((t) => t >= x0 && t <= x1 && (opts.xBetter !== 'lower' || t >= 0));
  const ys = spanTicks(y0, y1, 5).filter((t) => t >= y0 && t <= y1);
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y) => pad.t + ph - ((y - y0) / (y1 - y0)) * ph;
  drawAxes(ctx, p, { l: pad.l, t: pad.t, w: pw, h: ph }, {
    xs,
    ys,
    X,
    Y,
    xGrid: true,
    fmtX: opts.small ? fmtSmall : (v) => fmt(v, 4),
    fmtY: (v) => `${fmt(v)}×`,
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
  });
  // 1×: as fast as the reference.
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = p.muted;
  ctx.beginPath();
  ctx.moveTo(pad.l, Y(1) + 0.5);
  ctx.lineTo(pad.l + pw, Y(1) + 0.5);
  ctx.stroke();
  const onFront = front(points, opts.xBetter).sort((a, b) => points[a].x - points[b].x);
  ctx.strokeStyle = COLOURS[1];
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  onFront.forEach((i, k) => (k ? ctx.lineTo(X(points[i].x), Y(points[i].y)) : ctx.moveTo(X(points[i].x), Y(points[i].y))));
  ctx.stroke();
  ctx.setLineDash([]);
  const maxBytes = Math.max(...points.map((q) => q.bytes));
  // Largest first, so small points stay visible on top.
  const order = points.map((q, i) => i).sort((a, b) => points[b].bytes - points[a].bytes);
  for (const i of order) {
    const q = points[i];
    const r = 4 + 12 * Math.sqrt(q.bytes / maxBytes);
    ctx.globalAlpha = 0.55;
    ctx.fillStyle = q.reference ? p.muted : COLOURS[0];
    ctx.beginPath();
    ctx.arc(X(q.x), Y(q.y), r, 0, 2 * Math.PI);
    ctx.fill();
    ctx.globalAlpha = 1;
    if (onFront.includes(i)) {
      ctx.strokeStyle = COLOURS[1];
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    // The label right of the point, or left when it would leave the chart.
    const text = `${q.label} · ${fmtBytes(q.bytes)}`;
    const tw = ctx.measureText(text).width;
    const right = X(q.x) + r + 4 + tw < w;
    ctx.fillStyle = p.fg;
    ctx.textAlign = right ? 'left' : 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, X(q.x) + (right ? r + 4 : -r - 4), Y(q.y));
  }
}
