// The one state object of the page, and its mirror in the URL query.
// Anything read back from a URL is untrusted: every field is validated and clamped,
// so a shared link can reproduce a run but cannot break the page. The recipe part is
// Rust's (`recipe.js`): the state holds its canonical nested object, and the URL its
// flat query (only the keys that differ from the defaults).

import { recipeFromQuery, recipeView } from './recipe.js';

/** Bounds and defaults of every reproducible setting. */
export const LIMITS = Object.freeze({
  tokens: { min: 1, max: 1024, def: 200 },
  temp: { min: 0, max: 2, def: 0.8 },
  seed: { min: 0, max: 4294967295, def: 42 },
  promptMaxChars: 2000,
  promptDefault: 'ROMEO:',
});

/** The panels `?panel=` may open (not part of the settings: it only picks a view). */
export const PANELS = Object.freeze(['quantize', 'prune', 'profile', 'kernels', 'benchmark']);

/** Keys that pick a view rather than a setting; the address keeps them as they are.
 *  (`build` picks the engine build: see engine.js.) */
const VIEW_KEYS = Object.freeze(['panel', 'embed', 'debug', 'view', 'compact', 'presenter', 'theme', 'build']);
/** Keys of the course view (course.js): while one is in the address, it owns the address. */
const COURSE_KEYS = Object.freeze(['course', 'lesson', 'step']);

// Model picker (issue 14): the ids `?model=` may name (models.js).
export { MODELS, MODEL_DEFAULT, parseModel, modelName } from './models.js';
import { MODEL_DEFAULT, parseModel } from './models.js';

/** The reproducible settings of a run with their defaults (`recipe`: none yet, the
 *  caller gets the canonical default from `recipeFromQuery('')`). */
export function defaults() {
  return {
    prompt: LIMITS.promptDefault,
    tokens: LIMITS.tokens.def,
    temp: LIMITS.temp.def,
    seed: LIMITS.seed.def,
    kv: true,
    model: MODEL_DEFAULT,
    recipe: null,
  };
}

/** A number from untrusted input: NaN/Infinity/garbage give the default, the rest is clamped. */
function clampNumber(raw, { min, max, def }, integer) {
  if (raw === null || raw === undefined || String(raw).trim() === '') return def;
  let x = Number(raw);
  if (!Number.isFinite(x)) return def;
  if (integer) x = Math.round(x);
  return Math.min(max, Math.max(min, x));
}

/** A boolean from untrusted input; only clear spellings count. */
function parseBool(raw, def) {
  if (raw === null || raw === undefined) return def;
  const s = String(raw).trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(s)) return true;
  if (['0', 'false', 'off', 'no'].includes(s)) return false;
  return def;
}

/** Makes any partial settings object valid (used for the URL and for the form). The
 *  recipe passes through: it only ever comes from the wasm module, already canonical. */
export function sanitize(raw) {
  const d = defaults();
  let prompt = typeof raw.prompt === 'string' ? raw.prompt : d.prompt;
  // Keep the text literal; only bound its length (the model decides what it accepts).
  if (prompt.length > LIMITS.promptMaxChars) prompt = prompt.slice(0, LIMITS.promptMaxChars);
  // Normalise line endings so the same link gives the same tokens everywhere.
  prompt = prompt.replace(/\r\n?/g, '\n');
  return {
    prompt,
    tokens: clampNumber(raw.tokens, LIMITS.tokens, true),
    temp: Math.round(clampNumber(raw.temp, LIMITS.temp, false) * 1000) / 1000,
    seed: clampNumber(raw.seed, LIMITS.seed, true),
    kv: typeof raw.kv === 'boolean' ? raw.kv : parseBool(raw.kv, d.kv),
    model: (parseModel(raw.model) || { id: d.model }).id,
    recipe: raw.recipe ?? d.recipe,
  };
}

/** The panel named by `?panel=`, or '' (hostile values open nothing special). */
export function panelFromQuery(search) {
  const p = new URLSearchParams(search).get('panel');
  return p && PANELS.includes(p.toLowerCase()) ? p.toLowerCase() : '';
}

/**
 * Settings from a query string such as `?prompt=ROMEO%3A&tokens=100&kv=0&precision=int8`:
 * `{settings, problems}`, where `problems` says (as plain text) which recipe values of
 * the link were not used. Keys nobody knows (old links) are ignored.
 */
export function fromQuery(search) {
  const q = new URLSearchParams(search);
  const view = recipeFromQuery(String(search));
  const settings = sanitize({
    prompt: q.has('prompt') ? q.get('prompt') : undefined,
    tokens: q.get('tokens'),
    temp: q.get('temp'),
    seed: q.get('seed'),
    kv: q.get('kv'),
    model: q.get('model'),
    recipe: view.recipe,
  });
  const problems = [...view.problems];
  if (q.has('model') && !parseModel(q.get('model'))) {
    const raw = q.get('model');
    problems.push(`model “${raw.length > 60 ? raw.slice(0, 59) + '…' : raw}” (not a model this page offers: ` +
      'teacher, student or random-L<layers>-D<width>; the teacher loads)');
  }
  return { settings, problems };
}

/** The query string that reproduces `s`: the run's keys, then the recipe's own query. */
export function toQuery(s) {
  const q = new URLSearchParams();
  q.set('prompt', s.prompt);
  q.set('tokens', String(s.tokens));
  q.set('temp', String(s.temp));
  q.set('seed', String(s.seed));
  q.set('kv', s.kv ? '1' : '0');
  q.set('model', s.model || MODEL_DEFAULT);
  const recipe = s.recipe ? recipeView(s.recipe).query : '';
  return '?' + q.toString() + (recipe ? '&' + recipe : '');
}

/** The link to `s` from the page at `search`: `toQuery(s)` plus the view keys (panel,
 *  embed, debug, view, compact, presenter, theme, build) of `search`. Anything else of `search` (old spellings) is dropped. */
export function linkFor(s, search) {
  const q = new URLSearchParams(toQuery(s));
  const keep = new URLSearchParams(search);
  for (const k of VIEW_KEYS) if (keep.has(k)) q.set(k, keep.get(k));
  return '?' + q.toString();
}

/** Mirrors the settings into the address bar without adding history entries. */
export function syncUrl(s, loc = window.location, hist = window.history) {
  const q = new URLSearchParams(loc.search);
  if (COURSE_KEYS.some((k) => q.has(k))) return;
  const next = linkFor(s, loc.search);
  if (loc.search !== next) hist.replaceState(null, '', loc.pathname + next + loc.hash);
}

/**
 * The page's single state object: the settings plus what the page has learned
 * (model info, the run in progress, the last finished run of each cache mode). The
 * settings start as the defaults with no recipe; the page fills them from its link
 * with `fromQuery` once the recipe rules (`loadRecipes`) are there.
 */
export function createState() {
  return {
    settings: defaults(),
    view: null, // the recipe's view (recipe_id, query, cli, values) from the wasm module
    linkProblems: [], // recipe values of the link that were not used (text)
    model: null, // {info, source, notice}
    phase: 'loading', // loading | ready | running | error
    status: 'Loading the model…',
    error: '',
    run: null, // the run in progress or the last one
    lastByMode: { on: null, off: null },
  };
}
