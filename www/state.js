// The one state object of the page, and its mirror in the URL query.
// Anything read back from a URL is untrusted: every field is validated and clamped,
// so a shared link can reproduce a run but cannot break the page.

/** Bounds and defaults of every reproducible setting. */
export const LIMITS = Object.freeze({
  tokens: { min: 1, max: 1024, def: 200 },
  temp: { min: 0, max: 2, def: 0.8 },
  seed: { min: 0, max: 4294967295, def: 42 },
  promptMaxChars: 2000,
  promptDefault: 'ROMEO:',
  pct: { min: 50, max: 100, def: 99.9 },
  prune: { min: 0, max: 0.95, def: 0 },
  heads: { min: 0, max: 0.75, def: 0 },
});

/** The recipe's choices, spelled as the wasm API (serde) spells them; first = default. */
export const CHOICES = Object.freeze({
  precision: ['f32', 'f16', 'int8', 'int8-dynamic', 'int4'],
  group: [32, 64, 128],
  clip: ['max-abs', 'search'],
  act: ['dynamic', 'min-max', 'percentile'],
  endsp: ['same', 'int8-dynamic', 'int8', 'f16'],
  pkind: ['unstructured', 'structured'],
  scope: ['global', 'permatrix'],
  format: ['dense', 'csr', 'sell'],
  kernel: ['simd', 'naive', 'blocked', 'library'],
});

/** The panels `?panel=` may open (not part of the settings: it only picks a view). */
export const PANELS = Object.freeze(['quantize', 'prune', 'profile', 'kernels']);

/** The reproducible settings with their defaults. */
export function defaults() {
  return {
    prompt: LIMITS.promptDefault,
    tokens: LIMITS.tokens.def,
    temp: LIMITS.temp.def,
    seed: LIMITS.seed.def,
    kv: true,
    precision: 'f32',
    group: 32,
    clip: 'max-abs',
    act: 'dynamic',
    pct: LIMITS.pct.def,
    ends: true,
    endsp: 'same',
    prune: 0,
    pkind: 'unstructured',
    heads: 0,
    scope: 'global',
    format: 'dense',
    kernel: 'simd',
  };
}

/** One of a fixed list of spellings, else the list's first (the default). */
function pick(raw, list) {
  if (raw === null || raw === undefined) return list[0];
  const s = String(raw).trim().toLowerCase();
  return list.find((x) => String(x) === s) ?? list[0];
}

/** A ratio on a 5 % grid (the slider's step), clamped to its range. */
function ratio(raw, lim) {
  return Math.round(clampNumber(raw, lim, false) * 20) / 20;
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

/** Makes any partial settings object valid (used for the URL and for the form). */
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
    precision: pick(raw.precision, CHOICES.precision),
    group: pick(raw.group, CHOICES.group),
    clip: pick(raw.clip, CHOICES.clip),
    act: pick(raw.act, CHOICES.act),
    pct: Math.round(clampNumber(raw.pct, LIMITS.pct, false) * 100) / 100,
    ends: typeof raw.ends === 'boolean' ? raw.ends : parseBool(raw.ends, d.ends),
    endsp: pick(raw.endsp, CHOICES.endsp),
    prune: ratio(raw.prune, LIMITS.prune),
    pkind: pick(raw.pkind, CHOICES.pkind),
    heads: ratio(raw.heads, LIMITS.heads),
    scope: pick(raw.scope, CHOICES.scope),
    format: pick(raw.format, CHOICES.format),
    kernel: pick(raw.kernel, CHOICES.kernel),
  };
}

/** Keys of the recipe settings, in URL order. */
const RECIPE_KEYS = ['precision', 'group', 'clip', 'act', 'pct', 'ends', 'endsp', 'prune', 'pkind', 'heads', 'scope', 'format', 'kernel'];

/**
 * The wasm `setRecipe` object for settings `s`. Prune ratio 0 means no pruning; heads
 * only apply to structured pruning; sparse formats (CSR, SELL) only to unstructured.
 */
export function recipeOf(s) {
  const kind = s.prune > 0 || (s.pkind === 'structured' && s.heads > 0) ? s.pkind : 'none';
  return {
    quant: {
      precision: s.precision,
      group_size: s.group,
      clip: s.clip,
      act: s.act,
      percentile: s.pct,
      quantize_ends: s.ends,
      // Mixed precision: the embeddings and LM head at their own precision.
      ends_precision: s.ends && s.endsp !== 'same' ? s.endsp : null,
    },
    prune: {
      kind,
      ratio: s.prune,
      heads: kind === 'structured' ? s.heads : 0,
      scope: s.scope,
      format: kind === 'unstructured' ? s.format : 'dense',
    },
    kernel: s.kernel,
  };
}

/** The panel named by `?panel=`, or '' (hostile values open nothing special). */
export function panelFromQuery(search) {
  const p = new URLSearchParams(search).get('panel');
  return p && PANELS.includes(p.toLowerCase()) ? p.toLowerCase() : '';
}

/** Settings from a query string such as `?prompt=ROMEO%3A&tokens=100&temp=0.8&seed=1&kv=0`. */
export function fromQuery(search) {
  const q = new URLSearchParams(search);
  return sanitize({
    prompt: q.has('prompt') ? q.get('prompt') : undefined,
    tokens: q.get('tokens'),
    temp: q.get('temp'),
    seed: q.get('seed'),
    kv: q.get('kv'),
    ...Object.fromEntries(RECIPE_KEYS.map((k) => [k, q.get(k)])),
  });
}

/** The query string that reproduces `s`. */
export function toQuery(s) {
  const q = new URLSearchParams();
  q.set('prompt', s.prompt);
  q.set('tokens', String(s.tokens));
  q.set('temp', String(s.temp));
  q.set('seed', String(s.seed));
  q.set('kv', s.kv ? '1' : '0');
  for (const k of RECIPE_KEYS) {
    const v = s[k];
    q.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  return '?' + q.toString();
}

/** Mirrors the settings into the address bar without adding history entries. */
export function syncUrl(s, loc = window.location, hist = window.history) {
  const next = toQuery(s);
  if (loc.search !== next) {
    // Keep unrelated flags (e.g. `debug`) that the page does not own.
    const keep = new URLSearchParams(loc.search);
    const q = new URLSearchParams(next);
    for (const [k, v] of keep) if (!q.has(k)) q.set(k, v);
    hist.replaceState(null, '', loc.pathname + '?' + q.toString() + loc.hash);
  }
}

/**
 * The page's single state object: the settings plus what the page has learned
 * (model info, the run in progress, the last finished run of each cache mode).
 */
export function createState(search) {
  return {
    settings: fromQuery(search),
    model: null, // {info, source, notice}
    phase: 'loading', // loading | ready | running | error
    status: 'Loading the model…',
    error: '',
    run: null, // the run in progress or the last one
    lastByMode: { on: null, off: null },
  };
}
