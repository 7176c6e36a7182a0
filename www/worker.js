// Module Web Worker that owns the wasm instance, so the page stays responsive while
// the model computes. It streams messages to the main thread:
//   loading {message} · ready {info, source, notice, isolated, timerMs} · started {id, started}
//   token {id, steps: {token, pos, ms, wall, text}, batches: [{from, k, ms}]}: the steps
//   since the last one, packed (typed arrays, an entry per step; `text` their characters)
//   done {id, stopped, message, contextFull} · error {id?, message, fatal}
//   recipe {report, info} (the running model was rebuilt) · busy {message}
//   task-progress {id, name, done, total, partial} · task-result {id, name, value}
//   task-error {id, name, message} · task-done {id, name, stopped}
// and takes: generate {id, settings} · stop {id} · task {id, name, args} (see TASKS)
// · cancel {id} · visibility {hidden} (the page's, for the benchmark) · pause · resume
// (an embed out of sight) · panic (a test hook) · mailbox {sent} (see `betweenSlices`).
// `timerMs` is the clock's measured resolution; when it is coarse (not cross-origin
// isolated: 100 µs), decode steps are also timed in batches (see `generate`).
// `fatal` means the wasm instance trapped (a Rust panic): it is unusable afterwards,
// and the main thread replaces this worker with a fresh one.

import { pickBuild, importBuild, BUILDS } from './engine.js';
import { createBenchTasks } from './bench-tasks.js';
import { createRelaxedTasks } from './relaxed-tasks.js';
import { createLabReportTasks } from './lab-report-tasks.js';
import { createRecoverTasks } from './recover-tasks.js';
import { createSearchTasks } from './search-tasks.js';
/** The engine package's exports, once `load` has imported the build the page chose. */
let Playground, Recoverer, kernelNames, recipeFromQuery, recipeView, scalingBandwidth, scalingPoint, engineBuild;
/** `{build, why}`: which engine build runs here and why (see engine.js). */
let engine = { build: 'simd128', why: '' };
// ---- model picker (issue 14)
import { parseModel, MODEL_FILES, MODEL_DEFAULT } from './models.js';
/** The model the page asked for (its first message, `model`, validated again here);
 *  loading waits for it. */
let modelId = MODEL_DEFAULT;
let chooseModel = null;
const modelChosen = new Promise((resolve) => (chooseModel = resolve));
// ---- end model picker

const MODEL_URL = new URL('../models/shakespeare-char.safetensors', import.meta.url);
/** Longest stretch of computation between two looks at the message queue. */
const SLICE_MS = 8;
/** Most decode steps one `stepMany` call may take (a bound; the slice's time ends it first). */
const MAX_SLICE_STEPS = 4096;
/** Longest a generated step waits in the worker before it is sent to the page, unless
 *  the worker yields first (the page redraws at most every 100 ms during a run). */
const POST_MS = 50;

let pg = null; // the Playground, once loaded
let current = null; // {id, cancelled} of the generation in progress
let queue = Promise.resolve(); // generations and tasks run one after another
/** The default recipe as JSON (the loaded model), read from the wasm module once it is
 *  loaded; and the recipe (as JSON) the running model was built with. Recipes arrive in
 *  the settings already canonical (the page gets them from the same module), so equal
 *  recipes have equal JSON; `setRecipe` normalises again anyway. */
let DEFAULT_RECIPE = '';
let applied = '';

const post = (m, transfer = []) => self.postMessage(m, transfer);

/** The page's count of the messages it has sent (shared memory; cross-origin isolated
 *  pages only, see client.js), and the count this worker has handled. */
let mailbox = null;
let handled = 0;

/** Between two slices of a generation: yields until every message the page has sent is
 *  handled (with no shared count, once); resolves to the ms spent paused. */
async function betweenSlices() {
  let pausedMs = 0;
  do pausedMs += await yieldToEventLoop();
  while (mailbox && Atomics.load(mailbox, 0) !== handled);
  return pausedMs;
}

