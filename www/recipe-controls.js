// The recipe's controls (spread over the Quantize, Prune and Kernels panels), built from
// the fields the wasm module exports: each control names its flat key in `data-recipe-key`
// (the URL's and the CLI's spelling), and `data-scale` shows a ratio in per cent.
// Also the shared figures every panel shows about the running model.

import { fmt, fmtBytes } from './metrics.js';
import { recipeFields, recipeWith } from './recipe.js';

const $ = (id) => document.getElementById(id);
const controls = () => [...document.querySelectorAll('[data-recipe-key]')];

/** Friendlier words for some values; the value itself is the option's value, and any
 *  value missing here is shown as spelled (so a new choice needs no page change). */
const LABELS = {
  precision: {
    f32: 'f32 (32-bit float, the reference)',
    f16: 'f16 (half float)',
    int8: 'int8 weights (W8A32)',
    'int8-dynamic': 'int8 weights + activations (W8A8)',
    int4: 'int4 weights, int8 activations (W4A8)',
  },
  'ends-precision': { '': 'the same precision as the body' },
  'quant-method': { rtn: 'nearest (RTN)', gptq: 'GPTQ (calibrated)' },
  'gptq-order': { columns: 'left to right', 'act-order': 'act-order' },
  'embed-precision': { '': 'as the ends' },
  'head-precision': { '': 'as the ends' },
  'qkv-precision': { '': 'as the body' },
  'attn-out-precision': { '': 'as the body' },
  'mlp-up-precision': { '': 'as the body' },
  'mlp-down-precision': { '': 'as the body' },
  clip: { 'max-abs': 'max |w|' },
  'prune-kind': { none: 'none (nothing pruned)' },
  'prune-scope': { 'per-matrix': 'per matrix' },
  'sparse-format': { csr: 'CSR', sell: 'SELL' },
  kernel: {
    simd: 'simd (wasm SIMD128)',
    naive: 'naive (triple loop)',
    blocked: 'blocked (cache tiles)',
    library: 'library (matrixmultiply)',
    relaxed: 'relaxed (relaxed SIMD: faster; f32 bits depend on the CPU)',
  },
};

let fields = new Map(); // key -> field, from the wasm module

/** Fills the controls' options and ranges from `recipeFields()` (once, after loading). */
export function buildRecipeControls() {
  fields = new Map(recipeFields().map((f) => [f.key, f]));
  for (const el of controls()) {
    const f = fields.get(el.dataset.recipeKey);
    if (!f) throw new Error(`the page has a control for an unknown recipe key ${el.dataset.recipeKey}`);
    const k = f.kind;
    if (k.type === 'choice' && el.tagName === 'SELECT') {
      el.textContent = '';
      // An unset default (e.g. ends-precision: follow the body) is an option too.
      const values = k.choices.includes(f.default) ? k.choices : [f.default, ...k.choices];
      for (const v of values) el.add(new Option((LABELS[f.key] || {})[v] || v, v));
    } else if (k.type === 'number') {
      // Percent sliders scale the ratio; rounding drops the float noise of the product.
      const bound = (x) => String(Number((x * Number(el.dataset.scale || 1)).toPrecision(12)));
      el.min = bound(k.min);
      el.max = bound(k.max);
    }
    el.title = f.help;
  }
}

/** The flat `{key, value}` a control holds now (the wasm spelling), or null. */
export function readControl(el) {
  const key = el && el.dataset && el.dataset.recipeKey;
  if (!key) return null;
  if (el.type === 'checkbox') return { key, value: el.checked ? '1' : '0' };
  const scale = Number(el.dataset.scale || 1);
  // Scaled controls hold whole per cents; the division gives the decimal a user means.
  const value = scale === 1 ? el.value : String(Number(el.value) / scale);
  return { key, value };
}

/** Whether changing `key` could do anything: change the recipe, or be refused with a
 *  reason worth reading. Only a control whose every value is normalised away is
 *  disabled. Asked of the wasm module, so the page keeps no copy of the rules. */
function applies(view, f) {
  const k = f.kind;
  const tries =
    k.type === 'choice' ? [f.default, ...k.choices] : k.type === 'flag' ? ['1', '0'] : [String(k.min), String(k.max)];
  return tries.some((v) => {
    try {
      return recipeWith(view.recipe, f.key, v).recipe_id !== view.recipe_id;
    } catch {
      return true; // refused: the error says why, so the control stays usable
    }
  });
}

/** Puts a recipe view into the controls, and disables those that do nothing for it. */
export function writeRecipe(view) {
  for (const el of controls()) {
    const f = fields.get(el.dataset.recipeKey);
    const v = view.values[f.key];
    if (el.type === 'checkbox') el.checked = v === '1';
    else if (el.dataset.scale) el.value = String(Math.round(Number(v ?? f.default) * Number(el.dataset.scale)));
    else el.value = v ?? f.default;
    el.disabled = !applies(view, f);
  }
  $('p-ratio-val').textContent = `${Math.round(Number(view.values.prune) * 100)} %`;
}

/** A short name of a recipe report, e.g. "int8 · unstructured 50 % · csr · simd kernel". */
export function describeRecipe(report) {
  const r = report.recipe;
  const parts = [r.quant.precision];
  if (r.prune.kind !== 'none') {
    parts.push(`${r.prune.kind} ${Math.round(r.prune.ratio * 100)} %`);
    if (r.prune.kind === 'unstructured') parts.push(r.prune.format);
  }
  parts.push(`${r.kernel} kernel`);
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
