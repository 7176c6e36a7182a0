// Decode speed per engine on the same served build, what a student sees: the page's
// tokens/s (`#m-tps`) at f32 and W8A8 (`precision=int8-dynamic`), their ratio, and the
// share of the engine's own step rate the page keeps (`#m-share`: page tokens/s over
// 1000 / median step ms; see README "What the loop around the model costs").
//
//   TINYOPT_URL=http://127.0.0.1:8873/ node tests/page/measure-engines.mjs [rounds=5] [tokens=255] [engines=firefox,webkit,chromium]
//
// All engines stay open; round by round each engine in turn runs one generation per
// precision (set through the Quantize tab's control), so they share the machine's
// state. Each engine and precision first makes one untimed run (compiling the hot
// loops). Prints one JSON line per run, then per engine the medians with their min–max,
// and a Markdown table. `busy` is Σ step ms over the decode's wall time (as in
// measure-overhead.mjs): a share well below `busy` means slow outlier steps.
// TINYOPT_URL may list several comma-separated URLs (e.g. two builds): each engine then
// opens each in its own browser, and they take turns the same way.

import { launch } from './webdriver.mjs';
import { median } from './measure-util.mjs';

const rounds = Number(process.argv[2] || 5);
const tokens = Number(process.argv[3] || 255);
const engines = (process.argv[4] || 'firefox,webkit,chromium').split(',');
const precisions = ['f32', 'int8-dynamic'];
const bases = (process.env.TINYOPT_URL || 'http://127.0.0.1:8000/').split(',').map((u) => (u.endsWith('/') ? u : u + '/'));

async function setPrecision(b, p) {
  await b.run(`const el = document.getElementById('q-precision'); if (el.value !== arguments[0]) {
      el.value = arguments[0]; el.dispatchEvent(new Event('change', { bubbles: true })); }`, p);
  await b.waitFor(`const r = window.__tinyopt.state.recipe; return document.body.dataset.recipe === 'done' && r && r.report.recipe.quant.precision === arguments[0]`,
    { timeout: 120000, every: 100 }, p);
}

/** One generation through the page's button; its figures. Polls every 100 ms, so the
 *  waiting adds little work to the page measured. */
async function run(b) {
  await b.run(`document.getElementById('generate').click()`);
  await b.waitFor(`return document.body.dataset.phase === 'ready' && /^Done/.test(document.getElementById('status').textContent)`,
    { timeout: 300000, every: 100 });
  return b.runAsync(`await new Promise((r) => requestAnimationFrame(() => r()));
    const v = (id) => Number(document.getElementById(id).dataset.value);
    const all = window.__tinyopt.state.run.steps;
    const span = all[all.length - 1].wall - all[0].wall;
    const busy = all.slice(1).reduce((a, s) => a + s.ms, 0) / span;
    return { tps: v('m-tps'), median_ms: v('m-median'), share: v('m-share'), tokens: v('m-count'), busy };`);
}

const open = [];
for (const engine of engines) for (const base of bases) {
  const b = await launch(engine, { width: 1280, height: 900 });
  await b.go(`${base}?panel=quantize&prompt=%0A&tokens=${tokens}&temp=0.8&seed=42&kv=1`);
  await b.waitFor(`return document.body.dataset.phase === 'ready' && document.body.dataset.recipe === 'done'`, { timeout: 120000 });
  const note = await b.run(`return document.getElementById('env-note').textContent`);
  for (const p of precisions) {
    await setPrecision(b, p);
    await run(b); // untimed
  }
  open.push({ engine, base, b, version: b.version, note, rows: { f32: [], 'int8-dynamic': [] }, ratio: [] });
}

try {
  for (let r = 0; r < rounds; r++) {
    for (const e of open) {
      const got = {};
      for (const p of precisions) {
        await setPrecision(e.b, p);
        got[p] = await run(e.b);
        e.rows[p].push(got[p]);
        console.log(JSON.stringify({ round: r, engine: e.engine, base: e.base, precision: p, ...got[p] }));
      }
      e.ratio.push(got['int8-dynamic'].tps / got.f32.tps);
    }
  }
} finally {
  for (const e of open) await e.b.close();
}

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const f = (s, d = 0) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
const pct = (s) => `${(100 * s.median).toFixed(0)} % (${(100 * s.min).toFixed(0)}–${(100 * s.max).toFixed(0)})`;
const lines = ['| engine | f32 tokens/s | W8A8 tokens/s | W8A8 ÷ f32 | page keeps of the step rate (f32 · W8A8) |', '|---|---|---|---|---|'];
for (const e of open) {
  const col = (p, k) => spread(e.rows[p].map((x) => x[k]));
  console.log(JSON.stringify({
    engine: e.engine, base: e.base, version: e.version, tokens, rounds,
    f32: { tps: col('f32', 'tps'), share: col('f32', 'share'), busy: col('f32', 'busy') },
    w8a8: { tps: col('int8-dynamic', 'tps'), share: col('int8-dynamic', 'share'), busy: col('int8-dynamic', 'busy') },
    ratio: spread(e.ratio), note: e.note,
  }));
  lines.push(`| ${e.version}${bases.length > 1 ? ` ${e.base}` : ''} | ${f(col('f32', 'tps'))} | ${f(col('int8-dynamic', 'tps'))} | ${f(spread(e.ratio), 2)} | ${pct(col('f32', 'share'))} · ${pct(col('int8-dynamic', 'share'))} |`);
}
console.log(lines.join('\n'));
