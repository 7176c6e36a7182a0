// Measures what a student waits for when they move a control: the time from a precision
// or pruning change (the control's input/change events) to the recipe card showing the
// new model's measured figures, painted. Each change rebuilds the running model from
// the loaded one in the page's own worker (quantize, calibrate, prune, pack) and
// measures its quality on the fixed evaluation set, as the lab does. The worker's own
// split (construct_ms: building the model; quality_ms: KL and top-1) comes from the
// recipe report.
//
//   TINYOPT_URL=http://127.0.0.1:8765/ node tests/page/measure-toggle.mjs [changes=10]
//
// Writes artifacts/measure-toggle.json; prints medians with min–max.

import fs from 'node:fs';
import { launch, median, artifact } from './measure-util.mjs';

const changes = Math.max(5, Number(process.argv[2] || 10));
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const { browser, close } = await launch();
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(base + '?panel=quantize');
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 120000 });
await page.waitForFunction(() => document.body.dataset.recipe !== 'applying', null, { timeout: 120000 });

/** One change through the control; resolves with the page-side latency and the worker's split. */
const change = (sel, value) =>
  page.evaluate(
    async ([sel, value]) => {
      const card = document.getElementById('recipe-card');
      const before = card.dataset.recipeId;
      const el = document.querySelector(sel);
      const t0 = performance.now();
      el.value = String(value);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
      await new Promise((resolve, reject) => {
        const ready = () => card.dataset.recipeId !== before && document.body.dataset.recipe === 'done';
        const mo = new MutationObserver(() => ready() && (mo.disconnect(), resolve()));
        setTimeout(() => (mo.disconnect(), reject(new Error(`${sel}=${value}: no new metrics after 60 s (${document.getElementById('q-error').textContent})`))), 60000);
        mo.observe(card, { attributes: true });
        mo.observe(document.body, { attributes: true });
      });
      // The frame that shows it.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const ms = performance.now() - t0;
      const rep = window.__tinyopt.state.recipe.report;
      return { ms, worker: rep.ms, construct: rep.construct_ms, quality: rep.quality_ms, id: rep.recipe_id };
    },
    [sel, value],
  );

// Precision changes on the dense model, then pruning changes (unstructured, CSR) on f32:
// every step is a recipe the formats can do, and each differs from the one before.
const precisions = ['int8', 'f16', 'int4', 'int8-dynamic', 'f32'];
const prunes = [30, 50, 70, 0];
const out = { precision: [], prune: [] };
for (let i = 0; i < changes; i++) {
  const to = precisions[i % precisions.length];
  out.precision.push({ to, ...(await change('#q-precision', to)) });
}
if ((await page.inputValue('#q-precision')) !== 'f32') await change('#q-precision', 'f32');
for (let i = 0; i < changes; i++) {
  const to = prunes[i % prunes.length];
  out.prune.push({ to, ...(await change('#p-ratio', to)) });
}
await close();

const summary = {};
for (const [k, rows] of Object.entries(out)) {
  const s = (f) => {
    const xs = rows.map(f).filter(Number.isFinite);
    return xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : null;
  };
  summary[k] = { page_ms: s((r) => r.ms), worker_ms: s((r) => r.worker), construct_ms: s((r) => r.construct), quality_ms: s((r) => r.quality) };
}
fs.writeFileSync(artifact('measure-toggle.json'), JSON.stringify({ changes, summary, out }, null, 1));
const f = (x) => (x ? `${x.median.toFixed(1)} [${x.min.toFixed(1)}–${x.max.toFixed(1)}]` : '—');
for (const [k, v] of Object.entries(summary)) {
  console.log(`${k.padEnd(9)} change → metrics painted ${f(v.page_ms)} ms; worker ${f(v.worker_ms)} (construct ${f(v.construct_ms)}, quality ${f(v.quality_ms)})`);
}
