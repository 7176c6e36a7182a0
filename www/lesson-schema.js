// What a lesson file must be (docs/teaching.md explains it to instructors): checked by
// the tests for every lesson file, and by the page before it shows one, so a malformed
// lesson fails CI (or shows a note), never a student halfway through.

import { ACTIONS } from './lesson-actions.js';
import { templateFields, inPredictionUnit, fieldUnit } from './lesson-runner.js';

const ID = /^[a-z][a-z0-9-]{0,39}$/;
const str = (x) => typeof x === 'string' && x.trim().length > 0;

/** Problems of one step, as text (empty: valid). */
function checkStep(s, where) {
  const out = [];
  const bad = (m) => out.push(`${where}: ${m}`);
  if (!s || typeof s !== 'object') return [`${where}: not an object`];
  if (!ID.test(String(s.id))) bad(`id ${JSON.stringify(s.id)} is not a short lower-case id`);
  if (!str(s.question)) bad('no question');
  const action = ACTIONS[s.action];
  if (!action) bad(`action ${JSON.stringify(s.action)} is not in the runner's action table (${Object.keys(ACTIONS).join(', ')})`);
  if (s.args !== undefined && (typeof s.args !== 'object' || s.args === null)) bad('args must be an object');
  if (!Array.isArray(s.reads) || !s.reads.length) bad('reads names no result field');
  const reads = Array.isArray(s.reads) ? s.reads : [];
  if (action) for (const f of reads) if (!(f in action.fields)) bad(`reads ${f}, which ${s.action} does not give`);
  for (const key of ['explain', 'handoff']) {
    if (key === 'explain' && !str(s.explain)) bad('no explanation template');
    if (s[key] === undefined) continue;
    for (const f of templateFields(s[key])) if (!reads.includes(f)) bad(`${key} uses {${f}}, which the step does not read`);
  }
  const p = s.prediction;
  if (!p || typeof p !== 'object') bad('no prediction');
  else {
    if (!reads.includes(p.field)) bad(`prediction compares with ${JSON.stringify(p.field)}, which the step does not read`);
    if (!str(p.prompt)) bad('prediction has no prompt');
    if (p.kind === 'number') {
      const nums = [p.min, p.max, p.step, p.default];
      if (!nums.every(Number.isFinite) || !(p.min < p.max) || !(p.step > 0)) bad('number prediction needs min < max, step > 0 and a default');
      else if (p.default < p.min || p.default > p.max) bad('number prediction default is out of range');
      if (typeof p.unit !== 'string') bad('number prediction needs a unit (may be "")');
      else if (action && reads.includes(p.field) && inPredictionUnit(1, fieldUnit(s.action, p.field), p.unit) === null) {
        bad(`prediction unit ${JSON.stringify(p.unit)} does not compare with ${p.field} (${fieldUnit(s.action, p.field)})`);
      }
    } else if (p.kind === 'choice') {
      if (!Array.isArray(p.options) || p.options.length < 2) bad('choice prediction needs at least two options');
      else if (new Set(p.options.map((o) => o.value)).size !== p.options.length || !p.options.every((o) => str(o.value) && str(o.label))) {
        bad('choice options need distinct values and labels');
      }
    } else bad(`prediction kind ${JSON.stringify(p.kind)} is not number or choice`);
  }
  const c = s.checkpoint;
  if (!c || !str(c.question) || !Array.isArray(c.options) || c.options.length < 2) bad('checkpoint needs a question and at least two options');
  else {
    if (c.options.filter((o) => o.correct === true).length !== 1) bad('checkpoint needs exactly one correct option');
    if (!c.options.every((o) => str(o.label) && str(o.feedback))) bad('every checkpoint option needs a label and feedback');
  }
  return out;
}

/** Problems of a lesson object, as text (empty: valid). */
export function checkLesson(l) {
  if (!l || typeof l !== 'object') return ['the lesson is not an object'];
  const out = [];
  const where = `lesson ${JSON.stringify(l.id)}`;
  if (!ID.test(String(l.id))) out.push(`${where}: id is not a short lower-case id`);
  for (const k of ['title', 'question', 'handoff']) if (!str(l[k])) out.push(`${where}: no ${k}`);
  if (!Array.isArray(l.steps) || l.steps.length < 4 || l.steps.length > 7) {
    out.push(`${where}: needs 4–7 steps, has ${Array.isArray(l.steps) ? l.steps.length : 'none'}`);
  }
  const steps = Array.isArray(l.steps) ? l.steps : [];
  const ids = steps.map((s) => s && s.id);
  if (new Set(ids).size !== ids.length) out.push(`${where}: step ids are not unique`);
  steps.forEach((s, i) => out.push(...checkStep(s, `${where} step ${i + 1}`)));
  return out;
}

/** Problems of the course table against the lessons it names. */
export function checkCourses(courses, lessons) {
  const out = [];
  for (const [id, c] of Object.entries(courses)) {
    if (!str(c.title) || !Array.isArray(c.lessons) || !c.lessons.length) out.push(`course ${id}: needs a title and lessons`);
    for (const e of c.lessons || []) {
      if (!str(e.number)) out.push(`course ${id}: lesson ${e.id} has no number`);
      if (e.handoff !== undefined && !str(e.handoff)) out.push(`course ${id}: lesson ${e.id} has an empty handoff`);
    }
    for (const e of c.lessons || []) if (!lessons[e.id]) out.push(`course ${id}: names lesson ${e.id}, which does not exist`);
    const ids = (c.lessons || []).map((e) => e.id);
    if (new Set(ids).size !== ids.length) out.push(`course ${id}: a lesson appears twice`);
  }
  return out;
}
