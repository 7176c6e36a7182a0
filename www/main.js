// Wires the page: form -> state (<-> URL) -> worker; worker messages -> state -> render.
// Rendering is batched to one pass per animation frame, however fast tokens arrive.

import { createState, sanitize, syncUrl, fromQuery, panelFromQuery, toQuery, PANELS } from './state.js';
import { loadRecipes, recipeFromQuery, recipeView, recipeWith } from './recipe.js';
import { ModelClient } from './client.js';
import { render, readForm, writeForm } from './render.js';
import { fmt, summarize } from './metrics.js';
import { TaskRunner } from './tasks.js';
import { setupTabs } from './tabs.js';
import { placeholders, redraw } from './plot.js';
import { buildRecipeControls, readControl, writeRecipe } from './recipe-controls.js';
import { createSpecPanel, showSpecRun } from './spec-panel.js';
import { setupRecipeCard, showRecipeCard } from './recipe-card.js';
import { createQuantizePanel } from './quantize-panel.js';
import { createPrunePanel } from './prune-panel.js';
import { createRecoverPanel } from './recover-panel.js';
import { createProfilePanel } from './profile-panel.js';
import { createKernelsPanel } from './kernels-panel.js';
import { createRelaxedPanel } from './relaxed-panel.js';
import { createBenchmarkPanel } from './benchmark-panel.js';
import { createSearchPanel } from './search-panel.js';
import { viewFromQuery, applyView, setupEmbedKeys, watchVisibility } from './embed-view.js';
import { setupEmbedApi } from './embed-api.js';
import { setupEmbedDialog } from './embed-dialog.js';
import { environment } from './env-note.js';
import { setupCourse } from './course.js';
// model picker and what size costs (issue 14)
import { createModelPicker } from './model-picker.js';
import { createSizePanel } from './size-panel.js';
import { renderKv } from './kv-panel.js';
import { modelName } from './state.js';

const state = createState(); // the link is read once the recipe rules are loaded (boot)
const $ = (id) => document.getElementById(id);
let course = null; // the course view (course.js), set up once the runner exists
// ?view= / ?embed= / ?compact= / ?presenter= / ?theme= (embed-view.js).
const viewOpts = viewFromQuery(window.location.search);
applyView(viewOpts, {
  onTheme: () => {
    redraw();
    scheduleRender();
  },
});

/** While a generation runs, the page redraws at most this often (ms): every frame's
 *  drawing (script, layout, paint, raster) competes with the model for the CPU, which
 *  costs a small machine a measurable share of its decode speed; ten updates a second
 *  still stream the text. Outside a run, every frame. */
const RUN_FRAME_MS = 100;
let frame = 0; // the animation frame requested
let held = 0; // a redraw held back while a run goes on
let drawnAt = -Infinity;
function scheduleRender() {
  if (frame) return;
  const wait = state.phase === 'running' ? drawnAt + RUN_FRAME_MS - performance.now() : 0;
  if (wait > 0) {
    if (!held) held = setTimeout(() => ((held = 0), scheduleRender()), wait);
    return;
  }
  clearTimeout(held);
  held = 0;
  frame = requestAnimationFrame(() => {
    frame = 0;
    renderNow();
  });
}
function renderNow() {
  // A frame already asked for would draw the same state again.
  cancelAnimationFrame(frame);
  clearTimeout(held);
  frame = held = 0;
  drawnAt = performance.now();
  render(state);
  renderKv(state);
  if (course) course.update();
}

/** Resolves once what was just drawn is on screen: after the next frame and the one
 *  after it (raster and compositing run off the main thread, behind the frame that
 *  asked for them), or at once in a hidden page, which draws no frames. A run starts
 *  there, so drawing its start does not share the CPU with its first steps. */
function afterPaint() {
  if (document.visibilityState === 'hidden') return Promise.resolve();
  return new Promise((resolve) => {
    const backstop = setTimeout(resolve, 200); // frames can stall (a hidden embed)
    requestAnimationFrame(() => requestAnimationFrame(() => {
      clearTimeout(backstop);
      setTimeout(resolve, 0);
    }));
  });
}

