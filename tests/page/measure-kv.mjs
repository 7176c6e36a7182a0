// Measures each KV-cache precision the way a student gets it: pick it in the KV-cache
// area (the recipe is rebuilt and its quality measured), then a greedy decode with the
// cache on; precisions alternate within each round.
//
//   node tests/page/measure-kv.mjs [rounds=5] [tokens=200]
//
// Uses TINYOPT_URL (default http://127.0.0.1:8000/) and /usr/bin/chromium (or CHROMIUM).
// Prints one JSON line per run, then per precision the median tokens/s with its min–max,
// the ratio to f32 (medians of the per-round ratios), the cache bytes, their share of
// f32, and the KL / top-1 of the cache alone. Screenshot: artifacts/measure-kv.png.

import { artifact, generateOnce, launch, median } from './measure-util.mjs';

const rounds = Number(process.argv[2] || 5);
const tokens = Number(process.argv[3] || 200);
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const PRECISIONS = ['f32', 'f16', 'int8'];
const { browser, close } = await launch();
const page = await browser.newPage();
await page.goto(`${base}?prompt=ROMEO%3A&tokens=${tokens}&temp=0&seed=42&kv=1`);
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 60000 });

/** Picks `p` and waits until the recipe report for it has arrived. */
async function pick(p) {
  await page.selectOption('#kv-precision', p);
  await page.waitForFunction((want) => document.getElementById('kv-kprec').textContent === want, p, { timeout: 120000 });
}

const lines = [];
for (let r = 0; r < rounds; r++) {
  for (const p of r % 2 ? [...PRECISIONS].reverse() : PRECISIONS) {
    await pick(p);
    await generateOnce(page);
    const m = await page.evaluate(() => {
      const v = (id) => Number(document.getElementById(id).dataset.value);
      return {
        tps: v('m-tps'),
        kv_bytes: v('kv-bytes'),
        kv_share: v('kv-share'),
        kv_kld: v('kv-kld'),
        kv_top1: v('kv-top1'),
        text: document.getElementById('out-gen').textContent,
      };
    });
    const line = { round: r, kv_precision: p, ...m, text: m.text.slice(0, 40) };
    lines.push(line);
    console.log(JSON.stringify(line));
  }
}
console.log(JSON.stringify({ environment: await page.textContent('#env-note') }));
const f32 = lines.filter((l) => l.kv_precision === 'f32');
for (const p of PRECISIONS) {
  const mine = lines.filter((l) => l.kv_precision === p);
  const tps = mine.map((l) => l.tps);
  const ratios = mine.map((l) => l.tps / f32.find((x) => x.round === l.round).tps);
  const spread = (xs) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`;
  console.log(JSON.stringify({
    kv_precision: p, rounds: mine.length, tokens,
    tokens_per_s: spread(tps), over_f32: spread(ratios),
    kv_bytes: mine[0].kv_bytes, kv_share_of_f32: mine[0].kv_share, kv_kld: mine[0].kv_kld, kv_top1: mine[0].kv_top1,
  }));
}
await page.screenshot({ path: artifact('measure-kv.png'), fullPage: false });
await close();
