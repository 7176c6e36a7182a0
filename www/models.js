// The models the page can run (issue 14): `?model=teacher|student|random-L<layers>-D<width>`.
// No imports: the worker validates the id again with the same rules.

/** The shipped models and the random sizes the picker offers (other valid random sizes
 *  from a link are accepted too). */
export const MODELS = Object.freeze([
  { id: 'teacher', label: 'Teacher · 4×128, shipped' },
  { id: 'student', label: 'Student · 2×96, distilled' },
  { id: 'random-L2-D64', label: 'Random weights · 2×64' },
  { id: 'random-L4-D128', label: 'Random weights · 4×128' },
  { id: 'random-L4-D256', label: 'Random weights · 4×256' },
  { id: 'random-L8-D512', label: 'Random weights · 8×512' },
]);
export const MODEL_DEFAULT = 'teacher';

/** `{id, kind, nLayer, dModel}` for a valid model id, else null. Random sizes follow the
 *  wasm module's rule: 1–16 layers, a width that is a multiple of 32 up to 1024. */
export function parseModel(raw) {
  if (typeof raw !== 'string') return null;
  if (raw === 'teacher' || raw === 'student') return { id: raw, kind: raw };
  const m = /^random-L([0-9]{1,2})-D([0-9]{2,4})$/.exec(raw);
  if (!m) return null;
  const nLayer = Number(m[1]);
  const dModel = Number(m[2]);
  if (nLayer < 1 || nLayer > 16 || dModel % 32 !== 0 || dModel < 32 || dModel > 1024) return null;
  return { id: `random-L${nLayer}-D${dModel}`, kind: 'random', nLayer, dModel };
}

/** A model's name for labels: "teacher", "student", "random weights 4×256"; also the
 *  running models no link can name: "recovered model" (Prune tab's Recover), "your file". */
export function modelName(id) {
  if (id === 'recovered') return 'recovered model';
  if (id === 'file') return 'your file';
  const p = parseModel(id);
  if (!p) return String(id);
  return p.kind === 'random' ? `random weights ${p.nLayer}×${p.dModel}` : p.kind;
}

/** The shipped model files, relative to www/. */
export const MODEL_FILES = Object.freeze({
  teacher: '../models/shakespeare-char.safetensors',
  student: '../models/student-distilled.safetensors',
});