/** A macrotask yield: lets a pending `stop` message run. While the page has paused the
 *  worker (an embed out of sight), it waits here; it resolves to the milliseconds spent
 *  paused, so timings can leave them out.
 *  Any macrotask ends the yield: the first of a message on a private channel and a
 *  zero timer. The channel is the fast one where it stays in the process (Chromium,
 *  Firefox: about 0.1 ms; a nested setTimeout(0) is clamped to 4 ms), but WebKitGTK
 *  routes MessagePort messages through another process: measured in its worker, a
 *  channel round trip took a median 0.3–28 ms and up to 345 ms on a loaded two-core
 *  machine, so an 8 ms slice kept as little as a tenth of the time and a Stop waited
 *  behind it. The timer bounds that wait. A late channel message then ends some later
 *  yield early, which is harmless: it runs as a macrotask too. */
const chan = new MessageChannel();
let wake = null;
chan.port1.onmessage = () => wake && wake();
let paused = false;
let resumeWaiters = [];
function macrotask() {
  return new Promise((resolve) => {
    const go = () => {
      clearTimeout(timer);
      if (wake === go) wake = null;
      resolve();
    };
    const timer = setTimeout(go, 0);
    wake = go;
    chan.port2.postMessage(0);
  });
}
async function yieldToEventLoop() {
  await macrotask();
  if (!paused) return 0;
  const t = performance.now();
  while (paused) await new Promise((r) => resumeWaiters.push(r));
  return performance.now() - t;
}

/** The clock's real resolution (ms): the smallest positive step of performance.now()
 *  seen over a few milliseconds. Browsers coarsen it (Chromium: 100 µs, Firefox: 1 ms
 *  or more) unless the page is cross-origin isolated (5 µs). */
function timerResolution(spanMs = 4) {
  let min = Infinity;
  let last = performance.now();
  const end = last + spanMs;
  while (last < end) {
    const t = performance.now();
    if (t > last) {
      min = Math.min(min, t - last);
      last = t;
    }
  }
  return min;
}
/** At or above this resolution (ms) single steps are coarse: time batches of steps. */
const COARSE_MS = 0.02;
/** A batch spans at least this many resolutions, so its wall time is within 2 %. */
const BATCH_RESOLUTIONS = 50;
let TIMER_MS = NaN;

/** Reports an exception; a trap (panic) poisons the instance, so we say it is fatal. */
function report(e, id) {
  if (e instanceof WebAssembly.RuntimeError) {
    const panic = globalThis.__tinyoptPanic;
    globalThis.__tinyoptPanic = undefined;
    pg = null;
    post({
      type: 'error',
      id,
      fatal: true,
      message: panic || `the WebAssembly module crashed (${e.message})`,
    });
  } else {
    post({ type: 'error', id, fatal: false, message: (e && e.message) || String(e) });
  }
}

async function load() {
  await modelChosen;
  post({ type: 'loading', message: `Loading the WebAssembly module (${BUILDS[engine.build].label})…` });
  let mod;
  try {
    mod = await importBuild(engine.build);
  } catch (e) {
    if (engine.build === 'simd128') throw e;
    // A browser that validates the probe but cannot compile the relaxed package.
    engine = { build: 'simd128', why: `the relaxed-SIMD build failed to load (${e.message})` };
    mod = await importBuild(engine.build);
  }
  ({ Playground, Recoverer, kernelNames, recipeFromQuery, recipeView, scalingBandwidth, scalingPoint, engineBuild } = mod);
  DEFAULT_RECIPE = JSON.stringify(recipeFromQuery('').recipe);
  post({ type: 'loading', message: 'Loading the model…' });
  const got = await openModel(modelId);
  pg = got.pg;
  announce(got.source, got.notice);
}

// ---- model picker (issue 14)
/** A new Playground for model id `id`: `{pg, source, notice}`. A shipped file that
 *  cannot be fetched gives the default-size random model, with the reason in `notice`. */
async function openModel(id) {
  const m = parseModel(id) || parseModel(MODEL_DEFAULT);
  if (m.kind === 'random') {
    return {
      pg: Playground.randomSized(m.nLayer, m.dModel, 0),
      source: 'random',
      notice: `chosen in the model picker: ${m.nLayer} layers × width ${m.dModel}`,
    };
  }
  const url = new URL(MODEL_FILES[m.kind], import.meta.url);
  let notice = '';
  try {
    const res = await fetch(url);
    if (res.ok) return { pg: Playground.fromBytes(new Uint8Array(await res.arrayBuffer())), source: url.pathname, notice };
    notice = `no trained model at ${url.pathname} (HTTP ${res.status})`;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw e;
    notice = `the model file could not be used: ${e.message}`;
  }
  return { pg: Playground.randomInit(0), source: 'random', notice };
}

