// Draws the state object into the page. Reads the state, never changes it; all user
// and model text goes in through `textContent`/text nodes, never as HTML.

import { summarize, fmt, fmtBytes } from './metrics.js';
import { linkFor, MODELS, MODEL_DEFAULT, parseModel, modelName } from './state.js';
import { drawChart, describeChart } from './chart.js';
import { quantMeta } from './quantize-panel.js';
import { renderEnvNote, batchNote } from './env-note.js';

const $ = (id) => document.getElementById(id);

/** Puts settings into the form controls. */
export function writeForm(s) {
  $('prompt').value = s.prompt;
  $('tokens').value = String(s.tokens);
  $('temp').value = String(s.temp);
  $('seed').value = String(s.seed);
  $('kv').checked = s.kv;
  $('kv-state').textContent = s.kv ? 'on' : 'off';
  writeModelSelect(s.model); // model picker (issue 14)
}

// ---- model picker (issue 14)
/** Shows model id `id` in the picker; a valid size from a link that is not listed gets
 *  its own entry (option text is text, never markup). */
function writeModelSelect(id) {
  const sel = $('model');
  if (!sel) return;
  if (!sel.options.length) for (const m of MODELS) sel.add(new Option(m.label, m.id));
  // A running model no link can name (a recovered model, a file) keeps its own entry.
  if (sel.dataset.running) {
    sel.value = sel.dataset.running;
    return;
  }
  const p = parseModel(id);
  if (p && ![...sel.options].some((o) => o.value === p.id)) {
    sel.add(new Option(`Random weights · ${p.nLayer}×${p.dModel} (from the link)`, p.id));
  }
  sel.value = p ? p.id : MODEL_DEFAULT;
}
// ---- end model picker

/** The raw (unvalidated) values of the form controls. */
export function readForm() {
  return {
    prompt: $('prompt').value,
    tokens: $('tokens').value,
    temp: $('temp').value,
    seed: $('seed').value,
    kv: $('kv').checked,
    model: $('model') ? $('model').value : undefined, // model picker (issue 14)
  };
}

/** Sets an `<output>`'s text and keeps the raw number in `data-value` (for tests and tooling). */
function put(id, text, raw) {
  const el = $(id);
  el.textContent = text;
  if (raw === undefined || !Number.isFinite(raw)) delete el.dataset.value;
  else el.dataset.value = String(raw);
}

let shown = { run: null, len: 0, node: null };

/** Streams the run's text: appends only what is new since the last frame. */
function renderOutput(run) {
  const out = $('output');
  if (!run) return;
  if (shown.run !== run) {
    $('out-prompt').textContent = run.settings.prompt;
    const gen = $('out-gen');
    gen.textContent = '';
    shown = { run, len: 0, node: document.createTextNode('') };
    gen.appendChild(shown.node);
  }
  if (run.text.length > shown.len) {
    const nearBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 40;
    shown.node.appendData(run.text.slice(shown.len));
    shown.len = run.text.length;
    if (nearBottom) out.scrollTop = out.scrollHeight;
  }
  out.setAttribute('aria-busy', run.done ? 'false' : 'true');
}

function renderMetrics(state) {
  const run = state.run && state.run.started ? state.run : null;
  const m = run ? summarize(run) : null;
  $('metrics-mode').textContent = run
    ? `this run · KV cache ${run.settings.kv ? 'on' : 'off'}${run.done ? '' : ' · running'}`
    : '';
  put('m-tps', m ? fmt(m.tokensPerS) : '—', m && m.tokensPerS);
  put('m-steps-rate', m ? fmt(m.stepsPerS) : '—', m && m.stepsPerS);
  put('m-share', m ? fmt(100 * m.pageShare, 2) : '—', m && m.pageShare);
  put('m-median', m ? fmt(m.medianMs) : '—', m && m.medianMs);
  put('m-spread', m && m.n ? `${fmt(m.p10Ms)}–${fmt(m.p90Ms)}` : '—');
  const how = batchNote(m);
  if ($('m-how').textContent !== how) $('m-how').textContent = how;
  put('m-ttft', m ? fmt(m.ttftMs) : '—', m && m.ttftMs);
  put('m-count', m ? String(m.n) : '—', m && m.n);
  const wb = run ? run.started.weight_bytes : state.model ? state.model.info.weight_bytes : NaN;
  put('m-weights', fmtBytes(wb), wb);
  $('m-weights').title = Number.isFinite(wb) ? `${wb.toLocaleString('en-US')} bytes` : '';
  const kb = run ? run.started.kv_cache_bytes : NaN;
  put('m-kv', fmtBytes(kb), kb);
  $('m-kv').title = Number.isFinite(kb) ? `${kb.toLocaleString('en-US')} bytes` : '';
}

