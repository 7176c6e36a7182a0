// Runs a lesson step's measurement: looks its action up by name (lesson-actions.js),
// passes the step's arguments, and hands back the measured fields and figures. Also the
// two small pieces of text work every step needs: filling an explanation template from
// the measured fields, and clamping a number prediction to its range (and saying so).

import { ACTIONS } from './lesson-actions.js';
import { fmt, fmtSmall, fmtBytes } from './metrics.js';

/**
 * Measures `step` on the page's `lab`. `onProgress(done, total)` reports progress;
 * returns `{promise, stop()}`; the promise gives `{fields, figures}` or rejects with a
 * clear error (also when stopped).
 */
export function runStep(lab, step, onProgress = () => {}) {
  const action = ACTIONS[step.action];
  const ids = [];
  const ctl = {
    stopped: false,
    progress: (done, total) => total && onProgress(done, total),
    track: (id) => ids.push(id),
  };
  const promise = action
    ? action.run(lab, step.args || {}, ctl).then((r) => {
        if (ctl.stopped) throw new Error('stopped before it finished');
        return r;
      })
    : Promise.reject(new Error(`this step names an action the lab does not have: ${String(step.action)}`));
  return {
    promise,
    stop() {
      ctl.stopped = true;
      for (const id of ids) lab.runner.cancel(id);
      lab.stopGenerate();
    },
  };
}

/** The `{name}` placeholders of a template, in order. */
export function templateFields(text) {
  return [...String(text).matchAll(/\{([a-z_0-9]+)\}/g)].map((m) => m[1]);
}

/** A measured value as text, by its unit (the action's field table). */
export function formatValue(value, unit) {
  if (unit === 'text') return String(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'bytes':
      return fmtBytes(value);
    case 'fraction':
      return `${fmt(100 * value, 3)} %`;
    case '×':
      return `${fmt(value, 3)}×`;
    case 'nats':
      return `${fmtSmall(value, 3)} nats/token`;
    case 'count':
      return Math.round(value).toLocaleString('en-US');
    default:
      return `${fmt(value, 3)} ${unit}`;
  }
}

/** `text` with each `{field}` replaced by the measured value (units from `action`). */
export function fillTemplate(text, fields, actionName) {
  const units = (ACTIONS[actionName] || { fields: {} }).fields;
  return String(text).replace(/\{([a-z_0-9]+)\}/g, (_, k) => formatValue(fields[k], units[k] || ''));
}

/** A number prediction as typed → `{value, number, clamped, note}` within `p`'s range. */
export function clampPrediction(p, raw) {
  const text = String(raw ?? '').trim();
  let x = Number(text);
  if (text === '' || !Number.isFinite(x)) {
    return { value: text, number: null, clamped: false, note: 'Enter a number first.' };
  }
  const lo = Math.min(p.min, p.max);
  const hi = Math.max(p.min, p.max);
  const clamped = x < lo || x > hi;
  x = Math.min(hi, Math.max(lo, x));
  const note = clamped ? `${text} is outside ${p.min}–${p.max} ${p.unit}: your prediction is kept as ${x}.` : '';
  return { value: String(x), number: x, clamped, note };
}

/** Field units a prediction may be typed in, with the factor from the field's unit. */
const CONVERT = { 'fraction>%': 100, 'bytes>KiB': 1 / 1024, 'bytes>MiB': 1 / 1048576, 'bytes>B': 1 };

/** A measured value in the prediction's unit (e.g. a fraction as %), or null when the
 *  two units do not compare. */
export function inPredictionUnit(value, fieldUnit, predUnit) {
  if (fieldUnit === predUnit) return value;
  if (fieldUnit === 'count' && predUnit === '') return value;
  const k = CONVERT[`${fieldUnit}>${predUnit}`];
  return k === undefined ? null : value * k;
}

/** The unit of field `name` of action `actionName` (lesson-actions.js), or ''. */
export function fieldUnit(actionName, name) {
  const a = ACTIONS[actionName];
  return (a && a.fields[name]) || '';
}
