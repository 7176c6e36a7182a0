// One lesson step on screen: the question, a prediction the student commits to (locked
// once committed), Measure (progress, Stop), the measured result next to the prediction,
// the explanation filled from the measured values, a checkpoint with feedback, then the
// next step or lesson. State lives in the progress store; this file only draws and wires.

import { el } from './dom.js';
import { runStep, fillTemplate, clampPrediction } from './lesson-runner.js';
import { figureText, shownOrder, predictionText, measuredText, comparison } from './lesson-text.js';

/** The lesson at a glance: each step's prediction, measurement and checkpoint. */
function summary(lesson, progress) {
  const head = el('tr', {}, ...['Step', 'You predicted', 'Measured', 'Checkpoint'].map((t) => el('th', { scope: 'col' }, t)));
  const rows = lesson.steps.map((s, i) => {
    const r = progress.step(lesson.id, s.id) || {};
    return el('tr', {},
      el('th', { scope: 'row' }, `${i + 1}. ${s.prediction.prompt}`),
      el('td', {}, r.prediction ? predictionText(s, r.prediction) : '—'),
      el('td', {}, r.result ? measuredText(s, r.result.fields) : '—'),
      el('td', {}, r.answer ? (r.answer.correct ? 'right' : 'not quite') : '—'));
  });
  return el('div', { class: 'table-wrap course-summary' },
    el('table', { id: 'lesson-summary' }, el('caption', {}, `${lesson.title}: your predictions against this browser’s measurements`),
      el('thead', {}, head), el('tbody', {}, ...rows)));
}

/** For instructors: this step's link and the iframe that embeds it in slides (as text). */
function share(ctx, index, step) {
  const abs = (params) => new URL(ctx.href({ step: String(index + 1), ...params }), location.href).href;
  const link = abs({ embed: null });
  const frame = `<iframe src="${abs({ embed: '1' }).replace(/&/g, '&amp;')}" width="960" height="540" loading="lazy" ` +
    `title="tinyopt: ${step.id.replace(/"/g, '')}" allow="cross-origin-isolated; clipboard-write" style="border:0;max-width:100%"></iframe>`;
  return el('details', { class: 'course-share' }, el('summary', {}, 'Link and embed for this step'),
    el('p', {}, 'Link: ', el('code', { id: 'lesson-share-link' }, link)),
    el('p', {}, 'Embed in slides (960×540 or 1280×720): ', el('code', { id: 'lesson-share-embed' }, frame)));
}

/**
 * Draws step `index` of `lesson` into `root`. `ctx`: {lesson, index, progress, lab,
 * href(params) -> link, numberOf(lessonId) -> label, next (the next lesson or null),
 * handoff (this course's hand-off text, or null: the lesson's), labHref(query),
 * footer(root) (draws the lab report offer)}.
 * Returns `{update()}`: re-reads whether the lab is ready.
 */
