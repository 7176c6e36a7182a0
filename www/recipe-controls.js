// The recipe's controls (spread over the Quantize, Prune and Kernels panels) <-> the
// settings object, and the shared figures every panel shows about the running model.

import { fmt, fmtBytes } from './metrics.js';

const $ = (id) => document.getElementById(id);

/** Puts the recipe settings into their controls, and shows which ones apply. */
export function writeRecipe(s) {
  $('q-precision').value = s.precision;
  $('q-group').value = String(s.group);
  $('q-clip').value = s.clip;
  $('q-act').value = s.act;
  $('q-pct').value = String(s.pct);
  $('q-ends').checked = s.ends;
  $('q-endsp').value = s.endsp;
  $('p-ratio').value = String(Math.round(s.prune * 100));
  $('p-ratio-val').textContent = `${Math.round(s.prune * 100)} %`;
  $('p-kind').value = s.pkind;
  $('p-heads').value = String(Math.round(s.heads * 100));
  $('p-scope').value = s.scope;
  $('p-format').value = s.format;
  $('k-kernel').value = s.kernel;
  // Settings that do nothing for this recipe are disabled, so the form says what applies.
  const actQuant = s.precision === 'int8-dynamic' || s.precision === 'int4';
  $('q-group').disabled = s.precision !== 'int4';
  $('q-act').disabled = !actQuant;
  $('q-pct').disabled = !actQuant || s.act !== 'percentile';
  $('q-clip').disabled = s.precision === 'f32' || s.precision === 'f16';
  $('q-endsp').disabled = !s.ends || s.precision === 'f32';
  $('p-heads').disabled = s.pkind !== 'structured';
  $('p-scope').disabled = s.pkind !== 'unstructured';
  $('p-format').disabled = s.pkind !== 'unstructured';
}

/** The raw values of the recipe controls (validated later by `sanitize`). */
export function readRecipe() {
  return {
    precision: $('q-precision').value,
    group: $('q-group').value,
    clip: $('q-clip').value,
    act: $('q-act').value,
    pct: $('q-pct').value,
    ends: $('q-ends').checked,
    endsp: $('q-endsp').value,
    prune: Number($('p-ratio').value) / 100,
    pkind: $('p-kind').value,
    heads: Number($('p-heads').value) / 100,
    scope: $('p-scope').value,
    format: $('p-format').value,
    kernel: $('k-kernel').value,
  };
}

/** A short name of a recipe report, e.g. "int8 · unstructured 50 % · csr". */
export function describeRecipe(report, s) {
  const parts = [report.precision];
  if (report.prune_kind !== 'none') {
    parts.push(`${report.prune_kind} ${Math.round(report.prune * 100)} %`);
    if (report.prune_kind === 'unstructured') parts.push(s.format);
  }
  parts.push(`${s.kernel} kernel`);
  return parts.join(' · ');
}

/** Sets an `<output>`'s text and keeps the raw number in `data-value` (for tests). */
export function put(id, text, raw) {
  const el = $(id);
  el.textContent = text;
  if (raw === undefined || !Number.isFinite(raw)) delete el.dataset.value;
  else el.dataset.value = String(raw);
}

/** The weight-bytes card: size, and its share of and change from the f32 model. */
export function putBytes(id, bytes, base) {
  put(id, fmtBytes(bytes), bytes);
  $(id).title = `${bytes.toLocaleString('en-US')} bytes`;
  const share = bytes / base;
  const d = $(`${id}-d`);
  const diff = bytes === base ? 'the same size' : `${bytes < base ? '−' : '+'}${fmtBytes(Math.abs(base - bytes))}`;
  d.textContent = `${fmt(100 * share, 3)} % of f32 (${fmtBytes(base)}); ${diff}`;
  d.dataset.value = String(share);
}
