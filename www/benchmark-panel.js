// The Benchmark panel (TinyMLPerf in the browser): runs a versioned suite on the
// running recipe against the f32 reference, alternating round by round, with progress
// and Stop; shows each event's ratio with its interval, the gate tier and a Pareto chart
// of this session's runs; downloads the sealed submission record. The leaderboard and
// the compare view live in their own modules.

import { fmt, fmtBytes, fmtSmall } from './metrics.js';
import { el, eventsTable, gateBadge, num, ratio } from './bench-events.js';
import { drawPareto } from './pareto.js';
import { showBoard } from './leaderboard.js';
import { setupCompare } from './record-compare.js';
import { recipeView } from './recipe.js';
import { downloadText } from './dom.js';

const $ = (id) => document.getElementById(id);
const MAX_HANDLE = 40; // Rust's MAX_HANDLE_CHARS

/** The handle as the record will hold it: no control characters, at most 40 chars. */
export function cleanHandle(s) {
  const t = [...String(s).replace(/\p{Cc}/gu, '').trim()].slice(0, MAX_HANDLE).join('');
  return t || 'anonymous';
}

const GATE_TEXT = {
  '99.9%': 'passes the 99.9 % quality tier: perplexity within 0.1 % of the reference’s',
  '99%': 'passes the 99 % quality tier: perplexity within 1 % of the reference’s (not the 99.9 % one)',
};

