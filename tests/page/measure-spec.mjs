// Speculative decoding's K sweep in Chromium, measured: runs the page's own sweep
// (the model alone and K = 1..8, 3 alternating rounds of 128 greedy tokens) SWEEPS times
// and prints each K's median speedup over the sweeps with its min–max, and acceptance.
// The native counterpart: `tinyopt spec-sweep --tokens 128 --rounds 9`.
//
//   target/release/tinyopt serve --port 8801 &
//   TINYOPT_URL=http://127.0.0.1:8801/ SWEEPS=5 node tests/page/measure-spec.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from './harness.mjs';

const url = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const sweeps = Number(process.env.SWEEPS || 5);
const browser = await launchChromium(fs.mkdtempSync(path.join(os.tmpdir(), 'tinyopt-spec-')));
const page = await browser.newPage();
await page.goto(url + '?prompt=ROMEO%3A&temp=0&kv=1');
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 120000 });
const runs = [];
for (let i = 0; i < sweeps; i++) {
  await page.click('#spec-sweep');
  await page.waitForFunction(() => document.getElementById('spec-section').getAttribute('aria-busy') === 'true', null, { timeout: 10000 }).catch(() => {});
  await page.waitForFunction(() => document.getElementById('spec-section').getAttribute('aria-busy') === 'false', null, { timeout: 600000 });
  runs.push(await page.$$eval('#spec-table tbody tr', (rs) => rs.map((r) => ({
    k: r.dataset.k, speedup: Number(r.dataset.speedup), acceptance: r.cells[3].textContent, tps: r.cells[1].textContent,
  }))));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Chromium (headless, ${process.env.CHROMIUM || '/usr/bin/chromium'}), ${sweeps} sweeps of 3 rounds x 128 tokens`);
for (let j = 0; j < runs[0].length; j++) {
  const s = runs.map((r) => r[j].speedup);
  console.log(`K ${runs[0][j].k}: speedup median ${med(s).toFixed(3)} [${Math.min(...s).toFixed(3)}-${Math.max(...s).toFixed(3)}]  acceptance ${runs[0][j].acceptance}`);
}
await browser.close();
