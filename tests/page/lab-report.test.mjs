// The lab report across the faces (issue 19, item 4): a report drafted in the page from
// the worker's own recipe report is sealed and checked in wasm (worker tasks
// `labReportSeal` / `labReportCheck`), then verified natively by `tinyopt verify`
// on the shipped model, to the bit; the same file edited fails with the reason.
//
//   node --test tests/page/lab-report.test.mjs   (serve the page and build the release
//   CLI first: see harness.mjs)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useBrowser, openPage, ROOT, ARTIFACTS } from './harness.mjs';

const env = useBrowser();
const CLI = path.join(ROOT, 'target/release/tinyopt');

/** `tinyopt verify FILE` → {code, out}. */
function verify(file) {
  try {
    return { code: 0, out: execFileSync(CLI, ['verify', file], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    return { code: e.status, out: String(e.stdout) };
  }
}

test('a report sealed in the page verifies in the page and natively; an edited one fails', async () => {
  const { page, seen } = await openPage(env, '?build=simd128');
  const { sealed, verdict, badDraft } = await page.evaluate(async () => {
    const { runner, state } = window.__tinyopt;
    const run = async (name, args) => (await runner.run(name, args).promise).value;
    const recipe = { ...state.settings.recipe, quant: { ...state.settings.recipe.quant, precision: 'int8' } };
    const report = await run('recipe', { settings: { ...state.settings, recipe }, force: true });
    const fig = (name, v) => ({ name, label: name, unit: '', median: v, min: v, max: v, n: 1, recipe: report.recipe, recipe_id: report.recipe_id });
    const draft = {
      course: 'seed', lessons: ['quantization'], student: '<img src=x onerror=alert(1)>', timestamp: Math.floor(Date.now() / 1000),
      env: { browser: navigator.userAgent.slice(0, 200), engine_build: 'wasm simd128', build_why: 'asked for in the URL',
        cross_origin_isolated: self.crossOriginIsolated, isolated_by: 'server', timer_ms: null, threads: navigator.hardwareConcurrency || null, features: {} },
      model: 'teacher', model_sha256: '',
      steps: [{ lesson: 'quantization', step: 'int8-quality', question: 'What does int8 cost?',
        prediction: { kind: 'number', value: '0.01', number: 0.01, unit: 'nats', clamped: false },
        figures: [fig('kld', report.kld), fig('top1_agreement', report.top1_agreement), fig('weight_bytes', report.weight_bytes)],
        checkpoint: { question: 'Which is smaller?', answer: 'int8', correct: true }, completed: Math.floor(Date.now() / 1000) }],
    };
    const sealed = await run('labReportSeal', { draft: JSON.stringify(draft) });
    const checked = await run('labReportCheck', { text: sealed });
    let badDraft = '';
    try {
      await run('labReportSeal', { draft: '{"course": 1}' });
    } catch (e) {
      badDraft = e.message;
    }
    return { sealed, verdict: checked.verdict, badDraft };
  });
  assert.equal(verdict.passed, true, JSON.stringify(verdict.checks));
  assert.equal(verdict.status, 'verified');
  assert.match(verdict.checks.find((c) => c.name === 'recompute').detail, /^3 deterministic figures recomputed to the bit/);
  assert.match(badDraft, /malformed lab report/);
  assert.deepEqual(seen.errors, []);
  await page.close();

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'lab-report-page.json');
  fs.writeFileSync(file, sealed);
  const ok = verify(file);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /PASS \(verified\)/);
  assert.match(ok.out, /recompute +3 deterministic figures recomputed to the bit/);

  const edited = path.join(ARTIFACTS, 'lab-report-page-edited.json');
  fs.writeFileSync(edited, sealed.replace('"correct": true', '"correct": false'));
  const bad = verify(edited);
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /\[!!\] seal +report_sha256 is [0-9a-f]{64} but the report hashes to [0-9a-f]{64}: it was edited/);
});
