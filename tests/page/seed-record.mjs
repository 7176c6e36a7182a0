// Runs the benchmark suite (tinymlperf-v1) in the page's Benchmark tab, in headless
// Chromium, for each recipe query given, and saves the records it downloads: how the
// page-made records in leaderboard/ were produced (measured here, not written by hand).
//
//   TINYOPT_URL=http://127.0.0.1:8000/ node tests/page/seed-record.mjs OUTDIR HANDLE 'precision=int8' ...

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [outDir, handle, ...recipes] = process.argv.slice(2);
if (!outDir || !handle || recipes.length === 0) {
  console.error("usage: node tests/page/seed-record.mjs OUTDIR HANDLE 'recipe query' ...");
  process.exit(2);
}
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-seed-'));
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});
try {
  for (const q of recipes) {
    const page = await browser.newPage();
    await page.goto(`${base}?panel=benchmark&${q}`);
    await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 60000 });
    await page.waitForFunction(() => document.body.dataset.recipe === 'done', null, { timeout: 60000 });
    await page.fill('#b-handle', handle);
    await page.click('#b-run');
    await page.waitForFunction(() => /^Done|failed|Stopped/.test(document.getElementById('b-progress-text').textContent), null, { timeout: 600000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#b-download')]);
    const file = path.join(outDir, `${handle}-${download.suggestedFilename().replace(/^record-/, '')}`);
    await download.saveAs(file);
    console.log(`${q}: ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