/** The shipped files' bytes, fetched once each (the teacher is the student's reference). */
const fileBytes = new Map();
async function shippedBytes(kind) {
  if (!fileBytes.has(kind)) {
    const url = new URL(MODEL_FILES[kind], import.meta.url);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`no model at ${url.pathname} (HTTP ${res.status})`);
    fileBytes.set(kind, new Uint8Array(await res.arrayBuffer()));
  }
  return fileBytes.get(kind);
}

/** Loads the shipped student into the running Playground as its draft model, once per
 *  Playground, when the recipe names a draft (speculative decoding). */
let draftFor = null; // the Playground the draft was loaded into
async function ensureDraft(settings) {
  const spec = settings && settings.recipe && settings.recipe.spec;
  if (!spec || spec.draft === 'none' || draftFor === pg) return;
  pg.setDraft(await shippedBytes('student'));
  draftFor = pg;
}

/** Median of numbers. */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const PICKER_TASKS = {
  /** Replaces the running model with the picker's `model`; the page gets a fresh `ready`. */
  async switchModel({ model }) {
    const id = (parseModel(model) || { id: MODEL_DEFAULT }).id;
    const got = await openModel(id);
    if (pg) pg.free();
    pg = got.pg;
    modelId = id;
    announce(got.source, got.notice);
    return { model: id };
  },

  /** The running model against the shipped teacher: KL, top-1 and both perplexities of `text`. */
  async compareTeacher({ text }) {
    return pg.compareWith(await shippedBytes('teacher'), text || '');
  },

  async scalingBandwidth({ runs }) {
    return scalingBandwidth(runs);
  },

  /** scalingPoint for each `{n_layer, d_model}` of `sizes`, one wasm call per size. */
  async sizeSweep({ sizes, tokens, runs, levels }, job, progress) {
    const out = [];
    for (const s of sizes) {
      if (job.cancelled) break;
      out.push(scalingPoint(s.n_layer, s.d_model, tokens, runs, levels));
      progress(out.length, sizes.length, out);
      await yieldToEventLoop();
    }
    return out;
  },

  /** Decode speed of the shipped teacher and student (as loaded, f32) and of the running
   *  model with its recipe, each the median of `rounds` timed decodes, alternating. */
  async shippedSpeed({ tokens, rounds, settings }, job, progress) {
    const subjects = [];
    for (const kind of ['teacher', 'student']) {
      const p = Playground.fromBytes(await shippedBytes(kind));
      const info = p.info();
      subjects.push({ name: kind, pg: p, recipe: JSON.parse(DEFAULT_RECIPE), info, own: true });
    }
    // The running model, unless it is one of the two as loaded (the same point twice).
    const asLoaded = shapeKey(settings.recipe) === shapeKey(JSON.parse(DEFAULT_RECIPE));
    if (!(asLoaded && (modelId === 'teacher' || modelId === 'student'))) {
      subjects.push({ name: 'running', pg, recipe: settings.recipe, info: pg.info(), own: false });
    }
    const times = subjects.map(() => []);
    const bytes = subjects.map(() => NaN);
    try {
      for (let r = 0; r < rounds && !job.cancelled; r++) {
        for (let i = 0; i < subjects.length; i++) {
          const t = subjects[i].pg.timeDecode(subjects[i].recipe, tokens);
          times[i].push(t.tokens_per_s);
          bytes[i] = t.weight_bytes;
          progress(r * subjects.length + i + 1, rounds * subjects.length);
          await yieldToEventLoop();
        }
      }
    } finally {
      for (const s of subjects) if (s.own) s.pg.free();
    }
    return subjects.map((s, i) => ({
      name: s.name,
      model: s.own ? s.name : modelId,
      recipe_id: recipeView(s.recipe).recipe_id,
      recipe: recipeView(s.recipe).query.replace(/&/g, ', '),
      n_params: s.info.n_params,
      weight_bytes: bytes[i],
      tokens_per_s: median(times[i]),
      tokens_per_s_min: Math.min(...times[i]),
      tokens_per_s_max: Math.max(...times[i]),
      // The file's val loss holds only for the file as loaded, not a recipe built from it.
      val_loss: s.own && s.info.meta && s.info.meta.val_loss !== undefined ? Number(s.info.meta.val_loss) : null,
    }));
  },
};
// ---- end model picker