function onMessage(m) {
  if (runner.handle(m)) return;
  const run = state.run;
  const mine = run && m.id === run.id;
  switch (m.type) {
    case 'loading':
      if (state.phase !== 'running') state.phase = 'loading';
      state.status = m.message;
      break;
    case 'busy':
      if (state.phase !== 'running') state.status = m.message;
      break;
    case 'recipe':
      state.recipe = { report: m.report, settings: m.settings };
      showRecipeCard(m.report);
      for (const p of panels) if (p.onRecipe) p.onRecipe(m.report, m.settings);
      if (state.phase !== 'running') {
        state.status = `${state.readyStatus || 'Ready.'} Running model: ${m.report.precision}, ` +
          `${fmt(100 * m.report.sparsity, 3)} % sparse (quality measured in ${fmt(m.report.ms)} ms).`;
      }
      break;
    case 'restarting':
      runner.failAll('the model restarted');
      for (const w of runWaiters.values()) w.reject(new Error('the model restarted'));
      runWaiters.clear();
      state.phase = 'loading';
      state.status = 'Restarting the model after the crash…';
      if (run && !run.done) run.done = true;
      break;
    case 'ready':
      if (state.loadingFile) {
        // A loaded file becomes the reference: its recipe starts from "as loaded".
        state.loadingFile = false;
        const fresh = recipeWith(recipeFromQuery('').recipe, 'kernel', state.settings.recipe.kernel);
        setRecipe(fresh);
        syncUrl(state.settings);
      }
      state.model = {
        info: m.info,
        source: m.source,
        notice: m.notice,
        isolated: m.isolated,
        timerMs: m.timerMs,
        id: m.modelId,
        engine: m.engine,
        kernels: m.kernels,
      };
      runner.epoch = m.epoch;
      state.phase = 'ready';
      state.status = m.source === 'random'
        ? 'Ready (untrained: random weights).'
        : 'Ready.';
      state.readyStatus = state.status;
      state.recipe = null;
      showRecipeCard(null);
      for (const p of panels) if (p.onReady) p.onReady({ ...state.model, matrices: m.matrices });
      if ($('tab-quantize').getAttribute('aria-selected') === 'true') panels[0].visible();
      // Build (or re-build after a restart) the model the settings describe and measure
      // it, so the cards show this browser's figures from the start and a link reproduces it.
      // model picker (issue 14): a recipe the new model refuses falls back to "as loaded".
      picker.onReady(state.model);
      applyRecipe(true, recipeRefused);
      embed.api.ready();
      queueMicrotask(maybeRun);
      break;
    case 'started':
      if (!mine) return;
      run.started = m.started;
      state.lastByMode[run.settings.kv ? 'on' : 'off'] = run;
      break;
    case 'token':
      if (!mine) return;
      // A slice of steps arrives packed (worker.js); the page keeps one object per step.
      for (let i = 0; i < m.steps.pos.length; i++) {
        run.steps.push({ pos: m.steps.pos[i], ms: m.steps.ms[i], wall: m.steps.wall[i], kv: m.steps.kv[i] });
      }
      run.text += m.steps.text;
      // Coarse clock: batch times per token (the chart draws them as the steps' times).
      for (const b of m.batches || []) {
        run.batches.push(b);
        for (let i = b.from; i < b.from + b.k && i < run.steps.length; i++) run.steps[i].bms = b.ms;
      }
      break;
    case 'done': {
      if (!mine) return;
      run.done = true;
      run.stopped = m.stopped;
      state.phase = 'ready';
      const s = summarize(run);
      const why = m.stopped ? 'Stopped' : m.contextFull ? 'Done — ' + m.message : 'Done';
      state.status = `${why}: ${s.n} tokens, ${fmt(s.tokensPerS)} tokens/s with the KV cache ${run.settings.kv ? 'on' : 'off'}.`;
      if (!m.stopped) showSpecRun(m.spec);
      settle(m.id, m.stopped ? new Error('stopped before it finished') : null, { run, summary: s });
      embed.api.results();
      break;
    }
    case 'error':
      if (m.id !== undefined && !mine) return;
      if (run && mine) run.done = true;
      if (mine) settle(m.id, new Error(m.message));
      state.error = m.fatal
        ? `The model crashed: ${m.message}.` + (m.startup ? '' : ' Restarting it…')
        : m.message;
      if (m.startup) {
        state.phase = 'broken';
        state.status = 'The model could not be loaded.';
      } else if (m.fatal) {
        state.phase = 'loading';
        state.status = 'Restarting the model after the crash…';
      } else if (state.model) {
        state.phase = 'ready';
        state.status = 'Ready.';
      } else {
        state.phase = 'broken';
        state.status = 'The model could not be loaded.';
      }
      break;
  }
  scheduleRender();
  postStatus();
}

