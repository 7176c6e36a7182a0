// Phones and tablets: at 390×844 and 820×1180 every tab of the page, the course home and
// a measured lesson step are usable: no
// sideways scrolling, every interactive control at least 44 px tall (a fingertip), and
// the charts fit the screen at a readable size. In Chromium's device emulation (touch,
// no hover) and in WebKitGTK at the same window size (webdriver.mjs).
//
//   TINYOPT_URL=http://127.0.0.1:8873/ node --test tests/page/phone.test.mjs
//   TINYOPT_ENGINES=chromium ...   (default: chromium,webkit)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { launch } from './webdriver.mjs';
import { ARTIFACTS } from './harness.mjs';

let base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
if (!base.endsWith('/')) base += '/';
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'tablet', width: 820, height: 1180 },
];
const TABS = ['quantize', 'prune', 'profile', 'kernels', 'benchmark'];
const engines = (process.env.TINYOPT_ENGINES || 'chromium,webkit').split(',').filter((e) => e === 'chromium' || e === 'webkit');

/** Runs in the page: what a fingertip cannot use on the visible part of the page. A
 *  checkbox or radio counts by its label (the label is what a finger taps); links inside
 *  running text are exempt, as WCAG's target-size rule exempts them. */
const AUDIT = `
  const seen = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const doc = document.documentElement;
  const out = { width: innerWidth, overflow: doc.scrollWidth - doc.clientWidth, small: [], charts: [], wide: [] };
  const controls = document.querySelectorAll('button, select, textarea, input, summary, [role="tab"], a[href]');
  for (const el of controls) {
    if (!seen(el) || el.type === 'hidden' || el.closest('[hidden]')) continue;
    if (el.tagName === 'A' && el.closest('p, li, td, figcaption, small, .help, .note')) continue;
    let target = el;
    if (el.type === 'checkbox' || el.type === 'radio') target = el.closest('label') || (el.labels && el.labels[0]) || el;
    const r = target.getBoundingClientRect();
    if (r.height < 44 - 0.5) out.small.push((el.id || el.tagName.toLowerCase() + (el.textContent ? ':' + el.textContent.trim().slice(0, 20) : '')) + ' ' + Math.round(r.height) + 'px');
  }
  for (const el of document.querySelectorAll('canvas, svg.chart, .chart svg, [role="img"]')) {
    if (!seen(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 40) continue; // an icon, not a chart
    out.charts.push({ id: el.id, width: Math.round(r.width), height: Math.round(r.height), right: Math.round(r.right) });
  }
  for (const el of document.querySelectorAll('body *')) {
    if (!seen(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > doc.clientWidth + 1 && getComputedStyle(el).position !== 'fixed' && !el.closest('.table-scroll, [data-scroll-x]')) {
      out.wide.push((el.id || el.tagName.toLowerCase()) + ' ' + Math.round(r.right));
      if (out.wide.length > 8) break;
    }
  }
  return out;`;

/** Every problem `a` (an AUDIT result) shows at `width`, as sentences. */
function problems(where, a, width) {
  const out = [];
  if (a.overflow > 0) out.push(`${where}: the page scrolls sideways by ${a.overflow} px (${a.wide.join(', ')})`);
  if (a.small.length) out.push(`${where}: controls under 44 px tall: ${a.small.join(', ')}`);
  for (const c of a.charts) {
    if (c.right > width + 1) out.push(`${where}: chart ${c.id} runs off the screen (${JSON.stringify(c)})`);
    if (c.width < Math.min(300, width - 48) || c.height < 120) out.push(`${where}: chart ${c.id} is too small to read (${JSON.stringify(c)})`);
  }
  return out;
}

const checkAll = (where, results, width) =>
  assert.deepEqual(Object.entries(results).flatMap(([tab, a]) => problems(`${where} ${tab}`, a, width)), []);