/** Warms the new model up and tells the page about it. */
function announce(source, notice) {
  applied = DEFAULT_RECIPE;
  lastReport = null;
  epoch++;
  const info = pg.info();
  loadedQuantized = Boolean(info.meta && info.meta.quant);
  warmUp(info);
  // Browsers coarsen performance.now() unless the page is cross-origin isolated.
  const isolated = self.crossOriginIsolated === true;
  TIMER_MS = timerResolution();
  post({
    type: 'ready',
    info,
    source,
    notice,
    isolated,
    timerMs: TIMER_MS,
    matrices: pg.matrixNames(),
    epoch,
    kernels: kernelNames(),
    engine: { build: engine.build, name: engineBuild(), why: engine.why },
    modelId, // model picker (issue 14)
  });
}

/** The recipe without its kernel: a kernel change alone needs no rebuild. */
const shapeKey = (r) => JSON.stringify({ ...r, kernel: undefined });
let lastReport = null; // the last setRecipe report, for kernel-only changes
let epoch = 0; // counts models loaded; a task asked for an older model is dropped
let loadedQuantized = false; // a quantized file was loaded: it cannot be re-quantized

/** Brings the running model to the recipe `settings` describe (rebuilding only when
 *  more than the kernel changed); posts `recipe` with the report when anything changed. */
function ensureRecipe(settings, force = false) {
  const r = settings.recipe;
  const key = JSON.stringify(r);
  if (key === applied && !force) return lastReport;
  if (loadedQuantized && shapeKey(r) === shapeKey(JSON.parse(DEFAULT_RECIPE))) {
    // "As loaded" is the file's own precision; there is no f32 model to compare with.
    pg.setKernel(r.kernel);
    applied = key;
    return null;
  }
  let report;
  if (!force && lastReport && applied && shapeKey(JSON.parse(applied)) === shapeKey(r)) {
    pg.setKernel(r.kernel);
    // Same model, other kernel: the figures stand, the recipe and its id change.
    report = { ...lastReport, recipe: r, recipe_id: recipeView(r).recipe_id };
  } else {
    post({ type: 'busy', message: 'Applying the recipe (and measuring its quality)…' });
    // On failure the model stays as it was, so `applied` changes only after.
    report = pg.setRecipe(r);
  }
  applied = key;
  lastReport = report;
  post({ type: 'recipe', report, info: pg.info(), settings });
  return report;
}

/** A short untimed run of each mode, so the first measured run is not also the one
 *  that pays for the engine's first optimising compile of the hot loops. */
function warmUp(info) {
  post({ type: 'loading', message: 'Warming up…' });
  const first = [...info.vocab][0];
  const n = Math.min(24, info.config.ctx - 1);
  for (const kv of [false, true]) {
    pg.start(first, { max_new_tokens: n, temperature: 0, top_k: 0, seed: 0, kv_cache: kv });
    while (!pg.stepMany(MAX_SLICE_STEPS, Infinity).ended);
  }
}

/** Steps waiting to go to the page, `token` messages for generation `id`: each message
 *  costs the worker about 0.1 ms and wakes the page's thread, which then competes with
 *  the model for the CPU, so slices are sent together, at most every POST_MS. */
function outbox(id) {
  let slices = [];
  let batches = [];
  let sentAt = performance.now();
  return {
    add(slice, b) {
      slices.push(slice);
      batches.push(...b);
    },
    /** Sends what waits, now if `now`, else once POST_MS have passed since the last send. */
    flush(now) {
      if (!slices.length || (!now && performance.now() - sentAt < POST_MS)) return;
      const steps = joinSlices(slices);
      post({ type: 'token', id, steps, batches }, [steps.token.buffer, steps.pos.buffer, steps.ms.buffer, steps.wall.buffer, steps.kv.buffer]);
      slices = [];
      batches = [];
      sentAt = performance.now();
    },
  };
}

/** Several slices' packed steps as one: each array concatenated, the texts joined. */
function joinSlices(slices) {
  if (slices.length === 1) return slices[0];
  const n = slices.reduce((a, s) => a + s.pos.length, 0);
  const out = { token: new Uint32Array(n), pos: new Uint32Array(n), ms: new Float64Array(n), wall: new Float64Array(n), kv: new Float64Array(n), text: '' };
  let at = 0;
  for (const s of slices) {
    for (const k of ['token', 'pos', 'ms', 'wall', 'kv']) out[k].set(s[k], at);
    out.text += s.text;
    at += s.pos.length;
  }
  return out;
}