export function renderStep(root, ctx) {
  const { lesson, index, progress, lab } = ctx;
  const step = lesson.steps[index];
  const rec = () => progress.step(lesson.id, step.id) || {};
  root.textContent = '';

  const nav = el('nav', { class: 'course-steps', 'aria-label': `Steps of ${lesson.title}` },
    el('ol', {}, ...lesson.steps.map((s, i) => {
      const r = progress.step(lesson.id, s.id);
      const done = r && r.answer ? ' (done)' : '';
      const a = el('a', { href: ctx.href({ step: String(i + 1) }), 'data-nav': '', 'aria-current': i === index ? 'step' : null }, `${i + 1}${done ? ' ✓' : ''}`);
      a.setAttribute('aria-label', `Step ${i + 1}${done}`);
      return el('li', {}, a);
    })));
  const head = el('header', { class: 'course-lesson-head' },
    el('p', { class: 'course-crumbs' },
      el('a', { href: ctx.href({ lesson: null, step: null }), 'data-nav': '' }, 'Course home'), ' · ',
      `Lesson ${ctx.numberOf(lesson.id)}: ${lesson.title}`),
    el('h2', { id: 'lesson-h' }, `${lesson.title}: step ${index + 1} of ${lesson.steps.length}`),
    el('p', { class: 'course-lesson-q' }, lesson.question),
    nav);

  // --- the prediction
  const pr = step.prediction;
  const predNote = el('p', { class: 'course-note', role: 'status', id: 'lesson-pred-note' });
  const pred = el('fieldset', { class: 'course-predict' }, el('legend', {}, `1 · Predict: ${pr.prompt}`));
  let readPrediction;
  if (pr.kind === 'number') {
    const range = el('input', { type: 'range', id: 'lesson-pred-range', min: pr.min, max: pr.max, step: pr.step, value: pr.default, 'aria-label': `${pr.prompt} (slider)` });
    const num = el('input', { type: 'number', id: 'lesson-pred', min: pr.min, max: pr.max, step: pr.step, value: pr.default, inputmode: 'decimal' });
    range.addEventListener('input', () => (num.value = range.value));
    num.addEventListener('input', () => {
      if (Number.isFinite(Number(num.value))) range.value = num.value;
    });
    pred.append(el('div', { class: 'course-num' }, range,
      el('label', { for: 'lesson-pred' }, `Your prediction${pr.unit ? ` (${pr.unit})` : ''}`), num));
    readPrediction = () => clampPrediction(pr, num.value);
  } else {
    pred.append(...pr.options.map((o, i) => el('label', { class: 'course-option' },
      el('input', { type: 'radio', name: 'lesson-pred', value: o.value, id: `lesson-pred-${i}` }), ' ', o.label)));
    readPrediction = () => {
      const c = pred.querySelector('input[name="lesson-pred"]:checked');
      return c ? { value: c.value, number: null, clamped: false, note: '' } : { value: '', number: null, note: 'Pick one first.' };
    };
  }
  const commit = el('button', { type: 'button', id: 'lesson-commit', class: 'primary' }, 'Commit prediction');
  const locked = el('p', { class: 'course-locked', id: 'lesson-locked' });
  pred.append(commit, locked, predNote);

  // --- the measurement
  const measure = el('button', { type: 'button', id: 'lesson-measure', class: 'primary' }, '2 · Measure');
  const stop = el('button', { type: 'button', id: 'lesson-stop', disabled: true }, 'Stop');
  const progressBar = el('progress', { id: 'lesson-progress', hidden: true, 'aria-label': 'Measurement progress' });
  const mStatus = el('p', { class: 'course-status', id: 'lesson-status', role: 'status', 'aria-live': 'polite' });
  const mError = el('p', { class: 'error', id: 'lesson-error', role: 'alert' });
  const result = el('div', { class: 'course-result', id: 'lesson-result', hidden: true });
  const labLink = el('a', { href: ctx.labHref(step.lab || ''), class: 'course-lablink' }, 'Open this in the lab');
  const measureBox = el('section', { class: 'course-measure', 'aria-labelledby': 'lesson-measure-h' },
    el('h3', { id: 'lesson-measure-h' }, 'Measure it here, now'),
    el('div', { class: 'buttons' }, measure, stop, progressBar), mStatus, mError, result, el('p', {}, labLink), share(ctx, index, step));

  // --- the checkpoint
  const cp = step.checkpoint;
  const cpBox = el('fieldset', { class: 'course-check', id: 'lesson-check', hidden: true },
    el('legend', {}, `3 · Check: ${cp.question}`),
    ...shownOrder(step.id, cp.options.length).map((i) => el('label', { class: 'course-option' },
      el('input', { type: 'radio', name: 'lesson-check', value: String(i), id: `lesson-check-${i}` }), ' ', cp.options[i].label)));
  const checkBtn = el('button', { type: 'button', id: 'lesson-check-btn' }, 'Check my answer');
  const feedback = el('p', { class: 'course-feedback', id: 'lesson-feedback', role: 'status' });
  cpBox.append(checkBtn, feedback);

  // --- onwards
  const onwards = el('div', { class: 'course-next', id: 'lesson-next', hidden: true });

  root.append(head, el('section', { class: 'course-step', 'aria-labelledby': 'lesson-step-q' },
    el('p', { class: 'course-question', id: 'lesson-step-q' }, step.question), pred, measureBox, cpBox, onwards));

  // --- behaviour, from the stored record
  let running = null;
  function show() {
    const r = rec();
    const committed = Boolean(r.prediction);
    for (const i of pred.querySelectorAll('input')) i.disabled = committed;
    commit.hidden = committed;
    locked.textContent = committed ? `Your prediction (locked): ${predictionText(step, r.prediction)}.` : '';
    if (committed && pr.kind === 'number') {
      pred.querySelector('#lesson-pred').value = r.prediction.value;
      pred.querySelector('#lesson-pred-range').value = r.prediction.value;
    }
    if (committed && pr.kind === 'choice') {
      const c = pred.querySelector(`input[value="${CSS.escape(r.prediction.value)}"]`);
      if (c) c.checked = true;
    }
    if (r.result) {
      result.hidden = false;
      result.textContent = '';
      result.append(
        el('p', { class: 'course-compare', id: 'lesson-compare' }, comparison(step, r.prediction, r.result.fields)),
        el('p', { class: 'course-explain', id: 'lesson-explain' }, fillTemplate(step.explain, r.result.fields, step.action)),
        el('details', {}, el('summary', {}, 'The measured figures'),
          el('ul', { class: 'course-figures' }, ...r.result.figures.map((f) => el('li', {}, figureText(f))))));
    }
    cpBox.hidden = !r.result;
    if (r.answer) {
      for (const i of cpBox.querySelectorAll('input')) i.disabled = true;
      const c = cpBox.querySelector(`#lesson-check-${r.answer.index}`);
      if (c) c.checked = true;
      checkBtn.hidden = true;
      const o = cp.options[r.answer.index];
      feedback.textContent = `${o.correct ? 'Right.' : 'Not quite.'} ${o.feedback}`;
      feedback.dataset.correct = String(o.correct);
    }
    onwards.hidden = !r.answer;
    onwards.textContent = '';
    if (r.answer) {
      if (index + 1 < lesson.steps.length) {
        onwards.append(el('a', { class: 'button primary', id: 'lesson-next-link', href: ctx.href({ step: String(index + 2) }), 'data-nav': '' }, `Next: step ${index + 2}`));
      } else {
        onwards.append(summary(lesson, progress), el('p', { class: 'course-handoff', id: 'lesson-handoff' }, ctx.handoff || lesson.handoff));
        if (ctx.next) {
          onwards.append(el('a', { class: 'button primary', id: 'lesson-next-link', href: ctx.href({ lesson: ctx.next.id, step: '1' }), 'data-nav': '' },
            `Next lesson: ${ctx.numberOf(ctx.next.id)} ${ctx.next.title}`));
        }
        ctx.footer(onwards);
      }
    }
    update();
  }

  function update() {
    const r = rec();
    const ready = lab.ready();
    measure.disabled = !r.prediction || running !== null || !ready;
    if (!running) {
      if (!r.prediction) mStatus.textContent = 'Commit a prediction first: then measure.';
      else if (!ready) {
        const st = lab.state();
        mStatus.textContent = st.phase === 'broken'
          ? `The model could not be loaded: ${st.error || st.status} Reload the page to try again.`
          : st.status || 'The model is loading…';
      }
      else if (!r.result) mStatus.textContent = 'Ready to measure.';
      else mStatus.textContent = 'Measured. Measure again to repeat it (your prediction stays).';
    }
  }

  commit.addEventListener('click', () => {
    const p = readPrediction();
    predNote.textContent = p.note;
    if (p.value === '' || (pr.kind === 'number' && p.number === null)) return;
    progress.update(lesson.id, step.id, { prediction: { value: p.value, number: p.number, clamped: p.clamped } });
    show();
    measure.focus();
  });

  measure.addEventListener('click', async () => {
    if (running) return;
    mError.textContent = '';
    progressBar.hidden = false;
    progressBar.removeAttribute('value');
    stop.disabled = false;
    mStatus.textContent = 'Measuring…';
    running = runStep(lab, step, (done, total) => {
      progressBar.max = total;
      progressBar.value = done;
    });
    update();
    root.setAttribute('aria-busy', 'true');
    try {
      const r = await running.promise;
      progress.update(lesson.id, step.id, { result: { fields: r.fields, figures: r.figures }, completed: Date.now() });
    } catch (e) {
      mError.textContent = `The measurement did not finish: ${(e && e.message) || e}.`;
    } finally {
      running = null;
      progressBar.hidden = true;
      stop.disabled = true;
      root.setAttribute('aria-busy', 'false');
      show();
    }
  });
  stop.addEventListener('click', () => running && running.stop());

  checkBtn.addEventListener('click', () => {
    const c = cpBox.querySelector('input[name="lesson-check"]:checked');
    if (!c) {
      feedback.textContent = 'Pick an answer first.';
      return;
    }
    const i = Number(c.value);
    progress.update(lesson.id, step.id, { answer: { index: i, label: cp.options[i].label, correct: cp.options[i].correct === true } });
    show();
    const next = onwards.querySelector('a');
    if (next) next.focus();
  });

  show();
  return { update };
}
