// The course home: the lessons in the chosen course's order with the student's
// progress, the course switch, the handle for lab reports, and Reset.

import { el } from './dom.js';
import { stepsDone } from './course-progress.js';

/** `ctx`: {courses, courseId, lessons, progress, href(params), footer(root), onReset()}. */
export function renderHome(root, ctx) {
  const course = ctx.courses[ctx.courseId];
  root.textContent = '';
  const list = el('ol', { class: 'course-list', id: 'course-list' }, ...course.lessons.map((e) => {
    const l = ctx.lessons[e.id];
    const done = stepsDone(ctx.progress, l);
    const state = done === 0 ? 'not started' : done === l.steps.length ? 'done' : `${done} of ${l.steps.length} steps done`;
    return el('li', { 'data-lesson': l.id, 'data-done': String(done) },
      el('a', { href: ctx.href({ lesson: l.id, step: '1' }), 'data-nav': '', class: 'course-lesson-link' }, `${e.number} · ${e.title || l.title}`),
      el('span', { class: 'course-progress-text' }, ` — ${state}`),
      el('p', { class: 'course-lesson-q' }, l.question));
  }));
  const other = Object.keys(ctx.courses).filter((k) => k !== ctx.courseId);
  const reset = el('button', { type: 'button', id: 'course-reset' }, 'Reset my progress');
  const resetNote = el('p', { class: 'course-note', role: 'status', id: 'course-reset-note' });
  // Two clicks: a slip of the finger should not wipe a course's work.
  reset.addEventListener('click', () => {
    if (reset.dataset.armed !== 'true') {
      reset.dataset.armed = 'true';
      reset.textContent = 'Click again to forget all predictions, results and answers';
      return;
    }
    ctx.progress.reset();
    ctx.onReset();
    const n = document.getElementById('course-reset-note');
    if (n) n.textContent = 'Progress reset: predictions, results and answers are forgotten.';
  });
  root.append(
    el('h2', { id: 'course-h' }, course.title),
    el('p', {}, 'Six lessons, each a few steps: predict a figure, measure it live in this browser with the same engine as the lab, compare, and check what it means. Progress stays in this browser.'),
    list,
    el('p', {}, 'Other order: ', ...other.map((k) => el('a', { href: ctx.href({ course: k, lesson: null, step: null }), 'data-nav': '' }, ctx.courses[k].title))),
    el('div', { class: 'buttons' }, reset),
    resetNote,
  );
  ctx.footer(root);
}
