// The Benchmark tab's recipe search (issue 21): the worker runs the wasm search (the
// procedure of `tinyopt search`: sensitivity-ranked greedy, then local moves), one
// measured candidate per step with progress and Stop. Shows every candidate it measured
// (bytes, tokens/s, perplexity ratio), their frontier, and the winner as a link.

import { fmt, fmtBytes, fmtSmall } from './metrics.js';
import { el, gateBadge } from './bench-events.js';
import { drawPareto } from './pareto.js';

const $ = (id) => document.getElementById(id);

/** A page link that opens `query` (a recipe's query, without "?") as the running recipe. */
export function recipeLink(query) {
  const u = new URL(location.href);
  u.search = `?${query}`;
  u.hash = '';
  return u.href;
}

/** `ctx`: {runner}. */
export function createSearchPanel(ctx) {
  let current = null; // the running search's task handle
  const error = (e) => {
    $('s-error').textContent = e ? e.message || String(e) : '';
  };

  async function onReady() {
    try {
      const { value } = await ctx.runner.run('searchOptions').promise;
      if (!value) return;
      const gate = $('s-gate');
      gate.textContent = '';
      for (const [name, min] of value.tiers) gate.add(new Option(`${name} (perplexity ratio ≥ ${min})`, String(min)));
      gate.value = String(value.tiers[value.tiers.length - 1][1]); // the lower tier, as the CLI
      const obj = $('s-objective');
      obj.textContent = '';
      for (const o of value.objectives) obj.add(new Option(o === 'bytes' ? 'bytes (weights as stored)' : o === 'latency' ? 'latency (time per token, measured here)' : o, o));
      $('s-run').disabled = false;
    } catch (e) {
      error(e);
    }
  }

  const setRunning = (on) => {
    $('s-run').disabled = on;
    $('s-stop').disabled = !on;
    $('s-progress').hidden = !on;
    $('s-results').setAttribute('aria-busy', String(on));
  };

  /** The candidates as a table (in the order measured) and the chart. */
  function show(tried, best) {
    const body = $('s-table').tBodies[0];
    body.textContent = '';
    tried.forEach((c, i) => {
      const tr = body.insertRow();
      if (best && c.recipe_id === best.recipe_id) tr.className = 'winner';
      const th = el('th', `#${i + 1}`);
      th.scope = 'row';
      tr.appendChild(th);
      tr.insertCell().textContent = c.step;
      tr.insertCell().textContent = `${fmtBytes(c.weight_bytes)} (${fmt(100 * c.bytes_vs_f32, 3)} %)`;
      tr.insertCell().textContent = fmt(c.tokens_per_s, 4);
      tr.insertCell().textContent = fmt(c.quality_ratio, 5);
      tr.insertCell().appendChild(gateBadge(c.gate));
      tr.insertCell().textContent = fmtSmall(c.kld);
      tr.insertCell().textContent = `${fmt(100 * c.top1_agreement, 3)} %`;
      tr.insertCell().textContent = fmt(c.build_ms, 3);
      const a = el('a', `?${c.query}`);
      a.href = recipeLink(c.query);
      tr.insertCell().appendChild(el('code')).appendChild(a);
      tr.dataset.quality = String(c.quality_ratio);
      tr.dataset.bytes = String(c.weight_bytes);
    });
    const canvas = $('s-chart');
    if (!tried.length) return;
    const points = tried.map((c, i) => ({ x: c.quality_ratio, y: 1 / c.bytes_vs_f32, bytes: c.weight_bytes, label: `#${i + 1}` }));
    drawPareto(canvas, points, {
      xLabel: 'Perplexity ratio (reference / candidate; higher is better)',
      yLabel: 'Smaller than f32 (×)',
      xBetter: 'higher',
    });
    canvas.setAttribute(
      'aria-label',
      'Candidates: times smaller than f32 against the perplexity ratio. ' +
        tried.map((c, i) => `#${i + 1} ${c.step}: ${fmt(1 / c.bytes_vs_f32, 3)}×, ratio ${fmt(c.quality_ratio, 5)}`).join('; ') + '.',
    );
  }

  function showWinner(best, gate) {
    const w = $('s-winner');
    w.textContent = '';
    if (!best) {
      w.append(`No candidate measured so far passes the gate (perplexity ratio ≥ ${gate}).`);
      return;
    }
    const a = el('a', `?${best.query}`);
    a.href = recipeLink(best.query);
    a.id = 's-winner-link';
    w.append('Cheapest passing so far: ', el('code'), ` — ${fmtBytes(best.weight_bytes)} (${fmt(100 * best.bytes_vs_f32, 3)} % of f32), perplexity ratio ${fmt(best.quality_ratio, 5)}, ${fmt(best.tokens_per_s, 4)} tokens/s. Open the link to make it the running recipe.`);
    w.querySelector('code').appendChild(a);
    w.dataset.query = best.query;
    w.dataset.quality = String(best.quality_ratio);
    w.dataset.bytesVsF32 = String(best.bytes_vs_f32);
  }

  function onProgress(done, total, partial) {
    if (!partial) return;
    $('s-progress-text').textContent =
      partial.phase === 'calibrating'
        ? 'Making the calibration set…'
        : `${partial.tried.length} candidate${partial.tried.length === 1 ? '' : 's'} measured; next: ${partial.phase}…`;
    show(partial.tried, partial.best);
    showWinner(partial.best, Number($('s-gate').value));
  }

  async function run() {
    if (current) return;
    error('');
    const gate = Number($('s-gate').value);
    const objective = $('s-objective').value;
    $('s-winner').textContent = '';
    delete $('s-winner').dataset.query;
    setRunning(true);
    $('s-progress-text').textContent = 'Starting…';
    try {
      current = ctx.runner.run('search', { gate, objective }, onProgress);
      const { value } = await current.promise;
      if (!value) {
        $('s-progress-text').textContent = 'Stopped before the first candidate.';
        return;
      }
      show(value.tried, value.best);
      showWinner(value.best, gate);
      const n = value.tried.length;
      $('s-progress-text').textContent = value.stopped
        ? `Stopped after ${n} candidates: the winner is the cheapest passing one measured so far.`
        : `Done: ${n} candidates measured (objective ${objective}, gate ${gate}).`;
      $('s-results').dataset.state = value.stopped ? 'stopped' : 'done';
    } catch (e) {
      $('s-progress-text').textContent = 'The search failed.';
      error(e);
    } finally {
      current = null;
      setRunning(false);
    }
  }

  $('s-run').addEventListener('click', run);
  $('s-stop').addEventListener('click', () => current && ctx.runner.cancel(current.id));
  return { onReady };
}
