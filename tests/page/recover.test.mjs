// Page test of data-free recovery in the Prune tab (issue 22): a short run in the
// worker, the page responsive meanwhile, Stop honoured, the table and curve filled from
// the run, and the recovered model usable as the running one. Screenshot to artifacts/.
//
//   TINYOPT_URL=http://127.0.0.1:PORT/ node --test tests/page/recover.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { useBrowser, waitReady, ARTIFACTS } from './harness.mjs';

let base = '';
let browser = null;
useBrowser({
  onReady: (b, br) => {
    base = b;
    browser = br;
  },
});

const value = (page, id) => page.$eval(`#${id}`, (e) => Number(e.dataset.value));

test('Recover distills the pruned teacher back in the worker, and the result becomes the running model', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await waitReady(page);
  await page.click('#tab-prune');
  await page.waitForFunction(() => !document.getElementById('r-run').disabled, null, { timeout: 30000 });
  // Options come from wasm's defaults.
  assert.equal(await page.$eval('#r-kind', (e) => e.value), 'unstructured');
  assert.deepEqual(await page.$$eval('#r-kind option', (os) => os.map((o) => o.value)), ['unstructured', 'structured']);

  // Bad input is a clear error, not a run.
  await page.fill('#r-steps', '0');
  await page.click('#r-run');
  await page.waitForFunction(() => /steps must be/.test(document.getElementById('p-error').textContent));

  await page.fill('#r-steps', '4');
  await page.fill('#r-samples', '4');
  await page.fill('#r-seconds', '0');
  await page.click('#r-run');
  // While it trains the page answers: a tab switch lands within a frame or two.
  await page.waitForFunction(() => Number(document.getElementById('r-chart').dataset.points || 0) >= 1, null, { timeout: 60000 });
  const t0 = Date.now();
  await page.click('#tab-quantize');
  await page.waitForFunction(() => document.getElementById('tab-quantize').getAttribute('aria-selected') === 'true');
  const switchMs = Date.now() - t0;
  await page.click('#tab-prune');
  await page.waitForFunction(() => !document.getElementById('r-use').disabled, null, { timeout: 60000 });

  const before = await value(page, 'r-before-top1');
  const after = await value(page, 'r-after-top1');
  const unpruned = await value(page, 'r-unpruned-top1');
  assert.equal(unpruned, 100, 'the teacher agrees with itself');
  assert.ok(before > 5 && before < 60, `70 % unstructured loses most agreement (${before})`);
  assert.ok(after > before + 5, `four steps already win agreement back: ${before} → ${after}`);
  assert.ok((await value(page, 'r-after-kld')) < (await value(page, 'r-before-kld')));
  assert.equal(await page.$eval('#r-chart', (e) => e.dataset.points), '4');
  assert.match(await page.textContent('#r-status'), /Done: 4 steps; 70(\.0)? % of block weights pruned/);
  assert.ok(switchMs < 1500, `the page stayed responsive (tab switch ${switchMs} ms)`);
  await page.$eval('#r-box', (e) => e.scrollIntoView());
  await page.screenshot({ path: path.join(ARTIFACTS, 'recover.png'), fullPage: false });

  // Stop: a long run ends early, at a step boundary.
  await page.fill('#r-steps', '500');
  await page.click('#r-run');
  await page.waitForFunction(() => Number(document.getElementById('r-chart').dataset.points || 0) >= 1, null, { timeout: 60000 });
  await page.click('#r-stop');
  await page.waitForFunction(() => !document.getElementById('r-run').disabled, null, { timeout: 30000 });
  assert.ok(Number(await page.$eval('#r-chart', (e) => e.dataset.points)) < 500);

  // The recovered model (the stopped run keeps what it learnt) becomes the running one.
  await page.click('#r-use');
  await page.waitForFunction(() => /now the running model/.test(document.getElementById('r-status').textContent), null, { timeout: 30000 });
  assert.deepEqual(errors, []);
  await page.close();
});
