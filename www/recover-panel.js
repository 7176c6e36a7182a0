// The Prune tab's "Recover" box (issue 22): prunes the shipped teacher, lets it sample
// its own training text, and distills the pruned copy back in the worker within a
// steps / time budget — live loss curve, top-1 / KL / perplexity before and after, and
// the recovered model usable as the running one (export, benchmark, compare).

import { fmt, fmtSmall } from './metrics.js';
import { bindTask } from './tasks.js';
import { put } from './recipe-controls.js';
import { drawLines, COLOURS } from './plot.js';

const $ = (id) => document.getElementById(id);

export function createRecoverPanel(ctx) {
  const err = (e) => ctx.showError('p', e.message || String(e));
  let defaults = null;
  let lastBytes = null;

  /** The controls' values as RecoverOptions (missing fields: wasm's defaults). */
  function options() {
    const ratio = Number($('r-ratio').value) / 100;
    const steps = Math.round(Number($('r-steps').value));
    const seconds = Number($('r-seconds').value);
    const seed = Math.round(Number($('r-seed').value));
    const samples = Math.round(Number($('r-samples').value));
    if (!(ratio > 0 && ratio <= 0.95)) throw new Error('the prune ratio must be between 1 and 95 %');
    if (!(steps >= 1 && steps <= 100000)) throw new Error('steps must be a whole number from 1 to 100000');
    if (!(seconds >= 0)) throw new Error('the time budget must be 0 (none) or more seconds');
    if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new Error('the seed must be a whole number ≥ 0');
    if (!(samples >= 2 && samples <= 4096)) throw new Error('teacher samples must be a whole number from 2 to 4096');
    const opts = { ...defaults.defaults, steps, seed, samples, prune: { ...defaults.defaults.prune, kind: $('r-kind').value, ratio } };
    return { opts, seconds };
  }

  async function init() {
    const job = ctx.runner.run('recoverDefaults', {});
    defaults = (await job.promise).value;
    const sel = $('r-kind');
    sel.replaceChildren(...defaults.kinds.map((k) => new Option(k, k)));
    sel.value = defaults.defaults.prune.kind;
    $('r-ratio').value = String(Math.round(100 * defaults.defaults.prune.ratio));
    $('r-steps').value = String(defaults.defaults.steps);
    $('r-seed').value = String(defaults.defaults.seed);
    $('r-samples').value = String(defaults.defaults.samples);
    $('r-run').disabled = false;
  }

  function showQuality(prefix, q) {
    put(`r-${prefix}-top1`, q ? `${fmt(100 * q.top1_agreement, 4)} %` : '—', q ? 100 * q.top1_agreement : undefined);
    put(`r-${prefix}-kld`, q ? fmtSmall(q.kld, 3) : '—', q ? q.kld : undefined);
    put(`r-${prefix}-ppl`, q ? fmt(q.perplexity, 4) : '—', q ? q.perplexity : undefined);
  }

  function drawCurve(curve) {
    const canvas = $('r-chart');
    const series = [
      { label: 'distillation loss', colour: COLOURS[0], points: curve.map((c) => ({ x: c.step, y: c.loss })) },
      { label: 'KL (teacher ‖ student)', colour: COLOURS[1], points: curve.map((c) => ({ x: c.step, y: c.kl })) },
    ];
    drawLines(canvas, series, { xLabel: 'step', yLabel: 'nats per character', xMax: Math.max(1, curve.length) });
    const last = curve[curve.length - 1];
    canvas.setAttribute(
      'aria-label',
      last
        ? `Recovery loss against step: ${curve.length} steps, loss ${fmt(curve[0].loss, 3)} at step 1 and ${fmt(last.loss, 3)} at step ${last.step}.`
        : 'Recovery loss: no steps yet.',
    );
    canvas.dataset.points = String(curve.length);
  }

  function show(v, final) {
    if (!v) return;
    if (v.phase === 'sampling') {
      $('r-status').textContent = `The teacher is writing its training text: sample ${v.done} of ${v.total}…`;
      return;
    }
    showQuality('before', v.before);
    showQuality('unpruned', v.unpruned);
    drawCurve(v.curve);
    const last = v.curve[v.curve.length - 1];
    const secs = (v.train_ms || 0) / 1e3;
    const rate = secs > 0 ? v.curve.length / secs : NaN;
    const fit = v.fitted
      ? ` Schedule fitted to the budget: ${v.fitted.steps} steps (the first ${v.fitted.after} took ${fmt(v.fitted.ms / 1e3, 3)} s), the cosine ends with it.`
      : '';
    $('r-status').textContent = last
      ? `Step ${last.step}: loss ${fmt(last.loss, 4)}, ${fmt(secs, 3)} s of training, ${fmt(rate, 3)} steps/s in this browser.${fit}`
      : 'Training…';
    $('r-status').dataset.stepsTotal = String(v.fitted ? v.fitted.steps : '');
    if (!final) return;
    showQuality('after', v.after);
    $('r-status').textContent +=
      ` Done: ${v.steps_done} steps; ${fmt(100 * v.sparsity, 3)} % of block weights pruned (${v.frozen} held at zero);` +
      ` the teacher's samples took ${fmt(v.sample_ms / 1e3, 3)} s. Weights sha256 ${v.weights_sha256.slice(0, 16)}….`;
    $('r-status').dataset.sha256 = v.weights_sha256;
    $('r-status').dataset.stepsTotal = String(v.steps_total);
    // The curve as measured ([step, loss, KL, seconds]), for scripts that record it.
    $('r-chart').dataset.curve = JSON.stringify(v.curve.map((c) => [c.step, c.loss, c.kl, c.seconds]));
    lastBytes = v.bytes;
    $('r-use').disabled = false;
    $('r-download').disabled = false;
  }

  bindTask({
    button: $('r-run'),
    stop: $('r-stop'),
    progress: $('r-progress'),
    busyEl: $('r-chart'),
    runner: ctx.runner,
    start: (p) => {
      const { opts, seconds } = options();
      showQuality('after', null);
      drawCurve([]);
      delete $('r-chart').dataset.curve;
      $('r-status').textContent = '';
      $('r-use').disabled = true;
      $('r-download').disabled = true;
      return ctx.runner.run('recover', { opts, seconds }, p);
    },
    done: ({ value, partial }) => show(value, !partial && value && value.phase === 'done'),
    fail: err,
  });

  bindTask({
    button: $('r-use'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('useRecovered', {}, p),
    done: () => {
      $('r-status').textContent += ' It is now the running model: benchmark, export and compare it in the other tabs.';
    },
    fail: err,
  });

  $('r-download').addEventListener('click', () => {
    if (!lastBytes) return;
    const url = URL.createObjectURL(new Blob([lastBytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `tinyopt-recovered-${$('r-kind').value}${$('r-ratio').value}.safetensors`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  });

  let started = false;
  function onReady() {
    if (started) return;
    started = true;
    init().catch(err);
  }
  return { onReady };
}
