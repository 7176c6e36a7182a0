// Measures data-free recovery (issue 22) in both faces with the same options: the Prune
// tab's "Recover" in Chromium (the worker, one step per slice) and `tinyopt recover`
// natively. Records each face's loss curve, steps/s and before/after top-1 / KL /
// perplexity, and whether the two faces' weights are identical after the same steps.
//
//   node tests/page/measure-recover.mjs KIND RATIO SECONDS [SEED=1337] [SAMPLES=64]
//
// TINYOPT_URL (default http://127.0.0.1:8000/), target/release/tinyopt for the native
// run. The page trains for SECONDS: after the warmup it fits the schedule's length N to the
// budget at the pace it measured (at most 100000 steps); the native run then replays the
// same schedule (--steps N) for exactly as many steps (--stop-at, so the weight hashes
// compare) and writes its model to
// artifacts/models/recovered-KIND-RATIO.safetensors. Writes artifacts/recover-KIND-RATIO.json.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './measure-util.mjs';
import { ROOT, ARTIFACTS } from './harness.mjs';

const [kind = 'unstructured', ratio = '0.7', seconds = '120', seed = '1337', samples = '64'] = process.argv.slice(2);
const base = process.env.TINYOPT_URL || 'http://127.0.0.1:8000/';
const { browser, close } = await launch();
const page = await browser.newPage();
await page.goto(`${base}?panel=prune${process.env.BUILD ? `&build=${process.env.BUILD}` : ''}`);
await page.waitForFunction(() => document.body.dataset.phase === 'ready', null, { timeout: 60000 });
await page.click('#tab-prune');
await page.waitForFunction(() => !document.getElementById('r-run').disabled, null, { timeout: 60000 });
await page.selectOption('#r-kind', kind);
await page.fill('#r-ratio', String(Math.round(Number(ratio) * 100)));
await page.fill('#r-steps', '100000');
await page.fill('#r-seconds', seconds);
await page.fill('#r-seed', seed);
await page.fill('#r-samples', samples);
await page.click('#r-run');
await page.waitForFunction(() => !document.getElementById('r-use').disabled, null, { timeout: (Number(seconds) + 600) * 1000, polling: 1000 });
const web = await page.evaluate(() => ({
  status: document.getElementById('r-status').textContent,
  before: ['top1', 'kld', 'ppl'].map((k) => Number(document.getElementById(`r-before-${k}`).dataset.value)),
  after: ['top1', 'kld', 'ppl'].map((k) => Number(document.getElementById(`r-after-${k}`).dataset.value)),
  steps: Number(document.getElementById('r-chart').dataset.points),
  sha256: document.getElementById('r-status').dataset.sha256,
  steps_total: Number(document.getElementById('r-status').dataset.stepsTotal),
  curve: JSON.parse(document.getElementById('r-chart').dataset.curve),
}));
const env = await page.textContent('#env-note').catch(() => '');
await close();

const steps = web.steps;
const trainS = Number(/([\d.]+) s of training/.exec(web.status)[1]);
const bin = path.join(ROOT, 'target/release/tinyopt');
fs.mkdirSync(path.join(ARTIFACTS, 'models'), { recursive: true });
const out = execFileSync(
  bin,
  ['recover', '--prune', ratio, '--prune-kind', kind, '--steps', String(web.steps_total), '--stop-at', String(steps), '--seed', seed, '--samples', samples, '--json',
    '--out', path.join(ARTIFACTS, 'models', `recovered-${kind}-${ratio}.safetensors`)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 },
);
const lines = out.trim().split('\n').map((l) => JSON.parse(l));
const curve = lines.filter((l) => l.loss !== undefined);
const native = {
  before: lines.find((l) => l.stage === 'pruned'),
  after: lines.find((l) => l.stage === 'recovered'),
  seconds: curve[curve.length - 1].seconds,
};
const nativeSha = native.after.weights_sha256;
const result = {
  kind, ratio: Number(ratio), seconds: Number(seconds), seed: Number(seed), samples: Number(samples), steps,
  web: { ...web, steps_per_s: steps / trainS, train_s: trainS, env },
  native: { ...native, steps_per_s: steps / native.seconds, weights_sha256: nativeSha, curve: curve.map((c) => [c.step, c.loss, c.kl]) },
  identical_weights: nativeSha === web.sha256,
};
fs.mkdirSync(ARTIFACTS, { recursive: true });
const file = path.join(ARTIFACTS, `recover-${kind}-${ratio}.json`);
fs.writeFileSync(file, JSON.stringify(result, null, 1));
console.log(JSON.stringify({ ...result, web: { ...result.web, curve: `${web.curve.length} points` }, native: { ...result.native, curve: `${curve.length} points` } }, null, 1));
console.log(`wrote ${file}`);
