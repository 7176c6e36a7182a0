// The model picker (issue 14): switches the worker to the shipped teacher, the distilled
// student or random weights at a size; labels every quality figure with the model it is
// measured against; and compares the running model with the teacher (KL, top-1,
// perplexity of pasted text). All text goes in as text, never as markup.

import { fmt, fmtSmall } from './metrics.js';
import { bindTask } from './tasks.js';
import { put } from './recipe-controls.js';
import { parseModel, modelName } from './state.js';

const $ = (id) => document.getElementById(id);
const SAMPLE = 'ROMEO:\nBut soft, what light through yonder window breaks?';

/** Replaces the leading text of `el` (before its first child element), keeping the rest. */
function lead(el, text) {
  if (!el) return;
  const first = el.firstChild;
  if (first && first.nodeType === Node.TEXT_NODE) first.textContent = text;
  else el.prepend(text);
}

/**
 * `ctx`: `{runner, client, state, stop, status(text)}`. Returns `{onReady(model),
 * note(text), switching()}`; the page calls `onReady` on every `ready`.
 */
export function createModelPicker(ctx) {
  const sel = $('model');
  const noteEl = $('model-note');
  let pending = ''; // the model id asked for, until its `ready`

  function note(text) {
    noteEl.textContent = text;
    noteEl.hidden = !text;
  }

  sel.addEventListener('change', () => {
    const p = parseModel(sel.value);
    const cur = ctx.state.model;
    if (!p || !cur || p.id === cur.id || p.id === pending) return;
    ctx.stop();
    pending = p.id;
    ctx.client.model = p.id; // a restart after a crash loads the same model
    note(`Loading the ${modelName(p.id)}…`);
    ctx.status(`Loading the ${modelName(p.id)}…`);
    const job = ctx.runner.run('switchModel', { model: p.id });
    job.promise.catch((e) => {
      pending = '';
      note(`The ${modelName(p.id)} could not be loaded: ${e.message}`);
    });
  });
  $('t-text').value = SAMPLE;

  /** Every quality figure names its reference: the loaded model, by name. */
  function labelReferences(name) {
    lead($('q-cards-h'), `Running vs loaded ${name} `);
    lead($('p-cards-h'), `Running vs loaded ${name} `);
    const rc = $('rc-kld');
    if (rc && rc.parentElement) lead(rc.parentElement, `KL vs the loaded model (${name}): `);
    for (const prefix of ['q', 'p']) {
      const out = $(`${prefix}-ppl-base`);
      const dt = out && out.closest('div') && out.closest('div').querySelector('dt');
      if (dt) dt.textContent = `Loaded model (${name}): the reference`;
    }
    const sub = $('t-ppl-cur-l');
    if (sub) sub.textContent = `Running model (${name}) on your text`;
  }

  function resetCompare(name) {
    for (const id of ['t-kl', 't-top1', 't-ppl-cur', 't-ppl-ref']) put(id, '—');
    $('t-nll-cur').textContent = '—';
    $('t-nll-ref').textContent = '—';
    $('t-error').textContent = '';
    $('t-sub').textContent = name === 'teacher'
      ? 'The teacher is the loaded model: comparing shows what the running recipe costs against it.'
      : `Not compared yet: the running model (${name}) against the teacher.`;
  }

  bindTask({
    button: $('t-run'),
    progress: $('t-progress'),
    busyEl: $('t-metrics'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('compareTeacher', { text: $('t-text').value, settings: ctx.settings() }, p),
    done: ({ value }) => {
      if (!value) return;
      const m = ctx.state.model;
      const name = m ? modelName(m.id) : 'running model';
      const rid = ctx.state.view ? ctx.state.view.recipe_id : '';
      $('t-sub').textContent =
        `The running model (${name}${rid ? ', recipe ' + rid : ''}) vs the teacher, the reference ` +
        `(sha256 ${value.reference_sha256.slice(0, 12)}…), over ${value.positions.toLocaleString('en-US')} positions.`;
      put('t-kl', fmtSmall(value.kld, 3), value.kld);
      put('t-top1', fmt(100 * value.top1_agreement, 4), 100 * value.top1_agreement);
      const t = value.text;
      if (t) {
        put('t-ppl-cur', fmt(t.perplexity, 4), t.perplexity);
        put('t-ppl-ref', fmt(t.ref_perplexity, 4), t.ref_perplexity);
        $('t-nll-cur').textContent = `${fmt(t.nll, 4)} nats/char`;
        $('t-nll-ref').textContent = `${fmt(t.ref_nll, 4)} nats/char`;
      }
    },
    fail: (e) => {
      $('t-error').textContent = e.message || String(e);
    },
  });

  /** The picker shows the running model: a model no link names (recovered, a file) gets
   *  its own entry while it runs, so the picker never claims the teacher is running. */
  function showRunning(model) {
    for (const o of [...sel.options]) if (o.dataset.off) o.remove();
    const off = model.id === 'recovered' || model.id === 'file';
    if (!off) {
      delete sel.dataset.running;
      return;
    }
    const o = new Option(model.id === 'recovered' ? 'Recovered · made in this page' : 'Your file · loaded', model.id);
    o.dataset.off = '1';
    sel.add(o);
    sel.dataset.running = model.id;
    sel.value = model.id;
  }

  return {
    /** A model is ready: the picker, the labels and the comparison follow it. */
    onReady(model) {
      const name = modelName(model.id);
      showRunning(model);
      if (pending && model.id === pending) {
        const v = ctx.state.view;
        note(v && v.query
          ? `Loaded the ${name}. The recipe ${v.query.replace(/&/g, ', ')} carries over; its quality is now measured against the ${name}.`
          : `Loaded the ${name}.`);
      }
      pending = '';
      labelReferences(name);
      resetCompare(name);
      if (model.id && sel.value !== model.id) sel.value = model.id;
    },
    note,
  };
}