const client = new ModelClient(onMessage);
const runner = new TaskRunner(client);

/** Shows a panel's error (`q`, `p`, `f`, `k`) as text in its role="alert" area. */
function showError(panel, message) {
  $(`${panel}-error`).textContent = message;
}
function clearErrors() {
  for (const k of ['q', 'p', 'f', 'k', 'spec']) showError(k, '');
}

/** Rebuilds the running model for the current settings; a newer request replaces a
 *  queued older one (only the last slider position matters). */
let applyJob = null;
function applyRecipe(force = false, onRefused = null) {
  if (applyJob) runner.cancel(applyJob.id);
  const job = runner.run('recipe', { settings: { ...state.settings }, force });
  applyJob = job;
  document.body.dataset.recipe = 'applying';
  job.promise
    .catch((e) => {
      if (onRefused && onRefused(e.message)) return; // model picker (issue 14)
      // The recipe's own message (e.g. CSR with f16), in the panels that set it.
      showError('q', e.message);
      showError('p', e.message);
      if (state.phase !== 'running') state.status = 'The recipe could not be applied.';
      scheduleRender();
    })
    .finally(() => {
      if (applyJob === job) {
        applyJob = null;
        document.body.dataset.recipe = 'done';
      }
    });
}

const panelCtx = {
  runner,
  settings: () => ({ ...state.settings }),
  showError,
  /** A file is about to replace the model (true) or could not (false). */
  loadingFile: (on) => {
    state.loadingFile = on;
  },
};
// ---- model picker (issue 14)
const picker = createModelPicker({
  runner,
  client,
  state,
  settings: () => ({ ...state.settings }),
  stop: () => stop(),
  status: (text) => {
    state.status = text;
    state.phase = 'loading';
    scheduleRender();
  },
});
/** The running recipe does not apply to the model just loaded: say why (the core's
 *  message, as text) and run the model as loaded, with the same kernel. */
function recipeRefused(message) {
  const refused = state.view ? state.view.query.replace(/&/g, ', ') || state.view.recipe_id : 'the recipe';
  const name = state.model ? modelName(state.model.id) : 'model';
  const fresh = recipeWith(recipeFromQuery('').recipe, 'kernel', state.settings.recipe.kernel);
  setRecipe(fresh);
  syncUrl(state.settings);
  picker.note(`The recipe ${refused} does not apply to the ${name}: ${message}. It runs as loaded (f32) instead.`);
  applyRecipe(true);
  return true;
}
// ---- end model picker
const panels = [
  createQuantizePanel(panelCtx),
  createPrunePanel(panelCtx),
  createRecoverPanel(panelCtx), // data-free recovery (issue 22)
  createProfilePanel(panelCtx),
  createKernelsPanel(panelCtx),
  createRelaxedPanel(panelCtx),
  createBenchmarkPanel(panelCtx),
  createSearchPanel(panelCtx), // recipe search (issue 21)
  createSizePanel(panelCtx), // what size costs (issue 14)
  createSpecPanel(panelCtx),
];