/** Opens each tab in turn (after one generation, so the charts have data) and audits it. */
async function auditTabs(where, { go, run, click, shot }) {
  await go(base + '?prompt=ROMEO%3A&tokens=30&temp=0');
  await run(`return new Promise((r) => { const t = setInterval(() => { if (document.body.dataset.phase === 'ready') { clearInterval(t); r(); } }, 100); })`);
  await click('#generate');
  await run(`return new Promise((r) => { const t = setInterval(() => { if (/^Done/.test(document.getElementById('status').textContent)) { clearInterval(t); r(); } }, 100); })`);
  const results = { page: await run(AUDIT) };
  await shot('page');
  for (const tab of TABS) {
    await click(`#tab-${tab}`);
    await run('return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))');
    results[tab] = await run(AUDIT);
  }
  // The course: its home, and a lesson step predicted and measured.
  const waitFor = (cond) => run(`return new Promise((r) => { const t = setInterval(() => { if (${cond}) { clearInterval(t); r(); } }, 100); })`);
  await go(base + '?course=seed');
  await waitFor(`document.getElementById('course-list')`);
  results['course home'] = await run(AUDIT);
  await go(base + '?course=seed&lesson=quantization&step=1');
  await waitFor(`document.body.dataset.phase === 'ready' && document.getElementById('lesson-commit')`);
  await click('#lesson-commit');
  await waitFor(`!document.getElementById('lesson-measure').disabled`);
  await click('#lesson-measure');
  await waitFor(`!document.getElementById('lesson-result').hidden || document.getElementById('lesson-error').textContent`);
  results['lesson step'] = await run(AUDIT);
  await shot('lesson');
  return results;
}

describe('phones and tablets', () => {
  if (engines.includes('chromium')) {
    describe('chromium (device emulation: touch, no hover)', () => {
      let browser;
      before(async () => {
        browser = await chromium.launch({
          executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
          headless: true,
          args: ['--no-sandbox', '--disable-gpu'],
        });
      });
      after(async () => browser && (await browser.close()));
      for (const size of SIZES) {
        test(`${size.name} ${size.width}×${size.height}`, async () => {
          const ctx = await browser.newContext({ viewport: { width: size.width, height: size.height }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
          const page = await ctx.newPage();
          assert.equal(await page.evaluate(() => matchMedia('(hover: none) and (pointer: coarse)').matches), true, 'emulated touch, no hover');
          const results = await auditTabs(`chromium ${size.name}`, {
            go: (u) => page.goto(u),
            run: (s) => page.evaluate(new Function(s)),
            click: (sel) => page.tap(sel),
            shot: (n) => page.screenshot({ path: path.join(ARTIFACTS, `phone-chromium-${size.width}-${n}.png`), fullPage: true }),
          });
          await ctx.close();
          checkAll(`chromium ${size.name}`, results, size.width);
        });
      }
    });
  }
  if (engines.includes('webkit')) {
    describe('webkit (window rect)', () => {
      let b;
      before(async () => {
        b = await launch('webkit');
      });
      after(async () => b && (await b.close()));
      for (const size of SIZES) {
        test(`${size.name} ${size.width}×${size.height}`, async () => {
          await b.topFrame();
          await b.go('about:blank');
          const got = await b.setViewport(size.width, size.height);
          // MiniBrowser's window cannot be narrower than its toolbar (about 450 px): below
          // that the page runs in a frame of exactly the size, which is the viewport its
          // media queries and layout see.
          const framed = got[0] !== size.width;
          if (!framed) assert.deepEqual(got, [size.width, size.height], 'the viewport size');
          const go = async (u) => {
            if (!framed) return b.go(u);
            await b.topFrame();
            const host = `<!doctype html><body style="margin:0"><iframe id="f" src="${u}" style="border:0;display:block;width:${size.width}px;height:${size.height}px"></iframe>`;
            await b.go('data:text/html,' + encodeURIComponent(host));
            await b.frame('#f');
          };
          /** The whole page: as tall a frame (or window) as the page, for the shot. */
          const shot = async (n) => {
            const file = path.join(ARTIFACTS, `phone-webkit-${size.width}-${n}.png`);
            if (!framed) return b.screenshot(file, { full: true });
            const tall = await b.run('return document.documentElement.scrollHeight');
            await b.topFrame();
            await b.run(`document.getElementById('f').style.height = arguments[0] + 'px'`, tall);
            await b.screenshot(file, { full: true });
            await b.run(`document.getElementById('f').style.height = arguments[0] + 'px'`, size.height);
            await b.frame('#f');
          };
          const results = await auditTabs(`webkit ${size.name}`, { go, run: (s) => b.runAsync(s), click: (sel) => b.click(sel), shot });
          assert.equal(results.page.width, size.width, 'the page laid out at the size');
          checkAll(`webkit ${size.name}`, results, size.width);
        });
      }
    });
  }
});
