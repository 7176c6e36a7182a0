// The page tests' shared launch: finds (or starts) a server for the page, launches
// Debian's Chromium through playwright-core, and opens the page. A test file calls
// `useBrowser()` once at the top level, which registers the before/after hooks.
//
// TINYOPT_URL (default http://127.0.0.1:8000/) is where the page is served; if nothing
// answers there (and TINYOPT_URL is unset) the repository is served with
// `python3 -m http.server` on a free port. CHROMIUM overrides /usr/bin/chromium.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'artifacts');

async function answers(url) {
  try {
    return (await fetch(new URL('index.html', url))).ok;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/** A static host of the plainest kind for the built site `root` (dist/): files with a
 *  Content-Type and no other headers (no COOP/COEP: the service worker must isolate the
 *  page); .wasm and .safetensors get application/octet-stream, as careless hosts do.
 *  Every path asked for is pushed to `served`. */
export function plainHost(root, served = []) {
  return http.createServer((req, res) => {
    let p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (p.endsWith('/')) p += 'index.html';
    const file = path.join(root, path.normalize(p));
    served.push(p);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
}

/** Debian's Chromium (or CHROMIUM), headless, with a fresh profile in `userDataDir`;
 *  `options` adds playwright context options (e.g. `acceptDownloads`). */
export function launchChromium(userDataDir, viewport = { width: 1280, height: 800 }, options = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    ...options,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}

/** Registers the hooks; returns `{base(), browser()}`, valid once the hooks ran, and
 *  also hands them to `onReady(base, browser)` at the end of the launch. */
export function useBrowser({ viewport = { width: 1280, height: 800 }, onReady = null } = {}) {
  let base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
  let server = null;
  let browser = null;
  let userDataDir = null;
  before(async () => {
    if (!base.endsWith('/')) base += '/';
    if (!(await answers(base))) {
      if (process.env.TINYOPT_URL) throw new Error(`nothing serves the page at TINYOPT_URL=${base}`);
      const port = await freePort();
      server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: ROOT, stdio: 'ignore' });
      base = `http://127.0.0.1:${port}/`;
      for (let i = 0; i < 50 && !(await answers(base)); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(await answers(base), 'the fallback static server did not start');
    }
    for (const pkg of ['www/pkg/tinyopt.js', 'www/pkg-relaxed/tinyopt.js']) {
      assert.ok((await fetch(new URL(pkg, base))).ok, `${pkg} is not served: run scripts/build.sh first`);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-chromium-'));
    browser = await launchChromium(userDataDir, viewport);
    if (onReady) onReady(base, browser);
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) server.kill();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });
  return { base: () => base, browser: () => browser };
}

export async function waitReady(page, timeout = 60000) {
  await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout });
}

/** Waits for the end of a generation in a page or frame and the frame that draws it;
 *  returns the status line. `polling` (ms) looks less often than every frame (the measuring scripts). */
export async function waitDone(page, timeout = 120000, polling = 'raf') {
  await page.waitForFunction(
    () => document.body.dataset.phase === 'ready' && /^(Done|Stopped)/.test(document.getElementById('status').textContent),
    null,
    { timeout, polling },
  );
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  return page.textContent('#status');
}

/** Opens the page at `query` and waits until it is ready; records page errors and the
 *  URLs it requested. */
export async function openPage(env, query = '') {
  const page = await env.browser().newPage();
  const seen = { errors: [], requests: [] };
  page.on('pageerror', (e) => seen.errors.push(e.message));
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('dialog', (d) => d.dismiss().catch(() => {}));
  await page.goto(env.base() + query);
  await waitReady(page);
  return { page, seen };
}

/** Runs the Kernels tab's "Compare exact and relaxed" and returns its rows' figures
 *  (`relaxedRows` of www/relaxed-panel.js: one per precision, bits included). */
export async function compareExactAndRelaxed(page, timeout = 600000) {
  await page.click('#kr-run');
  await page.waitForFunction(
    () => {
      const rows = document.querySelectorAll('#kr-table tbody tr');
      return !document.getElementById('kr-run').disabled && rows.length === 3 && [...rows].every((r) => JSON.parse(r.dataset.figures).bits);
    },
    null,
    { timeout, polling: 50 },
  );
  return page.$$eval('#kr-table tbody tr', (trs) => trs.map((tr) => JSON.parse(tr.dataset.figures)));
}

/** Runs axe-core on `page`; fails on serious or critical violations, printing them (what
 *  axe cannot decide alone is printed, not failed). */
export async function axeCheck(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const { found, review } = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations', 'incomplete'] });
    const serious = (list) =>
      list
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
    return { found: serious(r.violations), review: serious(r.incomplete) };
  });
  if (review.length) console.log(`axe needs review, ${where}: ${review.map((v) => `${v.id} (${v.nodes.length})`).join(', ')}`);
  if (found.length) console.log(`axe, ${where}:\n${JSON.stringify(found, null, 2)}`);
  assert.deepEqual(found.map((v) => `${v.impact} ${v.id}`), [], `axe found serious or critical violations on ${where}`);
}