/** Runs one generation to its end (or until cancelled), yielding between slices. */
async function generate(job, s) {
  if (!pg) throw new Error('the model is not loaded');
  await ensureDraft(s);
  ensureRecipe(s);
  const t0 = performance.now();
  const started = pg.start(s.prompt, {
    max_new_tokens: s.tokens,
    temperature: s.temp,
    top_k: 0,
    seed: s.seed,
    kv_cache: s.kv,
  });
  post({ type: 'started', id: job.id, started });
  // One wasm call per slice: a call, a JS object and a clock read per token would cost
  // a measurable share of a cached step (see `stepMany`); slices go out in `outbox`.
  // With a coarse clock, decode steps (after the first) are also timed in batches: a
  // batch closes once its wall time reaches BATCH_RESOLUTIONS × the resolution, and
  // its k steps get its time / k. A batch sums the gaps between consecutive step ends
  // within slices (a slice's first gap starts when the slice does), so time spent
  // yielding is left out of it; time spent paused is left out of every figure.
  const target = TIMER_MS >= COARSE_MS ? BATCH_RESOLUTIONS * TIMER_MS : Infinity;
  let open = null; // {from, k, acc}: the batch being timed
  let pausedMs = 0;
  let n = 0;
  const out = outbox(job.id);
  for (;;) {
    if (job.cancelled) {
      out.flush(true);
      post({ type: 'done', id: job.id, stopped: true, message: 'stopped', contextFull: false });
      return;
    }
    let last = performance.now();
    const r = pg.stepMany(MAX_SLICE_STEPS, SLICE_MS);
    const batches = [];
    const wall = r.at; // becomes ms since start(), in place: includes the prompt's prefill
    for (let i = 0; i < wall.length; i++, n++) {
      const at = wall[i];
      if (target !== Infinity && n >= 1) {
        if (!open) open = { from: n, k: 0, acc: 0 };
        open.k++;
        open.acc += at - last;
        if (open.acc >= target) {
          batches.push({ from: open.from, k: open.k, ms: open.acc / open.k });
          open = null;
        }
      }
      last = at;
      wall[i] = at - t0 - pausedMs;
    }
    if (wall.length) out.add({ token: r.token, pos: r.pos, ms: r.ms, wall, kv: r.kv_bytes, text: r.text }, batches);
    if (r.ended) break;
    // Nothing waiting from the page (a stop, a pause…): no need to yield. Before a
    // yield, the page gets every step so far.
    const waiting = !mailbox || Atomics.load(mailbox, 0) !== handled;
    out.flush(waiting);
    if (waiting) pausedMs += await betweenSlices();
  }
  out.flush(true);
  post({
    type: 'done',
    id: job.id,
    stopped: false,
    message: pg.stopMessage(),
    contextFull: pg.contextFull(),
    spec: pg.specStats(), // acceptance and the draft/verify split, or null without a draft
  });
}

/** f32, nothing pruned, with the chosen kernel: the reference a speed ratio divides by. */
function baselineOf(settings) {
  return { ...JSON.parse(DEFAULT_RECIPE), kernel: settings.recipe.kernel };
}

/**
 * Long or heavy work for the panels. Each task is `async (args, job, progress) => value`;
 * it calls wasm in short pieces, reports progress between them and stops early when
 * `job.cancelled` (what it has so far is still returned).
 */
