// Embeds: the page inside a real reveal.js deck and other host pages, the
// postMessage API, the Embed dialog's snippets, the compact and presenter layouts.
//
//   TINYOPT_URL=http://127.0.0.1:8768/ node --test tests/page/embed.test.mjs
//
// The hosts (deck, API host, pasted snippets) are served by this test's own node http
// server on another port, so the embed is cross-origin as in a real lecture deck.
// reveal.js comes from npm (a dev dependency here). Screenshots go to artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, waitDone, ROOT, ARTIFACTS } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const REVEAL = path.join(ROOT, 'tests/page/node_modules/reveal.js/dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css' };

let base = process.env.TINYOPT_URL || 'http://127.0.0.1:8768/';
let host; // the host pages' server
let hostBase;
let hostDir;
let browser;
let userDataDir;

/** Serves `hostDir` and reveal.js's dist/ (under /reveal/). */
function hostServer() {
  return http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [dir, rel] = p.startsWith('/reveal/') ? [REVEAL, p.slice('/reveal/'.length)] : [hostDir, p.slice(1)];
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
}

before(async () => {
  if (!base.endsWith('/')) base += '/';
  const ok = await fetch(new URL('www/pkg/tinyopt.js', base)).then((r) => r.ok, () => false);
  assert.ok(ok, `the page is not served at ${base} with its wasm package: build and serve it first`);
  assert.ok(fs.existsSync(path.join(REVEAL, 'reveal.js')), 'reveal.js is not installed: cd tests/page && npm ci');
  hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-host-'));
  host = hostServer();
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
  hostBase = `http://127.0.0.1:${host.address().port}/`;
  assert.notEqual(new URL(hostBase).origin, new URL(base).origin);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-embed-'));
  browser = await launchChromium(userDataDir, { width: 960, height: 540 });
});