/** Reads the form into the state and mirrors it into the URL (debounced while typing:
 *  browsers throttle pages that call replaceState hundreds of times). */
let urlTimer = 0;
function updateSettings(now = false) {
  state.settings = sanitize({ ...readForm(), recipe: state.settings.recipe });
  clearTimeout(urlTimer);
  if (!state.settings.recipe) return; // not loaded: the address keeps the link as it came
  if (now === true) syncUrl(state.settings);
  else urlTimer = setTimeout(() => syncUrl(state.settings), 200);
  scheduleRender();
}

/** Generations a lesson waits for (course.js): id -> {resolve, reject}. */
const runWaiters = new Map();
function settle(id, error, value) {
  const w = runWaiters.get(id);
  if (!w) return;
  runWaiters.delete(id);
  if (error) w.reject(error);
  else w.resolve(value);
}

/** Generates with the form's settings, or with `given` (a lesson's, validated the same
 *  way); returns the run's id, or null if the model cannot run now. */
function generate(given = null) {
  if (state.phase === 'broken' && !given) {
    state.error = '';
    boot();
    return;
  }
  if (!(state.phase === 'ready' || state.phase === 'running')) return null;
  let settings;
  if (given) settings = sanitize(given);
  else {
    updateSettings(true);
    writeForm(state.settings); // show the clamped values that will actually run
    settings = { ...state.settings };
  }
  const id = client.generate(settings, afterPaint());
  state.run = { id, settings, started: null, steps: [], batches: [], text: '', done: false, stopped: false };
  state.phase = 'running';
  state.error = '';
  state.status = `Generating ${settings.tokens} tokens with the KV cache ${settings.kv ? 'on' : 'off'}…`;
  renderNow(); // at once, so the controls and status never show the previous run's end
  return id;
}

function stop() {
  if (state.run && !state.run.done) client.stop(state.run.id);
}

const form = $('form');
form.addEventListener('submit', (e) => {
  e.preventDefault();
  generate();
});
// ---- the course (course.js): lessons run on this page's worker, through the same calls
course = setupCourse({
  runner,
  ready: () => state.phase === 'ready',
  settings: () => ({ ...state.settings }),
  recipeOf: (query) => recipeFromQuery(String(query)),
  generate(settings) {
    const id = generate(settings);
    if (id === null) return Promise.reject(new Error('the model is not ready'));
    return new Promise((resolve, reject) => runWaiters.set(id, { resolve, reject }));
  },
  stopGenerate: () => stop(),
  state: () => state,
});
form.addEventListener('input', () => updateSettings());
// When a field loses focus, show its validated value (e.g. tokens=-5 becomes 1).
form.addEventListener('change', () => {
  updateSettings(true);
  writeForm(state.settings);
});
// Ctrl+Enter (Cmd+Enter on a Mac) generates from any field; Escape stops a run.
form.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    generate();
  }
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.phase === 'running') stop();
});
$('stop').addEventListener('click', stop);
$('panic').addEventListener('click', () => client.debugPanic());
$('panic').hidden = new URLSearchParams(window.location.search).get('debug') !== 'panic';
window.addEventListener('resize', () => {
  scheduleRender();
  redraw();
  placeholders(document); // empty charts too, or their message stays stretched
});
window.addEventListener('tinyopt-sw', () => scheduleRender()); // the note says who isolated the page

/** Makes `view` (from the wasm module) the recipe of the settings and the controls. */
function setRecipe(view) {
  state.settings = { ...state.settings, recipe: view.recipe };
  state.view = view;
  writeRecipe(view);
}

