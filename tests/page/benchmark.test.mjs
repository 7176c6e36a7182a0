// Page tests of the Benchmark tab: a quick suite run whose downloaded record verifies
// natively to the bit (and fails once tampered), the hidden-tab rule, the leaderboard
// view, hostile records in the compare view, and axe.
//
//   TINYOPT_URL=http://127.0.0.1:8767/ node --test tests/page/benchmark.test.mjs
//
// Needs `scripts/build.sh` (wasm, CLI) and `tinyopt serve` on the repo root at
// TINYOPT_URL. Records and screenshots go to artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, ROOT, ARTIFACTS } from './harness.mjs';

const CLI = path.join(ROOT, 'target/release/tinyopt');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const HOSTILE_HANDLE = '<img src=x onerror="window.__pwned=1">';

let base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
let browser;
let userDataDir;
let recordFile = ''; // the record the run test downloaded

before(async () => {
  if (!base.endsWith('/')) base += '/';
  const res = await fetch(new URL('www/pkg/tinyopt.js', base)).catch(() => null);
  assert.ok(res && res.ok, `nothing serves the built page at ${base}: run scripts/build.sh and tinyopt serve`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-bench-'));
  browser = await launchChromium(userDataDir, { width: 1280, height: 900 }, { acceptDownloads: true });
});

after(async () => {
  if (browser) await browser.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

/** The page on the Benchmark tab with `query`, ready and with its recipe applied. */
async function openBench(query = '') {
  const page = await browser.newPage();
  const seen = { dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  await page.goto(`${base}?panel=benchmark${query}`);
  await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 30000 });
  await page.waitForFunction(() => document.body.dataset.recipe === 'done', null, { timeout: 60000 });
  return { page, seen };
}

/** Runs the quick suite and waits for its end; returns the progress line. */
async function runQuick(page, handle) {
  await page.check('#b-suite-quick');
  await page.fill('#b-handle', handle);
  await page.click('#b-run');
  await page.waitForFunction(() => /^Done|failed|Stopped/.test(document.getElementById('b-progress-text').textContent), null, { timeout: 180000 });
  return page.textContent('#b-progress-text');
}

/** The CLI's verdict on `file`: {status, out}. */
function verify(file) {
  const r = spawnSync(CLI, ['verify', file], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function axeCheck(page, where) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(found, [], `axe found serious or critical violations on ${where}`);
}

test('benchmark: the quick suite (int8) runs with progress, its record downloads and verifies natively; a tampered copy fails', async () => {
  const { page, seen } = await openBench('&precision=int8');
  assert.equal(await page.getAttribute('#tab-benchmark', 'aria-selected'), 'true');
  // The shipped model is loaded: open is not available, and the page says why.
  await page.waitForFunction(() => /not available/.test(document.getElementById('b-division-note').textContent));
  assert.equal(await page.isDisabled('#b-div-open'), true);
  const line = await runQuick(page, `${HOSTILE_HANDLE}\u0007`);
  assert.match(line, /^Done: 3 rounds, 3 valid/);
  // Four events with ratios, the gate, KL, top-1 and the all-round sentence.
  const ratios = await page.$$eval('#b-events tbody tr', (rows) => rows.map((r) => Number(r.cells[1].dataset.value)));
  assert.equal(ratios.length, 4);
  for (const r of ratios) assert.ok(r > 0 && Number.isFinite(r), `event ratio ${r}`);
  assert.ok(ratios[3] > 1.5, `int8 footprint ratio ${ratios[3]}: weights a quarter, the f32 KV cache as is`);
  assert.match(await page.textContent('#b-gate'), /gate: (99\.9%|99%|fail)/);
  assert.ok(Number(await page.getAttribute('#b-kld', 'data-value')) > 0);
  assert.match(await page.textContent('#b-results'), /geometric mean of the four event ratios/);
  assert.equal(await page.getAttribute('#b-pareto', 'data-drawn'), '1');
  assert.equal(await page.$$eval('#b-runs tbody tr', (r) => r.length), 1);
  // The handle was sealed as text, without the control character.
  assert.equal(await page.inputValue('#b-handle'), HOSTILE_HANDLE);
  await page.evaluate(() => document.getElementById('b-results').scrollIntoView());
  await page.locator('#panel-benchmark .lab-grid').screenshot({ path: path.join(ARTIFACTS, 'benchmark-tab.png') });
  await axeCheck(page, 'the Benchmark tab after a run');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#b-download')]);
  assert.match(download.suggestedFilename(), /^record-[\w-]+-page\.json$/);
  recordFile = path.join(ARTIFACTS, download.suggestedFilename());
  await download.saveAs(recordFile);
  const rec = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
  assert.equal(rec.handle, HOSTILE_HANDLE);
  assert.equal(rec.environment.face, 'page');
  assert.equal(rec.suite.version, 'tinymlperf-v1-quick');
  assert.equal(rec.division, 'closed');
  const ok = verify(recordFile);
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /PASS \(verified\)/);
  assert.match(ok.out, /recomputed to the bit/);

  const tampered = path.join(ARTIFACTS, 'record-tampered-page.json');
  rec.candidate.queries[0].token_ms[0] *= 0.5;
  fs.writeFileSync(tampered, JSON.stringify(rec, null, 2));
  const bad = verify(tampered);
  assert.notEqual(bad.status, 0, bad.out);
  assert.match(bad.out, /FAIL/);
  assert.match(bad.out, /it was edited/);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});

test('benchmark: the open division needs another model file; with an exported int8 file it runs and verifies against the shipped reference', async () => {
  const { page, seen } = await openBench('&precision=int8');
  await page.waitForFunction(() => /not available/.test(document.getElementById('b-division-note').textContent));
  await page.click('#tab-quantize');
  const [exported] = await Promise.all([page.waitForEvent('download'), page.click('#q-export')]);
  const models = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-models-'));
  const file = path.join(models, 'exported-int8.safetensors');
  await exported.saveAs(file);
  fs.copyFileSync(path.join(ROOT, 'models/shakespeare-char.safetensors'), path.join(models, 'shakespeare-char.safetensors'));
  await page.setInputFiles('#q-load', file);
  await page.waitForFunction(() => /Loaded/.test(document.getElementById('q-io-status').textContent), null, { timeout: 60000 });
  await page.click('#tab-benchmark');
  await page.waitForFunction(() => /^Open: the loaded file/.test(document.getElementById('b-division-note').textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => document.body.dataset.recipe === 'done', null, { timeout: 60000 });
  await page.check('#b-div-open');
  assert.match(await runQuick(page, 'open-test'), /^Done: 3 rounds, 3 valid/);
  assert.match(await page.textContent('#b-results-sub'), /open division/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#b-download')]);
  const rec = path.join(ARTIFACTS, `open-${download.suggestedFilename()}`);
  await download.saveAs(rec);
  assert.equal(JSON.parse(fs.readFileSync(rec, 'utf8')).division, 'open');
  const r = spawnSync(CLI, ['verify', '--models', models, rec], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASS \(verified\)/);
  fs.rmSync(models, { recursive: true, force: true });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('benchmark: Stop ends a tinymlperf-v1 run between rounds, without a record', async () => {
  const { page } = await openBench();
  await page.check('#b-suite-v1');
  await page.click('#b-run');
  await page.waitForFunction(() => Number(document.getElementById('b-progress').value) >= 2, null, { timeout: 60000 });
  assert.equal(await page.getAttribute('#b-progress', 'max'), '31');
  await page.click('#b-stop');
  await page.waitForFunction(() => /^Stopped after \d+ rounds: the suite did not finish, so there is no record/.test(document.getElementById('b-progress-text').textContent));
  assert.equal(await page.isDisabled('#b-download'), true);
  assert.equal(await page.isDisabled('#b-run'), false);
  await page.close();
});

test('benchmark: rounds run while the tab is hidden are flagged on screen, and the record says too few valid rounds', async () => {
  const { page } = await openBench();
  // Headless Chromium is never hidden: pretend, then tell the page as a browser would.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const line = await runQuick(page, 'hidden-test');
  assert.match(line, /^Done: 3 rounds, 0 valid \(3 flagged invalid\)/);
  assert.match(await page.textContent('#b-hidden-note'), /hidden during 3 rounds: flagged invalid/);
  assert.match(await page.textContent('#b-error'), /will fail verification/);
  await page.close();
});

test('leaderboard: the board renders ranked tables with badges; handles stay text; a missing board says so', async () => {
  const real = path.join(ROOT, 'leaderboard/board.json');
  const row = (handle, status, gate, allRound) => ({
    handle, recipe_id: 'int8-0a1b2c3d', recipe_query: 'precision=int8', face: 'page', platform: 'Chromium',
    gate, status, latency: 1.8, ttft: 1.5, throughput: 1.7, footprint: 3.9, all_round: allRound,
    kld: 0.0012, top1_agreement: 0.985, record_sha256: 'ab'.repeat(32), file: 'x.json',
  });
  const fixture = {
    suite: 'tinymlperf-v1',
    closed: [row('ada', 'verified', '99.9%', 2.1), row(HOSTILE_HANDLE, 're-run', '99%', 1.9), row('bob', 'verified', 'fail', 2.5)],
    open: [row('cy', 'self-reported', '99%', 1.4)],
    events: ['latency', 'ttft', 'throughput', 'footprint', 'all_round'],
  };
  const { page, seen } = await openBench();
  if (!fs.existsSync(real)) {
    await page.waitForFunction(() => /missing/.test(document.getElementById('b-board-status').textContent));
  }
  await page.route('**/leaderboard/board.json', (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify(fixture) }));
  await page.click('#b-board-reload');
  await page.waitForSelector('#b-board table');
  const closed = await page.$$eval('[data-division="closed"] tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
  assert.deepEqual(closed, ['ada', HOSTILE_HANDLE, 'bob'], 'ranked as given, handles as text');
  assert.equal(await page.$$eval('[data-division="open"] tbody tr', (r) => r.length), 1);
  assert.deepEqual(await page.$$eval('#b-board [data-status]', (b) => b.map((x) => x.dataset.status)), ['verified', 're-run', 'verified', 'self-reported']);
  assert.deepEqual(await page.$$eval('#b-board [data-gate]', (b) => b.map((x) => x.dataset.gate)), ['99.9%', '99%', 'fail', '99%']);
  assert.equal(await page.$$eval('#b-board img', (x) => x.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.locator('section[aria-labelledby="b-board-h"]').screenshot({ path: path.join(ARTIFACTS, 'leaderboard.png') });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('compare: two records side by side; malformed, future, oversized and hostile records show a clear error as text', async () => {
  const { page, seen } = await openBench();
  const good = recordFile && fs.existsSync(recordFile) ? fs.readFileSync(recordFile, 'utf8') : '';
  const check = async (side, text) => {
    await page.fill(`#b-cmp-${side}-text`, text);
    await page.click(`#b-cmp-${side}-check`);
    await page.waitForFunction((s) => {
      const out = document.getElementById(`b-cmp-${s}-out`);
      return out.getAttribute('aria-busy') === 'false';
    }, side, { timeout: 60000 });
    return { error: await page.textContent(`#b-cmp-${side}-error`), out: await page.textContent(`#b-cmp-${side}-out`) };
  };
  const hostile = [
    ['{"schema": "tinyopt-submission/1", "suite": ', /not a JSON record/],
    ['{"schema": "tinyopt-submission/9"}', /newer tinyopt/],
    ['[1, 2, 3]', /no "schema" field/],
    ['<script>alert(1)</script>', /not a JSON record/],
  ];
  if (good) {
    const rec = JSON.parse(good);
    const huge = structuredClone(rec);
    huge.candidate.queries = Array.from({ length: 1500 }, () => rec.candidate.queries[0]);
    const strings = structuredClone(rec);
    strings.candidate.queries[0].total_ms = 'fast';
    hostile.push([JSON.stringify(huge), /1500 queries; at most 1000/], [JSON.stringify(strings), /malformed record/], [good.slice(0, good.length / 2), /not a JSON record/]);
  }
  for (const [text, why] of hostile) {
    const r = await check('a', text);
    assert.match(r.error, why);
    assert.equal(r.out, '');
  }
  if (good) {
    // HTML in the handle of an otherwise real record: it parses, the seal fails, the handle is text.
    const rec = JSON.parse(good);
    rec.handle = '<b id="injected">x</b>';
    const a = await check('a', JSON.stringify(rec));
    assert.equal(a.error, '');
    assert.match(a.out, /FAIL/);
    assert.match(a.out, /seal: record_sha256 is/);
    assert.match(a.out, /<b id="injected">x<\/b>/);
    await page.setInputFiles('#b-cmp-b-file', recordFile);
    await page.waitForFunction(() => /PASS/.test(document.getElementById('b-cmp-b-out').textContent), null, { timeout: 60000 });
    assert.match(await page.textContent('#b-cmp-b-out'), /verified/);
    assert.equal(await page.$$eval('#b-cmp-b-out .bench-events tbody tr', (r) => r.length), 4);
  }
  assert.equal(await page.$$eval('#injected, #panel-benchmark img', (x) => x.length), 0);
  await axeCheck(page, 'the compare view');
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});
