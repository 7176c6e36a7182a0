// The lesson files against their schema (www/lesson-schema.js), without a browser: a
// malformed lesson (an action the runner lacks, a template naming a field the step does
// not read, a checkpoint with no right answer…) fails here, not in front of a student.

import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LESSONS, COURSES, DEFAULT_COURSE } from '../../www/lessons/courses.js';
import { checkLesson, checkCourses } from '../../www/lesson-schema.js';
import { ACTIONS } from '../../www/lesson-actions.js';
import { fillTemplate, clampPrediction, templateFields } from '../../www/lesson-runner.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../www/lessons');
const SEED = ['profiling', 'acceleration', 'quantization', 'compression', 'caching', 'benchmarking'];

test('every lesson file in www/lessons is in the course table and passes the schema', async () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.js') && f !== 'courses.js');
  assert.deepEqual(files.map((f) => f.replace(/\.js$/, '')).sort(), Object.keys(LESSONS).sort());
  for (const f of files) {
    const { default: lesson } = await import(path.join(DIR, f));
    assert.equal(lesson.id, f.replace(/\.js$/, ''), `${f}: the id is the file name`);
    assert.deepEqual(checkLesson(lesson), [], `${f} is malformed`);
  }
});

test('the courses: seed in the seed order, tinytorch numbered 14–19, every lesson once', () => {
  assert.deepEqual(checkCourses(COURSES, LESSONS), []);
  assert.equal(DEFAULT_COURSE, 'seed');
  assert.deepEqual(COURSES.seed.lessons.map((e) => e.id), SEED);
  assert.deepEqual(COURSES.tinytorch.lessons.map((e) => [e.number, e.id]), [
    ['14', 'profiling'], ['15', 'quantization'], ['16', 'compression'], ['17', 'acceleration'], ['18', 'caching'], ['19', 'benchmarking'],
  ]);
  for (const c of Object.values(COURSES)) assert.deepEqual([...c.lessons.map((e) => e.id)].sort(), [...SEED].sort());
  // Each course's hand-off names the lesson that follows in that order.
  for (const c of Object.values(COURSES)) {
    c.lessons.slice(0, -1).forEach((e, i) => {
      const next = c.lessons[i + 1];
      const text = e.handoff || LESSONS[e.id].handoff;
      const title = next.title || LESSONS[next.id].title;
      assert.ok(text.includes(`(${title})`), `${e.id} hands off to ${title} in this order: ${text}`);
    });
  }
});

test('step ids are unique within a lesson and lesson ids across the course', () => {
  assert.equal(new Set(Object.values(LESSONS).map((l) => l.id)).size, SEED.length);
  for (const l of Object.values(LESSONS)) assert.equal(new Set(l.steps.map((s) => s.id)).size, l.steps.length, l.id);
});

/** A valid step to break one piece at a time. */
function goodLesson() {
  const step = (id) => ({
    id,
    question: 'q?',
    prediction: { kind: 'number', prompt: 'p', field: 'bytes_ratio', min: 1, max: 8, step: 0.1, unit: '×', default: 2 },
    action: 'recipe',
    args: { query: 'precision=int8' },
    reads: ['bytes_ratio', 'kld'],
    explain: '{bytes_ratio} smaller, KL {kld}',
    checkpoint: { question: 'c?', options: [{ label: 'a', correct: true, feedback: 'yes' }, { label: 'b', correct: false, feedback: 'no' }] },
  });
  return { id: 'demo', title: 'Demo', question: 'Q', handoff: 'next', steps: ['a', 'b', 'c', 'd'].map(step) };
}

test('the course table check catches a missing lesson, a repeat and a missing number', () => {
  const bad = { x: { title: 'X', lessons: [{ id: 'profiling', number: '1' }, { id: 'nope', number: '2' }, { id: 'profiling' }] } };
  const p = checkCourses(bad, LESSONS);
  assert.ok(p.some((m) => /names lesson nope, which does not exist/.test(m)));
  assert.ok(p.some((m) => /appears twice/.test(m)));
  assert.ok(p.some((m) => /has no number/.test(m)));
});

test('the schema check catches each kind of malformed lesson, with a reason', () => {
  assert.deepEqual(checkLesson(goodLesson()), []);
  const cases = [
    ['an action the runner lacks', (l) => (l.steps[0].action = 'teleport'), /not in the runner's action table/],
    ['a read field the action does not give', (l) => l.steps[0].reads.push('warp_speed'), /does not give/],
    ['a template naming an unread field', (l) => (l.steps[1].explain = 'it is {weight_bytes}'), /does not read/],
    ['three steps', (l) => l.steps.pop(), /4–7 steps/],
    ['eight steps', (l) => l.steps.push(...['e', 'f', 'g', 'h'].map((id) => ({ ...l.steps[0], id }))), /4–7 steps/],
    ['duplicate step ids', (l) => (l.steps[1].id = 'a'), /not unique/],
    ['no correct option', (l) => (l.steps[2].checkpoint.options[0].correct = false), /exactly one correct/],
    ['two correct options', (l) => (l.steps[2].checkpoint.options[1].correct = true), /exactly one correct/],
    ['a default out of range', (l) => (l.steps[0].prediction.default = 99), /out of range/],
    ['min above max', (l) => (l.steps[0].prediction.min = 10), /min < max/],
    ['a unit that does not compare', (l) => (l.steps[0].prediction.unit = 'KiB'), /does not compare/],
    ['an unknown prediction kind', (l) => (l.steps[0].prediction.kind = 'slider'), /not number or choice/],
    ['a choice with one option', (l) => (l.steps[0].prediction = { kind: 'choice', prompt: 'p', field: 'recipe_id', options: [{ value: 'x', label: 'x' }] }), /at least two/],
    ['a prediction on an unread field', (l) => (l.steps[0].prediction.field = 'sparsity'), /does not read/],
    ['feedback missing', (l) => delete l.steps[3].checkpoint.options[1].feedback, /label and feedback/],
  ];
  for (const [what, breakIt, why] of cases) {
    const l = goodLesson();
    breakIt(l);
    const problems = checkLesson(l);
    assert.ok(problems.some((p) => why.test(p)), `${what}: expected ${why}, got ${JSON.stringify(problems)}`);
  }
});

test('every action the lessons name exists and declares a unit for each field', () => {
  for (const l of Object.values(LESSONS)) {
    for (const s of l.steps) {
      assert.ok(ACTIONS[s.action], `${l.id}/${s.id}`);
      for (const f of templateFields(s.explain)) assert.ok(ACTIONS[s.action].fields[f], `${l.id}/${s.id} {${f}}`);
    }
  }
});

test('templates are filled from the measured fields only; predictions are clamped and said', () => {
  assert.equal(fillTemplate('{bytes_ratio} smaller, {weight_bytes}, top-1 {top1_agreement}', { bytes_ratio: 3.7654, weight_bytes: 2048, top1_agreement: 0.95 }, 'recipe'),
    '3.77× smaller, 2 KiB, top-1 95 %');
  assert.equal(fillTemplate('{relaxed_gflops}', { relaxed_gflops: NaN }, 'kernels'), '—');
  const p = { min: 0, max: 100, unit: '%' };
  assert.deepEqual(clampPrediction(p, '150'), { value: '100', number: 100, clamped: true, note: '150 is outside 0–100 %: your prediction is kept as 100.' });
  assert.equal(clampPrediction(p, '42').clamped, false);
  assert.equal(clampPrediction(p, 'lots').number, null);
});
