// A "perplexity of your text" box: the running model against the loaded one on text the
// student pastes. The Quantize and Prune tabs each have one (ids `<prefix>-text`,
// `-ppl`, `-ppl-cur`, `-ppl-base`, `-nll-cur`, `-nll-base`).

import { fmt } from './metrics.js';
import { bindTask } from './tasks.js';
import { put } from './recipe-controls.js';

const $ = (id) => document.getElementById(id);

/** Wires the box; returns `reset()`, for when the running model changes. */
export function bindPerplexity(prefix, ctx, fail) {
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
