// A student's progress through the lessons, kept in this browser's localStorage (no
// account, no server): per step the prediction, the measured result and the checkpoint
// answer, plus the handle typed for the lab report. If storage is refused (private
// mode, quota), progress lives in memory for this visit and `note` says so.

const KEY = 'tinyopt-course/1';

function blank() {
  return { student: '', taken: [], steps: {} };
}

/** Reads what is stored, tolerating anything malformed (it starts afresh, with a note). */
export function openProgress(storage = globalThis.localStorage) {
  let data = blank();
  let note = '';
  try {
    const raw = storage.getItem(KEY);
    if (raw) {
      const parsed = JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && parsed.steps && typeof parsed.steps === 'object') {
        data = { ...blank(), ...parsed, taken: Array.isArray(parsed.taken) ? parsed.taken : [] };
      } else note = 'The saved progress could not be read, so it starts afresh.';
    }
  } catch (e) {
    note = `Progress cannot be saved in this browser (${(e && e.name) || 'storage refused'}): it lasts until you leave the page.`;
  }
  const save = () => {
    try {
      storage.setItem(KEY, JSON.stringify(data));
    } catch (e) {
      note = `Progress cannot be saved in this browser (${(e && e.name) || 'storage refused'}): it lasts until you leave the page.`;
    }
  };
  return {
    get note() {
      return note;
    },
    get student() {
      return data.student;
    },
    set student(v) {
      data.student = String(v).slice(0, 40);
      save();
    },
    /** Lesson ids in the order the student first worked on them. */
    taken: () => [...data.taken],
    /** The record of one step (a copy), or null. */
    step: (lesson, step) => (data.steps[`${lesson}/${step}`] ? { ...data.steps[`${lesson}/${step}`] } : null),
    /** Merges `patch` into the step's record and saves. */
    update(lesson, step, patch) {
      const k = `${lesson}/${step}`;
      data.steps[k] = { ...(data.steps[k] || {}), ...patch };
      if (!data.taken.includes(lesson)) data.taken.push(lesson);
      save();
    },
    /** Forgets everything but the handle. */
    reset() {
      data = { ...blank(), student: data.student };
      save();
    },
  };
}

/** Steps of `lesson` with a checkpoint answered: the lesson's progress. */
export function stepsDone(progress, lesson) {
  return lesson.steps.filter((s) => {
    const r = progress.step(lesson.id, s.id);
    return r && r.result && r.answer;
  }).length;
}