const COMPARE_ROWS = [
  ['tps', 'Decode speed (tokens/s)', (m) => fmt(m.tokensPerS)],
  ['median', 'Median time per token (ms)', (m) => fmt(m.medianMs)],
  ['spread', 'p10–p90 time per token (ms)', (m) => `${fmt(m.p10Ms)}–${fmt(m.p90Ms)}`],
  ['ttft', 'Time to first token (ms)', (m) => fmt(m.ttftMs)],
  ['count', 'Tokens generated', (m) => String(m.n)],
  ['kv', 'KV-cache memory', (m) => fmtBytes(m.kvBytes)],
];

function renderCompare(state) {
  const body = $('compare').tBodies[0];
  if (body.rows.length === 0) {
    for (const [key, label] of COMPARE_ROWS) {
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = label;
      tr.appendChild(th);
      for (const mode of ['on', 'off']) {
        const td = tr.insertCell();
        td.id = `c-${mode}-${key}`;
      }
    }
  }
  const sums = {};
  for (const mode of ['on', 'off']) {
    const run = state.lastByMode[mode];
    const m = run ? summarize(run) : null;
    sums[mode] = m;
    for (const [key, , f] of COMPARE_ROWS) $(`c-${mode}-${key}`).textContent = m ? f(m) : '—';
  }
  const on = sums.on;
  const off = sums.off;
  const sp = $('speedup');
  if (on && off && on.tokensPerS > 0 && off.tokensPerS > 0) {
    const r = on.tokensPerS / off.tokensPerS;
    sp.textContent =
      `With the KV cache, decoding ran at ${fmt(r)}× the tokens/s of decoding without it ` +
      `(${on.n} and ${off.n} tokens; longer runs widen the gap).`;
    sp.dataset.value = String(r);
  } else {
    sp.textContent = 'Run once with the KV cache on and once with it off to compare.';
    delete sp.dataset.value;
  }
}

function chartSeries(state) {
  const out = [];
  for (const mode of ['on', 'off']) {
    const run = state.lastByMode[mode];
    if (!run) continue;
    out.push({
      mode,
      label: `KV cache ${mode}`,
      points: run.steps.map((s) => ({ pos: s.pos, ms: s.bms ?? s.ms })),
    });
  }
  return out;
}

function renderChart(state) {
  const canvas = $('chart');
  const series = chartSeries(state);
  const ctx = state.model ? state.model.info.config.ctx : 0;
  drawChart(canvas, series, ctx);
  canvas.setAttribute('aria-label', describeChart(series));
  canvas.dataset.series = series.map((s) => `${s.mode}:${s.points.length}`).join(',');
}

function fact(dl, name, value, title) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.appendChild(value);
  else dd.textContent = value;
  if (title) dd.title = title;
  div.append(dt, dd);
  dl.appendChild(div);
}

/** Shows a vocabulary with its invisible characters named. */
function vocabList(vocab) {
  const d = document.createElement('details');
  const s = document.createElement('summary');
  s.textContent = `${[...vocab].length} characters`;
  const code = document.createElement('code');
  code.textContent = [...vocab]
    .map((c) => (c === '\n' ? '⏎' : c === ' ' ? '␠' : c === '\t' ? '⇥' : c))
    .join(' ');
  d.append(s, code);
  return d;
}

let cardFor = null;

