// Measures the page's own figures for the KV-cache comparison, the way a student would
// get them: N tokens from a one-character prompt, cache on then off, several rounds.
//
//   node tests/page/measure.mjs [rounds=3] [tokens=255]
//
// Uses TINYOPT_URL (default http://127.0.0.1:8000/) and /usr/bin/chromium (or CHROMIUM).
// Prints one JSON line per run and a summary with the median tokens/s of each mode;
// saves a screenshot of the last round to artifacts/measure.png.

import { artifact, generateOnce, launch, median } from './measure-util.mjs';

const rounds = Number(process.argv[2] || 3);
const tokens = Number(process.argv[3] || 255);
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const { browser, close } = await launch();
const page = await browser.newPage();
await page.goto(`${base}?prompt=%0A&tokens=${tokens}&temp=0.8&seed=42&kv=1`);
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 60000 });

const results = { on: [], off: [] };
for (let r = 0; r < rounds; r++) {
  for (const kv of [true, false]) {
    if ((await page.isChecked('#kv')) !== kv) await page.click('#kv');
    await generateOnce(page);
    const m = await page.evaluate(() => {
      const v = (id) => Number(document.getElementById(id).dataset.value);
      return { tps: v('m-tps'), median_ms: v('m-median'), ttft_ms: v('m-ttft'), tokens: v('m-count'), kv_bytes: v('m-kv') };
    });
    results[kv ? 'on' : 'off'].push(m.tps);
    console.log(JSON.stringify({ round: r, kv_cache: kv, ...m }));
  }
}
const on = median(results.on);
const off = median(results.off);
console.log(JSON.stringify({ tokens, rounds, median_tps_cache_on: on, median_tps_cache_off: off, ratio: on / off }));
await page.screenshot({ path: artifact('measure.png'), fullPage: true });
await close();