const TASKS = {
  /** Rebuilds the running model: `{settings}` → the setRecipe report. */
  async recipe({ settings, force }) {
    await ensureDraft(settings);
    return ensureRecipe(settings, force);
  },

  /** Speculative decoding's K sweep on the running model with the shipped student
   *  drafting: the target alone and each K of `ks`, `rounds` alternating rounds of greedy
   *  `tokens`-token runs from `prompt`; one wasm call per generation. */
  async specSweep({ settings, prompt, tokens, ks, rounds }, job, progress) {
    await ensureDraft({ recipe: { spec: { draft: 'student' } } });
    ensureRecipe(settings);
    pg.specSweepStart(prompt, tokens, Uint32Array.from(ks), rounds);
    for (;;) {
      const p = pg.specSweepStep();
      if (p.done || job.cancelled) break;
      progress(p.progress, p.total, null);
      await yieldToEventLoop();
    }
    return pg.specSweepReport();
  },

  async memory() {
    return pg.memory();
  },

  /** Same-run decode speed: f32 and the recipe alternate, `rounds` × `tokens` each. */
  async speed({ settings, rounds, tokens }, job, progress) {
    const recipes = { f32: baselineOf(settings), recipe: settings.recipe };
    return TASKS.decodeTimes({ recipes, rounds, tokens }, job, progress);
  },

  /** Decode timings of named recipes `{name: recipe}`, alternating them round by round
   *  (in reverse order every other round) so that they share the machine's state (other
   *  load, CPU clocks) as far as possible. */
  async decodeTimes({ recipes, rounds, tokens }, job, progress) {
    const names = Object.keys(recipes);
    const out = Object.fromEntries(names.map((n) => [n, []]));
    const total = rounds * names.length;
    let done = 0;
    for (let r = 0; r < rounds && !job.cancelled; r++) {
      for (const n of r % 2 ? [...names].reverse() : names) {
        out[n].push(pg.timeDecode(recipes[n], tokens));
        progress(++done, total, out);
        await yieldToEventLoop();
        if (job.cancelled) break;
      }
    }
    return out;
  },

  /** KL per matrix when only that matrix is quantized, one matrix per wasm call. */
  async sensitivity({ settings }, job, progress) {
    const quant = settings.recipe.quant;
    const names = pg.matrixNames();
    const out = [];
    for (const name of names) {
      if (job.cancelled) break;
      out.push(pg.sensitivityOf(quant, name));
      progress(out.length, names.length, out);
      await yieldToEventLoop();
    }
    return out;
  },

  async perplexity({ text }) {
    return pg.perplexity(text);
  },

  /** A matrix as loaded and as running (dequantized): `{info, before, after}`. */
  async matrix({ name }) {
    return {
      info: pg.matrixInfo(name),
      before: pg.matrixValues(name, true),
      after: pg.matrixValues(name, false),
    };
  },

  async exportModel() {
    return pg.exportModel();
  },

  /** Replaces the model with a file's; the page gets a fresh `ready`. */
  async load({ bytes, name }) {
    const next = Playground.fromBytes(bytes);
    if (pg) pg.free();
    pg = next;
    modelId = 'file'; // model picker: not one of its entries
    announce(name, '');
    return { name };
  },

  /** Quality vs sparsity for both kinds (does not change the running model). */
  async pruneCurve({ ratios }, job, progress) {
    const out = { unstructured: [], structured: [] };
    const total = ratios.length * 2;
    let done = 0;
    for (const kind of ['unstructured', 'structured']) {
      for (const ratio of ratios) {
        if (job.cancelled) return out;
        out[kind].push(pg.pruneCurvePoint(kind, ratio));
        progress(++done, total, out);
        await yieldToEventLoop();
      }
    }
    return out;
  },

  /** Dense vs CSR vs SELL matvec time over sparsities, for each shape. */
  async sparseSweep({ shapes, sparsities, runs }, job, progress) {
    const out = shapes.map((s) => ({ ...s, points: [] }));
    const total = shapes.length * sparsities.length;
    let done = 0;
    for (const s of out) {
      for (const sp of sparsities) {
        if (job.cancelled) return out;
        s.points.push(pg.sparseSweepPoint(s.rows, s.cols, sp, runs));
        progress(++done, total, out);
        await yieldToEventLoop();
      }
    }
    return out;
  },

  /** Op breakdown and memory of the running model. */
  async profile({ tokens, runs }) {
    return pg.profile(tokens, runs);
  },

  /** Every kernel on every case, case by case. */
  async kernelBench({ prefill, runs }, job, progress) {
    const cases = pg.kernelCases(prefill);
    const rows = [];
    for (let i = 0; i < cases.length; i++) {
      if (job.cancelled) break;
      rows.push(...pg.kernelBenchCase(prefill, i, runs));
      progress(i + 1, cases.length, rows);
      await yieldToEventLoop();
    }
    return rows;
  },
};

