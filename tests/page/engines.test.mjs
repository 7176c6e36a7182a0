// The page tests' core in every engine a class uses: Firefox ESR (Gecko), WebKitGTK (the
// engine under Safari) and Chromium, through one W3C WebDriver client (webdriver.mjs).
// Load, generate with the cache on and off, every precision, pruning, each lab tab and
// its main action, the benchmark quick suite, the embed view, and offline after a first
// visit on a header-less host. Then the same bits in every engine: the greedy and the
// sampled text, every precision's recipe id, KL and top-1 bits, and the quick suite's
// record, each against the native CLI (which the wasm tests tie to the fixtures).
//
//   TINYOPT_URL=http://127.0.0.1:8873/ node --test tests/page/engines.test.mjs
//   TINYOPT_ENGINES=webkit ...   (a subset; default firefox,webkit,chromium)
//
// Needs scripts/build.sh (wasm packages, CLI, dist/) and `tinyopt serve` at TINYOPT_URL.
// The drivers: scripts/setup.sh installs them (see webdriver.mjs for the paths).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launch, enginesToTest } from './webdriver.mjs';
import { ROOT, ARTIFACTS, plainHost } from './harness.mjs';

const CLI = path.join(ROOT, 'target/release/tinyopt');
const DIST = path.join(ROOT, 'dist');
let base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
if (!base.endsWith('/')) base += '/';

/** What each engine computed, compared across engines and with the CLI at the end. */
const bits = {};

// ---- driving the page through its DOM (the same hooks the playwright tests read) ----

/** Records errors and unhandled rejections from here on (WebDriver has no page-error event). */
const WATCH = `window.__errs = window.__errs || [];
  if (!window.__watching) {
    window.__watching = true;
    addEventListener('error', (e) => window.__errs.push(String(e.message)));
    addEventListener('unhandledrejection', (e) => window.__errs.push(String(e.reason && e.reason.message || e.reason)));
  }`;

async function open(b, query = '', { url = base } = {}) {
  await b.go(url + query);
  await b.waitFor(`return document.body.dataset.phase === 'ready' || document.body.dataset.phase === 'broken'`, { timeout: 90000, what: 'the page to start' });
  const [phase, error] = await b.run(`return [document.body.dataset.phase, document.getElementById('error').textContent]`);
  assert.equal(phase, 'ready', `${b.engine}: the page did not start: ${error}`);
  await b.run(WATCH);
}

const waitRecipe = (b, timeout = 90000) =>
  b.waitFor(`return document.body.dataset.recipe === 'done' || document.body.dataset.recipe === 'failed'`, { timeout, what: 'the recipe' });

/**
 * Opens `tab`, clicks a task's `button` (a real pointer click) and waits for `done`.
 * A click the engine dropped (the task never started: the button stayed enabled and
 * nothing finished) is clicked again, at most twice; a timeout says what the page showed.
 */
async function runTask(b, { tab, button, done, error, timeout }) {
  await b.click(tab);
  await b.waitFor(`return !document.querySelector(arguments[0]).disabled`, { timeout: 30000, what: `${button} enabled` }, button);
  const end = Date.now() + timeout;
  for (let attempt = 0; ; attempt++) {
    await b.click(button);
    // Started (the button disables while its task runs) or already finished.
    const started = await b.waitFor(`return document.querySelector(arguments[0]).disabled || !!(function () { ${done} })() || null`,
      { timeout: 10000, every: 20, what: `${button} to start` }, button).catch(() => false);
    if (started) break;
    if (attempt === 2) throw new Error(`${b.engine}: ${button} never started after 3 clicks: ${await pageState(b, error)}`);
  }
  try {
    await b.waitFor(done, { timeout: Math.max(1000, end - Date.now()), what: `${button}'s result` });
  } catch (e) {
    throw new Error(`${e.message}; the page: ${await pageState(b, error)}`);
  }
}

