// Page tests of the model picker and what size costs (issue 14); the launch is harness.mjs's.
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
import { useBrowser, waitReady, waitDone, ARTIFACTS, axeCheck } from './harness.mjs';
import assert from 'node:assert/strict';
import path from 'node:path';


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


async function waitRecipe(page, timeout = 60000) {
  await page.waitForFunction(() => document.body.dataset.recipe !== 'applying', null, { timeout });
}

/** Waits until model `id` is loaded, ready and its recipe applied. */
async function waitModel(page, id, timeout = 60000) {
  await page.waitForFunction(
    (want) => {
      const s = window.__tinyopt && window.__tinyopt.state;
      return s && s.model && s.model.id === want && document.body.dataset.phase === 'ready';
    },
    id,
    { timeout },
  );
  await waitRecipe(page);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
}

/** The model card as {name: value}. */
function card(page) {
  return page.$$eval('#model-card > div', (divs) =>
    Object.fromEntries(divs.map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])));
}

const modelOfUrl = (page) => new URL(page.url()).searchParams.get('model');

async function runTokens(page) {
  await page.click('#generate');
  await waitDone(page);
  return page.$eval('#m-weights', (el) => Number(el.dataset.value));
}

test('the picker switches teacher → student → random size; metrics, model card, labels and URL follow', async () => {
  const { page, seen } = await open('?prompt=ROMEO%3A&tokens=20&temp=0&seed=1&kv=1&model=teacher');
  await waitModel(page, 'teacher');
  let c = await card(page);
  assert.equal(c['Model'], 'teacher');
  assert.equal(c['Parameters'], '842,752');
  assert.match(c['Validation loss'], /^1\.521/);
  assert.equal(modelOfUrl(page), 'teacher');
  const teacherBytes = await runTokens(page);
  assert.equal(teacherBytes, 842752 * 4);

  await page.selectOption('#model', 'student');
  await waitModel(page, 'student');
  c = await card(page);
  assert.equal(c['Model'], 'student');
  assert.equal(c['Parameters'], '260,928');
  assert.equal(c['Layers'], '2');
  assert.equal(c['d_model (width)'], '96');
  assert.match(c['Validation loss'], /^2\.013/);
  assert.match(c['Teacher (sha256)'], /^[0-9a-f]{64}$/);
  assert.equal(modelOfUrl(page), 'student');
  assert.match(await page.textContent('#q-cards-h'), /Running vs loaded student/);
  assert.match(await page.textContent('#model-note'), /Loaded the student/);
  const studentBytes = await runTokens(page);
  assert.equal(studentBytes, 260928 * 4);
  assert.ok(studentBytes < teacherBytes / 3);

  // The student against the teacher: KL, top-1 and perplexity of the pasted text.
  await page.fill('#t-text', 'ROMEO:\nWhat light through yonder window breaks?');
  await page.click('#t-run');
  await page.waitForFunction(() => Number.isFinite(Number(document.getElementById('t-kl').dataset.value)), null, { timeout: 60000 });
  const cmp = await page.evaluate(() => {
    const v = (id) => Number(document.getElementById(id).dataset.value);
    return { kl: v('t-kl'), top1: v('t-top1'), cur: v('t-ppl-cur'), ref: v('t-ppl-ref'), sub: document.getElementById('t-sub').textContent };
  });
  assert.ok(cmp.kl > 0 && cmp.kl < 5, `KL ${cmp.kl}`);
  assert.ok(cmp.top1 > 20 && cmp.top1 < 100, `top-1 ${cmp.top1}`);
  assert.ok(cmp.cur > cmp.ref, 'the student is more perplexed than its teacher');
  assert.match(cmp.sub, /running model \(student.*\) vs the teacher/);
  await page.locator('.area-settings').screenshot({ path: path.join(ARTIFACTS, 'models-picker.png') });
  await page.locator('.area-card').screenshot({ path: path.join(ARTIFACTS, 'models-card-student.png') });

  await page.selectOption('#model', 'random-L4-D256');
  await waitModel(page, 'random-L4-D256');
  c = await card(page);
  assert.equal(c['Model'], 'random weights 4×256');
  assert.equal(c['Layers'], '4');
  assert.equal(c['d_model (width)'], '256');
  assert.equal(c['Validation loss'], undefined);
  assert.match(await page.textContent('#model-notice'), /random weights.*speed and memory figures are real/);
  assert.equal(modelOfUrl(page), 'random-L4-D256');
  const randomBytes = await runTokens(page);
  assert.ok(randomBytes > teacherBytes * 3);
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a recipe carries over to the student where it applies; a link to another size loads it', async () => {
  const { page, seen } = await open('?tokens=10&precision=int8&model=teacher');
  await waitModel(page, 'teacher');
  await page.selectOption('#model', 'student');
  await waitModel(page, 'student');
  assert.match(await page.textContent('#model-note'), /carries over/);
  assert.equal(await page.evaluate(() => window.__tinyopt.state.settings.recipe.quant.precision), 'int8');
  assert.match(page.url(), /precision=int8/);
  await page.close();
  const second = await open('?model=random-L2-D64');
  await waitModel(second.page, 'random-L2-D64');
  assert.equal(await second.page.inputValue('#model'), 'random-L2-D64');
  assert.deepEqual(seen.errors, []);
  await second.page.close();
});

