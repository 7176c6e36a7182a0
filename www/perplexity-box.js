// A "perplexity of your text" box: the running model against the loaded one on text the
// student pastes. The Quantize and Prune tabs each have one: an empty
// `<section id="<prefix>-ppl-box" data-running="label">` that this module fills.

import { fmt } from './metrics.js';
import { bindTask } from './tasks.js';
import { put } from './recipe-controls.js';
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);
const SAMPLE = 'ROMEO:\nBut soft, what light through yonder window breaks?';


/** One result card: the perplexity and, below it, nats/char. */
function card(prefix, which, label) {
  return el('div', {},
    el('dt', {}, label),
    el('dd', {},
      el('output', { id: `${prefix}-ppl-${which}` }, '—'), ' ',
      el('span', { class: 'unit' }, 'perplexity'),
      el('span', { class: 'spread', id: `${prefix}-nll-${which}` }, '—')));
}

/** Builds and wires the box; returns `reset()`, for when the running model changes. */
export function bindPerplexity(prefix, ctx, fail) {
  const box = $(`${prefix}-ppl-box`);
  box.append(
    el('h3', { id: `${prefix}-ppl-h` }, 'Perplexity of your text'),
    el('div', { class: 'field' },
      el('label', { for: `${prefix}-text` }, 'Text'),
      el('textarea', { id: `${prefix}-text`, rows: '3', spellcheck: 'false' }, SAMPLE)),
    el('div', { class: 'buttons' },
      el('button', { id: `${prefix}-ppl`, type: 'button' }, 'Measure perplexity')),
    el('dl', { class: 'metrics' },
      card(prefix, 'cur', box.dataset.running || 'Running model'),
      card(prefix, 'base', 'Loaded model (the reference)')),
  );
  const id = (s) => $(`${prefix}-${s}`);
  bindTask({
    button: id('ppl'),
    runner: ctx.runner,
    start: (p) => ctx.runner.run('perplexity', { text: id('text').value, settings: ctx.settings() }, p),
    done: ({ value }) => {
      if (!value) return;
      put(`${prefix}-ppl-cur`, fmt(value.perplexity, 4), value.perplexity);
      put(`${prefix}-ppl-base`, fmt(value.base_perplexity, 4), value.base_perplexity);
      const sign = value.perplexity >= value.base_perplexity ? '+' : '';
      id('nll-cur').textContent =
        `${fmt(value.nll, 4)} nats/char; ${sign}${fmt(value.perplexity - value.base_perplexity, 3)} vs f32`;
      id('nll-base').textContent = `${fmt(value.base_nll, 4)} nats/char`;
    },
    fail,
  });
  return function reset() {
    put(`${prefix}-ppl-cur`, '—');
    put(`${prefix}-ppl-base`, '—');
    id('nll-cur').textContent = '—';
    id('nll-base').textContent = '—';
  };
}