/** What the page shows, for a failure message: phase, recipe, status, the panel's error. */
const pageState = (b, errorId) =>
  b.run(`const t = (id) => { const el = document.getElementById(id); return el ? el.textContent.trim().slice(0, 300) : null; };
    return JSON.stringify({ phase: document.body.dataset.phase, recipe: document.body.dataset.recipe, status: t('status'),
      error: t('error'), panelError: t(arguments[0]), hidden: document.hidden, errs: window.__errs || [] });`, errorId).catch((e) => `(unreadable: ${e.message})`);

/** Clicks Generate (a real pointer click) and waits for the run's end and its frame. */
async function generate(b) {
  await b.click('#generate');
  await b.waitFor(
    `return document.body.dataset.phase === 'ready' && /^(Done|Stopped)/.test(document.getElementById('status').textContent)`,
    { timeout: 180000, every: 50, what: 'the run to end' },
  );
  await b.runAsync('await new Promise((r) => requestAnimationFrame(() => r()))');
  return b.run(`const v = (id) => Number(document.getElementById(id).dataset.value);
    return { status: document.getElementById('status').textContent, text: document.getElementById('out-gen').textContent,
      count: v('m-count'), tps: v('m-tps'), median: v('m-median'), kv: v('m-kv'), stepsRate: v('m-steps-rate'), share: v('m-share') };`);
}

/** Sets a control as a user would (value, then input and change). */
const setControl = (b, sel, value) =>
  b.run(`const el = document.querySelector(arguments[0]); el.value = String(arguments[1]);
    el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true }));`, sel, value);

const noErrors = async (b) => assert.deepEqual(await b.run('return window.__errs || []'), [], `${b.engine}: page errors`);

const card = (b) =>
  b.run(`const el = document.getElementById('recipe-card');
    return { id: el.dataset.recipeId, kld: Number(el.dataset.kld), top1: Number(el.dataset.top1),
      storage: document.getElementById('rc-storage').textContent, cli: document.getElementById('rc-cli').textContent };`);