function renderModelCard(state) {
  const model = state.model;
  if (!model || cardFor === model) return;
  cardFor = model;
  const { info } = model;
  const c = info.config;
  const dl = $('model-card');
  dl.textContent = '';
  // model picker (issue 14): which model this is, first.
  if (model.id && model.id !== 'file') {
    const what = {
      teacher: 'the shipped model',
      student: 'distilled from the teacher',
      recovered: 'pruned, then distilled back from the teacher in this page (Prune tab, Recover)',
    }[model.id] ||
      'random weights: speed and memory are real, quality is not';
    fact(dl, 'Model', modelName(model.id), what);
  } else if (model.id === 'file') fact(dl, 'Model', 'a file you loaded');
  fact(dl, 'Parameters', info.n_params.toLocaleString('en-US'));
  fact(dl, 'Layers', String(c.n_layer));
  fact(dl, 'Attention heads', String(c.n_head));
  fact(dl, 'd_model (width)', String(c.d_model));
  fact(dl, 'Context (tokens)', String(c.ctx));
  fact(dl, 'Vocabulary', vocabList(info.vocab));
  fact(dl, 'Weight memory', fmtBytes(info.weight_bytes), `${info.weight_bytes.toLocaleString('en-US')} bytes`);
  fact(dl, 'Kernel', info.kernel);
  const meta = info.meta || {};
  const q = quantMeta(info);
  fact(dl, 'Precision', q || 'f32', meta.quant || 'as loaded, not quantized');
  const trained = model.source !== 'random';
  if (meta.val_loss !== undefined) fact(dl, 'Validation loss', `${fmt(Number(meta.val_loss), 4)} nats/char`);
  if (meta.train_tokens !== undefined) fact(dl, 'Training tokens', Number(meta.train_tokens).toLocaleString('en-US'));
  if (meta.steps !== undefined) fact(dl, 'Training steps', Number(meta.steps).toLocaleString('en-US'));
  // Any other facts the trainer recorded, shown as they are (shortened).
  if (meta.distill_teacher_sha256 !== undefined) fact(dl, 'Teacher (sha256)', String(meta.distill_teacher_sha256));
  const known = ['val_loss', 'train_tokens', 'steps', 'init', 'quant', 'distill_teacher_sha256'];
  for (const [k, v] of Object.entries(meta)) {
    if (known.includes(k)) continue;
    const text = String(v);
    fact(dl, k, text.length > 80 ? text.slice(0, 79) + '…' : text, text);
  }
  if (trained) fact(dl, 'Weights file', model.source);
  else if (meta.init) fact(dl, 'Initialisation', meta.init);
  const notice = $('model-notice');
  if (trained) {
    notice.hidden = true;
    notice.textContent = '';
  } else {
    notice.hidden = false;
    notice.textContent =
      `untrained: random weights — ${model.notice}. The text will be gibberish, ` +
      'but the speed and memory figures are real.';
  }
}

/** Enables and labels the controls for the current phase. */
function renderControls(state) {
  const running = state.phase === 'running';
  $('generate').disabled = !(state.phase === 'ready' || running || state.phase === 'broken');
  $('generate').textContent = state.phase === 'broken' ? 'Retry' : running ? 'Restart' : 'Generate';
  $('stop').disabled = !running;
  $('kv-state').textContent = $('kv').checked ? 'on' : 'off';
  // Works inside an iframe too, where no address bar shows; before the recipe rules are
  // loaded, the link is the one the page came with.
  $('permalink').href = state.settings.recipe ? linkFor(state.settings, window.location.search) : window.location.search || './';
  document.body.dataset.phase = state.phase;
}

/** What of the link's recipe was not used, as text (a link is untrusted input). */
function renderLinkNote(problems) {
  const note = $('link-note');
  const text = problems.length ? `Not used from the link: ${problems.join('; ')}. The recipe card in the lab below shows what runs.` : '';
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !text;
}

export function render(state) {
  renderControls(state);
  if ($('status').textContent !== state.status) $('status').textContent = state.status;
  if ($('error').textContent !== state.error) $('error').textContent = state.error;
  renderLinkNote(state.linkProblems);
  renderModelCard(state);
  renderEnvNote(state);
  renderOutput(state.run);
  renderMetrics(state);
  renderCompare(state);
  renderChart(state);
}
