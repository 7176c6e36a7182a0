// Delivery to a class: the built site (dist/) on a plain static host that sends no
// special headers. The service worker must make the page cross-origin isolated (one
// reload) and keep it working offline.
//
//   node --test tests/page/delivery.test.mjs     (after scripts/build.sh made dist/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, plainHost, waitReady, waitDone, ROOT, ARTIFACTS } from './harness.mjs';

const DIST = path.join(ROOT, 'dist');

let server;
let base;
let browser;
let userDataDir;
const served = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'sw.js')), 'dist/ is not built: run scripts/build.sh');
  server = plainHost(DIST, served);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}/`;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-dist-'));
  browser = await launchChromium(userDataDir);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function generate(page) {
  await page.click('#generate');
  await waitDone(page);
  return page.evaluate(() => ({
    tokens: Number(document.getElementById('m-count').dataset.value),
    median: Number(document.getElementById('m-median').dataset.value),
    text: document.getElementById('output').textContent,
  }));
}

test('a header-less host: the service worker isolates the page after one reload, and it generates', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '?prompt=ROMEO%3A&tokens=40&temp=0&seed=3');
  // The first load registers the worker and reloads once under its control.
  await page.waitForFunction(() => window.crossOriginIsolated === true, null, { timeout: 60000 });
  await waitReady(page);
  const sw = await page.evaluate(() => window.__tinyoptSw);
  assert.equal(sw.state, 'isolated-by-worker', JSON.stringify(sw));
  // The worker's timer is fine-grained now (coarse clocks step by 100 µs).
  const resolution = await page.evaluate(() => {
    let min = Infinity;
    let last = performance.now();
    const end = last + 20;
    while (last < end) {
      const t = performance.now();
      if (t > last) min = Math.min(min, t - last);
      last = t;
    }
    return min;
  });
  assert.ok(resolution < 0.05, `timer resolution ${resolution} ms`);
  const run = await generate(page);
  assert.equal(run.tokens, 40);
  assert.ok(run.median > 0 && Number.isFinite(run.median), `median step ${run.median} ms`);
  assert.ok(run.text.startsWith('ROMEO:'), run.text.slice(0, 40));
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dist-isolated.png') });
  await page.close();
});

/** Visits `query` once under the service worker, goes offline, reloads, runs `body` and
 *  checks that nothing reached the host meanwhile. */
async function offlineAfterOneVisit(query, body) {
  const page = await browser.newPage();
  await page.goto(base + query);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60000 });
  await waitReady(page);
  await browser.setOffline(true);
  const before = served.length;
  try {
    await page.reload();
    await waitReady(page);
    await body(page);
    assert.equal(served.length, before, `requests reached the host while offline: ${served.slice(before)}`);
  } finally {
    await browser.setOffline(false);
  }
  await page.close();
}

test('offline: after one visit the page loads and generates with no network', () =>
  offlineAfterOneVisit('?prompt=ROMEO%3A&tokens=20&temp=0&seed=3', async (page) => {
    const run = await generate(page);
    assert.equal(run.tokens, 20);
  }));

test('offline: a lesson step opens and measures with no network; its progress survives the reload', () =>
  offlineAfterOneVisit('?course=seed&lesson=caching&step=3', async (page) => {
    await page.click('#lesson-commit');
    await page.waitForFunction(() => !document.getElementById('lesson-measure').disabled, null, { timeout: 60000 });
    await page.click('#lesson-measure');
    await page.waitForFunction(() => !document.getElementById('lesson-result').hidden || document.getElementById('lesson-error').textContent, null, { timeout: 120000 });
    assert.equal(await page.textContent('#lesson-error'), '');
    await page.reload();
    await waitReady(page);
    assert.ok(!(await page.isHidden('#lesson-result')), 'the measured result is still there offline after a reload');
  }));

test('a new build replaces the cache: the old one is deleted, the new one holds the site', async () => {
  const page = await browser.newPage();
  await page.goto(base);
  await waitReady(page);
  const version = JSON.parse(fs.readFileSync(path.join(DIST, 'build.json'), 'utf8')).version;
  const names = () => page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith('tinyopt-')));
  assert.deepEqual(await names(), [`tinyopt-${version}`]);
  // Publish a "new build": same files, another version in the worker script.
  const swPath = path.join(DIST, 'sw.js');
  const original = fs.readFileSync(swPath, 'utf8');
  fs.writeFileSync(swPath, original.replace(`"version":"${version}"`, '"version":"next-build"'));
  try {
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.waitForFunction(
      async () => {
        const n = (await caches.keys()).filter((k) => k.startsWith('tinyopt-'));
        return n.length === 1 && n[0] === 'tinyopt-next-build';
      },
      null,
      { timeout: 60000, polling: 200 },
    );
    const cached = await page.evaluate(async () => (await (await caches.open('tinyopt-next-build')).keys()).length);
    const files = JSON.parse(fs.readFileSync(path.join(DIST, 'build.json'), 'utf8')).files.length;
    assert.equal(cached, files + 1, 'every file and the page root are precached');
  } finally {
    fs.writeFileSync(swPath, original);
  }
  await page.close();
});
