// Measures the optimisation lab's figures in Chromium, through the page's own worker
// (release wasm, as a student gets them):
//   - decode tokens/s with the KV cache on for f32, int8 (W8A32), int8-dynamic (W8A8),
//     int4 (group 32), structured 50 % and unstructured 90 % CSR and SELL, alternating
//     the configurations round by round in the same run; medians with min–max and IQR;
//   - the CSR and SELL matvec speedups over dense at 90 % sparsity on 512×512 and the
//     model's shapes (the three kernels alternating on the same matrix);
//   - the kernel table (GFLOP/s of each kernel on 512×512 and the model's shapes);
//   - the op breakdown of the f32 model.
//
//   TINYOPT_URL=http://127.0.0.1:8765/ node tests/page/measure-lab.mjs [rounds=7] [tokens=200]
//
// Writes artifacts/measure-lab.json and prints a summary. With MEASURE_ONLY=sparse, only
// the sparse speedups (into artifacts/measure-lab-sparse.json).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './measure-util.mjs';

const rounds = Math.max(5, Number(process.argv[2] || 7));
const sparseOnly = process.env.MEASURE_ONLY === 'sparse';
const tokens = Number(process.argv[3] || 200);
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { browser, close } = await launch();
const page = await browser.newPage();
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(base);
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 120000 });
await page.waitForFunction(() => document.body.dataset.recipe === 'done', null, { timeout: 120000 });

/** Runs a worker task through the page and returns its value. */
function task(name, args) {
  return page.evaluate(
    ([n, a]) => window.__tinyopt.runner.run(n, a).promise.then((r) => r.value),
    [name, args],
  );
}

const q = (x) => {
  const s = [...x].sort((a, b) => a - b);
  const at = (p) => {
    const i = p * (s.length - 1);
    return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
  };
  return { median: at(0.5), min: s[0], max: s[s.length - 1], iqr: at(0.75) - at(0.25) };
};

/** The configurations compared, as page links spell them; the page's wasm module turns
 *  them into canonical recipes (no hand-written recipe objects to drift). */
const QUERIES = {
  f32: '',
  'int8 (W8A32)': 'precision=int8',
  'int8-dynamic (W8A8)': 'precision=int8-dynamic',
  'int4 g32 (W4A8)': 'precision=int4&group-size=32',
  'structured 50 %': 'prune=0.5&prune-kind=structured',
  'unstructured 90 % CSR': 'prune=0.9&sparse-format=csr',
  'unstructured 90 % SELL': 'prune=0.9&sparse-format=sell',
};
const recipes = await page.evaluate(async (qs) => {
  const { recipeFromQuery } = await import(new URL('www/recipe.js', document.baseURI));
  return Object.fromEntries(
    Object.entries(qs).map(([name, q]) => {
      const v = recipeFromQuery(q);
      if (v.problems.length) throw new Error(`${name}: ${v.problems.join('; ')}`);
      return [name, v.recipe];
    }),
  );
}, QUERIES);

const info = await page.evaluate(() => window.__tinyopt.state.model.info);
const out = {
  when: new Date().toISOString(),
  browser: browser.browser() ? browser.browser().version() : 'chromium',
  userAgent: await page.evaluate(() => navigator.userAgent),
  crossOriginIsolated: await page.evaluate(() => crossOriginIsolated),
  model: { config: info.config, n_params: info.n_params, weight_bytes: info.weight_bytes, source: await page.evaluate(() => window.__tinyopt.state.model.source) },
};

if (!sparseOnly) console.error(`decode: ${Object.keys(recipes).length} configs × ${rounds} rounds × ${tokens} tokens…`);
const times = sparseOnly ? {} : await task('decodeTimes', { recipes, rounds, tokens });
out.decode = { tokens, rounds, kv_cache: true, greedy: true, configs: {} };
const f32 = sparseOnly ? NaN : q(times.f32.map((t) => t.tokens_per_s)).median;
for (const [name, runs] of Object.entries(times)) {
  const tps = runs.map((t) => t.tokens_per_s);
  const s = q(tps);
  out.decode.configs[name] = {
    tokens_per_s: tps,
    median_tokens_per_s: s.median,
    min: s.min,
    max: s.max,
    iqr: s.iqr,
    vs_f32: s.median / f32,
    median_step_ms: q(runs.map((t) => t.median_ms)).median,
    weight_bytes: runs[0].weight_bytes,
  };
}

