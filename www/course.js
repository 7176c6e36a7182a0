// The course on the page: reads `?course=`, `?lesson=`, `&step=` (untrusted: unknown
// values fall back with a visible note), and shows the course home or a lesson step in
// place of the lab, on the same worker and model (`lab`, from main.js). Without those keys
// the lab shows, with a "start here" pointer to the course. Moving between steps keeps
// the page (and the loaded model): links are followed with history.pushState.

import { LESSONS, COURSES, DEFAULT_COURSE } from './lessons/courses.js';
import { checkLesson } from './lesson-schema.js';
import { openProgress } from './course-progress.js';
import { renderStep } from './lesson-view.js';
import { renderHome } from './course-home.js';
import { buildDraft, sealAndDownload } from './lab-report.js';
import { el } from './dom.js';

const KEYS = ['course', 'lesson', 'step'];
const shown = (s) => (s.length > 40 ? `${s.slice(0, 39)}…` : s);

/** What the address asks for: `{mode: 'lab'|'home'|'lesson', course, lesson, step, notes}`. */
export function courseFromQuery(search) {
  const q = new URLSearchParams(String(search));
  const notes = [];
  const has = KEYS.some((k) => q.has(k));
  let course = (q.get('course') || '').trim().toLowerCase();
  if (q.has('course') && !Object.hasOwn(COURSES, course)) {
    notes.push(`There is no course “${shown(q.get('course'))}”; the ${DEFAULT_COURSE} order is shown (courses: ${Object.keys(COURSES).join(', ')}).`);
  }
  if (!Object.hasOwn(COURSES, course)) course = DEFAULT_COURSE;
  if (!has) return { mode: 'lab', course, lesson: null, step: 0, notes };
  const id = (q.get('lesson') || '').trim().toLowerCase();
  if (!q.has('lesson')) {
    if (q.has('step')) notes.push('A step needs a lesson (?lesson=<id>&step=N): here is the course home.');
    return { mode: 'home', course, lesson: null, step: 0, notes };
  }
  if (!Object.hasOwn(LESSONS, id)) {
    notes.push(`There is no lesson “${shown(q.get('lesson'))}”; here is the course home.`);
    return { mode: 'home', course, lesson: null, step: 0, notes };
  }
  const problems = checkLesson(LESSONS[id]);
  if (problems.length) {
    notes.push(`The lesson “${id}” is malformed (${problems[0]}); here is the course home.`);
    return { mode: 'home', course, lesson: null, step: 0, notes };
  }
  const n = LESSONS[id].steps.length;
  const raw = q.get('step');
  let step = 0;
  if (raw !== null) {
    const k = Number(raw);
    if (Number.isInteger(k) && k >= 1 && k <= n) step = k - 1;
    else notes.push(`The ${LESSONS[id].title} lesson has steps 1–${n}, not “${shown(raw)}”: step 1 is shown.`);
  }
  return { mode: 'lesson', course, lesson: id, step, notes };
}

/** `lab`: {runner, ready(), settings(), recipeOf(query), generate(settings), stopGenerate(),
 *  state()}. Returns `{update()}` for main.js to call when the model's phase changes. */
