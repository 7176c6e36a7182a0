// Wires the page: form -> state (<-> URL) -> worker; worker messages -> state -> render.
// Rendering is batched to one pass per animation frame, however fast tokens arrive.

import { createState, sanitize, syncUrl } from './state.js';
import { ModelClient } from './client.js';
import { render, readForm, writeForm } from './render.js';
import { fmt, summarize } from './metrics.js';

const state = createState(window.location.search);
const $ = (id) => document.getElementById(id);

let frame = 0;
function scheduleRender() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    render(state);
  });
}

function onMessage(m) {
  const run = state.run;
  const mine = run && m.id === run.id;
  switch (m.type) {
    case 'loading':
      if (state.phase !== 'running') state.phase = 'loading';
      state.status = m.message;
      break;
    case 'restarting':
      state.phase = 'loading';
      state.status = 'Restarting the model after the crash…';
      if (run && !run.done) run.done = true;
      break;
    case 'ready':
      state.model = { info: m.info, source: m.source, notice: m.notice, isolated: m.isolated };
      state.phase = 'ready';
      state.status = m.source === 'random'
        ? 'Ready (untrained: random weights).'
        : 'Ready.';
      break;
    case 'started':
      if (!mine) return;
      run.started = m.started;
      state.lastByMode[run.settings.kv ? 'on' : 'off'] = run;
      break;
    case 'token':
      if (!mine) return;
      for (const st of m.steps) {
        run.steps.push({ pos: st.pos, ms: st.ms, wall: st.wall });
        run.text += st.text;
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
      break;
    }
    case 'error':
      if (m.id !== undefined && !mine) return;
      if (run && mine) run.done = true;
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
}

const client = new ModelClient(onMessage);

/** Reads the form into the state and mirrors it into the URL (debounced while typing:
 *  browsers throttle pages that call replaceState hundreds of times). */
let urlTimer = 0;
function updateSettings(now = false) {
  state.settings = sanitize(readForm());
  clearTimeout(urlTimer);
  if (now === true) syncUrl(state.settings);
  else urlTimer = setTimeout(() => syncUrl(state.settings), 200);
  scheduleRender();
}

function generate() {
  if (state.phase === 'broken') {
    state.error = '';
    client.start();
    return;
  }
  if (!(state.phase === 'ready' || state.phase === 'running')) return;
  updateSettings(true);
  writeForm(state.settings); // show the clamped values that will actually run
  const settings = { ...state.settings };
  const id = client.generate(settings);
  state.run = { id, settings, started: null, steps: [], text: '', done: false, stopped: false };
  state.phase = 'running';
  state.error = '';
  state.status = `Generating ${settings.tokens} tokens with the KV cache ${settings.kv ? 'on' : 'off'}…`;
  render(state); // at once, so the controls and status never show the previous run's end
}

function stop() {
  if (state.run && !state.run.done) client.stop(state.run.id);
}

const form = $('form');
form.addEventListener('submit', (e) => {
  e.preventDefault();
  generate();
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
window.addEventListener('resize', scheduleRender);

/** A handle for tests and the console; nothing on the page depends on it. */
window.__tinyopt = {
  state,
  generate,
  stop,
  debugPanic: () => client.debugPanic(),
};

writeForm(state.settings);
syncUrl(state.settings);
client.start();
render(state);