// Recipe controls: each change is one flat key, set and normalised by the wasm module;
// a refused combination keeps the running recipe and says why, as text.
function onRecipeChange(e) {
  const c = readControl(e.target);
  if (!c || !state.settings.recipe) return;
  clearErrors();
  state.linkProblems = []; // the link's recipe is no longer what is asked for
  try {
    setRecipe(recipeWith(state.settings.recipe, c.key, c.value));
  } catch (x) {
    const message = (x && x.message) || String(x);
    // In both recipe panels, as for a recipe the worker refuses (and on Kernels if set there).
    showError('q', message);
    showError('p', message);
    if (e.target.closest('#panel-kernels')) showError('k', message);
    if (e.target.closest('#form')) showError('spec', message);
    writeRecipe(state.view); // the controls go back to the recipe before this change
    scheduleRender();
    return;
  }
  updateSettings(true);
  if (state.model) applyRecipe();
}
// The draft controls sit by the KV-cache switch, in the generation form.
$('form').addEventListener('change', onRecipeChange);
for (const id of ['q-form', 'p-form']) {
  $(id).addEventListener('change', onRecipeChange);
  $(id).addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors();
    if (state.model) applyRecipe(true);
  });
}
$('k-kernel').addEventListener('change', onRecipeChange);
$('kv-precision').addEventListener('change', onRecipeChange);

const tabs = setupTabs(document.querySelector('.lab [role="tablist"]'), {
  initial: panelFromQuery(window.location.search) || (PANELS.includes(viewOpts.view) ? viewOpts.view : ''),
  onChange: (name) => {
    // Charts drawn while their tab was hidden had no size: draw them now.
    redraw($(`panel-${name}`));
    placeholders($(`panel-${name}`));
    // The open tab joins the address (a link to one panel, e.g. for slides).
    const q = new URLSearchParams(window.location.search);
    if (q.get('panel') !== name && state.model) {
      q.set('panel', name);
      history.replaceState(null, '', window.location.pathname + '?' + q.toString() + window.location.hash);
    }
    // The histogram draws once its canvas is visible (a hidden canvas has no size).
    if (name === 'quantize' && state.model) panels[0].visible();
  },
});

/** A handle for tests and the console; nothing on the page depends on it. */
window.__tinyopt = {
  state,
  generate,
  stop,
  runner,
  applyRecipe,
  tabs,
  debugPanic: () => client.debugPanic(),
};

/** Reads the link into the state once the recipe rules are there. */
function readLink() {
  buildRecipeControls();
  applyLink(window.location.search);
}

/** Makes the settings of a query string (validated, as any link) the page's settings. */
function applyLink(search) {
  const { settings, problems } = fromQuery(search);
  state.settings = settings;
  state.linkProblems = problems;
  setRecipe(recipeView(settings.recipe));
  writeForm(settings);
  syncUrl(settings);
  return { settings, problems };
}