export function setupCourse(lab) {
  const section = document.getElementById('course');
  const start = document.getElementById('course-start');
  const progress = openProgress(safeStorage());
  let view = null;

  const href = (params) => {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(params)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    if (!q.has('course')) q.set('course', courseFromQuery(location.search).course);
    return `${location.pathname}?${q.toString()}`;
  };
  const labHref = (query) => `${location.pathname}${query ? (query.startsWith('?') ? query : `?${query}`) : ''}`;

  function footer(root, route) {
    const lessonIds = COURSES[route.course].lessons.map((e) => e.id);
    const handle = el('input', { id: 'course-student', type: 'text', maxlength: '40', autocomplete: 'nickname', value: progress.student, spellcheck: 'false' });
    handle.addEventListener('change', () => (progress.student = handle.value.trim()));
    const status = el('p', { class: 'course-note', role: 'status', id: 'course-report-status' });
    const buttons = [];
    const offer = (label, id, scope, ids) => {
      const b = el('button', { type: 'button', id }, label);
      b.addEventListener('click', async () => {
        progress.student = handle.value.trim();
        status.textContent = 'Sealing the report…';
        try {
          const draft = buildDraft({ course: route.course, lessonIds: ids, lessons: LESSONS, progress, state: lab.state() });
          const name = await sealAndDownload(lab.runner, draft, scope);
          status.textContent = `Saved as ${name}: hand this file in; tinyopt verify checks it.`;
        } catch (e) {
          status.textContent = (e && e.message) || String(e);
        }
      });
      buttons.push(b);
    };
    if (route.lesson) offer(`Download the ${LESSONS[route.lesson].title} lab report`, 'course-report-lesson', route.lesson, [route.lesson]);
    const taken = progress.taken();
    const order = [...taken.filter((id) => lessonIds.includes(id)), ...lessonIds.filter((id) => !taken.includes(id))];
    offer('Download the course lab report', 'course-report-course', 'course', order);
    root.append(el('section', { class: 'course-report', 'aria-labelledby': 'course-report-h' },
      el('h3', { id: 'course-report-h' }, 'Lab report'),
      el('p', {}, 'Your predictions, the measured figures with their spread and your answers, sealed by the engine so an instructor can verify them.'),
      el('div', { class: 'field' }, el('label', { for: 'course-student' }, 'Your handle (as your instructor asked, up to 40 characters)'), handle),
      el('div', { class: 'buttons' }, ...buttons), status));
  }

  function show(focus) {
    const route = courseFromQuery(location.search);
    document.body.dataset.course = route.mode;
    if (start) start.hidden = route.mode !== 'lab';
    section.hidden = route.mode === 'lab';
    view = null;
    if (route.mode === 'lab') return;
    const order = COURSES[route.course].lessons;
    const numberOf = (id) => (order.find((e) => e.id === id) || { number: '' }).number;
    const notes = [...route.notes, progress.note].filter(Boolean);
    const noteBox = el('div', { class: 'course-notes', id: 'course-notes', role: 'status' }, ...notes.map((n) => el('p', { class: 'notice' }, n)));
    const body = el('div', { class: 'course-body' });
    section.textContent = '';
    section.append(noteBox, body);
    if (route.mode === 'home') {
      renderHome(body, { courses: COURSES, courseId: route.course, lessons: LESSONS, progress, href, footer: (r) => footer(r, route), onReset: () => show(false) });
    } else {
      const i = order.findIndex((e) => e.id === route.lesson);
      const nextEntry = i >= 0 && i + 1 < order.length ? order[i + 1] : null;
      view = renderStep(body, {
        lesson: LESSONS[route.lesson],
        index: route.step,
        progress,
        lab,
        href,
        numberOf,
        next: nextEntry ? LESSONS[nextEntry.id] : null,
        handoff: i >= 0 ? order[i].handoff || null : null,
        labHref,
        footer: (r) => footer(r, route),
      });
    }
    if (focus) {
      const h = section.querySelector('h2');
      if (h) {
        h.tabIndex = -1;
        h.focus();
      }
    }
  }

  section.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-nav]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    history.pushState(null, '', a.getAttribute('href'));
    show(true);
    window.scrollTo(0, 0);
  });
  window.addEventListener('popstate', () => show(true));
  show(false);
  return { update: () => view && view.update(), active: () => courseFromQuery(location.search).mode !== 'lab' };
}

/** localStorage, or a stand-in that refuses (reading it can throw in private modes). */
function safeStorage() {
  try {
    return window.localStorage;
  } catch (e) {
    const refuse = () => {
      throw e;
    };
    return { getItem: refuse, setItem: refuse };
  }
}
