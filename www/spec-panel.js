// Speculative decoding on the page: the last run's acceptance and draft/verify time split,
// and the K sweep (speedup vs K, acceptance by position), with an explanation filled
// from the sweep's measured figures. Every number comes from the worker's wasm calls.

import { fmt } from './metrics.js';
import { bindTask } from './tasks.js';
import { drawLines, COLOURS } from './plot.js';
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);
const pct = (x) => `${fmt(100 * x, 3)} %`;

/** The run readout from `specStats()` (null without a draft). */
export function showSpecRun(stats) {
  const out = $('spec-run');
  if (!stats) {
    out.textContent = 'Last run: no draft (the model decoded one token per pass).';
    delete out.dataset.acceptance;
    return;
  }
  const all = stats.prefill_ms + stats.draft_ms + stats.verify_ms;
  const acc = stats.proposed ? stats.accepted / stats.proposed : 0;
  const at = stats.proposed_at.map((p, i) => (p ? pct(stats.accepted_at[i] / p) : '—'));
  out.textContent =
    `Last run, K = ${stats.draft_tokens}: ${stats.accepted} of ${stats.proposed} draft tokens kept ` +
    `(acceptance ${pct(acc)}; by position ${at.join(', ')}), ` +
    `${fmt((stats.tokens - 1) / Math.max(1, stats.rounds), 3)} tokens per verify pass; ` +
    `time: draft ${pct(stats.draft_ms / all)}, verify ${pct(stats.verify_ms / all)}, prompt ${pct(stats.prefill_ms / all)}.`;
  out.dataset.acceptance = String(acc);
}

/** "when it pays", from the sweep's figures. */
function explain(r) {
  const pts = r.points.slice(1);
  const best = pts.find((p) => p.k === r.best_k) || pts[0];
  const c = pts.map((p) => p.draft_cost);
  const cMed = [...c].sort((a, b) => a - b)[Math.floor(c.length / 2)];
  const a1 = best.acceptance_at[0];
  const pays = best.speedup > 1;
  return (
    `Here one draft forward costs c ≈ ${fmt(cMed, 2)} of a model decode step (${fmt(r.target_ms_per_token, 3)} ms), ` +
    `and a verify pass over K + 1 positions costs v = ${pts.map((p) => fmt(p.verify_cost, 2)).join(', ')} decode steps for K = 1…${pts.length}. ` +
    `A round yields 1 + (kept tokens) tokens for K·c + v, so it pays when tokens per pass exceed K·c + v. ` +
    `The student's first draft token is kept ${pct(a1)} of the time; at the best K = ${best.k}, ` +
    `${fmt(best.tokens_per_round, 3)} tokens per pass against a cost of ${fmt(best.k * best.draft_cost + best.verify_cost, 3)} ` +
    `decode steps predicts ${fmt(best.predicted_speedup, 3)}× and ${fmt(best.speedup, 3)}× was measured: ` +
    (pays
      ? 'speculation pays here.'
      : 'it does not pay here: the verify pass costs more than the tokens it wins back. It pays when the draft is far cheaper than the model, agrees with it more often, and a pass over K + 1 positions costs little more than one step (a large model whose decode is bound by reading its weights).')
  );
}

function drawSweep(r) {
  const pts = r.points.slice(1);
  drawLines(
    $('spec-speedup'),
    [
      { label: 'measured', colour: COLOURS[0], points: pts.map((p) => ({ x: p.k, y: p.speedup })) },
      { label: 'predicted', colour: COLOURS[1], dash: [5, 4], points: pts.map((p) => ({ x: p.k, y: p.predicted_speedup })) },
    ],
    { xLabel: 'K (draft tokens per pass)', yLabel: 'speedup (×)', xMax: 8, hline: { y: 1, label: 'model alone' } },
  );
  $('spec-speedup').setAttribute('aria-label',
    `Speedup against K: ${pts.map((p) => `K ${p.k} ${fmt(p.speedup, 3)}×`).join(', ')}.`);
  drawLines(
    $('spec-accept'),
    pts.map((p, i) => ({
      label: `K ${p.k}`,
      colour: COLOURS[i % COLOURS.length],
      points: p.acceptance_at.map((a, j) => ({ x: j + 1, y: a })),
    })),
    { xLabel: 'draft position', yLabel: 'acceptance', xMax: 8, yMax: 1 },
  );
  $('spec-accept').setAttribute('aria-label',
    `Acceptance by draft position at K ${r.best_k}: ${(pts.find((p) => p.k === r.best_k) || pts[0]).acceptance_at.map((a) => pct(a)).join(', ')}.`);
  const body = $('spec-table').tBodies[0];
  body.textContent = '';
  for (const p of r.points) {
    body.append(el('tr', { 'data-k': String(p.k), 'data-speedup': String(p.speedup) },
      el('th', { scope: 'row' }, p.k ? String(p.k) : 'alone'),
      el('td', {}, `${fmt(p.tokens_per_s, 4)} [${fmt(p.tokens_per_s_min, 4)}–${fmt(p.tokens_per_s_max, 4)}]`),
      el('td', {}, `${fmt(p.speedup, 3)}× [${fmt(p.speedup_min, 3)}–${fmt(p.speedup_max, 3)}]`),
      el('td', {}, p.k ? pct(p.acceptance) : '—'),
      el('td', {}, p.k ? fmt(p.tokens_per_round, 3) : '1'),
      el('td', {}, p.k ? fmt(p.draft_cost, 3) : '—'),
      el('td', {}, p.k ? fmt(p.verify_cost, 3) : '1')));
  }
  $('spec-why').textContent = explain(r);
  $('spec-section').dataset.bestK = String(r.best_k);
}

/** Wires the sweep button. */
export function createSpecPanel(ctx) {
  bindTask({
    button: $('spec-sweep'),
    stop: $('spec-stop'),
    progress: $('spec-progress'),
    busyEl: $('spec-section'),
    runner: ctx.runner,
    start: (p) =>
      ctx.runner.run('specSweep', {
        settings: ctx.settings(),
        prompt: 'ROMEO:',
        tokens: 128,
        ks: [1, 2, 3, 4, 5, 6, 7, 8],
        rounds: 3,
      }, p),
    done: ({ value, partial }) => {
      if (!value || partial) return;
      if (value.rounds > 0) drawSweep(value);
    },
    fail: (e) => ctx.showError('spec', e.message),
  });
  return {};
}