/** `ctx`: {runner, settings()}. */
export function createBenchmarkPanel(ctx) {
  const error = (e) => {
    $('b-error').textContent = e ? (e.message || String(e)) : '';
  };
  let current = null; // the running suite's task handle
  let recordText = ''; // the last finished run's record (JSON text)
  let recipeId = '';
  const session = []; // this session's finished runs, for the Pareto chart

  // ---- division: open needs a model file other than the shipped reference ----
  function showDivisions(info) {
    const open = $('b-div-open');
    const note = $('b-division-note');
    const short = (h) => (h ? `${h.slice(0, 12)}…` : '—');
    let why = '';
    if (!info) why = 'Checking which model is loaded…';
    else if (!info.shipped_sha256) why = 'Open is not available: the shipped f32 reference model could not be fetched, so there is nothing to judge another model against.';
    else if (info.sha256 === info.shipped_sha256) {
      why = 'Open is not available: the loaded model is the shipped one (sha256 ' + short(info.sha256) + '), which is the reference itself. ' +
        'Load another model file (fine-tuned, distilled, or exported from the Quantize tab) under Quantize → Export and load.';
    }
    open.disabled = Boolean(why);
    if (open.disabled && open.checked) $('b-div-closed').checked = true;
    note.textContent = why ||
      `Open: the loaded file (sha256 ${short(info.sha256)}) against the shipped f32 model (${short(info.shipped_sha256)}). ` +
      'Closed with this file uses it as its own reference; verifiers have only the shipped model, so such a record stays self-reported.';
  }

  async function onReady() {
    showDivisions(null);
    try {
      const { value } = await ctx.runner.run('benchInfo').promise;
      if (value) showDivisions(value);
    } catch (e) {
      showDivisions({ sha256: '', shipped_sha256: '' });
    }
  }

  function onRecipe(report, settings) {
    recipeId = report && report.recipe_id ? String(report.recipe_id) : '';
    const query = settings && settings.recipe ? recipeView(settings.recipe).query : '';
    $('b-recipe').textContent = recipeId ? `${recipeId}${query ? ` (${query})` : ' (f32, as loaded)'}` : '—';
  }

  // ---- running ----
  const setRunning = (on) => {
    $('b-run').disabled = on;
    $('b-stop').disabled = !on;
    $('b-progress').hidden = !on;
    $('b-results').setAttribute('aria-busy', String(on));
  };

  function onProgress(done, total, partial) {
    const bar = $('b-progress');
    bar.max = total;
    bar.value = done;
    $('b-progress-text').textContent = `Round ${done} of at most ${total} (one reference and one candidate query each)…`;
    if (partial && partial.invalid > 0) {
      const note = $('b-hidden-note');
      note.hidden = false;
      note.textContent =
        `The page was hidden during ${partial.invalid} round${partial.invalid > 1 ? 's' : ''}: ` +
        'flagged invalid (kept in the record, left out of every statistic); the runner adds rounds to replace them, up to the suite’s maximum.';
    }
  }

  async function run() {
    if (current) return;
    const settings = ctx.settings();
    if (!settings.recipe) return;
    error('');
    const suite = document.querySelector('input[name="b-suite"]:checked').value;
    const division = document.querySelector('input[name="b-division"]:checked').value;
    const handle = cleanHandle($('b-handle').value);
    if ($('b-handle').value.trim()) $('b-handle').value = handle; // shows what is sealed
    $('b-hidden-note').hidden = true;
    $('b-progress').removeAttribute('value');
    $('b-progress-text').textContent = `Starting ${suite} (${division} division)…`;
    setRunning(true);
    ctx.runner.client.visibility(document.hidden);
    try {
      current = ctx.runner.run('bench', { settings, suite, division, handle }, onProgress);
      const { value } = await current.promise;
      if (!value) $('b-progress-text').textContent = 'Stopped: the model changed before the suite started.';
      else if (value.stopped) {
        $('b-progress-text').textContent = `Stopped after ${value.rounds} rounds: the suite did not finish, so there is no record.`;
      } else finished(value);
    } catch (e) {
      $('b-progress-text').textContent = 'The run failed.';
      error(e);
    } finally {
      current = null;
      setRunning(false);
    }
  }

  function finished(value) {
    const rec = JSON.parse(value.text);
    recordText = value.text;
    const s = rec.scores;
    const valid = num(s.latency.rounds);
    $('b-progress-text').textContent =
      `Done: ${value.rounds} rounds, ${valid} valid` + (value.invalid ? ` (${value.invalid} flagged invalid)` : '') + '.';
    if (valid < rec.suite.rounds) {
      error(`Only ${valid} valid rounds of the ${rec.suite.rounds} the suite asks for: this record will fail verification. Run it again with the tab visible.`);
    }
    show(rec);
    session.push(rec);
    drawSession();
    $('b-download').disabled = false;
    $('b-download-status').textContent = '';
  }

  // ---- results ----
  function show(rec) {
    const s = rec.scores;
    const q = rec.quality;
    $('b-results-sub').textContent = `· ${rec.suite.version}, ${rec.division} division, recipe ${rec.recipe_id}`;
    const gate = $('b-gate');
    gate.textContent = '';
    gate.appendChild(gateBadge(s.gate));
    gate.appendChild(document.createTextNode(' ' + (s.gate === 'fail' ? `fails the quality gate: ${s.gate_reason}` : GATE_TEXT[s.gate] || '')));
    $('b-allround').textContent = ratio(s.all_round);
    $('b-allround').dataset.value = String(s.all_round);
    $('b-kld').textContent = fmtSmall(q.kld);
    $('b-kld').dataset.value = String(q.kld);
    $('b-top1').textContent = fmt(100 * q.top1_agreement, 4);
    $('b-top1').dataset.value = String(q.top1_agreement);
    $('b-quality-d').textContent = `perplexity ratio ${fmt(s.quality_ratio, 5)} (reference / candidate)`;
    const wrap = $('b-events');
    wrap.textContent = '';
    wrap.appendChild(eventsTable(s, `Events of this run (${s.latency.rounds} valid paired rounds)`));
  }

  // ---- Pareto chart of the session ----
  function drawSession() {
    const speed = $('b-pareto-speed').value;
    const quality = $('b-pareto-quality').value;
    const speedOf = (r) => (speed === 'latency' ? r.scores.latency.ratio : r.scores.all_round);
    const qualityOf = (r) => (quality === 'kld' ? r.quality.kld : r.scores.quality_ratio);
    const bytesOf = (b) => b.candidate_weights + b.candidate_kv_cache;
    const first = session[0];
    const points = [
      {
        x: quality === 'kld' ? 0 : 1,
        y: 1,
        bytes: first.bytes.reference_weights + first.bytes.reference_kv_cache,
        label: 'f32 reference',
        reference: true,
      },
      ...session.map((r, i) => ({
        x: qualityOf(r),
        y: speedOf(r),
        bytes: bytesOf(r.bytes),
        label: `#${i + 1} ${r.recipe_id}${r.suite.version.endsWith('quick') ? ' (quick)' : ''}`,
      })),
    ];
    const canvas = $('b-pareto');
    const xLabel = quality === 'kld' ? 'KL divergence vs the reference (nats/token, lower is better)' : 'Quality ratio (perplexity, reference / candidate; higher is better)';
    const yLabel = speed === 'latency' ? 'Latency ratio (×, higher is faster)' : 'All-round ratio (×, higher is better)';
    drawPareto(canvas, points, { xLabel, yLabel, xBetter: quality === 'kld' ? 'lower' : 'higher', small: quality === 'kld' });
    canvas.setAttribute(
      'aria-label',
      `${yLabel} against ${xLabel}, point size by bytes. ` +
        points.map((p) => `${p.label}: ${fmt(p.y, 3)}×, ${fmtSmall(p.x)}, ${fmtBytes(p.bytes)}`).join('; ') + '.',
    );
    const body = $('b-runs').tBodies[0];
    body.textContent = '';
    session.forEach((r, i) => {
      const tr = body.insertRow();
      const th = el('th', `#${i + 1}`);
      th.scope = 'row';
      tr.appendChild(th);
      for (const v of [r.suite.version, r.division, r.recipe_id, ratio(r.scores.all_round), ratio(r.scores.latency.ratio),
        fmtSmall(r.quality.kld), fmtBytes(bytesOf(r.bytes))]) tr.insertCell().textContent = v;
      tr.insertCell().appendChild(gateBadge(r.scores.gate));
    });
  }

  // ---- the record ----
  function download() {
    if (!recordText) return;
    const id = String(JSON.parse(recordText).recipe_id).replace(/[^\w-]/g, '_');
    const name = `record-${id}-page.json`;
    downloadText(name, recordText);
    $('b-download-status').textContent = `Saved as ${name}.`;
  }

  $('b-form').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  $('b-stop').addEventListener('click', () => current && ctx.runner.cancel(current.id));
  $('b-download').addEventListener('click', download);
  for (const id of ['b-pareto-speed', 'b-pareto-quality']) $(id).addEventListener('change', () => session.length && drawSession());
  // A round run while the page is hidden is throttled and disturbed: the worker flags it.
  document.addEventListener('visibilitychange', () => {
    if (current) ctx.runner.client.visibility(document.hidden);
  });
  const board = () => showBoard($('b-board'), $('b-board-status'));
  $('b-board-reload').addEventListener('click', board);
  board();
  setupCompare(ctx);
  return { onReady, onRecipe };
}
