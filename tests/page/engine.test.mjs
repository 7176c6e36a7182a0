// Page tests of the two engine builds (issue 13, part 3): which build loads and why,
// `?build=` (including hostile values), the `relaxed` kernel as a recipe choice, and
// the exact-or-relaxed comparison in the Kernels tab.
//
//   node --test tests/page/engine.test.mjs   (serve the page first: see harness.mjs)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBrowser, openPage, waitDone, compareExactAndRelaxed, ARTIFACTS } from './harness.mjs';

const env = useBrowser();
const wasmFetched = (seen) => seen.requests.filter((u) => u.endsWith('tinyopt_bg.wasm')).map((u) => new URL(u).pathname);

test('Chromium gets the relaxed-SIMD build, says so, and starts on the bit-exact kernel', async () => {
  const { page, seen } = await openPage(env, '?panel=kernels');
  const note = await page.textContent('#env-note');
  assert.match(note, /wasm simd128 \+ relaxed-simd \(this browser supports relaxed SIMD\), kernel simd ·/);
  assert.equal(await page.getAttribute('#kr-build', 'data-build'), 'relaxed');
  assert.match(await page.textContent('#kr-build'), /this browser supports relaxed SIMD/);
  assert.equal(await page.isDisabled('#kr-run'), false);
  assert.equal(await page.isDisabled('#k-kernel option[value="relaxed"]'), false);
  // One package for the page and its worker: the relaxed one only.
  const wasm = wasmFetched(seen);
  assert.ok(wasm.length > 0 && wasm.every((p) => p === '/www/pkg-relaxed/tinyopt_bg.wasm'), wasm.join(', '));
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('?build=simd128 loads the fallback, where the relaxed kernel is refused clearly', async () => {
  const { page, seen } = await openPage(env, '?panel=kernels&build=simd128');
  assert.match(await page.textContent('#env-note'), /wasm simd128 \(asked for in the URL \(\?build=simd128\)\), kernel simd ·/);
  assert.equal(await page.getAttribute('#kr-build', 'data-build'), 'simd128');
  assert.match(await page.textContent('#kr-build'), /asked for in the URL.*only the exact kernels run here/);
  assert.equal(await page.isDisabled('#kr-run'), true);
  assert.equal(await page.isDisabled('#k-kernel option[value="relaxed"]'), true);
  const wasm = wasmFetched(seen);
  assert.ok(wasm.length > 0 && wasm.every((p) => p === '/www/pkg/tinyopt_bg.wasm'), wasm.join(', '));
  // The engine's own words, through the worker's recipe path.
  const msg = await page.evaluate(async () => {
    const { recipeWith } = await import(new URL('www/recipe.js', document.baseURI));
    const s = window.__tinyopt.state;
    const r = recipeWith(s.settings.recipe, 'kernel', 'relaxed').recipe;
    try {
      await window.__tinyopt.runner.run('recipe', { settings: { ...s.settings, recipe: r }, force: true }).promise;
      return 'ran';
    } catch (e) {
      return e.message;
    }
  });
  assert.match(msg, /kernel relaxed needs the relaxed-SIMD WebAssembly build, and this engine is wasm simd128/);
  await page.close();
});

test('a hostile ?build= is ignored as text, and the pick stands', async () => {
  const { page, seen } = await openPage(env, '?panel=kernels&build=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E');
  assert.equal(await page.getAttribute('#kr-build', 'data-build'), 'relaxed');
  assert.match(await page.textContent('#kr-build'), /; \?build=<img src=x onerror=a… is not a build \(simd128 or relaxed\)\)/);
  assert.equal(await page.$$eval('#kr-build *', (els) => els.length), 0);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('the relaxed kernel runs the model, and the note and the recipe say so', async () => {
  const { page } = await openPage(env, '?panel=kernels&precision=int8-dynamic&tokens=24');
  await page.selectOption('#k-kernel', 'relaxed');
  assert.match(page.url(), /[?&]kernel=relaxed(&|$)/);
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done: 24 tokens/);
  assert.equal(await page.evaluate(() => window.__tinyopt.state.recipe.report.recipe.kernel), 'relaxed');
  assert.match(await page.textContent('#env-note'), /kernel relaxed \(f32 bits depend on the CPU\)/);
  assert.match(await page.textContent('#rc-cli'), /"kernel":"relaxed"/);
  await page.close();
});

test('exact or relaxed: speed gained and bits lost at three precisions, measured here', async () => {
  const { page } = await openPage(env, '?panel=kernels');
  const rows = await compareExactAndRelaxed(page, 300000);
  assert.deepEqual(rows.map((r) => r.precision), ['f32', 'int8-dynamic', 'int4']);
  for (const r of rows) {
    for (const s of [r.simd, r.relaxed, r.gained, r.vsF32]) assert.ok(s.n === 9 && s.median > 0 && s.min <= s.median && s.median <= s.max, JSON.stringify(s));
    assert.equal(r.bits.logits, 8 * 128 * 65);
    assert.equal(r.bits.greedy_tokens, 255);
  }
  // The integer formats keep every bit; f32 may lose some (fused multiply-add), but
  // stays within f32 rounding of the exact logits.
  for (const r of rows.slice(1)) {
    assert.equal(r.bits.identical, r.bits.logits, r.precision);
    assert.equal(r.bits.max_abs_diff, 0);
    assert.equal(r.bits.greedy_same, 255);
  }
  assert.ok(rows[0].bits.max_abs_diff < 1e-3, `f32 max |Δ| ${rows[0].bits.max_abs_diff}`);
  assert.ok(rows[0].bits.kld < 1e-6, `f32 KL ${rows[0].bits.kld}`);
  await page.locator('#kr-h').scrollIntoViewIfNeeded();
  await page.locator('#kr-table').screenshot({ path: path.join(ARTIFACTS, 'relaxed.png') });
  await page.close();
});
