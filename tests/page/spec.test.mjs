// Page test of speculative decoding (issue 20): the draft control by the KV-cache switch
// (in the URL, from the wasm module's recipe fields), greedy text identical with and
// without the draft, the run's acceptance readout, and the K sweep's charts and table.
//
//   TINYOPT_URL=http://127.0.0.1:8000/ node --test tests/page/spec.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBrowser, waitReady, waitDone, ARTIFACTS, axeCheck } from './harness.mjs';

let base = '';
let browser = null;
useBrowser({
  onReady: (b, br) => {
    base = b;
    browser = br;
  },
});

async function generated(page) {
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done/);
  return page.textContent('#out-gen');
}

test('the draft gives the same greedy text, reports acceptance, and the K sweep draws', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '?prompt=ROMEO%3A&tokens=120&temp=0&seed=1&kv=1');
  await waitReady(page);
  const alone = await generated(page);
  assert.equal(alone.length, 120);

  // The choices come from the wasm module's fields.
  const choices = await page.$$eval('#draft option', (os) => os.map((o) => o.value));
  assert.deepEqual(choices, ['none', 'student']);
  await page.selectOption('#draft', 'student');
  await page.fill('#draft-tokens', '3');
  await page.dispatchEvent('#draft-tokens', 'change');
  await page.waitForFunction(() => /draft=student/.test(location.search) && /draft-tokens=3/.test(location.search));
  await page.waitForFunction(() => document.body.dataset.recipe !== 'applying');
  const spec = await generated(page);
  assert.equal(spec, alone, 'greedy speculative text is the model alone');
  const acc = Number(await page.getAttribute('#spec-run', 'data-acceptance'));
  assert.ok(acc > 0 && acc <= 1, `acceptance ${acc}`);
  assert.match(await page.textContent('#spec-run'), /K = 3: \d+ of \d+ draft tokens kept/);

  // The K sweep: 9 rows (the model alone, K = 1..8), charts and the explanation.
  await page.click('#spec-sweep');
  await page.waitForFunction(() => document.querySelectorAll('#spec-table tbody tr').length === 9, null, { timeout: 300000 });
  const rows = await page.$$eval('#spec-table tbody tr', (rs) => rs.map((r) => Number(r.dataset.speedup)));
  assert.equal(rows[0], 1);
  for (const s of rows) assert.ok(Number.isFinite(s) && s > 0, `speedup ${s}`);
  assert.match(await page.textContent('#spec-why'), /decode step/);
  await page.locator('#spec-section').screenshot({ path: path.join(ARTIFACTS, 'spec-sweep.png') });
  await axeCheck(page, 'speculative decoding');
  assert.deepEqual(errors, []);
  if (process.env.TINYOPT_SPEC_PRINT) {
    const table = await page.$$eval('#spec-table tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent).join(' | ')));
    console.log(table.join('\n'));
    console.log(await page.textContent('#spec-why'));
  }
  await page.close();
});
