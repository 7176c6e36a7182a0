// Page tests: the served playground in a real Chromium, driven by playwright-core.
//
//   node --test tests/page/
//
// Needs the wasm package built (wasm-pack build --target web --release --out-dir www/pkg
// --no-typescript) and a static server on the repo root: TINYOPT_URL (default
// http://127.0.0.1:8000/). If nothing answers there, the test serves the repo itself
// with `python3 -m http.server` on a free port. Chromium: CHROMIUM, default /usr/bin/chromium.
// Screenshots go to artifacts/. The recipe test runs the native CLI: build it first
// (scripts/build.sh builds both). axe-core (a dev dependency here) checks accessibility.

import { test } from 'node:test';
import { useBrowser, waitReady, waitDone, ROOT, ARTIFACTS, axeCheck } from './harness.mjs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const HOSTILE_PROMPT = '<img src=x onerror=alert(1)>';
const CLI = path.join(ROOT, 'target/release/tinyopt');

// The launch (server, Chromium) is harness.mjs's; `base` and `browser` are set once it ran.
let base = '';
let browser = null;
useBrowser({
  onReady: (b, br) => {
    base = b;
    browser = br;
  },
});

/** Opens the page with a query; records dialogs and page errors. */
async function open(query = '', viewport) {
  const page = await browser.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const seen = { dialogs: [], errors: [] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  await page.goto(base + query);
  await waitReady(page);
  return { page, seen };
}

/** The raw numbers behind the metric outputs. */
function metrics(page) {
  return page.evaluate(() => {
    const v = (id) => Number(document.getElementById(id).dataset.value);
    return {
      tps: v('m-tps'),
      median: v('m-median'),
      ttft: v('m-ttft'),
      count: v('m-count'),
      weights: v('m-weights'),
      kv: v('m-kv'),
      stepsRate: v('m-steps-rate'),
      share: v('m-share'),
      spread: document.getElementById('m-spread').textContent,
    };
  });
}

test('generates with the KV cache on and off, and the measured metrics show the difference', async () => {
  const { page, seen } = await open('?prompt=ROMEO%3A&tokens=150&temp=0&seed=7&kv=1');
  // Keyboard only: Ctrl+Enter in the prompt generates.
  await page.focus('#prompt');
  await page.keyboard.press('Control+Enter');
  const status1 = await waitDone(page);
  assert.match(status1, /^Done/);
  const on = await metrics(page);
  for (const k of ['tps', 'median', 'ttft', 'weights', 'kv']) {
    assert.ok(Number.isFinite(on[k]) && on[k] > 0, `cache on: ${k} = ${on[k]}`);
  }
  assert.equal(on.count, 150);
  assert.match(on.spread, /^[\d.,]+–[\d.,]+$/);
  // The same run's two views of its speed: the steps alone and what the page keeps.
  assert.ok(Math.abs(on.stepsRate - 1000 / on.median) < 1e-6 * on.stepsRate, `steps alone ${on.stepsRate}`);
  assert.ok(Math.abs(on.share - on.tps / on.stepsRate) < 1e-9, `share ${on.share}`);
  assert.ok((await page.textContent('#out-gen')).length === 150);
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-kv-on.png'), fullPage: true });

  // Flip the switch with the keyboard; the URL follows.
  await page.focus('#kv');
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('#kv'), false);
  assert.match(page.url(), /[?&]kv=0(&|$)/);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  assert.equal(new URL(await page.getAttribute('#permalink', 'href'), page.url()).href, page.url());
  await page.focus('#generate');
  await page.keyboard.press('Enter');
  assert.match(await waitDone(page), /^Done/);
  const off = await metrics(page);
  for (const k of ['tps', 'median', 'ttft', 'weights']) {
    assert.ok(Number.isFinite(off[k]) && off[k] > 0, `cache off: ${k} = ${off[k]}`);
  }
  assert.equal(off.kv, 0, 'no KV cache bytes with the cache off');
  assert.equal(off.weights, on.weights);
  assert.notEqual(off.tps, on.tps);
  assert.ok(on.tps > off.tps, `cache on ${on.tps} tokens/s should beat cache off ${off.tps}`);
  assert.ok(off.median > on.median, 'recomputing the sequence costs more per token');

  // Greedy decoding: the same text either way.
  const textOff = await page.textContent('#out-gen');
  assert.equal(textOff.length, 150);

  // The chart holds both runs, and says so in words.
  assert.equal(await page.getAttribute('#chart', 'data-series'), 'on:150,off:150');
  const label = await page.getAttribute('#chart', 'aria-label');
  assert.match(label, /KV cache on: 150 tokens/);
  assert.match(label, /KV cache off: 150 tokens/);
  const cmp = await page.evaluate(() => ({
    on: document.getElementById('c-on-tps').textContent,
    off: document.getElementById('c-off-tps').textContent,
    speedup: Number(document.getElementById('speedup').dataset.value),
  }));
  assert.notEqual(cmp.on, '—');
  assert.notEqual(cmp.off, '—');
  assert.ok(cmp.speedup > 1, `speedup ${cmp.speedup}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-kv-off.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('greedy text is identical with and without the cache', async () => {
  const { page } = await open('?prompt=ROMEO%3A&tokens=60&temp=0&seed=1&kv=1');
  await page.click('#generate');
  await waitDone(page);
  const a = await page.textContent('#out-gen');
  await page.click('#kv');
  await page.click('#generate');
  await waitDone(page);
  const b = await page.textContent('#out-gen');
  assert.equal(a.length, 60);
  assert.equal(a, b);
  await page.close();
});

test('a hostile URL is clamped and shown as literal text', async () => {
  const { page, seen } = await open(`?tokens=-5&temp=NaN&prompt=${HOSTILE_PROMPT}`);
  assert.equal(await page.inputValue('#tokens'), '1');
  assert.equal(await page.inputValue('#temp'), '0.8');
  assert.equal(await page.inputValue('#prompt'), HOSTILE_PROMPT);
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('tokens'), '1');
  assert.equal(q.get('temp'), '0.8');
  assert.equal(q.get('prompt'), HOSTILE_PROMPT);

  // Its characters are not in the vocabulary: the wasm error shows, nothing crashes.
  await page.click('#generate');
  await page.waitForFunction(() => document.getElementById('error').textContent.length > 0);
  const err = await page.textContent('[role="alert"]');
  assert.match(err, /does not know/);
  assert.match(err, /'<'/);
  assert.equal(await page.textContent('#out-prompt'), HOSTILE_PROMPT);
  assert.equal(await page.locator('img').count(), 0, 'no element was injected');
  await waitReady(page);

  // The page still works afterwards.
  await page.fill('#prompt', 'ROMEO:');
  await page.fill('#tokens', '20');
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done: 20 tokens/);
  assert.equal(await page.textContent('#error'), '');
  assert.deepEqual(seen.dialogs, [], 'no dialog fired');
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a wasm panic shows a readable error and the next run works without a reload', async () => {
  const { page } = await open('?prompt=ROMEO%3A&tokens=30&temp=0.8&seed=3&kv=1&debug=panic');
  const before = await page.evaluate(() => performance.timeOrigin);
  assert.equal(await page.isVisible('#panic'), true);
  await page.click('#panic');
  await page.waitForFunction(() => /debugPanic was called/.test(document.getElementById('error').textContent));
  assert.match(await page.textContent('[role="alert"]'), /The model crashed: tinyopt panicked/);
  await waitReady(page);
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done: 30 tokens/);
  assert.equal(await page.textContent('#error'), '');
  assert.equal(await page.evaluate(() => performance.timeOrigin), before, 'no page reload');
  await page.close();
});

test('Stop aborts a long generation', async () => {
  const { page } = await open('?prompt=%0A&tokens=1000&temp=0.8&seed=5&kv=0');
  await page.click('#generate');
  await page.waitForFunction(() => Number(document.getElementById('m-count').dataset.value) >= 5);
  await page.click('#stop');
  const status = await waitDone(page);
  assert.match(status, /^Stopped/);
  const n = (await metrics(page)).count;
  assert.ok(n >= 5 && n < 200, `stopped after ${n} tokens`);
  // Escape stops too.
  await page.click('#generate');
  await page.waitForFunction(() => Number(document.getElementById('m-count').dataset.value) >= 3);
  await page.keyboard.press('Escape');
  assert.match(await waitDone(page), /^Stopped/);
  assert.ok((await metrics(page)).count < 200);
  // A stop before the run has started (it waits for its first frame to be drawn) ends
  // it with no tokens, and the next run is whole.
  await page.evaluate(() => {
    document.getElementById('generate').click();
    document.getElementById('stop').click();
  });
  assert.match(await waitDone(page), /^Stopped: 0 tokens/);
  await page.fill('#tokens', '20');
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done: 20 tokens/);
  await page.close();
});

/** A safetensors model file like the trainer writes (random weights, with training facts). */
function fakeTrainedModel() {
  const vocab = '\n !$&\',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const [V, T, L, D] = [65, 32, 2, 32];
  const shapes = [['wte', [V, D]], ['wpe', [T, D]]];
  for (let i = 0; i < L; i++) {
    for (const [n, s] of [['ln1.g', [D]], ['ln1.b', [D]], ['attn.qkv.w', [3 * D, D]], ['attn.qkv.b', [3 * D]],
      ['attn.proj.w', [D, D]], ['attn.proj.b', [D]], ['ln2.g', [D]], ['ln2.b', [D]], ['mlp.up.w', [4 * D, D]],
      ['mlp.up.b', [4 * D]], ['mlp.down.w', [D, 4 * D]], ['mlp.down.b', [D]]]) shapes.push([`h.${i}.${n}`, s]);
  }
  shapes.push(['lnf.g', [D]], ['lnf.b', [D]], ['head.w', [V, D]]);
  const header = {};
  const blobs = [];
  let off = 0;
  let seed = 1;
  for (const [name, shape] of shapes) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      a[i] = name.endsWith('.g') ? 1 : name.endsWith('.b') ? 0 : (seed / 2147483648 - 0.5) * 0.1;
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + a.byteLength] };
    off += a.byteLength;
    blobs.push(Buffer.from(a.buffer));
  }
  header.__metadata__ = {
    format: 'tinyopt-gpt',
    'tinyopt.config': JSON.stringify({ vocab: V, ctx: T, n_layer: L, n_head: 2, d_model: D }),
    'tinyopt.vocab': JSON.stringify(vocab),
    val_loss: '1.4823',
    train_tokens: '1003854',
    steps: '5000',
  };
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...blobs]);
}

test('a trained model file shows its training facts; a corrupt one falls back honestly', async () => {
  const bytes = fakeTrainedModel();
  for (const [body, trained] of [[bytes, true], [bytes.subarray(0, 1000), false]]) {
    await browser.route('**/models/shakespeare-char.safetensors', (r) =>
      r.fulfill({ status: 200, contentType: 'application/octet-stream', body }),
    );
    const { page } = await open('?prompt=ROMEO%3A&tokens=10');
    const card = await page.textContent('#model-card');
    if (trained) {
      assert.match(card, /Validation loss\s*1\.482/);
      assert.match(card, /Training tokens\s*1,003,854/);
      assert.match(card, /Training steps\s*5,000/);
      assert.match(card, /Context \(tokens\)\s*32/);
      assert.equal(await page.isHidden('#model-notice'), true);
    } else {
      assert.match(await page.textContent('#model-notice'), /untrained: random weights — the model file could not be used: invalid weight file/);
      assert.match(card, /Context \(tokens\)\s*256/);
    }
    await page.click('#generate');
    assert.match(await waitDone(page), /^Done: 10 tokens/);
    await page.close();
    await browser.unroute('**/models/shakespeare-char.safetensors');
  }
});

test('a failed start offers Retry, which recovers once the files are there', async () => {
  // Both engine builds (engine.js picks one per browser).
  await browser.route('**/tinyopt_bg.wasm', (r) => r.fulfill({ status: 404, body: 'gone' }));
  const page = await browser.newPage();
  await page.goto(base);
  await page.waitForFunction(() => document.body.dataset.phase === 'broken');
  assert.ok((await page.textContent('[role="alert"]')).length > 0);
  assert.equal(await page.textContent('#generate'), 'Retry');
  await browser.unroute('**/tinyopt_bg.wasm');
  await page.click('#generate');
  await waitReady(page);
  assert.equal(await page.textContent('#error'), '');
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done/);
  await page.close();
});

test('URL settings are validated and clamped (state.js in the browser)', async () => {
  const { page } = await open();
  const got = await page.evaluate(async () => {
    const { fromQuery, toQuery, LIMITS } = await import(new URL('www/state.js', document.baseURI));
    const cases = [
      '?tokens=1e9&temp=99&seed=-3&kv=maybe',
      '?tokens=abc&temp=Infinity&seed=1.6&kv=0',
      '?tokens=&temp=&seed=99999999999&kv=true',
      '?prompt=' + encodeURIComponent('a\r\nb'),
      '?prompt=' + 'x'.repeat(5000),
    ];
    const out = cases.map((c) => fromQuery(c).settings);
    out.push(fromQuery(toQuery(out[0])).settings);
    return { out, LIMITS };
  });
  const [a, b, c, d, e, roundTrip] = got.out;
  assert.deepEqual([a.tokens, a.temp, a.seed, a.kv], [1024, 2, 0, true]);
  assert.deepEqual([b.tokens, b.temp, b.seed, b.kv], [200, 0.8, 2, false]);
  assert.deepEqual([c.tokens, c.temp, c.seed, c.kv], [200, 0.8, 4294967295, true]);
  assert.equal(d.prompt, 'a\nb');
  assert.equal(e.prompt.length, got.LIMITS.promptMaxChars);
  assert.deepEqual(roundTrip, a);
  await page.close();
});

test('controls are labelled, and the page fits a narrow iframe', async () => {
  const { page } = await open('', { width: 700, height: 900 });
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll('input, textarea, button, select')]
      .filter((el) => !el.hidden)
      .filter((el) => (el.labels ? el.labels.length === 0 : true) && !el.textContent.trim())
      .map((el) => el.id),
  );
  assert.deepEqual(unnamed, []);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth));
  await page.click('#generate');
  await waitDone(page);
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-narrow.png'), fullPage: true });
  // The lab panels fit too.
  for (const name of ['quantize', 'prune', 'profile', 'kernels']) {
    await page.click(`#tab-${name}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), name);
    await page.locator('.lab').screenshot({ path: path.join(ARTIFACTS, `narrow-${name}.png`) });
  }
  await page.close();
});

