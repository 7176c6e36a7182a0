// Page test of the KV-cache precision control (issue 20): picking int8 rebuilds the
// recipe (URL, figures from the wasm module's report), a run draws cache bytes against
// position from the running cache, and a link with kv-precision opens with it.
//
//   TINYOPT_URL=http://127.0.0.1:8000/ node --test tests/page/kv-precision.test.mjs
//
// The launch (server, Chromium) is harness.mjs's; screenshot: artifacts/kv-precision.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPage, useBrowser, waitDone, ARTIFACTS } from './harness.mjs';

const env = useBrowser();

const value = (page, id) => page.evaluate((i) => Number(document.getElementById(i).dataset.value), id);

test('the KV-cache precision control packs the cache and shows its bytes and quality', async () => {
  const { page, seen } = await openPage(env, '?prompt=ROMEO%3A&tokens=40&temp=0&kv=1');
  const options = await page.$$eval('#kv-precision option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, ['f32', 'f16', 'int8'], 'the choices come from the wasm module');
  await page.waitForFunction(() => document.getElementById('kv-kprec').textContent === 'f32');
  assert.equal(await value(page, 'kv-share'), 1);
  assert.equal(await value(page, 'kv-kld'), 0);

  await page.selectOption('#kv-precision', 'int8');
  await page.waitForFunction(() => document.getElementById('kv-kprec').textContent === 'int8', null, { timeout: 60000 });
  assert.match(page.url(), /kv-precision=int8/);
  const share = await value(page, 'kv-share');
  assert.ok(share > 0.25 && share < 0.27, `int8 cache share ${share}`);
  const kl = await value(page, 'kv-kld');
  const top1 = await value(page, 'kv-top1');
  assert.ok(kl > 0 && kl < 0.01, `kv KL ${kl}`);
  assert.ok(top1 > 0.95 && top1 <= 1, `kv top-1 ${top1}`);
  assert.equal(await page.textContent('#kv-wprec'), 'f32');

  await page.click('#generate');
  await waitDone(page);
  const drawn = await page.evaluate(() => {
    const c = document.getElementById('kv-chart');
    return { points: Number(c.dataset.points), label: c.getAttribute('aria-label') };
  });
  assert.equal(drawn.points, 40, 'one point per step');
  assert.match(drawn.label, /int8 cache/);
  // The last step's bytes are the running cache's: positions held × packed bytes each.
  const last = await page.evaluate(() => {
    const run = window.__tinyopt.state.lastByMode.on;
    const s = run.steps[run.steps.length - 1];
    return { pos: s.pos, kv: s.kv };
  });
  const perPos = (await value(page, 'kv-bytes')) / 256;
  assert.equal(last.kv, perPos * last.pos);
  // The KV-cache area: switch, precision control, figures and chart.
  const scrollY = await page.evaluate(() => window.scrollY);
  const top = await page.locator('#kv').boundingBox();
  const bottom = await page.locator('#kv-chart').boundingBox();
  top.y += scrollY;
  bottom.y += scrollY;
  await page.screenshot({
    path: path.join(ARTIFACTS, 'kv-precision.png'),
    fullPage: true,
    clip: { x: 0, y: top.y - 12, width: 420, height: bottom.y + bottom.height - top.y + 90 },
  });
  assert.deepEqual(seen.errors, []);
  await page.close();

  // A link opens with the packed cache.
  const again = await openPage(env, '?kv-precision=f16');
  await again.page.waitForFunction(() => document.getElementById('kv-kprec').textContent === 'f16', null, { timeout: 60000 });
  assert.equal(await again.page.inputValue('#kv-precision'), 'f16');
  assert.equal(await value(again.page, 'kv-share'), 0.5);
  await again.page.close();
});