after(async () => {
  if (browser) await browser.close();
  if (host) host.close();
  for (const d of [userDataDir, hostDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

/** A page that records errors. */
async function newPage(viewport) {
  const page = await browser.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

const ready = (frameOrPage, timeout = 60000) =>
  frameOrPage.waitForFunction(() => document.body.dataset.phase === 'ready' && document.body.dataset.recipe === 'done', null, { timeout });

const done = (frameOrPage) => waitDone(frameOrPage, 90000);

/** No scrollbars: the document's content fits its viewport both ways. */
async function fits(frameOrPage) {
  return frameOrPage.evaluate(() => {
    const d = document.documentElement;
    const b = document.body;
    return {
      ok: d.scrollHeight <= d.clientHeight && d.scrollWidth <= d.clientWidth && b.scrollHeight <= b.clientHeight + 1,
      sh: d.scrollHeight,
      ch: d.clientHeight,
      sw: d.scrollWidth,
      cw: d.clientWidth,
      bsh: b.scrollHeight,
      bch: b.clientHeight,
    };
  });
}

async function axeCheck(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
  });
  if (found.length) console.log(`axe, ${where}:\n${JSON.stringify(found, null, 2)}`);
  assert.deepEqual(found.map((v) => `${v.impact} ${v.id}`), [], `axe found serious or critical violations on ${where}`);
}

const embedUrl = (q) => `${base}?${q}`;
const attr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

/** A reveal.js deck: a title slide, then `slides` (HTML), then an end slide. */
function writeDeck(name, slides, transition = 'none') {
  fs.writeFileSync(
    path.join(hostDir, name),
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Deck</title>
<link rel="stylesheet" href="/reveal/reveal.css"><link rel="stylesheet" href="/reveal/theme/white.css">
</head><body>
<div class="reveal"><div class="slides">
<section><h2>Lecture 7: the KV cache</h2></section>
${slides.join('\n')}
<section><h2>The end</h2></section>
</div></div>
<script src="/reveal/reveal.js"></script>
<script>
  window.__msgs = [];
  window.addEventListener('message', (e) => { if (e.data && typeof e.data === 'object') window.__msgs.push(e.data); });
  Reveal.initialize({ width: 960, height: 540, margin: 0, minScale: 1, maxScale: 1, center: false, transition: '${transition}', transitionSpeed: 'fast', hash: false, controls: false, progress: false });
</script>
</body></html>`,
  );
  return hostBase + name;
}

const slideIndex = (page) => page.evaluate(() => Reveal.getIndices().h);
const embedFrame = (page, needle) => page.frames().find((f) => f.url().includes(needle));

test('a reveal.js deck: the embed loads only on its slide, fits 960×540, unloads on leaving, and arrows still move the deck', async () => {
  const kv = embedUrl('view=kv&embed=1&prompt=ROMEO%3A&tokens=120&temp=0&seed=7');
  const quant = embedUrl('view=quantize&embed=1&precision=int4&group-size=32');
  const deck = writeDeck('deck.html', [
    `<section><iframe id="kv" data-src="${attr(kv)}" width="960" height="540" title="tinyopt: KV-cache demo" allow="cross-origin-isolated; clipboard-write" style="border:0;max-width:100%;max-height:100%"></iframe></section>`,
    `<section><iframe id="quant" data-src="${attr(quant)}" width="960" height="540" title="tinyopt: Quantize" allow="cross-origin-isolated; clipboard-write" style="border:0;max-width:100%;max-height:100%"></iframe></section>`,
  ]);
  const { page, errors } = await newPage({ width: 960, height: 540 });
  await page.goto(deck);
  await page.waitForFunction(() => window.Reveal && Reveal.isReady());
  assert.equal(await page.getAttribute('#kv', 'src'), null, 'the embed is not loaded on the first slide');
  assert.equal(embedFrame(page, 'view=kv'), undefined);

  await page.keyboard.press('ArrowRight');
  assert.equal(await slideIndex(page), 1);
  await page.waitForFunction(() => document.getElementById('kv').getAttribute('src'));
  let frame;
  await page.waitForFunction(() => true);
  for (let i = 0; i < 100 && !(frame = embedFrame(page, 'view=kv')); i++) await page.waitForTimeout(100);
  assert.ok(frame, 'the embed loaded when its slide showed');
  await ready(frame);
  // Nothing in the embed took focus on load: the deck keeps the keyboard.
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'BODY');
  assert.equal(await frame.evaluate(() => document.hasFocus()), false);
  const size = await frame.evaluate(() => [window.innerWidth, window.innerHeight]);
  assert.deepEqual(size, [960, 540]);

  // Run it (a click, as an instructor would), then measure what it fits.
  await frame.click('#generate');
  await done(frame);
  const fit = await fits(frame);
  assert.ok(fit.ok, `the KV demo scrolls at 960×540: ${JSON.stringify(fit)}`);
  // Not isolated inside a deck that is not: the timer is coarse and the figures are
  // timed in batches, which the page says next to the figure.
  const timing = await frame.evaluate(() => ({
    timerMs: window.__tinyopt.state.model.timerMs,
    isolated: window.crossOriginIsolated,
    batches: window.__tinyopt.state.run.batches.length,
    how: document.getElementById('m-how').textContent,
    note: document.getElementById('env-note').textContent,
  }));
  console.log(`embed in a deck: timer ${timing.timerMs} ms, isolated ${timing.isolated}, ${timing.batches} batches; ${timing.note}`);
  if (timing.timerMs >= 0.02) {
    assert.ok(timing.batches > 0, 'a coarse clock times batches');
    assert.match(timing.how, /batches of ~\d+/);
  }
  assert.match(timing.note, /^Measured in .+ · .*isolated.* · timer resolution/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'deck-kv-960x540.png') });

  // Clicked into the embed (not into a field): the arrow keys still move the deck.
  await frame.click('#metrics-h');
  assert.equal(await frame.evaluate(() => document.hasFocus()), true);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => Reveal.getIndices().h === 2, null, { timeout: 5000 });
  // Leaving the slide stopped the lazy embed: reveal.js unloaded it.
  await page.waitForFunction(() => !document.getElementById('kv').getAttribute('src'));

  // The Quantize panel on the next slide.
  let qf;
  for (let i = 0; i < 100 && !(qf = embedFrame(page, 'view=quantize')); i++) await page.waitForTimeout(100);
  assert.ok(qf, 'the Quantize embed loaded on its slide');
  await ready(qf);
  await qf.waitForFunction(() => document.getElementById('q-hist').dataset.drawn, null, { timeout: 30000 }).catch(() => {});
  const qfit = await fits(qf);
  assert.ok(qfit.ok, `the Quantize panel scrolls at 960×540: ${JSON.stringify(qfit)}`);
  // The per-group fold is closed in the compact frame; opened, the frame scrolls to it.
  assert.equal(await qf.$eval('details.q-groups', (d) => d.open), false, 'the per-group fold starts closed');
  await qf.click('details.q-groups > summary');
  assert.equal(await qf.$eval('details.q-groups', (d) => d.open), true);
  assert.equal(await qf.evaluate(() => getComputedStyle(document.body).overflowY), 'auto', 'an open fold lets the frame scroll');
  await qf.click('details.q-groups > summary');
  await page.screenshot({ path: path.join(ARTIFACTS, 'deck-quantize-960x540.png') });

  // Escape gives the keyboard back to the deck; a typed arrow in a field stays there.
  await qf.click('#q-row');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await slideIndex(page), 2, 'an arrow in a field is the field’s');
  await page.keyboard.press('Escape');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => Reveal.getIndices().h === 1, null, { timeout: 5000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a deck with an eager embed: nothing runs until its slide shows; slide:stop pauses a run and slide:start resumes it', async () => {
  const url = embedUrl('view=kv&embed=1&prompt=ROMEO%3A&tokens=1000&kv=0&temp=0');
  const deck = writeDeck('eager.html', [
    `<section><iframe id="e" src="${attr(url)}" width="960" height="540" title="tinyopt: KV-cache demo" allow="cross-origin-isolated" style="border:0;max-width:100%;max-height:100%"></iframe></section>`,
  ], 'slide'); // the next slide waits off-screen (with no transition it would sit in place, unseen but in view)
  const { page, errors } = await newPage({ width: 960, height: 540 });
  await page.goto(deck);
  await page.waitForFunction(() => window.Reveal && Reveal.isReady());
  let frame;
  for (let i = 0; i < 100 && !(frame = embedFrame(page, 'view=kv')); i++) await page.waitForTimeout(100);
  assert.ok(frame);
  await page.waitForTimeout(1500);
  // Out of sight (another slide): the model was not even loaded.
  assert.equal(await frame.evaluate(() => document.body.dataset.phase || 'not started'), 'not started');
  await page.evaluate(() => Reveal.slide(1));
  await ready(frame);
  // The host runs it; leaving the slide pauses it, coming back resumes it.
  await page.evaluate(() => document.getElementById('e').contentWindow.postMessage({ type: 'tinyopt:run' }, '*'));
  await frame.waitForFunction(() => window.__tinyopt.state.run && window.__tinyopt.state.run.steps.length > 5, null, { timeout: 30000 });
  await page.evaluate(() => Reveal.slide(2));
  await page.waitForFunction(() => window.__msgs.some((m) => m.type === 'tinyopt:status' && m.visible === false && m.running));
  await page.waitForTimeout(300);
  const n1 = await frame.evaluate(() => window.__tinyopt.state.run.steps.length);
  await page.waitForTimeout(1000);
  const n2 = await frame.evaluate(() => window.__tinyopt.state.run.steps.length);
  assert.ok(n2 - n1 <= 1, `paused: ${n1} -> ${n2} steps`);
  assert.ok(n2 < 1000, 'the run had not ended');
  await page.evaluate(() => Reveal.slide(1));
  await page.waitForFunction(() => window.__msgs.some((m) => m.type === 'tinyopt:results' && m.metrics && m.metrics.tokens > 0 && m.done), null, { timeout: 120000 });
  const res = await page.evaluate(() => window.__msgs.find((m) => m.type === 'tinyopt:results'));
  assert.ok(res.metrics.tokens > n2, 'it resumed and went on');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the postMessage API: set a recipe from the host, run, get results and the height; hostile messages change nothing', async () => {
  fs.writeFileSync(
    path.join(hostDir, 'api.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head><body>
<iframe id="f" src="${attr(embedUrl('view=kv&embed=1&compact=0'))}" width="900" height="400" title="tinyopt" style="border:0"></iframe>
<script>
  window.__msgs = [];
  window.addEventListener('message', (e) => { if (e.source === document.getElementById('f').contentWindow) window.__msgs.push(e.data); });
  window.send = (m) => document.getElementById('f').contentWindow.postMessage(m, '*');
</script></body></html>`,
  );
  const { page, errors } = await newPage({ width: 1000, height: 700 });
  await page.goto(hostBase + 'api.html');
  await page.waitForFunction(() => window.__msgs.some((m) => m.type === 'tinyopt:ready'), null, { timeout: 60000 });
  const heights = await page.evaluate(() => window.__msgs.filter((m) => m.type === 'tinyopt:height').map((m) => m.height));
  assert.ok(heights.length > 0 && heights.every((h) => Number.isInteger(h) && h > 300), `heights ${heights}`);
  const frame = embedFrame(page, 'view=kv');
  await ready(frame);

  // Hostile data first: none of it may break the page or change the settings.
  const before = await frame.evaluate(() => JSON.stringify(window.__tinyopt.state.settings));
  await page.evaluate(() => {
    const cyclic = { type: 'tinyopt:set' };
    cyclic.settings = cyclic;
    for (const m of [null, 0, 'tinyopt:run', [1, 2], { type: 5 }, { type: 'tinyopt:eval', code: 'alert(1)' }, { type: 'tinyopt:set' },
      { type: 'tinyopt:set', settings: 'prompt=x' }, { type: 'tinyopt:set', settings: [1] }, cyclic,
      { type: 'tinyopt:set', settings: { 'bad key': 1, ['__proto__']: { tokens: 5 }, ['x'.repeat(80)]: 1, nested: { a: 1 } } },
      JSON.stringify({ method: 'right' }), 'slide:unknown']) {
      window.send(m);
    }
  });
  await page.waitForTimeout(500);
  assert.equal(await frame.evaluate(() => JSON.stringify(window.__tinyopt.state.settings)), before, 'hostile messages changed the settings');
  assert.equal(await frame.evaluate(() => document.body.dataset.phase), 'ready', 'hostile messages started something');

  // Hostile values go through the link's validation.
  await page.evaluate(() => window.send({ type: 'tinyopt:set', settings: { prompt: '<img src=x onerror=alert(1)>', tokens: 'NaN', temp: 99, precision: 'int9' } }));
  await page.waitForFunction(() => window.__msgs.some((m) => m.type === 'tinyopt:settings'));
  const bad = await page.evaluate(() => window.__msgs.filter((m) => m.type === 'tinyopt:settings').pop());
  assert.equal(bad.settings.tokens, 200);
  assert.equal(bad.settings.temp, 2);
  assert.ok(bad.problems.some((p) => p.includes('int9')), JSON.stringify(bad.problems));
  assert.equal(await frame.evaluate(() => document.querySelectorAll('img').length), 0);

  // A real recipe: int8, 30 greedy tokens; run; results come back.
  await page.evaluate(() => {
    window.__msgs.length = 0;
    window.send({ type: 'tinyopt:set', settings: { prompt: 'JULIET:', tokens: 30, temp: 0, seed: 5, kv: true, precision: 'int8' } });
    window.send({ type: 'tinyopt:run' });
  });
  await page.waitForFunction(() => window.__msgs.some((m) => m.type === 'tinyopt:results' && m.done), null, { timeout: 90000 });
  const r = await page.evaluate(() => window.__msgs.find((m) => m.type === 'tinyopt:results' && m.done));
  assert.equal(r.version, 1);
  assert.equal(r.settings.prompt, 'JULIET:');
  assert.equal(r.metrics.tokens, 30);
  assert.ok(r.metrics.tokensPerS > 0 && r.metrics.medianMs > 0, JSON.stringify(r.metrics));
  assert.match(r.settings.query, /precision=int8/);
  assert.ok(r.text.startsWith('JULIET:') || r.text.length > 0);
  assert.equal(typeof r.env.timerMs, 'number');
  assert.equal(new URL(frame.url()).searchParams.get('precision'), 'int8', 'the frame’s address follows');
  // get answers with the same figures.
  await page.evaluate(() => window.send({ type: 'tinyopt:get' }));
  await page.waitForFunction(() => window.__msgs.filter((m) => m.type === 'tinyopt:results').length >= 2);
  const g = await page.evaluate(() => window.__msgs.filter((m) => m.type === 'tinyopt:results').pop());
  assert.deepEqual(g.metrics, r.metrics);
  // stop: a long run stops.
  await page.evaluate(() => {
    window.send({ type: 'tinyopt:set', settings: { tokens: 1000, kv: false } });
    window.send({ type: 'tinyopt:run' });
  });
  await frame.waitForFunction(() => document.body.dataset.phase === 'running');
  await page.evaluate(() => window.send({ type: 'tinyopt:stop' }));
  await done(frame);
  assert.match(await frame.textContent('#status'), /^Stopped/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the Embed dialog: its snippets are valid HTML that, pasted into a page, show the same state; the PNG is an image', async () => {
  const { page, errors } = await newPage({ width: 1280, height: 800 });
  await page.goto(base + '?prompt=HAMLET%3A&tokens=33&temp=0.5&seed=9&precision=int8&prune=0.3');
  await ready(page);
  await page.click('#generate');
  await done(page);
  await page.click('#embed-open');
  assert.equal(await page.isVisible('#embed-dialog'), true);
  const snip = await page.evaluate(() => ({
    iframe: document.getElementById('embed-iframe').value,
    reveal: document.getElementById('embed-reveal').value,
    link: document.getElementById('embed-link').value,
    png: document.getElementById('embed-png-link').href,
  }));
  // Valid HTML: it parses to exactly the element written, with the attributes asked for.
  const parsed = await page.evaluate((s) => {
    const doc = new DOMParser().parseFromString(`<body>${s.iframe}</body>`, 'text/html');
    const f = doc.body.firstElementChild;
    const r = new DOMParser().parseFromString(`<body>${s.reveal}</body>`, 'text/html').querySelector('section > iframe');
    return {
      n: doc.body.children.length,
      tag: f.tagName,
      src: f.getAttribute('src'),
      loading: f.getAttribute('loading'),
      title: f.getAttribute('title'),
      allow: f.getAttribute('allow'),
      roundTrip: f.outerHTML === s.iframe,
      revealSrc: r && r.getAttribute('data-src'),
    };
  }, snip);
  assert.equal(parsed.n, 1);
  assert.equal(parsed.tag, 'IFRAME');
  assert.equal(parsed.loading, 'lazy');
  assert.match(parsed.title, /tinyopt/);
  assert.match(parsed.allow, /cross-origin-isolated/);
  assert.ok(parsed.roundTrip, 'the snippet is what the browser serialises back');
  assert.equal(parsed.src, snip.link);
  assert.equal(parsed.revealSrc, snip.link);
  assert.match(snip.png, /^data:image\/png;base64,/);
  const png = Buffer.from(snip.png.split(',')[1], 'base64');
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  fs.writeFileSync(path.join(ARTIFACTS, 'embed-dialog-chart.png'), png);
  await page.screenshot({ path: path.join(ARTIFACTS, 'embed-dialog.png') });
  const want = await page.evaluate(() => ({ ...window.__tinyopt.state.settings, id: window.__tinyopt.state.view.recipe_id }));
  // Escape closes the dialog.
  await page.keyboard.press('Escape');
  assert.equal(await page.isVisible('#embed-dialog'), false);
  await page.close();

  // Pasted into a page elsewhere: the same settings and recipe.
  fs.writeFileSync(path.join(hostDir, 'pasted.html'), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notes</title></head><body><p>Course notes.</p>${snip.iframe}</body></html>`);
  const p2 = await newPage({ width: 1100, height: 700 });
  await p2.page.goto(hostBase + 'pasted.html');
  let frame;
  for (let i = 0; i < 150 && !(frame = embedFrame(p2.page, 'embed=1')); i++) await p2.page.waitForTimeout(100);
  assert.ok(frame);
  await ready(frame);
  const got = await frame.evaluate(() => ({ ...window.__tinyopt.state.settings, id: window.__tinyopt.state.view.recipe_id, view: document.body.dataset.view }));
  assert.equal(got.view, 'kv');
  for (const k of ['prompt', 'tokens', 'temp', 'seed', 'kv', 'id']) assert.deepEqual(got[k], want[k], k);
  assert.deepEqual(got.recipe, want.recipe);
  assert.deepEqual([...errors, ...p2.errors], []);
  await p2.page.close();
});

const VIEWS = ['kv', 'quantize', 'prune', 'profile', 'kernels'];

test('compact layout: every view fits 960×540 and 1280×720 without scrolling', async () => {
  for (const [width, height] of [
    [960, 540],
    [1280, 720],
  ]) {
    for (const view of VIEWS) {
      const { page, errors } = await newPage({ width, height });
      await page.goto(embedUrl(`view=${view}&embed=1&tokens=60&prune=0.4`));
      await ready(page);
      if (view === 'kv') {
        await page.click('#generate');
        await done(page);
        await page.uncheck('#kv');
        await page.click('#generate');
        await done(page);
      }
      await page.waitForTimeout(200);
      const fit = await fits(page);
      if (!fit.ok) await page.screenshot({ path: path.join(ARTIFACTS, `compact-${view}-${width}x${height}.png`) });
      assert.ok(fit.ok, `${view} at ${width}×${height} scrolls: ${JSON.stringify(fit)}`);
      // The help folds away behind the toggle, and comes back.
      assert.equal(await page.isVisible('.help-toggle'), true);
      await page.click('.help-toggle');
      assert.equal(await page.getAttribute('.help-toggle', 'aria-pressed'), 'true');
      assert.deepEqual(errors, []);
      await page.close();
    }
  }
});

test('presenter mode and themes: larger type, high contrast; hostile view values give the defaults', async () => {
  const { page, errors } = await newPage({ width: 1280, height: 720 });
  await page.goto(embedUrl('view=kv&embed=1&presenter=1&theme=dark&tokens=80'));
  await ready(page);
  await page.click('#generate');
  await done(page);
  const look = await page.evaluate(() => {
    const cs = getComputedStyle(document.documentElement);
    return { size: parseFloat(cs.fontSize), theme: document.documentElement.dataset.theme, bg: cs.getPropertyValue('--bg').trim(), fg: cs.getPropertyValue('--fg').trim() };
  });
  assert.ok(look.size >= 20, `font ${look.size}`);
  assert.deepEqual([look.theme, look.bg, look.fg], ['dark', '#000000', '#ffffff']);
  await page.screenshot({ path: path.join(ARTIFACTS, 'presenter-kv-1280x720.png') });
  await axeCheck(page, 'presenter, dark');
  await page.goto(embedUrl('view=kv&embed=1&presenter=1&theme=light'));
  await ready(page);
  await axeCheck(page, 'presenter, light');
  await page.screenshot({ path: path.join(ARTIFACTS, 'presenter-kv-light.png') });

  await page.goto(embedUrl('view=%3Cscript%3E&embed=1&presenter=maybe&theme=red&compact=2'));
  await ready(page);
  const v = await page.evaluate(() => ({
    view: document.body.dataset.view,
    presenter: document.documentElement.classList.contains('presenter'),
    compact: document.body.classList.contains('compact'),
    theme: document.documentElement.dataset.theme,
  }));
  assert.deepEqual(v, { view: 'kv', presenter: false, compact: true, theme: 'light' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('axe: no serious or critical violations in the embed, compact and presenter views', async () => {
  const { page } = await newPage({ width: 960, height: 540 });
  for (const q of ['view=kv&embed=1', 'view=kv&embed=1&compact=0', 'view=quantize&embed=1', 'view=prune&embed=1&theme=dark', 'view=profile&embed=1&presenter=1', 'view=kernels&embed=1']) {
    await page.goto(embedUrl(q));
    await ready(page);
    await axeCheck(page, q);
  }
  await page.close();
});