// ---- The optimisation lab (Quantize, Prune, Profile, Kernels) ----

/** Waits until the recipe in flight (if any) has been applied or refused. */
async function waitRecipe(page, timeout = 60000) {
  await page.waitForFunction(() => document.body.dataset.recipe !== 'applying', null, { timeout });
}

/** Raw number behind an output. */
const num = (page, sel) => page.$eval(sel, (el) => Number(el.dataset.value));

test('quantize: int8 is ~26 % of the f32 bytes with measured KL, top-1, speed, histogram; export and load back', async () => {
  const { page, seen } = await open('?panel=quantize');
  assert.equal(await page.getAttribute('#tab-quantize', 'aria-selected'), 'true');
  await page.focus('#q-precision');
  await page.selectOption('#q-precision', 'int8');
  await page.waitForFunction(() => document.getElementById('q-kld').dataset.value !== undefined, null, { timeout: 60000 });
  await waitRecipe(page);
  assert.match(page.url(), /[?&]precision=int8(&|$)/);
  const share = await page.$eval('#q-bytes-d', (el) => Number(el.dataset.value));
  assert.ok(share > 0.24 && share < 0.28, `int8 weight bytes are ${share} of f32`);
  assert.match(await page.textContent('#q-bytes-d'), /^2[4-8](\.\d+)? % of f32/);
  const kld = await num(page, '#q-kld');
  const top1 = await num(page, '#q-top1');
  assert.ok(Number.isFinite(kld) && kld >= 0, `KL ${kld}`);
  assert.ok(Number.isFinite(top1) && top1 > 0 && top1 <= 100, `top-1 ${top1}`);

  // Same-run speed: both medians and their ratio.
  await page.click('#q-speed');
  await page.waitForFunction(() => !document.getElementById('q-speed').disabled && document.getElementById('q-tps').dataset.value, null, { timeout: 60000 });
  const tps = await num(page, '#q-tps');
  const ratio = await page.$eval('#q-tps-d', (el) => Number(el.dataset.ratio));
  assert.ok(tps > 0 && ratio > 0, `speed ${tps} tokens/s, ratio ${ratio}`);

  // One row of an int8 matrix holds at most 255 levels: the grid shows.
  await page.fill('#q-row', '0');
  await page.press('#q-row', 'Enter');
  await page.waitForFunction(() => /row 0/.test(document.getElementById('q-hist').getAttribute('aria-label')));
  const label = await page.getAttribute('#q-hist', 'aria-label');
  const levels = Number(/([\d,]+) in the running model/.exec(label)[1].replace(/,/g, ''));
  assert.ok(levels <= 255, `an int8 row has ${levels} distinct values`);

  // Sensitivity: one bar per weight matrix.
  const t0 = Date.now();
  await page.click('#q-sens');
  await page.waitForFunction(() => document.getElementById('q-sens-chart').dataset.count, null, { timeout: 120000 });
  const nMatrices = await page.$$eval('#q-matrix option', (o) => o.length);
  assert.equal(Number(await page.getAttribute('#q-sens-chart', 'data-count')), nMatrices);
  assert.match(await page.getAttribute('#q-sens-chart', 'aria-label'), /Most sensitive: \S+ [\d.e+-]+ nats\/token/);
  console.log(`sensitivity took ${Date.now() - t0} ms`);

  // A second run stopped after its first matrix: fewer bars, and the page carries on.
  await page.click('#q-sens');
  await page.waitForFunction(() => Number(document.getElementById('q-sens-progress').value) >= 1);
  await page.click('#q-sens-stop');
  await page.waitForFunction(() => !document.getElementById('q-sens').disabled);
  const stoppedAt = Number(await page.getAttribute('#q-sens-chart', 'data-count'));
  assert.ok(stoppedAt >= 1 && stoppedAt < nMatrices, `stopped with ${stoppedAt} of ${nMatrices} bars`);

  // Perplexity of pasted text, current vs f32.
  await page.click('#q-ppl');
  await page.waitForFunction(() => document.getElementById('q-ppl-cur').dataset.value !== undefined);
  assert.ok((await num(page, '#q-ppl-cur')) > 1 && (await num(page, '#q-ppl-base')) > 1);

  // Export the int8 model, load it back: the model card says int8.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#q-export')]);
  const file = path.join(ARTIFACTS, 'exported-int8.safetensors');
  await download.saveAs(file);
  assert.ok(fs.statSync(file).size < 0.35 * 3.3e6, 'the int8 file is packed');
  await page.setInputFiles('#q-load', file);
  await page.waitForFunction(() => /Loaded/.test(document.getElementById('q-io-status').textContent), null, { timeout: 60000 });
  await waitReady(page);
  assert.match(await page.textContent('#model-card'), /Precision\s*int8/);
  assert.equal(await page.inputValue('#q-precision'), 'f32', 'the loaded file is the new reference');
  await page.locator('#panel-quantize').screenshot({ path: path.join(ARTIFACTS, 'quantize.png') });
  assert.equal(await page.textContent('#q-error'), '');
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a link with a recipe the formats cannot do says why as text and runs the default', async () => {
  const { page, seen } = await open('?panel=prune&precision=f16&prune=0.5&prune-kind=unstructured&sparse-format=csr');
  await waitRecipe(page);
  assert.match(await page.textContent('#link-note'), /sparse-format csr holds f32 or int8 weights, not f16/);
  assert.equal(await page.isVisible('#link-note'), true);
  assert.equal(await page.inputValue('#q-precision'), 'f32');
  assert.equal(new URL(page.url()).searchParams.get('precision'), null, 'the address holds what runs');
  // Changing the recipe makes the note moot.
  await page.$eval('#p-ratio', (el) => {
    el.value = '50';
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.waitForFunction(() => document.getElementById('panel-prune').dataset.applied === 'unstructured:50', null, { timeout: 60000 });
  assert.equal(await page.isVisible('#link-note'), false);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('prune: the slider at 0, 50 and 90 % (unstructured, CSR) updates the achieved sparsity and bytes', async () => {
  // Old spellings (pkind, format, scope) are ignored; unstructured pruning stores CSR by default.
  const { page, seen } = await open('?panel=prune&pkind=structured&format=dense&scope=permatrix');
  assert.equal(await page.textContent('#link-note'), '');
  // The two charts first (they do not depend on the running model), so the shots show them.
  await page.click('#p-curve');
  await page.click('#p-sweep');
  await page.waitForFunction(() => !document.getElementById('p-curve').disabled && !document.getElementById('p-sweep').disabled, null, { timeout: 120000 });
  assert.equal(await page.getAttribute('#p-curve-chart', 'data-points'), '11,11');
  const sweep = await page.getAttribute('#p-sweep-chart', 'aria-label');
  const says = (f) => `${f} (wins from about [\\d.]+ % sparsity|never wins here), [\\d.]+× at 99 %`;
  assert.match(sweep, new RegExp(`512×512: ${says('CSR')}, ${says('SELL')}`));
  assert.match(sweep, /MLP up/);
  assert.equal(await page.getAttribute('#p-sweep-chart', 'data-points'), '14,14,14');
  const got = {};
  for (const pct of [0, 50, 90]) {
    // Move the slider as a user would: its value changes, then it is let go.
    await page.$eval('#p-ratio', (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, pct);
    const want = pct === 0 ? 'none:0' : `unstructured:${pct}`;
    await page.waitForFunction((w) => document.getElementById('panel-prune').dataset.applied === w, want, { timeout: 60000 });
    await waitRecipe(page);
    assert.equal(await page.textContent('#p-ratio-val'), `${pct} %`);
    // The address holds only what differs from the default recipe.
    assert.equal(new URL(page.url()).searchParams.get('prune'), pct ? String(pct / 100) : null);
    assert.equal(await page.inputValue('#p-format'), 'csr', 'CSR is the default storage, pruned or not');
    got[pct] = {
      sparsity: await num(page, '#p-sparsity'),
      bytes: await num(page, '#p-bytes'),
      kld: await num(page, '#p-kld'),
      top1: await num(page, '#p-top1'),
    };
    await page.locator('.lab').screenshot({ path: path.join(ARTIFACTS, `prune-${pct}.png`) });
  }
  // Perplexity of pasted text on this tab: the 90 % model reads it worse than f32.
  await page.click('#p-ppl');
  await page.waitForFunction(() => document.getElementById('p-ppl-cur').dataset.value !== undefined);
  const [pplCur, pplBase] = [await num(page, '#p-ppl-cur'), await num(page, '#p-ppl-base')];
  assert.ok(pplCur > pplBase && pplBase > 1, `perplexity ${pplCur} vs f32 ${pplBase}`);
  assert.equal(got[0].sparsity, 0);
  assert.ok(Math.abs(got[50].sparsity - 0.5) < 0.01, `50 %: ${got[50].sparsity}`);
  assert.ok(Math.abs(got[90].sparsity - 0.9) < 0.01, `90 %: ${got[90].sparsity}`);
  assert.ok(got[90].bytes < got[50].bytes && got[50].bytes < got[0].bytes, JSON.stringify(got));
  assert.ok(got[90].kld > got[50].kld && got[90].top1 < got[0].top1);
  // Keyboard: one arrow press moves the slider a step and applies it.
  await page.focus('#p-ratio');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.getElementById('panel-prune').dataset.applied === 'unstructured:95', null, { timeout: 60000 });
  await waitRecipe(page);
  const csrBytes = await num(page, '#p-bytes');
  // The same zeros in SELL: padded slots, so more bytes than CSR, still far below dense.
  await page.selectOption('#p-format', 'sell');
  await page.waitForFunction(() => /sell/.test(document.getElementById('p-recipe').textContent), null, { timeout: 60000 });
  await waitRecipe(page);
  assert.match(page.url(), /[?&]sparse-format=sell(&|$)/);
  const sellBytes = await num(page, '#p-bytes');
  assert.ok(sellBytes > csrBytes && sellBytes < got[0].bytes, `SELL ${sellBytes} B, CSR ${csrBytes} B, dense ${got[0].bytes} B`);
  assert.equal(await page.textContent('#p-error'), '');
  assert.deepEqual(seen.errors, []);
  await page.close();
});

/** Sets a recipe control as a user would (a slider is moved, then let go). */
async function setControl(page, sel, value) {
  if ((await page.$eval(sel, (el) => el.tagName)) === 'SELECT') {
    await page.selectOption(sel, value);
  } else {
    await page.$eval(sel, (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, value);
  }
}

test('controls: W8A8 with CSR and int8 with SELL are refused with a clear error as text; the page keeps working', async () => {
  const { page, seen } = await open('?panel=prune&precision=int8&prune=0.5');
  await waitRecipe(page);
  assert.equal(await page.inputValue('#p-format'), 'csr', 'unstructured pruning stores CSR by default');
  const applied = await page.getAttribute('#recipe-card', 'data-recipe-id');
  // int8 weights + int8 activations (W8A8) have no CSR kernel.
  await page.click('#tab-quantize');
  await setControl(page, '#q-precision', 'int8-dynamic');
  await page.waitForFunction(() => document.getElementById('q-error').textContent.length > 0);
  assert.match(await page.textContent('#q-error'), /csr holds int8 weights with f32 activations \(W8A32\) and has no W8A8 kernel/);
  assert.equal(await page.inputValue('#q-precision'), 'int8', 'the controls show what runs');
  assert.equal(new URL(page.url()).searchParams.get('precision'), 'int8');
  // SELL holds f32 values only.
  await page.click('#tab-prune');
  await setControl(page, '#p-format', 'sell');
  await page.waitForFunction(() => /sparse-format sell holds f32 weights, not int8/.test(document.getElementById('p-error').textContent));
  assert.equal(await page.inputValue('#p-format'), 'csr');
  assert.equal(await page.$$eval('#p-error *', (els) => els.length), 0, 'the message is text, not markup');
  await waitRecipe(page);
  assert.equal(await page.getAttribute('#recipe-card', 'data-recipe-id'), applied, 'the running recipe is unchanged');
  // The page keeps working: a valid combination applies, and generation runs.
  await setControl(page, '#p-format', 'dense');
  await page.click('#tab-quantize');
  await setControl(page, '#q-precision', 'int8-dynamic');
  await waitRecipe(page);
  await page.waitForFunction(() => /int8-dynamic/.test(document.getElementById('q-recipe').textContent), null, { timeout: 60000 });
  assert.equal(await page.textContent('#q-error'), '');
  assert.equal(await page.textContent('#rc-storage'), '19 int8-w8a8', 'W8A8, every matrix dense');
  await page.fill('#tokens', '10');
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done: 10 tokens/);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('profile: every op, the parts summing close to the total, and memory by kind', async () => {
  const { page } = await open();
  // Keyboard only: arrows move along the tabs, Enter starts the profile.
  await page.focus('#tab-quantize');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-profile', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('#panel-profile'), true);
  await page.focus('#f-run');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('f-total').dataset.value !== undefined, null, { timeout: 60000 });
  const ops = await page.$$eval('#f-ops tbody tr[data-op]', (trs) =>
    trs.map((tr) => ({ op: tr.dataset.op, ms: Number(tr.cells[1].textContent) })),
  );
  const names = ops.map((o) => o.op);
  for (const op of ['embedding', 'layer_norm', 'qkv', 'attn_scores', 'softmax', 'attn_weighted_v', 'attn_out', 'mlp_up', 'gelu', 'mlp_down', 'lm_head']) {
    assert.ok(names.includes(op), `op ${op} in ${names}`);
  }
  for (const o of ops) assert.ok(o.ms > 0, `${o.op}: ${o.ms} ms`);
  const sum = await num(page, '#f-sum');
  const total = await num(page, '#f-total');
  assert.ok(sum / total > 0.8 && sum / total < 1.1, `parts ${sum} vs total ${total}`);
  assert.ok((await num(page, '#f-flops')) > 0 && (await num(page, '#f-gflops')) > 0);
  const kinds = await page.$$eval('#f-mem tbody tr', (trs) => trs.map((tr) => tr.dataset.kind));
  for (const k of ['weights', 'kv_cache', 'activations', 'heap', 'heap_peak', 'linear_memory']) assert.ok(kinds.includes(k), `memory ${k}`);
  await page.locator('#panel-profile').screenshot({ path: path.join(ARTIFACTS, 'profile.png') });
  await page.close();
});

test('kernels: every kernel of the build with GFLOP/s on 512×512 and the model shapes; the picker sets the running kernel', async () => {
  const { page } = await open('?panel=kernels');
  await page.click('#k-bench');
  await page.waitForFunction(() => !document.getElementById('k-bench').disabled && document.querySelectorAll('#k-table tbody tr').length > 0, null, { timeout: 120000 });
  const rows = await page.$$eval('#k-table tbody tr', (trs) =>
    trs.map((tr) => ({ shape: tr.cells[0].textContent, g: [...tr.cells].slice(1).map((c) => [c.dataset.kernel, Number(c.dataset.gflops)]) })),
  );
  assert.ok(rows.length >= 11, `${rows.length} shapes`);
  assert.match(rows[0].shape, /512×512/);
  for (const r of rows) {
    // Chromium has relaxed SIMD, so the page runs the build with the relaxed kernel.
    assert.deepEqual(r.g.map((x) => x[0]), ['naive', 'blocked', 'simd', 'library', 'relaxed']);
    for (const [k, g] of r.g) assert.ok(Number.isFinite(g) && g > 0, `${r.shape} ${k}: ${g}`);
  }
  // The note names the code the engine's dispatch ran: simd128 in this build, the packed
  // tiles for a prefill.
  assert.match(await page.textContent('#k-paths'), /matvec: simd128; matmul: simd128 packed 2x4/);
  await page.locator('#panel-kernels').screenshot({ path: path.join(ARTIFACTS, 'kernels.png') });
  await page.selectOption('#k-kernel', 'blocked');
  assert.match(page.url(), /[?&]kernel=blocked(&|$)/);
  await page.fill('#tokens', '20');
  await page.click('#generate');
  await waitDone(page);
  assert.equal(await page.evaluate(() => window.__tinyopt.state.recipe.report.recipe.kernel), 'blocked');
  // The kernel is part of the recipe: the card's id and command follow it.
  const ids = await page.evaluate(() => [document.getElementById('recipe-card').dataset.recipeId, window.__tinyopt.state.view.recipe_id]);
  assert.equal(ids[0], ids[1]);
  assert.match(await page.textContent('#rc-cli'), /"kernel":"blocked"/);
  await page.close();
});

test('?panel=prune&embed=1 shows the Prune panel alone, for slides', async () => {
  const { page } = await open('?panel=prune&embed=1&prune=0.3&prune-kind=structured', { width: 900, height: 700 });
  assert.equal(await page.isVisible('#panel-prune'), true);
  for (const sel of ['#panel-quantize', '#form', '.lab [role="tablist"]']) assert.equal(await page.isVisible(sel), false, sel);
  await page.waitForFunction(() => document.getElementById('panel-prune').dataset.applied === 'structured:30', null, { timeout: 60000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'embed-prune.png') });
  await page.close();
});

test('hostile URL values for the recipe keep the defaults, say why as text, and round-trip', async () => {
  const q = '?precision=int9&group-size=33&clip=%3Cb%3E&act-calib=x&percentile=-1&keep-f32-ends=maybe&prune=2' +
    '&prune-kind=a&prune-heads=NaN&prune-scope=&sparse-format=zip&kernel=fast&panel=%3Cscript%3E';
  const { page, seen } = await open(q);
  await waitRecipe(page);
  const v = await page.evaluate(async () => {
    const { recipeFromQuery } = await import(new URL('www/recipe.js', document.baseURI));
    return { got: window.__tinyopt.state.settings.recipe, want: recipeFromQuery('').recipe };
  });
  assert.deepEqual(v.got, v.want, 'every bad value keeps its default');
  assert.equal(await page.inputValue('#q-precision'), 'f32');
  assert.equal(await page.inputValue('#p-ratio'), '0');
  assert.equal(await page.inputValue('#k-kernel'), 'simd');
  const note = await page.textContent('#link-note');
  for (const bad of ['"int9"', 'group-size', '"<b>"', '"x"', 'percentile', 'keep-f32-ends', '"a"', 'prune-heads', '"zip"', '"fast"']) {
    assert.ok(note.includes(bad), `the note names ${bad}: ${note}`);
  }
  assert.equal(await page.getAttribute('#tab-quantize', 'aria-selected'), 'true', 'an unknown panel opens the first tab');
  const url = new URL(page.url()).searchParams;
  for (const k of ['precision', 'prune', 'kernel', 'group-size']) assert.equal(url.get(k), null, `${k} is the default: not in the address`);

  // A recipe with every key set survives the round trip link -> state -> link; old
  // spellings are ignored.
  const more = await page.evaluate(async () => {
    const { fromQuery, toQuery } = await import(new URL('www/state.js', document.baseURI));
    const a = fromQuery('?precision=int4&group-size=128&act-calib=percentile&percentile=99.5&ends-precision=int8' +
      '&prune=0.35&prune-kind=structured&prune-heads=0.5&kernel=library&pkind=unstructured&format=sell');
    return { a, round: fromQuery(toQuery(a.settings)), query: toQuery(a.settings) };
  });
  assert.deepEqual(more.a.problems, []);
  const r = more.a.settings.recipe;
  assert.deepEqual(
    [r.quant.precision, r.quant.group_size, r.quant.act, r.quant.percentile, r.quant.ends_precision, r.prune.kind, r.prune.ratio, r.prune.heads, r.kernel],
    // Numbers are f32 in Rust but cross as the decimal the user chose: 0.35, not 0.34999999….
    ['int4', 128, 'percentile', 99.5, 'int8', 'structured', 0.35, 0.5, 'library'],
  );
  assert.deepEqual(more.round, more.a);
  assert.match(more.query, /&precision=int4&group-size=128&act-calib=percentile&percentile=99.5&ends-precision=int8&prune=0.35&prune-kind=structured&prune-heads=0.5&kernel=library$/);
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a hostile ?precision=<script>&prune=9 link opens with the defaults and shows the problem as text', async () => {
  const { page, seen } = await open('?precision=%3Cscript%3E&prune=9');
  await waitRecipe(page);
  const note = await page.textContent('#link-note');
  assert.match(note, /unknown precision "<script>"/);
  assert.match(note, /prune must be in 0\.\.=0\.95, not 9/);
  assert.equal(await page.$$eval('#link-note *', (els) => els.length), 0, 'text, not markup');
  assert.equal(await page.locator('script:not([src])').count(), 0, 'nothing was injected');
  assert.equal(await page.inputValue('#q-precision'), 'f32');
  assert.equal(await page.inputValue('#p-ratio'), '0');
  assert.equal(await page.textContent('#rc-storage'), '19 f32');
  await page.click('#generate');
  assert.match(await waitDone(page), /^Done/);
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a recipe set through the controls, copied as a CLI command and run natively, gives the same recipe_id, KL and top-1 bits', async () => {
  const { page, seen } = await open('?panel=quantize&tokens=20');
  await setControl(page, '#q-precision', 'int8');
  await page.click('#tab-prune');
  await setControl(page, '#p-ratio', 90);
  await setControl(page, '#p-kind', 'unstructured');
  await setControl(page, '#p-format', 'csr');
  await page.waitForFunction(() => document.getElementById('panel-prune').dataset.applied === 'unstructured:90', null, { timeout: 60000 });
  await waitRecipe(page);
  assert.match(page.url(), /[?&]precision=int8&prune=0\.9(&|$)/);
  const card = await page.evaluate(() => {
    const el = document.getElementById('recipe-card');
    return { ...el.dataset, storage: document.getElementById('rc-storage').textContent, cli: document.getElementById('rc-cli').textContent };
  });
  // The census is read off the built model: the pruned block matrices are CSR with int8
  // values, the embeddings and LM head int8.
  assert.equal(card.storage, '16 csr-int8 · 3 int8');
  assert.equal(await page.textContent('#rc-id'), card.recipeId);

  // Copy: the clipboard holds exactly the command the card shows.
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base).origin });
  await page.click('#rc-copy');
  await page.waitForFunction(() => document.getElementById('rc-copy-status').textContent.length > 0);
  assert.equal(await page.textContent('#rc-copy-status'), 'Copied.');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, card.cli);
  await page.locator('#recipe-card').screenshot({ path: path.join(ARTIFACTS, 'recipe-card.png') });

  // The command, run natively (with a short timing: the quality figures do not depend on it).
  const m = /^tinyopt bench --json --kv-cache --recipe '(\{.*\})'$/.exec(copied);
  assert.ok(m, `a command with the canonical JSON: ${copied}`);
  assert.ok(fs.existsSync(CLI), `${CLI} is not built (scripts/build.sh)`);
  const out = execFileSync(CLI, ['bench', '--json', '--kv-cache', '--tokens', '2', '--runs', '1', '--recipe', m[1]], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const native = JSON.parse(out.trim().split('\n').pop());
  assert.equal(native.recipe_id, card.recipeId);
  assert.deepEqual(native.recipe, JSON.parse(m[1]));
  assert.equal(native.kld, Number(card.kld), 'the same KL bits');
  assert.equal(native.top1_agreement, Number(card.top1), 'the same top-1 bits');
  assert.deepEqual(native.storage, { 'csr-int8': 16, int8: 3 });

  // Without a clipboard (e.g. a page that is not a secure context), the command is
  // selected for the user to copy, and the page says so.
  await page.evaluate(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
  await page.click('#rc-copy');
  await page.waitForFunction(() => /Ctrl\+C/.test(document.getElementById('rc-copy-status').textContent));
  assert.equal(await page.evaluate(() => String(window.getSelection())), card.cli);

  // The card fits a phone-sized window without widening the page.
  await page.setViewportSize({ width: 360, height: 800 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), 'no sideways scroll at 360 px');
  await page.locator('.lab').screenshot({ path: path.join(ARTIFACTS, 'recipe-card-narrow.png') });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

// ---- Accessibility ----


test('axe: no serious or critical violations on the page, every lab tab and the embed view', async () => {
  // A link with a problem, so the note shows too; a run, so the output holds text.
  const { page } = await open('?prompt=ROMEO%3A&tokens=20&precision=int3');
  await page.click('#generate');
  await waitDone(page);
  await waitRecipe(page);
  await axeCheck(page, 'the page');
  for (const name of ['quantize', 'prune', 'profile', 'kernels']) {
    await page.click(`#tab-${name}`);
    await axeCheck(page, `the ${name} tab`);
  }
  // A refused recipe: its error shows in the panels.
  await page.click('#tab-prune');
  await setControl(page, '#p-ratio', 50);
  await setControl(page, '#p-format', 'sell');
  await waitRecipe(page);
  await page.click('#tab-quantize');
  await setControl(page, '#q-precision', 'int4');
  await page.waitForFunction(() => document.getElementById('q-error').textContent.length > 0);
  await axeCheck(page, 'the quantize tab with an error');
  await page.close();
  const embed = await open('?panel=prune&embed=1&prune=0.5', { width: 900, height: 700 });
  await waitRecipe(embed.page);
  await axeCheck(embed.page, 'the embed view');
  await embed.page.close();
});