test('a recipe the new model refuses: the core error shows as text and it runs as loaded', async () => {
  const { page, seen } = await open('?tokens=10&precision=int4&group-size=128&model=teacher');
  await waitModel(page, 'teacher');
  await page.selectOption('#model', 'student');
  await waitModel(page, 'student');
  await page.waitForFunction(() => /does not apply/.test(document.getElementById('model-note').textContent), null, { timeout: 30000 });
  await waitRecipe(page);
  const note = await page.textContent('#model-note');
  console.log(`refusal note: ${note}`);
  assert.match(note, /The recipe precision=int4, group-size=128 does not apply to the student: .*group 128.*\. It runs as loaded \(f32\) instead\./);
  assert.equal(await page.evaluate(() => window.__tinyopt.state.settings.recipe.quant.precision), 'f32');
  assert.doesNotMatch(page.url(), /precision=int4/);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a hostile ?model= is rejected and shown as text; the teacher loads', async () => {
  const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const { page, seen } = await open('?tokens=10&model=' + encodeURIComponent(hostile));
  await waitModel(page, 'teacher');
  const note = await page.textContent('#link-note');
  assert.ok(note.includes('<script>alert(1)</script>'), note);
  assert.equal(await page.$$eval('#link-note *', (els) => els.length), 0);
  assert.equal(await page.$$eval('img[src="x"]', (els) => els.length), 0);
  assert.equal(modelOfUrl(page), 'teacher');
  assert.equal(await page.inputValue('#model'), 'teacher');
  for (const bad of ['random-L0-D64', 'random-L4-D100', 'random-L17-D64', 'random-L4-D2048', 'TEACHER', 'student ']) {
    const ok = await page.evaluate(async (q) => {
      const { fromQuery } = await import(new URL('www/state.js', document.baseURI));
      const r = fromQuery('?model=' + encodeURIComponent(q));
      return r.settings.model === 'teacher' && r.problems.some((p) => p.startsWith('model'));
    }, bad);
    assert.ok(ok, bad);
  }
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('what size costs: bandwidth, a sweep of 2 sizes and the shipped models, drawn and tabled; axe passes', async () => {
  const { page, seen } = await open('?panel=profile&tokens=10&precision=int8');
  await waitModel(page, 'teacher');
  await page.fill('#z-sizes', '1x32, 2x64');
  await page.click('#z-run');
  await page.waitForFunction(() => document.getElementById('z-box').dataset.done === 'done', null, { timeout: 120000 });
  const rows = await page.$$eval('#z-table tbody tr', (trs) => trs.map((tr) => ({ kind: tr.dataset.kind, cells: [...tr.cells].map((c) => c.textContent) })));
  assert.deepEqual(rows.map((r) => r.kind), ['size', 'size', 'teacher', 'student', 'running']);
  for (const r of rows) {
    assert.match(r.cells[3], /^[0-9.,]+ \([0-9.,]+–[0-9.,]+\)$/, r.cells.join(' | '));
    assert.match(r.cells[8], / %$/);
  }
  assert.match(rows[0].cells[7], /GB\/s/);
  assert.match(await page.textContent('#z-levels'), /GB\/s/);
  assert.equal(await page.getAttribute('#z-chart', 'data-drawn'), '1');
  assert.match(await page.getAttribute('#z-chart', 'aria-label'), /rooflines .*GB\/s.*teacher/);
  await page.locator('#z-box').screenshot({ path: path.join(ARTIFACTS, 'models-size-chart.png') });
  await axeCheck(page, 'the profile tab with the size sweep');
  await page.click('#tab-quantize');
  await axeCheck(page, 'the page with the model picker');
  // A bad size is refused as text.
  await page.click('#tab-profile');
  await page.fill('#z-sizes', '3x<b>');
  await page.click('#z-run');
  await page.waitForFunction(() => document.getElementById('z-error').textContent.includes('3x<b>'));
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

// ---- Accessibility (as page.test.mjs) ----

