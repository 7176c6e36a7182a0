// The course in a real Chromium: every lesson walked end to end as a student would
// (predict, commit, measure live, read the result, answer the checkpoint, next), axe on
// every step, progress surviving a reload, bad links falling back with a note, the
// phone and tablet layouts, the step embed; and (once the report branch's labReportSeal
// task is merged) a course report that `tinyopt verify` accepts and a tampered one it
// rejects. Prints how long each lesson's walk took on this machine.
//
//   TINYOPT_URL=http://127.0.0.1:<port>/ node --test tests/page/course.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { useBrowser, waitReady, axeCheck, ARTIFACTS, ROOT } from './harness.mjs';
import { LESSONS, COURSES } from '../../www/lessons/courses.js';

const env = useBrowser();
const shot = (page, name, fullPage = true) => page.screenshot({ path: path.join(ARTIFACTS, `course-${name}.png`), fullPage });
const MEASURE_MS = 15 * 60 * 1000;

async function open(query, viewport) {
  const page = await env.browser().newPage();
  if (viewport) await page.setViewportSize(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(env.base() + query);
  await waitReady(page, 120000);
  return { page, errors };
}

/** Predicts (a mid value, or the first choice), commits, measures, and answers the
 *  checkpoint (`wrong`: a wrong option); returns what the page showed. */
async function walkStep(page, lesson, i, { wrong = false, before = null, after = null } = {}) {
  const step = lesson.steps[i];
  await page.waitForSelector('#lesson-commit', { state: 'visible' });
  assert.equal(await page.textContent('#lesson-step-q'), step.question);
  if (step.prediction.kind === 'number') await page.fill('#lesson-pred', String(step.prediction.default));
  else await page.check('#lesson-pred-0');
  assert.ok(await page.isDisabled('#lesson-measure'), 'Measure waits for a committed prediction');
  await page.click('#lesson-commit');
  assert.ok(await page.isDisabled('#lesson-commit') || !(await page.isVisible('#lesson-commit')), 'the prediction locks');
  assert.match(await page.textContent('#lesson-locked'), /locked/);
  if (before) await before();
  await page.waitForFunction(() => !document.getElementById('lesson-measure').disabled, null, { timeout: 120000 });
  await page.click('#lesson-measure');
  await page.waitForFunction(
    () => !document.getElementById('lesson-result').hidden || document.getElementById('lesson-error').textContent,
    null,
    { timeout: MEASURE_MS, polling: 250 },
  );
  assert.equal(await page.textContent('#lesson-error'), '', `${lesson.id} step ${i + 1} measured without an error`);
  const shown = {
    compare: await page.textContent('#lesson-compare'),
    explain: await page.textContent('#lesson-explain'),
  };
  assert.match(shown.compare, /^Measured: /);
  if (after) await after();
  assert.doesNotMatch(shown.explain, /\{[a-z_]+\}/, 'every placeholder is filled');
  // The stored figures back the text: measured, finite, with their spread.
  const rec = await page.evaluate(([l, s]) => JSON.parse(localStorage.getItem('tinyopt-course/1')).steps[`${l}/${s}`], [lesson.id, step.id]);
  assert.ok(rec.result.figures.length > 0);
  for (const f of rec.result.figures) {
    assert.ok(Number.isFinite(f.median) && f.min <= f.median && f.median <= f.max && f.n >= 1, `${lesson.id}/${step.id} ${f.label}: ${JSON.stringify(f)}`);
  }
  const pick = step.checkpoint.options.findIndex((o) => o.correct === !wrong);
  await page.check(`#lesson-check-${pick}`);
  await page.click('#lesson-check-btn');
  assert.match(await page.textContent('#lesson-feedback'), wrong ? /^Not quite\./ : /^Right\./);
  await axeCheck(page, `${lesson.id} step ${i + 1}`);
  return shown;
}

test('every lesson of the seed course, walked end to end; progress survives a reload', { timeout: 60 * 60 * 1000 }, async () => {
  const { page, errors } = await open('?course=seed');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.waitForSelector('#course-list li');
  assert.deepEqual(await page.$$eval('#course-list li', (li) => li.map((x) => x.dataset.lesson)), COURSES.seed.lessons.map((e) => e.id));
  await axeCheck(page, 'the course home');
  await shot(page, 'home');
  await page.click('#course-list li:first-child a');
  const times = [];
  for (const [n, entry] of COURSES.seed.lessons.entries()) {
    const lesson = LESSONS[entry.id];
    const t0 = Date.now();
    for (let i = 0; i < lesson.steps.length; i++) {
      const before = i === 0 ? () => shot(page, `${lesson.id}-before`) : null;
      const after = i === 0 ? () => shot(page, `${lesson.id}-after`) : null;
      await walkStep(page, lesson, i, { wrong: n === 0 && i === 0, before, after });
      if (i + 1 === lesson.steps.length) {
        // The lesson's end: every step's prediction against its measurement.
        const rows = await page.$$eval('#lesson-summary tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
        assert.equal(rows.length, lesson.steps.length);
        for (const r of rows) assert.ok(r[1] !== '—' && r[2] !== '' && r[3] !== '—', `${lesson.id} summary row ${JSON.stringify(r)}`);
        if (n === 2) await shot(page, `${lesson.id}-end`);
      }
      if (i + 1 < lesson.steps.length || n + 1 < COURSES.seed.lessons.length) {
        await page.click('#lesson-next-link');
        await page.waitForFunction((k) => new URLSearchParams(location.search).get('step') === String(k), i + 1 < lesson.steps.length ? i + 2 : 1);
      }
    }
    times.push([lesson.id, (Date.now() - t0) / 1000]);
    console.log(`walk: ${lesson.id}, ${lesson.steps.length} steps, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (n === 0) {
      // A reload (the page and the model start afresh) keeps what was done.
      await page.reload();
      await waitReady(page, 120000);
      await page.waitForSelector('#lesson-commit', { state: 'attached' });
      assert.equal(await page.textContent('#lesson-step-q'), LESSONS[COURSES.seed.lessons[1].id].steps[0].question);
      await page.goto(env.base() + `?course=seed&lesson=${lesson.id}&step=1`);
      await waitReady(page, 120000);
      assert.ok(!(await page.isHidden('#lesson-result')), 'the stored result shows after a reload');
      assert.match(await page.textContent('#lesson-locked'), /locked/);
      assert.match(await page.textContent('#lesson-feedback'), /^Not quite\./);
      await page.goto(env.base() + `?course=seed&lesson=${COURSES.seed.lessons[1].id}&step=1`);
      await waitReady(page, 120000);
    }
  }
  console.log(`walk total: ${times.reduce((s, [, t]) => s + t, 0).toFixed(1)} s`);
  // The end of the course: the handoff and the report offer.
  assert.match(await page.textContent('#lesson-next'), /Download your lab report/);
  assert.ok(await page.isVisible('#course-report-course'));
  await page.goto(env.base() + '?course=seed');
  await waitReady(page, 120000);
  const done = await page.$$eval('#course-list li', (li) => li.map((x) => Number(x.dataset.done)));
  assert.deepEqual(done, COURSES.seed.lessons.map((e) => LESSONS[e.id].steps.length));
  await shot(page, 'home-done');
  // The whole course's lab report, sealed in the page, verifies natively to the bit.
  await page.fill('#course-student', 'walk');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#course-report-course')]);
  const file = path.join(ARTIFACTS, 'course-full-lab-report.json');
  await download.saveAs(file);
  const sealed = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(sealed.lessons, COURSES.seed.lessons.map((e) => e.id));
  assert.equal(sealed.steps.length, COURSES.seed.lessons.reduce((n, e) => n + LESSONS[e.id].steps.length, 0));
  const t1 = Date.now();
  const out = execFileSync(path.join(ROOT, 'target/release/tinyopt'), ['verify', '--models', path.join(ROOT, 'models'), file], { encoding: 'utf8' });
  assert.match(out, /PASS/);
  console.log(`full course report: ${sealed.steps.length} steps, ${sealed.steps.reduce((n, st) => n + st.figures.length, 0)} figures, verified natively in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('tinytorch order and numbers; bad course, lesson and step values fall back with a note; clamping is said', async () => {
  const { page } = await open('?course=tinytorch');
  const items = await page.$$eval('#course-list li a', (a) => a.map((x) => x.textContent));
  assert.deepEqual(items.map((t) => t.split(' · ')[0]), ['14', '15', '16', '17', '18', '19']);
  assert.match(items[4], /Memoization/);
  const hostile = '<img src=x onerror=alert(1)>';
  for (const [q, note] of [
    [`?course=${encodeURIComponent(hostile)}`, /There is no course “<img src=x onerror=alert\(1\)>”/],
    [`?lesson=${encodeURIComponent(hostile)}`, /There is no lesson “<img/],
    ['?lesson=caching&step=99', /steps 1–4, not “99”: step 1 is shown/],
    ['?lesson=caching&step=-1', /not “-1”/],
    ['?step=2', /A step needs a lesson/],
  ]) {
    await page.goto(env.base() + q);
    await page.waitForSelector('#course-notes p');
    assert.match(await page.textContent('#course-notes'), note, q);
    assert.equal(await page.$$eval('#course-notes img', (x) => x.length), 0, 'shown as text');
  }
  // Every step carries its link and embed for instructors.
  await page.goto(env.base() + '?course=seed&lesson=caching&step=2');
  await page.waitForSelector('#lesson-share-link', { state: 'attached' });
  assert.equal(await page.textContent('#lesson-share-link'), `${env.base()}?course=seed&lesson=caching&step=2`);
  assert.match(await page.textContent('#lesson-share-embed'), /^<iframe src="[^"]*lesson=caching&amp;step=2&amp;embed=1" width="960" height="540"/);
  // A prediction out of its range is clamped to it, and the page says so.
  await page.goto(env.base() + '?course=seed&lesson=profiling&step=3');
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.waitForSelector('#lesson-pred');
  await page.fill('#lesson-pred', '150');
  await page.click('#lesson-commit');
  assert.match(await page.textContent('#lesson-pred-note'), /150 is outside 0–100 %: your prediction is kept as 100/);
  assert.match(await page.textContent('#lesson-locked'), /100 %/);
  // Reset forgets it.
  await page.goto(env.base() + '?course=seed');
  await page.click('#course-reset');
  assert.ok(await page.evaluate(() => Object.keys(JSON.parse(localStorage.getItem('tinyopt-course/1')).steps).length > 0), 'one click does not reset');
  await page.click('#course-reset');
  assert.match(await page.textContent('#course-reset-note'), /Progress reset/);
  assert.equal(await page.evaluate(() => Object.keys(JSON.parse(localStorage.getItem('tinyopt-course/1')).steps).length), 0);
  // The lab page points a new student at the course.
  await page.goto(env.base());
  await waitReady(page);
  assert.ok(await page.isVisible('#course-start-link'));
  await shot(page, 'lab-start-here', false);
  assert.ok(await page.isHidden('#course'));
  await page.close();
});

test('storage refused (private mode): the course still works, with a note', async () => {
  const page = await env.browser().newPage();
  await page.addInitScript(() => {
    const refuse = () => {
      throw new DOMException('denied', 'SecurityError');
    };
    Object.defineProperty(window, 'localStorage', { get: refuse });
  });
  await page.goto(env.base() + '?course=seed&lesson=caching&step=1');
  await page.waitForSelector('#course-notes p');
  assert.match(await page.textContent('#course-notes'), /Progress cannot be saved in this browser \(SecurityError\)/);
  await page.fill('#lesson-pred', '3');
  await page.click('#lesson-commit');
  assert.match(await page.textContent('#lesson-locked'), /locked/);
  await page.close();
});

test('phone and tablet: no horizontal overflow, controls at least 44 px tall; a step embed at 960×540 and 1280×720', async () => {
  for (const [w, h] of [[390, 844], [820, 1180]]) {
    const { page } = await open('?course=seed&lesson=quantization&step=2', { width: w, height: h });
    const r = await page.evaluate(() => {
      const small = [...document.querySelectorAll('.course button, .course a.button, .course input, .course-steps a, .course-lesson-link')]
        .filter((e) => e.offsetParent !== null && e.type !== 'radio')
        .filter((e) => e.getBoundingClientRect().height < 44)
        .map((e) => e.id || e.textContent);
      return { overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, small };
    });
    assert.ok(r.overflow <= 0, `${w}×${h}: ${r.overflow} px of horizontal overflow`);
    assert.deepEqual(r.small, [], `${w}×${h}: controls under 44 px`);
    if (w === 390) await shot(page, 'phone-390x844', false);
    await page.close();
  }
  for (const [w, h] of [[960, 540], [1280, 720]]) {
    const { page } = await open('?course=seed&lesson=quantization&step=2&embed=1', { width: w, height: h });
    assert.ok(await page.evaluate(() => document.body.classList.contains('compact') && document.body.dataset.course === 'lesson'));
    assert.ok(await page.isVisible('#lesson-pred'), 'the prediction is in view');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `embed ${w}×${h}: horizontal overflow`);
    await axeCheck(page, `the step embed at ${w}×${h}`);
    await shot(page, `embed-${w}x${h}`, false);
    if (w === 960) {
      // "Predict, then measure" with the class: the result fits beside the prediction.
      await page.click('#lesson-commit');
      await page.waitForFunction(() => !document.getElementById('lesson-measure').disabled, null, { timeout: 60000 });
      await page.click('#lesson-measure');
      await page.waitForFunction(() => !document.getElementById('lesson-result').hidden, null, { timeout: 120000 });
      await shot(page, 'embed-960x540-measured', false);
    }
    await page.close();
  }
});

test('Stop ends a measurement with a clear note; the step can be measured again', async () => {
  const { page } = await open('?course=seed&lesson=acceleration&step=1');
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await waitReady(page, 120000);
  await page.click('#lesson-commit');
  await page.waitForFunction(() => !document.getElementById('lesson-measure').disabled, null, { timeout: 60000 });
  await page.click('#lesson-measure');
  await page.waitForFunction(() => !document.getElementById('lesson-stop').disabled);
  await page.click('#lesson-stop');
  await page.waitForFunction(() => document.getElementById('lesson-error').textContent, null, { timeout: 60000 });
  assert.match(await page.textContent('#lesson-error'), /did not finish: stopped before it finished/);
  assert.ok(await page.isHidden('#lesson-result'), 'nothing half-measured is shown as a result');
  await page.waitForFunction(() => !document.getElementById('lesson-measure').disabled, null, { timeout: 60000 });
  await page.close();
});

test('a step embedded in an iframe keeps the postMessage API: ready, status and results answer', async () => {
  const page = await env.browser().newPage();
  await page.setViewportSize({ width: 1000, height: 600 });
  const src = `${env.base()}?course=seed&lesson=caching&step=1&embed=1`;
  await page.setContent(`<!doctype html><title>host</title><iframe src="${src}" width="960" height="540" title="step"></iframe>`);
  await page.evaluate(() => {
    window.got = [];
    window.addEventListener('message', (e) => window.got.push(e.data));
  });
  await page.waitForFunction(() => window.got.some((m) => m.type === 'tinyopt:ready'), null, { timeout: 120000 });
  await page.evaluate(() => document.querySelector('iframe').contentWindow.postMessage({ type: 'tinyopt:get' }, '*'));
  await page.waitForFunction(() => window.got.some((m) => m.type === 'tinyopt:results'), null, { timeout: 30000 });
  const results = await page.evaluate(() => window.got.find((m) => m.type === 'tinyopt:results'));
  assert.equal(results.phase, 'ready');
  const frame = page.frames().find((f) => f.url().startsWith(env.base()));
  assert.equal(await frame.textContent('#lesson-step-q'), LESSONS.caching.steps[0].question);
  await page.close();
});

// A lab report made in the page verifies natively (`tinyopt verify`); an edited one fails.
test('a lab report from the page verifies natively; a tampered one fails', { timeout: 20 * 60 * 1000 }, async () => {
  const { page } = await open('?course=seed&lesson=quantization&step=1');
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await waitReady(page, 120000);
  const lesson = LESSONS.quantization;
  for (const i of [0, 4]) {
    await page.goto(env.base() + `?course=seed&lesson=quantization&step=${i + 1}`);
    await waitReady(page, 120000);
    await walkStep(page, lesson, i);
  }
  await page.goto(env.base() + '?course=seed');
  await waitReady(page, 120000);
  await page.fill('#course-student', 'ada <b>');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#course-report-course')]);
  assert.equal(download.suggestedFilename(), 'lab-report-course-ada__b_.json');
  assert.match(await page.textContent('#course-report-status'), /Saved as lab-report-course-ada__b_\.json/);
  const file = path.join(ARTIFACTS, 'course-lab-report.json');
  await download.saveAs(file);
  const sealed = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(sealed.schema, 'tinyopt-lab-report/1');
  assert.equal(sealed.student, 'ada <b>');
  assert.deepEqual(sealed.lessons, ['quantization']);
  assert.deepEqual(sealed.steps.map((s) => s.step), ['f16-bytes', 'int4-quality']);
  assert.match(sealed.model_sha256, /^[0-9a-f]{64}$/);
  const CLI = path.join(ROOT, 'target/release/tinyopt');
  execFileSync(CLI, ['verify', '--models', path.join(ROOT, 'models'), file], { encoding: 'utf8' });
  const bad = JSON.parse(fs.readFileSync(file, 'utf8'));
  bad.steps[0].figures[0].median *= 1.5;
  const tampered = path.join(ARTIFACTS, 'course-lab-report-tampered.json');
  fs.writeFileSync(tampered, JSON.stringify(bad));
  assert.throws(() => execFileSync(CLI, ['verify', '--models', path.join(ROOT, 'models'), tampered], { encoding: 'utf8', stdio: 'pipe' }), /failed verification/);
  await page.close();
});
