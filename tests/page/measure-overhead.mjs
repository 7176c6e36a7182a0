// Measures how much of each generated token the page's loop costs: the decode speed
// the page shows (`#m-tps`: tokens after the first over their wall time) against the
// engine's own step rate (1000 / `#m-median`, the median step in ms), both from the
// same run. A ratio of 1 means the loop around the model costs nothing. `busy` is the
// share of the decode's wall time spent inside steps (Σ step ms / wall): the rest is
// the loop's; a ratio well below `busy` means slow outlier steps (on a loaded machine,
// the OS running something else mid-step), which the median leaves out and the wall
// does not.
//
//   node tests/page/measure-overhead.mjs [rounds=5] [tokens=255] [precisions=f32,int8-dynamic,int4]
//
// One tab per precision (set by the URL's `precision=`), KV cache on; the tabs take
// turns round by round so they share the machine's state. Each tab first makes one
// untimed run. Prints one JSON line per run, then per precision the medians with
// their min–max spread. Uses TINYOPT_URL (default http://127.0.0.1:8000/; several
// comma-separated URLs, e.g. two builds, are compared the same way, tab by tab) and
// /usr/bin/chromium (or CHROMIUM); saves a screenshot of the last tab to
// artifacts/measure-overhead.png.

import { artifact, generateOnce, launch, median } from './measure-util.mjs';

const rounds = Number(process.argv[2] || 5);
const tokens = Number(process.argv[3] || 255);
const precisions = (process.argv[4] || 'f32,int8-dynamic,int4').split(',');
const bases = (process.env.TINYOPT_URL || 'http://127.0.0.1:8000/').split(',');
const { browser, close } = await launch();

/** Generates once in `page` and reads the run's figures. */
async function run(page) {
  // A tab brought to the front repaints all of itself: let that finish first.
  await page.bringToFront();
  await page.waitForTimeout(300);
  await generateOnce(page);
  return page.evaluate(() => {
    const v = (id) => Number(document.getElementById(id).dataset.value);
    // The decode steps (after the first) over the wall span the page's tokens/s uses.
    const all = window.__tinyopt.state.run.steps;
    const span = all[all.length - 1].wall - all[0].wall;
    const busy = all.slice(1).reduce((a, s) => a + s.ms, 0) / span;
    return { tps: v('m-tps'), median_ms: v('m-median'), tokens: v('m-count'), busy };
  });
}

const pages = [];
for (const precision of precisions) {
  for (const base of bases) {
    const page = await browser.newPage();
    await page.goto(`${base}?prompt=%0A&tokens=${tokens}&temp=0.8&seed=42&kv=1&precision=${precision}`);
    await page.waitForFunction(
      () => document.body.dataset.phase === 'ready' && document.body.dataset.recipe === 'done',
      null,
      { timeout: 120000 },
    );
    await run(page); // untimed: the first run also pays for compiling the hot loops
    pages.push({ precision, base, page, rows: [] });
  }
}

for (let r = 0; r < rounds; r++) {
  for (const p of pages) {
    const m = await run(p.page);
    const row = { ...m, step_rate: 1000 / m.median_ms, ratio: m.tps / (1000 / m.median_ms) };
    p.rows.push(row);
    console.log(JSON.stringify({ round: r, precision: p.precision, base: p.base, ...row }));
  }
}

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
for (const p of pages) {
  const col = (k) => spread(p.rows.map((x) => x[k]));
  console.log(JSON.stringify({
    precision: p.precision, base: p.base, tokens, rounds,
    page_tps: col('tps'), step_rate: col('step_rate'), ratio: col('ratio'), busy: col('busy'),
  }));
}
await pages[pages.length - 1].page.screenshot({ path: artifact('measure-overhead.png'), fullPage: true });
await close();