console.error('sparse vs dense at 90 %…');
const c = info.config;
const f = 4 * c.d_model;
const shapes = [
  { label: '512×512', rows: 512, cols: 512 },
  { label: `qkv ${3 * c.d_model}×${c.d_model}`, rows: 3 * c.d_model, cols: c.d_model },
  { label: `attn_out ${c.d_model}×${c.d_model}`, rows: c.d_model, cols: c.d_model },
  { label: `mlp_up ${f}×${c.d_model}`, rows: f, cols: c.d_model },
  { label: `mlp_down ${c.d_model}×${f}`, rows: c.d_model, cols: f },
];
// Five repeats, interleaved over the shapes, each a median of 21 timed runs.
const sweep = [];
for (let r = 0; r < 5; r++) sweep.push(await task('sparseSweep', { shapes, sparsities: [0.9], runs: 21 }));
const FORMATS = ['dense', 'csr', 'sell'];
out.sparse_90 = shapes.map((s, i) => {
  const pts = sweep.map((rep) => rep[i].points[0]);
  const row = { shape: s.label, sparsity: pts[0].sparsity };
  for (const f of FORMATS) {
    const sp = q(pts.map((p) => p[f].speedup));
    row[f] = {
      ms_median: q(pts.map((p) => p[f].ms)).median,
      iqr_ms_median: q(pts.map((p) => p[f].iqr_ms)).median,
      bytes: pts[0][f].bytes,
      bytes_vs_dense: pts[0][f].bytes / pts[0].dense.bytes,
      speedup_median: sp.median,
      speedup_min: sp.min,
      speedup_max: sp.max,
    };
  }
  return row;
});

if (!sparseOnly) {
  console.error('kernel table…');
  out.kernels = await task('kernelBench', { prefill: 64, runs: 11 });
  console.error('op breakdown…');
  out.profile = await task('profile', { tokens: 128, runs: 5 });
}

const file = path.join(ROOT, 'artifacts', sparseOnly ? 'measure-lab-sparse.json' : 'measure-lab.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');

// Summary.
const r3 = (x) => Number(x.toPrecision(3));
if (!sparseOnly) console.log(`decode tokens/s (KV cache on, ${tokens} tokens, ${rounds} rounds alternating; median [min–max], ×f32):`);
for (const [n, d] of Object.entries(out.decode.configs)) {
  console.log(`  ${n.padEnd(24)} ${r3(d.median_tokens_per_s)} [${r3(d.min)}–${r3(d.max)}] ×${r3(d.vs_f32)}  ${d.weight_bytes} B`);
}
console.log('speedup over dense at 90 % sparsity (median of 5 [min–max]; bytes % of dense f32):');
for (const s of out.sparse_90) {
  const say = (f) => `${f.toUpperCase()} ×${r3(s[f].speedup_median)} [${r3(s[f].speedup_min)}–${r3(s[f].speedup_max)}] ${r3(100 * s[f].bytes_vs_dense)} %`;
  console.log(`  ${s.shape.padEnd(22)} dense ${r3(1000 * s.dense.ms_median)} µs  ${say('csr')}  ${say('sell')}`);
}
if (sparseOnly) {
  console.log(`saved ${path.relative(ROOT, file)}`);
  await close();
  process.exit(0);
}
console.log('kernels, GFLOP/s (naive / blocked / simd / library):');
const byCase = new Map();
for (const k of out.kernels) {
  const key = `${k.shape} ${k.m}×${k.k}×${k.n}`;
  if (!byCase.has(key)) byCase.set(key, []);
  byCase.get(key).push(r3(k.gflops));
}
for (const [k, v] of byCase) console.log(`  ${k.padEnd(26)} ${v.join(' / ')}`);
const p = out.profile;
console.log(`ops (${p.kernel}, ${p.tokens} tokens × ${p.runs} runs): sum ${r3(p.sum_ms_per_token)} ms/token vs total ${r3(p.total_ms_per_token)}; ${r3(p.flops_per_token / 1e6)} MFLOP/token, ${r3(p.gflops)} GFLOP/s`);
for (const o of p.ops) console.log(`  ${o.op.padEnd(16)} ${r3(o.ms_per_token * 1000)} µs/token ${r3(100 * o.share)} %  ${r3(o.gflops)} GFLOP/s`);
console.log(`saved ${path.relative(ROOT, file)}`);
await close();
