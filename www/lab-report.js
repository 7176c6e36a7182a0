// The lab report (schema tinyopt-lab-report/1, docs/lab-reports.md): the draft built from
// the stored progress and this page's environment, sealed by the engine (worker task
// `labReportSeal`, one definition in Rust), downloaded as a file.

import { environment } from './env-note.js';
import { detectFeatures } from './features.js';
import { downloadText } from './dom.js';

/** The report's `env`, from what the page's env note shows. */
export function reportEnv(state) {
  const e = environment(state);
  const engine = state.model && state.model.engine ? state.model.engine : {};
  const threads = Number(navigator.hardwareConcurrency);
  return {
    browser: e.browser,
    engine_build: engine.name || '',
    build_why: engine.why || '',
    cross_origin_isolated: e.isolated,
    isolated_by: e.isolatedBy || '',
    timer_ms: e.timerMs,
    threads: Number.isInteger(threads) && threads > 0 ? threads : null,
    features: Object.fromEntries(Object.entries(detectFeatures()).map(([k, v]) => [k, v.ok])),
  };
}

/** The unsealed report of `lessonIds` (in that order) from `progress`. */
export function buildDraft({ course, lessonIds, lessons, progress, state }) {
  const steps = [];
  for (const id of lessonIds) {
    for (const s of lessons[id].steps) {
      const r = progress.step(id, s.id);
      if (!r || !r.result) continue;
      const p = r.prediction || {};
      steps.push({
        lesson: id,
        step: s.id,
        question: s.question,
        prediction: { kind: s.prediction.kind, value: String(p.value ?? ''), number: Number.isFinite(p.number) ? p.number : null, unit: s.prediction.unit || '', clamped: Boolean(p.clamped) },
        // A figure this browser could not measure (e.g. relaxed SIMD absent) is left out.
        figures: r.result.figures.filter((f) => [f.median, f.min, f.max].every(Number.isFinite)),
        checkpoint: r.answer ? { question: s.checkpoint.question, answer: r.answer.label, correct: r.answer.correct } : null,
        completed: Math.floor((r.completed || Date.now()) / 1000),
      });
    }
  }
  return {
    schema: 'tinyopt-lab-report/1',
    course,
    lessons: lessonIds.filter((id) => steps.some((s) => s.lesson === id)),
    student: progress.student,
    timestamp: Math.floor(Date.now() / 1000),
    env: reportEnv(state),
    model: (state.settings && state.settings.model) || '',
    model_sha256: '',
    steps,
    report_sha256: '',
  };
}

/** A handle or id as a file-name part. */
const filePart = (s) => String(s).replace(/[^\w-]/g, '_').slice(0, 40) || 'anonymous';

/** Seals the draft through the worker and downloads it; resolves to the file name, or
 *  rejects with a message fit for the page. */
export async function sealAndDownload(runner, draft, scope) {
  if (!draft.steps.length) throw new Error('Nothing measured yet: finish a step first.');
  let text;
  try {
    ({ value: text } = await runner.run('labReportSeal', { draft: JSON.stringify(draft) }).promise);
  } catch (e) {
    const m = (e && e.message) || String(e);
    if (/unknown task/.test(m)) throw new Error('This build cannot seal lab reports yet (the engine has no labReportSeal task); update the page and try again.');
    throw new Error(`The report could not be sealed: ${m}`);
  }
  if (typeof text !== 'string') throw new Error('The model changed before the report was sealed: try again.');
  const name = `lab-report-${filePart(scope)}-${filePart(draft.student)}.json`;
  downloadText(name, text);
  return name;
}
