// Histogram of a weight matrix before (as loaded, f32) and after (the running model,
// dequantized). Both share the bins, so the quantization grid shows as spikes in the
// "after" bars where the "before" ones are smooth.

import { fmt } from './metrics.js';
import { prepare, remember } from './plot.js';

/** Counts of `values` in `bins` equal bins over [lo, hi]. */
export function binCounts(values, lo, hi, bins) {
  const counts = new Uint32Array(bins);
  const scale = bins / (hi - lo || 1);
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * scale)));
    counts[i]++;
  }
  return counts;
}

/** Number of distinct values: the grid's size for a quantized row. */
export function distinct(values) {
  return new Set(values).size;
}

/** Draws both histograms; returns a sentence describing them (for aria-label). */
export function drawHistogram(canvas, before, after, what) {
  remember(canvas, () => drawHistogram(canvas, before, after, what));
  const { ctx, w, h, p } = prepare(canvas);
  // Symmetric range around 0, so the grid's centre (0) is in the middle.
  let m = 0;
  for (const v of before) m = Math.max(m, Math.abs(v));
  for (const v of after) m = Math.max(m, Math.abs(v));
  m = m || 1;
  const bins = Math.max(40, Math.min(200, Math.floor((w - 80) / 3)));
  const a = binCounts(before, -m, m, bins);
  const b = binCounts(after, -m, m, bins);
  const top = Math.max(1, ...a, ...b);
  const pad = { l: 56, r: 12, t: 28, b: 40 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const bw = pw / bins;
  const Y = (c) => pad.t + ph - (c / top) * ph;
  ctx.fillStyle = 'rgba(128,128,128,0.45)';
  a.forEach((c, i) => c && ctx.fillRect(pad.l + i * bw, Y(c), Math.max(1, bw), pad.t + ph - Y(c)));
  ctx.fillStyle = 'rgba(31,111,235,0.75)';
  b.forEach((c, i) => c && ctx.fillRect(pad.l + i * bw + bw * 0.25, Y(c), Math.max(1, bw * 0.5), pad.t + ph - Y(c)));
  ctx.strokeStyle = p.fg;
  ctx.beginPath();
  ctx.moveTo(pad.l + 0.5, pad.t);
  ctx.lineTo(pad.l + 0.5, pad.t + ph + 0.5);
  ctx.lineTo(pad.l + pw, pad.t + ph + 0.5);
  ctx.stroke();
  ctx.fillStyle = p.fg;
  ctx.textBaseline = 'top';
  for (const [x, t] of [[-m, fmt(-m)], [0, '0'], [m, fmt(m)]]) {
    ctx.textAlign = x < 0 ? 'left' : x > 0 ? 'right' : 'center';
    ctx.fillText(t, pad.l + ((x + m) / (2 * m)) * pw, pad.t + ph + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText('weight value', pad.l + pw / 2, pad.t + ph + 22);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.fillText(String(top), pad.l - 6, pad.t);
  ctx.fillText('0', pad.l - 6, pad.t + ph);
  ctx.save();
  ctx.translate(14, pad.t + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('count per bin', 0, 0);
  ctx.restore();
  const nb = distinct(before);
  const na = distinct(after);
  ctx.textAlign = 'left';
  ctx.fillStyle = 'rgba(128,128,128,0.8)';
  ctx.fillRect(pad.l, 8, 14, 10);
  ctx.fillStyle = p.fg;
  const l1 = `as loaded: ${nb.toLocaleString('en-US')} distinct values`;
  ctx.fillText(l1, pad.l + 19, 13);
  const x2 = pad.l + 19 + ctx.measureText(l1).width + 18;
  ctx.fillStyle = 'rgba(31,111,235,0.9)';
  ctx.fillRect(x2, 8, 14, 10);
  ctx.fillStyle = p.fg;
  ctx.fillText(`running: ${na.toLocaleString('en-US')} distinct values`, x2 + 19, 13);
  return (
    `Histogram of ${what}: ${before.length.toLocaleString('en-US')} values between ${fmt(-m)} and ${fmt(m)}; ` +
    `${nb.toLocaleString('en-US')} distinct values as loaded, ${na.toLocaleString('en-US')} in the running model.`
  );
}
