// The words of a lesson step, from its data and the measured fields: the prediction and
// the measurement in the prediction's unit, their comparison, a figure's spread, and the
// order the checkpoint's options are shown in. No DOM here (lesson-view.js draws).

import { formatValue, fieldUnit, inPredictionUnit } from './lesson-runner.js';
import { fmt } from './metrics.js';

/** A figure's spread as text: `median (min–max, n = k)`. */
export function figureText(f) {
  const v = (x) => formatValue(x, f.unit);
  return `${f.label}: ${v(f.median)}${f.n > 1 ? ` (${v(f.min)}–${v(f.max)}, n = ${f.n})` : ''}`;
}

/** The order a checkpoint's options are shown in: rotated by a hash of the step id, so
 *  the right answer is not always where the lesson file lists it (and a reload keeps it). */
export function shownOrder(id, n) {
  let h = 0;
  for (const c of String(id)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Array.from({ length: n }, (_, i) => (i + h) % n);
}

/** A number with its unit: `2×`, `40 %`, `3 ms`. */
export const withUnit = (x, unit) => (unit === '×' ? `${x}×` : `${x} ${unit}`.trim());

/** The prediction as text, in its own unit. */
export function predictionText(step, p) {
  if (step.prediction.kind === 'choice') {
    const o = step.prediction.options.find((x) => x.value === p.value);
    return o ? o.label : String(p.value);
  }
  return withUnit(p.value, step.prediction.unit);
}

/** The measured value of a step in its prediction's unit, as text. */
export function measuredText(step, fields) {
  const pr = step.prediction;
  const v = fields[pr.field];
  if (pr.kind === 'choice') {
    const o = pr.options.find((x) => x.value === String(v));
    return o ? o.label : String(v);
  }
  const m = inPredictionUnit(v, fieldUnit(step.action, pr.field), pr.unit);
  return Number.isFinite(m) ? withUnit(fmt(m, 3), pr.unit) : '—';
}

/** The measured value compared with the prediction (same unit), as text. */
export function comparison(step, p, fields) {
  const pr = step.prediction;
  const shown = measuredText(step, fields);
  if (pr.kind === 'choice') {
    return String(fields[pr.field]) === p.value ? `Measured: ${shown}. Your prediction was right.` : `Measured: ${shown}. You predicted ${predictionText(step, p)}.`;
  }
  const m = inPredictionUnit(fields[pr.field], fieldUnit(step.action, pr.field), pr.unit);
  if (!Number.isFinite(m)) return `Measured: — (not within this measurement). You predicted ${predictionText(step, p)}.`;
  const off = p.number !== 0 ? m / p.number : NaN;
  const how = Number.isFinite(off) ? ` (${fmt(off, 3)}× your prediction)` : '';
  return `Measured: ${shown}; you predicted ${predictionText(step, p)}${how}.`;
}