const bench = createBenchTasks({ pg: () => pg, Playground: () => Playground, modelUrl: MODEL_URL, yieldToEventLoop });
Object.assign(TASKS, bench.tasks);
Object.assign(
  TASKS,
  createRelaxedTasks({
    pg: () => pg,
    recipeOf: (precision, kernel) => recipeFromQuery(`precision=${precision}&kernel=${kernel}`).recipe,
    decodeTimes: (args, job, progress) => TASKS.decodeTimes(args, job, progress),
    yieldToEventLoop,
  }),
);
Object.assign(TASKS, PICKER_TASKS); // model picker (issue 14)
Object.assign(TASKS, createSearchTasks({ pg: () => pg, Playground: () => Playground, yieldToEventLoop })); // recipe search (issue 21)
Object.assign(TASKS, createLabReportTasks({ pg: () => pg })); // lab reports (issue 19)
Object.assign(
  TASKS,
  createRecoverTasks({
    Recoverer: () => Recoverer,
    teacherBytes: () => shippedBytes('teacher'),
    useBytes: (bytes, source) => {
      const next = Playground.fromBytes(bytes);
      if (pg) pg.free();
      pg = next;
      modelId = 'recovered'; // model picker: not one of its entries (issue 22)
      announce(source, '');
    },
    yieldToEventLoop,
  }).tasks,
); // data-free recovery (issue 22)

const NEEDS_RECIPE = ['bench', 'matrix', 'exportModel', 'perplexity', 'profile', 'memory', 'compareTeacher', 'shippedSpeed'];
const tasks = new Map(); // id -> job, for cancel

function runTask(m) {
  const job = { id: m.id, cancelled: false };
  tasks.set(m.id, job);
  queue = queue.then(async () => {
    try {
      if (!pg) throw new Error('the model is not loaded');
      const stale = m.name !== 'load' && m.name !== 'switchModel' && m.args && m.args.epoch !== undefined && m.args.epoch !== epoch;
      if (job.cancelled || stale) {
        post({ type: 'task-done', id: m.id, name: m.name, stopped: true });
        return;
      }
      // These measure the running model, so it must be the one the settings describe.
      if (NEEDS_RECIPE.includes(m.name) && m.args && m.args.settings) ensureRecipe(m.args.settings);
      const progress = (done, total, partial) =>
        post({ type: 'task-progress', id: m.id, name: m.name, done, total, partial });
      const value = await TASKS[m.name](m.args || {}, job, progress);
      const transfer = [];
      if (value instanceof Uint8Array) transfer.push(value.buffer);
      if (value && value.before instanceof Float32Array) transfer.push(value.before.buffer, value.after.buffer);
      post({ type: 'task-result', id: m.id, name: m.name, value, stopped: job.cancelled }, transfer);
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) report(err);
      else post({ type: 'task-error', id: m.id, name: m.name, message: (err && err.message) || String(err) });
    } finally {
      tasks.delete(m.id);
    }
  });
}

self.onmessage = (e) => {
  const m = e.data;
  handled++;
  switch (m.type) {
    case 'mailbox':
      mailbox = m.sent;
      break;
    case 'generate': {
      if (current) current.cancelled = true;
      const job = { id: m.id, cancelled: false };
      current = job;
      queue = queue.then(async () => {
        if (job.cancelled) {
          post({ type: 'done', id: job.id, stopped: true, message: 'stopped', contextFull: false });
          return;
        }
        try {
          await generate(job, m.settings);
        } catch (err) {
          report(err, job.id);
        } finally {
          if (current === job) current = null;
        }
      });
      break;
    }
    case 'task':
      if (!TASKS[m.name]) {
        post({ type: 'task-error', id: m.id, name: m.name, message: `unknown task ${m.name}` });
      } else runTask(m);
      break;
    case 'cancel': {
      const job = tasks.get(m.id);
      if (job) job.cancelled = true;
      break;
    }
    case 'stop':
      if (current && (m.id === undefined || m.id === current.id)) current.cancelled = true;
      break;
    case 'visibility':
      bench.setHidden(m.hidden);
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume': {
      paused = false;
      const waiters = resumeWaiters;
      resumeWaiters = [];
      for (const r of waiters) r();
      break;
    }
    case 'model': // model picker (issue 14): which model `load` opens; and which engine build
      modelId = (parseModel(m.model) || { id: MODEL_DEFAULT }).id;
      engine = pickBuild(typeof m.search === 'string' ? m.search : '');
      chooseModel();
      break;
    case 'panic':
      // Test hook: a deliberate Rust panic, to exercise recovery.
      queue = queue.then(() => {
        try {
          if (!pg) throw new Error('the model is not loaded');
          pg.debugPanic();
        } catch (err) {
          report(err);
        }
      });
      break;
  }
};

load().catch((e) => report(e));
