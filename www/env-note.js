// What was measured where: the browser and its version, the engine build and kernel
// that ran, whether the page is
// cross-origin isolated and by whom (server headers or the service worker), and the
// timer's resolution as measured in the model worker. Shown next to the metrics, so
// numbers from thirty laptops can be compared honestly; all of it as text.

import { fmt } from './metrics.js';
import { detectFeatures } from './features.js';

/** Features looked up once per page (detection allocates a little shared memory). */
let FEATURES = null;
export function features() {
  if (!FEATURES) FEATURES = detectFeatures();
  return FEATURES;
}

/** What this browser lacks that the page would use, in words (empty if nothing). Shared
 *  memory and memory measurement are only expected once the page is isolated; service
 *  workers only on a built site (a checkout's server sends the headers itself). */
export function missingFeatures(f = features(), isolated = window.crossOriginIsolated === true) {
  const out = [];
  if (isolated && !f.sharedMemory.ok) out.push('postable shared memory (the worker looks for Stop after every slice)');
  if (isolated && !f.memoryMeasure.ok) out.push('page memory measurement');
  if (!f.cacheApi.ok) out.push('the Cache API (no offline use)');
  if (!f.clipboard.ok) out.push('the clipboard (copy buttons select the text instead)');
  return out;
}

/** `Chrome 131 (Blink)`, `Firefox 128 (Gecko)`, `Safari 17.5 (WebKit)`… from a user-agent
 *  string: only to name where a figure was measured, never to decide what runs. */
export function browserOf(ua = navigator.userAgent) {
  const s = String(ua || '');
  const rules = [
    ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)/, 'Blink'],
    ['Opera', /\bOPR\/(\d+)/, 'Blink'],
    ['Samsung Internet', /\bSamsungBrowser\/(\d+)/, 'Blink'],
    ['Firefox', /\b(?:Firefox|FxiOS)\/(\d+)/, 'Gecko'],
    ['Chrome (headless)', /\bHeadlessChrome\/(\d+)/, 'Blink'],
    ['Chrome', /\b(?:Chrome|CriOS)\/(\d+)/, 'Blink'],
    ['Safari', /\bVersion\/(\d+(?:\.\d+)?).*\bSafari\//, 'WebKit'],
  ];
  for (const [name, re, engine] of rules) {
    const m = s.match(re);
    if (!m) continue;
    // WebKitGTK and WPE browsers present themselves as Safari on Linux.
    const label = engine === 'WebKit' && /\bLinux\b/.test(s) && !/\bAndroid\b/.test(s) ? 'a WebKitGTK browser' : name;
    const version = label === name ? ` ${m[1]}` : '';
    const webkit = s.match(/\bAppleWebKit\/([\d.]+)/);
    const engineV = engine === 'WebKit' && webkit ? ` ${webkit[1]}` : '';
    return `${label}${version} (${engine}${engineV})`;
  }
  return 'an unknown browser';
}

/** Whether the page is cross-origin isolated and by whom, from the service-worker
 *  registration's outcome (`window.__tinyoptSw`, see sw-register.js). */
export function isolationOf(sw = window.__tinyoptSw, isolated = window.crossOriginIsolated === true) {
  const state = sw && typeof sw.state === 'string' ? sw.state : '';
  if (isolated) {
    if (state === 'isolated-by-worker') return { isolated, by: 'worker', text: 'cross-origin isolated by the service worker' };
    if (state === 'isolated-by-server' || state === 'unavailable') {
      return { isolated, by: 'server', text: "cross-origin isolated by the server's headers" };
    }
    return { isolated, by: '', text: 'cross-origin isolated' };
  }
  if (state === 'reloading') return { isolated, by: '', text: 'not isolated yet (reloading under the service worker)' };
  // The reason, without the browser's own error text (too long for a one-line note).
  const detail = sw && typeof sw.detail === 'string' ? sw.detail.replace(/\s*\(.*$/s, '').slice(0, 80) : '';
  const why = detail ? `: ${detail}` : '';
  return { isolated, by: '', text: `not cross-origin isolated${why}` };
}

/** A resolution in ms as `5 µs`, `100 µs`, `1 ms`. */
export function fmtResolution(ms) {
  if (!Number.isFinite(ms)) return '—';
  return ms < 1 ? `${fmt(ms * 1000, 2)} µs` : `${fmt(ms, 3)} ms`;
}

/** Everything the note says, as data (the embed API sends it to the host too). */
export function environment(state) {
  const iso = isolationOf();
  const timerMs = state.model ? state.model.timerMs : NaN;
  const e = state.model && state.model.engine ? state.model.engine : null;
  const engine = e ? e.name : null;
  const recipe = state.settings && state.settings.recipe;
  return {
    browser: browserOf(),
    engine,
    buildWhy: e && typeof e.why === 'string' ? e.why : null,
    kernel: recipe && typeof recipe.kernel === 'string' ? recipe.kernel : null,
    isolated: iso.isolated,
    isolatedBy: iso.by,
    timerMs: Number.isFinite(timerMs) ? timerMs : null,
    coarse: Number.isFinite(timerMs) && timerMs >= 0.02,
    threads: Number.isFinite(navigator.hardwareConcurrency) ? navigator.hardwareConcurrency : null,
    features: Object.fromEntries(Object.entries(features()).map(([k, v]) => [k, v.ok])),
    missing: missingFeatures(),
  };
}

/** Writes the note under the metrics, and says how the per-token figures were timed. */
export function renderEnvNote(state) {
  const note = document.getElementById('env-note');
  if (!note) return;
  const env = environment(state);
  const iso = isolationOf();
  const timer = env.timerMs === null ? 'timer: measuring…' : `timer resolution ${fmtResolution(env.timerMs)}`;
  const why = env.buildWhy ? ` (${env.buildWhy})` : '';
  const engine = env.engine
    ? ` · ${env.engine}${why}, kernel ${env.kernel || 'simd'}${env.kernel === 'relaxed' ? ' (f32 bits depend on the CPU)' : ''}`
    : '';
  const lacks = env.missing.length ? ` · not in this browser: ${env.missing.join(', ')}` : '';
  const text = `Measured in ${env.browser}${engine} · ${iso.text} · ${timer}${lacks}`;
  if (note.textContent !== text) note.textContent = text;
  note.dataset.timerMs = env.timerMs === null ? '' : String(env.timerMs);
  note.dataset.isolated = String(env.isolated);
  const tn = document.getElementById('timer-note');
  if (tn && state.model) {
    tn.textContent = env.coarse
      ? `This browser's timer steps by ${fmtResolution(env.timerMs)} here (the page is not cross-origin ` +
        'isolated), so single steps are coarse: the time per token is measured over batches of steps ' +
        'that each span at least 50 timer steps; tokens/s, timed over the whole run, is exact.'
      : `The timer resolves ${fmtResolution(env.timerMs)} here, so single steps are timed one by one.`;
  }
}

/** The note next to the median figure: how it was timed (batches of k tokens). */
export function batchNote(summary) {
  return summary && Number.isFinite(summary.batchK) ? `timed in batches of ~${fmt(summary.batchK, 2)} tokens` : '';
}