/** The native CLI's figures for the card's command (`tinyopt bench --recipe`). */
function nativeBench(cli) {
  const m = /^tinyopt bench --json --kv-cache --recipe '(\{.*\})'$/.exec(cli);
  assert.ok(m, `a command with the canonical JSON: ${cli}`);
  const out = execFileSync(CLI, ['bench', '--json', '--kv-cache', '--tokens', '2', '--runs', '1', '--recipe', m[1]], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

/** The native CLI's text for a prompt (stdout: the prompt, then the new tokens). */
function nativeText(prompt, tokens, temperature, seed, kv = true) {
  const args = ['generate', '--prompt', prompt, '--tokens', String(tokens), '--temperature', String(temperature), '--seed', String(seed)];
  if (!kv) args.push('--no-kv-cache');
  const out = execFileSync(CLI, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.ok(out.startsWith(prompt), out.slice(0, 40));
  return out.slice(prompt.length);
}

before(async () => {
  const res = await fetch(new URL('www/pkg/tinyopt.js', base)).catch(() => null);
  assert.ok(res && res.ok, `nothing serves the built page at ${base}: run scripts/build.sh and tinyopt serve`);
  assert.ok(fs.existsSync(CLI), `${CLI} is not built (scripts/build.sh)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

for (const engine of enginesToTest()) {
  describe(engine, () => {
    let b = null;
    let t0 = 0;
    const mine = (bits[engine] = { precisions: {} });
    before(async () => {
      t0 = Date.now();
      b = await launch(engine, { width: 1280, height: 900 });
      console.log(`${engine}: ${b.version}`);
    });
    after(async () => {
      if (b) await b.close();
      fs.writeFileSync(path.join(ARTIFACTS, `engines-bits-${engine}.json`), JSON.stringify(mine, null, 1));
      console.log(`${engine}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    // Issue 24: geckodriver moved these doubles (the f16 and W8A8 KL) by one bit on the
    // way; webdriver.mjs now carries values as JSON text. Both directions, and as data.
    test('numbers cross the driver with all their bits', async () => {
      const xs = [2.1561518230989236e-7, 0.0011357232071905565, 0.1 + 0.2, 5e-324, 1 / 3];
      const back = await b.run('return arguments[0].map((x) => [x, String(x)])', xs);
      assert.deepEqual(back.map(([x]) => x), xs, `${engine}: numbers back`);
      assert.deepEqual(back.map(([, t]) => t), xs.map(String), `${engine}: the page got the same numbers`);
      assert.deepEqual(await b.runAsync('return arguments[0]', xs), xs, `${engine}: through an async script`);
    });

    test('loads, names the engine, and generates with the KV cache on and off (greedy: the same text)', async () => {
      await open(b, '?prompt=ROMEO%3A&tokens=60&temp=0&seed=1&kv=1');
      const env = await b.run(`return { note: document.getElementById('env-note').textContent, isolated: crossOriginIsolated,
        sab: typeof SharedArrayBuffer }`);
      assert.equal(env.isolated, true, `${engine}: tinyopt serve sends COOP/COEP`);
      assert.match(env.note, /wasm simd128/, env.note);
      const on = await generate(b);
      assert.match(on.status, /^Done: 60 tokens/);
      assert.equal(on.count, 60);
      for (const k of ['tps', 'median', 'kv', 'stepsRate', 'share']) assert.ok(Number.isFinite(on[k]) && on[k] > 0, `${k} = ${on[k]}`);
      await b.click('#kv');
      assert.equal(await b.run(`return document.getElementById('kv').checked`), false);
      assert.match(await b.currentUrl(), /[?&]kv=0(&|$)/);
      const off = await generate(b);
      assert.match(off.status, /^Done: 60 tokens/);
      assert.equal(off.kv, 0, 'no KV cache bytes with the cache off');
      assert.equal(off.text, on.text, 'greedy decoding: the same text either way');
      mine.greedy = on.text;
      mine.note = env.note;
      mine.build = await b.run(`return document.getElementById('kr-build').dataset.build`);
      mine.sab = env.sab;
      // Sampling is seeded: the same draws in every engine.
      await open(b, '?prompt=ROMEO%3A&tokens=80&temp=0.8&seed=7&kv=1');
      mine.sampled = (await generate(b)).text;
      await b.screenshot(path.join(ARTIFACTS, `engine-${engine}.png`), { full: true });
      await noErrors(b);
    });

    test('every precision applies, runs, and shows its recipe bits', async () => {
      await open(b, '?panel=quantize&tokens=10&temp=0&prompt=ROMEO%3A');
      const precisions = await b.run(`return [...document.querySelectorAll('#q-precision option')].map((o) => o.value)`);
      assert.ok(precisions.length >= 5 && precisions.includes('int8-dynamic'), precisions.join(','));
      // The running recipe's report first (it follows the model's start).
      await b.waitFor(`return document.body.dataset.recipe === 'done' && window.__tinyopt.state.recipe`, { timeout: 90000, what: 'the first recipe' });
      for (const p of precisions) {
        if ((await b.run(`return document.getElementById('q-precision').value`)) !== p) await setControl(b, '#q-precision', p);
        await b.waitFor(`return document.getElementById('q-precision').value === arguments[0] && document.body.dataset.recipe === 'done' &&
            window.__tinyopt.state.recipe && window.__tinyopt.state.recipe.report.recipe.quant.precision === arguments[0]`,
        { timeout: 90000, what: `precision ${p}` }, p);
        assert.equal(await b.run(`return document.getElementById('q-error').textContent`), '', p);
        const c = await card(b);
        assert.ok(Number.isFinite(c.kld) && c.kld >= 0 && c.top1 > 0, `${p}: ${JSON.stringify(c)}`);
        const run = await generate(b);
        assert.match(run.status, /^Done: 10 tokens/, p);
        mine.precisions[p] = { ...c, text: run.text };
      }
      await noErrors(b);
    });

    test('prune: 50 % unstructured (CSR) reaches its sparsity, with fewer bytes', async () => {
      await open(b, '?panel=prune');
      const dense = await b.run(`return Number(document.getElementById('p-bytes').dataset.value)`);
      await setControl(b, '#p-ratio', 50);
      await b.waitFor(`return document.getElementById('panel-prune').dataset.applied === 'unstructured:50'`, { timeout: 90000 });
      await waitRecipe(b);
      const got = await b.run(`const v = (id) => Number(document.getElementById(id).dataset.value);
        return { sparsity: v('p-sparsity'), bytes: v('p-bytes'), kld: v('p-kld') };`);
      assert.ok(Math.abs(got.sparsity - 0.5) < 0.01, JSON.stringify(got));
      assert.ok(!(got.bytes >= dense), `pruned ${got.bytes} B vs dense ${dense} B`);
      assert.ok(got.kld > 0);
      mine.prune = { ...(await card(b)) };
      await noErrors(b);
    });

    test('each lab tab opens and does its main action', async () => {
      await open(b, '?tokens=20');
      await waitRecipe(b);
      // Quantize: the per-matrix sensitivity.
      await runTask(b, { tab: '#tab-quantize', button: '#q-sens', error: 'q-error',
        done: `return document.getElementById('q-sens-chart').dataset.count`, timeout: 180000 });
      // Prune: the quality-vs-sparsity curve.
      await runTask(b, { tab: '#tab-prune', button: '#p-curve', error: 'p-error',
        done: `return !document.getElementById('p-curve').disabled && document.getElementById('p-curve-chart').dataset.points === '11,11'`, timeout: 180000 });
      // Profile: every op, parts close to the total, memory by kind (or said to be unavailable).
      await runTask(b, { tab: '#tab-profile', button: '#f-run', error: 'f-error',
        done: `return document.getElementById('f-total').dataset.value !== undefined`, timeout: 120000 });
      assert.equal(await b.run(`return document.getElementById('tab-profile').getAttribute('aria-selected')`), 'true');
      const ops = await b.run(`return document.querySelectorAll('#f-ops tbody tr[data-op]').length`);
      assert.ok(ops >= 11, `${ops} ops`);
      // Kernels: every kernel of the build timed on the shapes.
      await runTask(b, { tab: '#tab-kernels', button: '#k-bench', error: 'k-error',
        done: `return !document.getElementById('k-bench').disabled && document.querySelectorAll('#k-table tbody tr').length > 0`, timeout: 300000 });
      const rows = await b.run(`return [...document.querySelectorAll('#k-table tbody tr')].map((tr) =>
        [...tr.cells].slice(1).map((c) => [c.dataset.kernel, Number(c.dataset.gflops)]))`);
      for (const r of rows) for (const [k, g] of r) assert.ok(g > 0, `${k}: ${g} GFLOP/s`);
      mine.kernels = rows[0].map((x) => x[0]);
      await noErrors(b);
    });

    test('benchmark: the quick suite runs, and its record verifies natively to the bit', async () => {
      await open(b, '?panel=benchmark&precision=int8');
      await waitRecipe(b);
      // Catch the record the Download button would save.
      await b.run(`const make = URL.createObjectURL; window.__blobs = [];
        URL.createObjectURL = (blob) => (window.__blobs.push(blob), make(blob));
        HTMLAnchorElement.prototype.click = function () {};`);
      await b.click('#b-suite-quick');
      await setControl(b, '#b-handle', `engines-${engine}`);
      await b.click('#b-run');
      const line = await b.waitFor(`const t = document.getElementById('b-progress-text').textContent; return /^Done|failed|Stopped/.test(t) && t`, { timeout: 400000, every: 250 });
      assert.match(line, /^Done: 3 rounds, 3 valid/);
      await b.click('#b-download');
      const text = await b.runAsync('return await window.__blobs[window.__blobs.length - 1].text()');
      const file = path.join(ARTIFACTS, `record-engines-${engine}.json`);
      fs.writeFileSync(file, text);
      const r = spawnSync(CLI, ['verify', file], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /recomputed to the bit/);
      await noErrors(b);
    });

    test('the embed view shows one panel alone', async () => {
      await open(b, '?panel=prune&embed=1&prune=0.3&prune-kind=structured');
      await b.waitFor(`return document.getElementById('panel-prune').dataset.applied === 'structured:30'`, { timeout: 90000 });
      const vis = await b.run(`const shown = (sel) => { const el = document.querySelector(sel); return !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'; };
        return { prune: shown('#panel-prune'), quantize: shown('#panel-quantize'), form: shown('#form') };`);
      assert.deepEqual(vis, { prune: true, quantize: false, form: false });
      await noErrors(b);
    });

    test('a header-less host: the service worker isolates the page, and after one visit it works offline', async () => {
      assert.ok(fs.existsSync(path.join(DIST, 'sw.js')), 'dist/ is not built: run scripts/build.sh');
      const served = [];
      const server = plainHost(DIST, served);
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const host = `http://127.0.0.1:${server.address().port}/`;
      try {
        await b.go(host + '?prompt=ROMEO%3A&tokens=20&temp=0&seed=1');
        await b.waitFor(`return navigator.serviceWorker && navigator.serviceWorker.controller !== null && document.body.dataset.phase === 'ready'`, { timeout: 90000, what: 'the service worker' });
        const sw = await b.run(`return { sw: window.__tinyoptSw, isolated: crossOriginIsolated }`);
        assert.equal(sw.isolated, true, JSON.stringify(sw));
        assert.equal(sw.sw.state, 'isolated-by-worker', JSON.stringify(sw));
        await b.run(WATCH);
        const first = await generate(b);
        assert.match(first.status, /^Done: 20 tokens/);
        // Offline: the host is gone; the cache must hold everything.
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        const before = served.length;
        await open(b, '?prompt=ROMEO%3A&tokens=20&temp=0&seed=1', { url: host });
        const again = await generate(b);
        assert.match(again.status, /^Done: 20 tokens/);
        assert.equal(again.text, first.text);
        assert.equal(served.length, before, 'no request reached the host');
        mine.offline = again.text;
      } finally {
        if (server.listening) {
          server.closeAllConnections();
          server.close();
        }
      }
    });
  });
}

describe('the same bits in every engine', () => {
  const nativeRows = new Map(); // the CLI's row per recipe command, run once
  const ran = () => Object.entries(bits).filter(([, v]) => v.greedy !== undefined);

  test('greedy and sampled text equal the native CLI', () => {
    assert.ok(ran().length > 0, 'no engine ran');
    const greedy = nativeText('ROMEO:', 60, 0, 1);
    const sampled = nativeText('ROMEO:', 80, 0.8, 7);
    for (const [engine, v] of ran()) {
      assert.equal(v.greedy, greedy.slice(0, 60), `${engine}: greedy text`);
      assert.equal(v.sampled, sampled.slice(0, 80), `${engine}: sampled text`);
      if (v.offline !== undefined) assert.equal(v.offline, nativeText('ROMEO:', 20, 0, 1).slice(0, 20), `${engine}: offline text`);
    }
  });

  for (const engine of Object.keys(bits)) {
    test(`${engine}: every precision's recipe id, KL and top-1 bits equal the native CLI's`, () => {
      const v = bits[engine];
      assert.ok(v.greedy !== undefined, `${engine} did not run`);
      const wrong = [];
      const all = Object.entries(v.precisions);
      if (v.prune) all.push(['prune 50 %', v.prune]);
      for (const [p, c] of all) {
        if (!nativeRows.has(c.cli)) nativeRows.set(c.cli, nativeBench(c.cli));
        const n = nativeRows.get(c.cli);
        const got = { id: c.id, kld: c.kld, top1: c.top1 };
        const want = { id: n.recipe_id, kld: n.kld, top1: n.top1_agreement };
        if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${engine} (${v.build} build) ${p}: ${JSON.stringify(got)}, native ${JSON.stringify(want)}`);
      }
      if (wrong.length) console.log(wrong.join('\n'));
      assert.deepEqual(wrong, []);
    });
  }

  test('the greedy text of every precision is the same in every engine', () => {
    const r = ran().filter(([, v]) => Object.keys(v.precisions).length);
    for (const [engine, v] of r.slice(1)) {
      for (const [p, c] of Object.entries(v.precisions)) assert.equal(c.text, r[0][1].precisions[p].text, `${engine} vs ${r[0][0]}, ${p}`);
    }
  });
});
