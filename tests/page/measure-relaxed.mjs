// Measures exact against relaxed kernels the way a student gets them: the Kernels tab's
// "Compare exact and relaxed" (9 alternating rounds of a 255-token greedy decode per
// precision and kernel, then every logit of the evaluation set compared bit for bit).
//
//   node tests/page/measure-relaxed.mjs [runs=3]
//
// Uses TINYOPT_URL (default http://127.0.0.1:8000/) and /usr/bin/chromium (or CHROMIUM).
// Prints one JSON line per precision per run, then per precision the median over the
// runs of each run's medians: tokens/s of simd and relaxed, relaxed ÷ simd, and
// W8A8 (and int4) ÷ f32 simd. A fresh page per run.

import { compareExactAndRelaxed } from './harness.mjs';
import { artifact, launch, median } from './measure-util.mjs';

const runs = Number(process.argv[2] || 3);
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const { browser, close } = await launch();
const all = [];
for (let run = 0; run < runs; run++) {
  const page = await browser.newPage();
  await page.goto(`${base}?panel=kernels`);
  await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 60000 });
  const build = await page.getAttribute('#kr-build', 'data-build');
  if (build !== 'relaxed') throw new Error(`this browser runs the ${build} build: no relaxed kernel to measure`);
  const rows = await compareExactAndRelaxed(page);
  const note = await page.textContent('#env-note');
  for (const r of rows) {
    const line = {
      run,
      precision: r.precision,
      simd_tps: r.simd,
      relaxed_tps: r.relaxed,
      relaxed_over_simd: r.gained,
      relaxed_over_f32_simd: r.vsF32,
      simd_over_f32_simd: r.simdVsF32,
      logits_identical: `${r.bits.identical}/${r.bits.logits}`,
      max_abs_diff: r.bits.max_abs_diff,
      kld: r.bits.kld,
      greedy_same: `${r.bits.greedy_same}/${r.bits.greedy_tokens}`,
    };
    all.push(line);
    console.log(JSON.stringify(line));
  }
  if (run === 0) console.log(JSON.stringify({ environment: note }));
  if (run === runs - 1) {
    await page.locator('#kr-table').screenshot({ path: artifact('measure-relaxed.png') });
  }
  await page.close();
}
for (const p of ['f32', 'int8-dynamic', 'int4']) {
  const mine = all.filter((l) => l.precision === p);
  const pick = (k) => mine.map((l) => l[k].median);
  const fmt = (xs) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`;
  console.log(JSON.stringify({
    precision: p,
    runs: mine.length,
    simd_tps: fmt(pick('simd_tps')),
    relaxed_tps: fmt(pick('relaxed_tps')),
    relaxed_over_simd: fmt(pick('relaxed_over_simd')),
    simd_over_f32_simd: fmt(pick('simd_over_f32_simd')),
    relaxed_over_f32_simd: fmt(pick('relaxed_over_f32_simd')),
    bits: mine.map((l) => `${l.logits_identical} identical, max |Δ| ${l.max_abs_diff}`)[0],
  }));
}
await close();
