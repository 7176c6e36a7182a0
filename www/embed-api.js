// The embed's postMessage API (docs/embedding.md). Messages from the host page (the
// frame's parent, and only it) are objects with a `type`:
//   {type: 'tinyopt:set', settings: {prompt, tokens, temp, seed, kv, <recipe keys>}}
//   {type: 'tinyopt:run'} · {type: 'tinyopt:stop'} · {type: 'tinyopt:get'}
// and reveal.js's own strings 'slide:start' / 'slide:stop'. Events to the host:
//   tinyopt:ready {view, settings} · tinyopt:settings {settings, problems}
//   tinyopt:status {phase, visible} · tinyopt:results {…the run's metrics}
//   tinyopt:height {height} · tinyopt:key {key, code, shiftKey} · tinyopt:error {message}
// Every incoming message is untrusted: anything not of this form is ignored, and
// settings go through the same validation as the address (state.js).

export const API_VERSION = 1;
const INCOMING = new Set(['tinyopt:set', 'tinyopt:run', 'tinyopt:stop', 'tinyopt:get']);
const KEY = /^[a-z][a-z0-9-]{0,39}$/;
const MAX_KEYS = 40;
const MAX_TEXT = 4000;

/** The flat settings of an untrusted `settings` value as query pairs, or null. Only
 *  plain keys with string, number or boolean values pass; the values themselves are
 *  validated later, as a link's are. */
export function settingsPairs(raw) {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const pairs = [];
  let keys;
  try {
    keys = Object.keys(raw);
  } catch {
    return null;
  }
  for (const k of keys.slice(0, MAX_KEYS)) {
    if (!KEY.test(k)) continue;
    const v = raw[k];
    if (typeof v === 'boolean') pairs.push([k, v ? '1' : '0']);
    else if (typeof v === 'number') pairs.push([k, String(v)]);
    else if (typeof v === 'string') pairs.push([k, v.slice(0, MAX_TEXT)]);
  }
  return pairs;
}

/**
 * Wires the API. `ctx`: {host (filled: {reveal}), onSlide(on), set(pairs) -> {settings,
 * problems}, run(), stop(), results() -> plain object, status() -> plain object,
 * ready() -> plain object or null}. Returns {post, ready(), results(), status()}.
 */
export function setupEmbedApi(ctx) {
  const framed = window.parent !== window;
  const post = (m) => {
    if (!framed) return;
    try {
      window.parent.postMessage({ ...m, version: API_VERSION }, '*');
    } catch {
      // A host that went away: nothing to tell.
    }
  };

  window.addEventListener('message', (e) => {
    if (!framed || e.source !== window.parent) return;
    const d = e.data;
    // reveal.js tells a slide's iframes when the slide shows or hides (plain strings).
    if (d === 'slide:start' || d === 'slide:stop') {
      ctx.host.reveal = true;
      ctx.onSlide(d === 'slide:start');
      return;
    }
    if (!d || typeof d !== 'object' || Array.isArray(d)) return;
    let type;
    try {
      type = d.type;
    } catch {
      return;
    }
    if (typeof type !== 'string' || !INCOMING.has(type)) return;
    try {
      switch (type) {
        case 'tinyopt:set': {
          const pairs = settingsPairs(d.settings);
          if (!pairs) {
            post({ type: 'tinyopt:error', message: 'tinyopt:set needs {settings: {key: value, …}}' });
            return;
          }
          const r = ctx.set(pairs);
          post({ type: 'tinyopt:settings', settings: r.settings, problems: r.problems });
          break;
        }
        case 'tinyopt:run':
          ctx.run();
          break;
        case 'tinyopt:stop':
          ctx.stop();
          break;
        case 'tinyopt:get':
          post({ type: 'tinyopt:results', ...ctx.results() });
          break;
      }
    } catch (x) {
      post({ type: 'tinyopt:error', message: String((x && x.message) || x).slice(0, 500) });
    }
  });

  // The content's height, whenever it changes, so the host can size the frame.
  let lastHeight = -1;
  const sendHeight = () => {
    const h = Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
    if (h !== lastHeight) {
      lastHeight = h;
      post({ type: 'tinyopt:height', height: h });
    }
  };
  if (framed && typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => sendHeight());
    ro.observe(document.documentElement);
    ro.observe(document.body);
  }

  return {
    post,
    ready: () => {
      post({ type: 'tinyopt:ready', ...ctx.ready() });
      lastHeight = -1;
      sendHeight();
    },
    results: () => post({ type: 'tinyopt:results', ...ctx.results() }),
    status: () => post({ type: 'tinyopt:status', ...ctx.status() }),
  };
}
