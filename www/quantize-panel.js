// The Quantize panel: the running model's size and quality against f32, a same-run
// speed comparison, a before/after weight histogram, per-matrix sensitivity,
// perplexity of pasted text, and export/load of model files.

import { fmt, fmtSmall, fmtBytes, median } from './metrics.js';
import { bindTask } from './tasks.js';
import { put, putBytes, describeRecipe } from './recipe-controls.js';
import { drawHistogram } from './histogram.js';
import { drawBars, COLOURS, placeholder, forget } from './plot.js';
import { bindPerplexity } from './perplexity-box.js';

const $ = (id) => document.getElementById(id);
const SPEED = { rounds: 3, tokens: 128 };

/** `ctx`: {runner, settings() -> current settings, showError(panel, msg), loadingFile(on)} */
export function createQuantizePanel(ctx) {
  const err = (e) => ctx.showError('q', e.message || String(e));
  let histo = null; // {name, key, info, before, after} of the last fetched matrix

  // --- cards
  function onRecipe(report) {
    $('q-recipe').textContent = `· ${describeRecipe(report)}`;
    putBytes('q-bytes', report.weight_bytes, report.base_weight_bytes);
    put('q-kld', fmtSmall(report.kld, 3), report.kld);
    $('q-kld-d').textContent = report.positions > 0
      ? `+${fmtSmall(report.kld, 3)} vs f32 (0), over ${report.positions.toLocaleString('en-US')} positions`
      : 'this is the f32 model itself';
    const top1 = 100 * report.top1_agreement;
    put('q-top1', fmt(top1, 4), top1);
    $('q-top1-d').textContent = `${fmt(top1 - 100, 3)} points vs f32 (100 %)`;
    // Speed and perplexity belong to the model they were measured with.
    resetSpeed();
    resetPerplexity();
    if (histo) drawMatrix(true);
  }

  /** Before any recipe: the loaded model is the reference, so only its size is shown. */
  function onReady(model) {
    const sel = $('q-matrix');
    const keep = sel.value;
    sel.textContent = '';
    for (const name of model.matrices || []) sel.add(new Option(name, name));
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
    else if (sel.options.length > 1) sel.selectedIndex = 1; // a block matrix, not the embedding
    histo = null;
    putBytes('q-bytes', model.info.weight_bytes, model.info.weight_bytes);
    const q = quantMeta(model.info);
    $('q-recipe').textContent = q ? `· as loaded (${q})` : '· as loaded';
    put('q-kld', '—');
    put('q-top1', '—');
    const why = q ? 'this quantized file is the reference; recipes need an f32 model' : 'apply a recipe to measure';
    $('q-kld-d').textContent = why;
    $('q-top1-d').textContent = why;
    resetSpeed();
    resetPerplexity();
    // Figures of the previous model no longer apply.
    const sens = $('q-sens-chart');
    delete sens.dataset.count;
    forget(sens);
    placeholder(sens, sens.dataset.empty);
    sens.setAttribute('aria-label', 'Sensitivity chart: not measured yet.');
    ranked = null;
    $('q-from-sens').disabled = true;
  }

  function resetSpeed() {
    put('q-tps', '—');
    const d = $('q-tps-d');
    d.textContent = 'press “Measure speed”';
    delete d.dataset.ratio;
    delete d.dataset.f32;
  }

  const resetPerplexity = bindPerplexity('q', ctx, err);

  // --- speed: f32 and the recipe alternate in the same run
  const speedTask = bindTask({
    button: $('q-speed'),
    stop: $('q-speed-stop'),
    progress: $('q-speed-progress'),
    busyEl: $('q-tps'),
    runner: ctx.runner,
    start: (onProgress) => ctx.runner.run('speed', { settings: ctx.settings(), ...SPEED }, onProgress),
    done: ({ value }) => value && showSpeed(value),
    fail: err,
  });

  function showSpeed(v) {
    if (!v.recipe.length) return;
    const tps = (xs) => xs.map((t) => t.tokens_per_s);
    const a = tps(v.f32);
    const b = tps(v.recipe);
    const ma = median(a);
    const mb = median(b);
    put('q-tps', fmt(mb), mb);
    const d = $('q-tps-d');
    const range = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    d.textContent =
      `${fmt(mb / ma, 3)}× f32 (${fmt(ma)} tokens/s); spread this ${range(b)}, f32 ${range(a)}; ` +
      `${b.length} rounds × ${v.recipe[0].tokens} tokens`;
    d.dataset.f32 = String(ma);
    d.dataset.ratio = String(mb / ma);
  }

  // --- histogram of one matrix (whole, or one row)
  async function drawMatrix(refetch) {
    const name = $('q-matrix').value;
    if (!name) return;
    const key = JSON.stringify(ctx.settings());
    try {
      if (refetch || !histo || histo.name !== name || histo.key !== key) {
        const { value } = await ctx.runner.run('matrix', { name, settings: ctx.settings() }).promise;
        if (!value) return; // dropped: the model changed meanwhile
        histo = { name, key, ...value };
      }
      const { rows, cols, format, group } = histo.info;
      const rowEl = $('q-row');
      rowEl.max = String(rows - 1);
      const raw = rowEl.value.trim();
      let before = histo.before;
      let after = histo.after;
      let what = `${name} (${rows}×${cols}, ${format}), all rows`;
      if (raw !== '') {
        const r = Math.min(rows - 1, Math.max(0, Math.round(Number(raw)) || 0));
        before = before.subarray(r * cols, (r + 1) * cols);
        after = after.subarray(r * cols, (r + 1) * cols);
        what = `${name} row ${r} (${cols} values, ${format}${format === 'int4' ? `, groups of ${group}` : ''})`;
      }
      const canvas = $('q-hist');
      canvas.setAttribute('aria-label', drawHistogram(canvas, before, after, what));
      canvas.dataset.format = format;
    } catch (e) {
      err(e);
    }
  }
  $('q-matrix').addEventListener('change', () => drawMatrix(false));
  $('q-row').addEventListener('change', () => drawMatrix(false));

  // --- sensitivity
  bindTask({
    button: $('q-sens'),
    stop: $('q-sens-stop'),
    progress: $('q-sens-progress'),
    busyEl: $('q-sens-chart'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('sensitivity', { settings: ctx.settings() }, p),
    // Bars appear matrix by matrix; the count and the summary only once it has finished.
    done: ({ value, partial }) => {
      if (!value || !value.length) return;
      const s = ctx.settings();
      const canvas = $('q-sens-chart');
      drawBars(
        canvas,
        value.map((r) => ({
          label: r.matrix,
          bars: [{ value: r.kld, colour: COLOURS[0], text: `${fmtSmall(r.kld, 3)} (top-1 ${fmt(100 * r.top1_agreement, 4)} %)` }],
        })),
        { xLabel: `KL divergence vs f32 (nats/token), ${s.recipe.quant.precision}`, barH: 16 },
      );
      if (partial) return;
      const worst = [...value].sort((x, y) => y.kld - x.kld).slice(0, 3);
      canvas.setAttribute(
        'aria-label',
        `Sensitivity to ${s.recipe.quant.precision} per matrix, ${value.length} matrices. Most sensitive: ` +
          worst.map((r) => `${r.matrix} ${fmtSmall(r.kld, 3)} nats/token`).join(', ') + '.',
      );
      canvas.dataset.count = String(value.length);
      ranked = rankGroups(value);
      const top = ranked[0];
      $('q-from-sens').disabled = false;
      $('q-from-sens-help').textContent =
        `Groups by summed KL: ${ranked.map((g) => `${g.group} ${fmtSmall(g.kld, 3)}`).join(', ')}. ` +
        `The button sets ${top.group} to int8 and every other group to int4 (keeping the rounding method).`;
    },
    fail: err,
  });

  // --- start mixed precision from the ranking: the most sensitive group int8, the rest int4
  let ranked = null; // [{group, kld}] most sensitive first, from the last measurement
  $('q-from-sens').addEventListener('click', () => {
    if (!ranked) return;
    const form = $('q-form');
    const set = (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    };
    set($('q-precision'), 'int4');
    ranked.forEach((g, i) => {
      const el = form.querySelector(`[data-recipe-key="${g.group}-precision"]`);
      if (el) set(el, i === 0 ? 'int8' : 'int4');
    });
  });

  // --- export / load
  bindTask({
    button: $('q-export'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('exportModel', { settings: ctx.settings() }, p),
    done: ({ value }) => {
      if (!value) return;
      const s = ctx.settings();
      const url = URL.createObjectURL(new Blob([value], { type: 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      const p = s.recipe.prune;
      a.download = `tinyopt-${s.recipe.quant.precision}${p.kind !== 'none' ? `-${p.kind}${Math.round(p.ratio * 100)}` : ''}.safetensors`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      $('q-io-status').textContent = `Exported ${a.download} (${fmtBytes(value.byteLength)}).`;
    },
    fail: err,
  });
  $('q-load').addEventListener('change', async (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    $('q-io-status').textContent = `Loading ${file.name}…`;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      ctx.loadingFile(true);
      await ctx.runner.run('load', { bytes, name: file.name }, null, [bytes.buffer]).promise;
      $('q-io-status').textContent = `Loaded ${file.name} (${fmtBytes(file.size)}); it is now the reference model.`;
    } catch (x) {
      ctx.loadingFile(false);
      $('q-io-status').textContent = '';
      err(x);
    }
    e.target.value = '';
  });

  return { onRecipe, onReady, speed: speedTask, drawMatrix, visible: () => { if (!histo) drawMatrix(false); } };
}

/** "int8" etc. from a loaded file's `quant` metadata, or ''. */
export function quantMeta(info) {
  const raw = info.meta && info.meta.quant;
  if (!raw) return '';
  try {
    const q = JSON.parse(raw);
    return q.precision === 'int4' ? `int4, groups of ${q.group_size}` : String(q.precision);
  } catch {
    return '';
  }
}

/** Matrix groups by their summed sensitivity (KL of each matrix alone), largest first;
 *  `rows` carry `group` from wasm (`quant::group_of`). */
export function rankGroups(rows) {
  const by = new Map();
  for (const r of rows) by.set(r.group, (by.get(r.group) || 0) + r.kld);
  return [...by].map(([group, kld]) => ({ group, kld })).sort((a, b) => b.kld - a.kld || (a.group < b.group ? -1 : 1));
}