// ---- Embeds: the postMessage API, visibility and keyboard (embed-api.js, embed-view.js).
const embed = { visible: !viewOpts.embed, wantRun: false, booted: false, host: { reveal: false } };
/** A run the host asked for starts once the model is ready and the embed is visible. */
function maybeRun() {
  if (embed.wantRun && embed.visible && state.phase === 'ready') {
    embed.wantRun = false;
    generate();
  }
}
const plainSettings = (s) => ({
  prompt: s.prompt,
  tokens: s.tokens,
  temp: s.temp,
  seed: s.seed,
  kv: s.kv,
  recipe_id: state.view ? state.view.recipe_id : null,
  query: s.recipe ? toQuery(s).slice(1) : null,
});
function statusOf() {
  return { phase: state.phase, visible: embed.visible, running: state.phase === 'running' };
}
let lastStatus = '';
function postStatus() {
  const s = JSON.stringify(statusOf());
  if (s === lastStatus) return;
  lastStatus = s;
  embed.api.status();
}
embed.api = setupEmbedApi({
  host: embed.host,
  onSlide: (on) => embed.vis && embed.vis.setSlide(on),
  set(pairs) {
    const q = new URLSearchParams(window.location.search);
    if (state.settings.recipe) {
      const cur = new URLSearchParams(toQuery(state.settings));
      for (const k of [...q.keys()]) if (!['view', 'panel', 'embed', 'compact', 'presenter', 'theme', 'debug'].includes(k)) q.delete(k);
      for (const [k, v] of cur) q.set(k, v);
    }
    for (const [k, v] of pairs) q.set(k, v);
    if (!state.settings.recipe) {
      // The recipe rules are not loaded yet (the embed was never visible): the link
      // carries the settings until then.
      history.replaceState(null, '', window.location.pathname + '?' + q.toString() + window.location.hash);
      return { settings: null, problems: [] };
    }
    clearErrors();
    const r = applyLink('?' + q.toString());
    if (state.model) applyRecipe();
    scheduleRender();
    return { settings: plainSettings(r.settings), problems: r.problems };
  },
  run() {
    embed.wantRun = true;
    maybeRun();
  },
  stop: () => {
    embed.wantRun = false;
    stop();
  },
  ready: () => ({ view: viewOpts.view, settings: plainSettings(state.settings) }),
  results() {
    const run = state.run && state.run.started ? state.run : null;
    const m = run ? summarize(run) : null;
    const num = (x) => (Number.isFinite(x) ? x : null);
    const report = state.recipe ? state.recipe.report : null;
    return {
      ...statusOf(),
      settings: plainSettings(run ? { ...run.settings } : state.settings),
      done: run ? run.done : false,
      stopped: run ? run.stopped : false,
      text: run ? run.text.slice(0, 4000) : '',
      metrics: m && {
        tokens: m.n,
        tokensPerS: num(m.tokensPerS),
        medianMs: num(m.medianMs),
        p10Ms: num(m.p10Ms),
        p90Ms: num(m.p90Ms),
        ttftMs: num(m.ttftMs),
        batchK: num(m.batchK),
        kvBytes: num(m.kvBytes),
        weightBytes: num(m.weightBytes),
      },
      recipe: report && {
        recipe_id: report.recipe_id,
        precision: report.precision,
        sparsity: num(report.sparsity),
        weight_bytes: num(report.weight_bytes),
      },
      env: environment(state),
    };
  },
  status: statusOf,
});
if (viewOpts.embed) {
  setupEmbedKeys(embed.host, embed.api.post);
  // Work starts, and goes on, only while the embed can be seen.
  embed.vis = watchVisibility((v) => {
    embed.visible = v;
    document.body.dataset.visible = String(v);
    if (v && !embed.booted) {
      embed.booted = true;
      boot();
    }
    client.pause(!v);
    postStatus();
    if (v) maybeRun();
  });
}
setupEmbedDialog({ state, viewOpts });

/** Shows a start-up failure as text with Retry (the Generate button), whatever threw. */
function bootFailed(e, what) {
  state.phase = 'broken';
  state.status = 'The page could not be loaded.';
  state.error = `${(e && e.message) || e}: ${what}`;
  render(state);
}

/** Loads the recipe rules (main thread) and starts the model worker; Retry calls it again.
 *  Never rejects: every failure reaches the page as a readable error with Retry. */
async function boot() {
  state.phase = 'loading';
  state.status = 'Loading the WebAssembly module…';
  render(state);
  try {
    await loadRecipes();
  } catch (e) {
    bootFailed(e, 'the WebAssembly module could not be loaded. Is the wasm package built into www/pkg? (scripts/build.sh builds it)');
    return;
  }
  try {
    if (!state.settings.recipe) readLink();
    client.model = state.settings.model; // model picker (issue 14)
    client.start();
  } catch (e) {
    bootFailed(e, 'the model worker could not be started in this browser.');
  }
}

// A rejection nobody handled while the page is still starting would leave it spinning
// with no word: say it, with Retry. (Later ones are the panels' own business.)
window.addEventListener('unhandledrejection', (ev) => {
  if (state.phase !== 'loading' || state.model) return;
  ev.preventDefault();
  bootFailed(ev.reason, 'the page failed while starting.');
});

setupRecipeCard();
writeForm(state.settings);
if (!viewOpts.embed) boot();
