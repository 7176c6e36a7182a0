// How the page is shown: the view keys of the address (untrusted like every other
// key: anything unknown gives the default) and what follows from them in embed mode:
//   ?view=kv|quantize|prune|profile|kernels   which view (kv: the KV-cache demo)
//   ?embed=1      that view alone, for an iframe (lecture slides, course notes)
//   ?compact=0|1  the layout that fits a 960×540 or 1280×720 frame (default: on in embeds)
//   ?presenter=1  larger type, high contrast
//   ?theme=light|dark|auto
// In embed mode the page never takes focus by itself, Escape gives focus back to the
// host page, keys the embed does not use go to the host (a reveal.js deck gets its own
// postMessage commands), and work starts and runs only while the embed is visible.

import { PANELS } from './state.js';

export const VIEWS = Object.freeze(['kv', ...PANELS]);
export const THEMES = Object.freeze(['auto', 'light', 'dark']);

function flag(raw, def) {
  if (raw === null || raw === undefined) return def;
  const s = String(raw).trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(s)) return true;
  if (['0', 'false', 'off', 'no'].includes(s)) return false;
  return def;
}

/** The view options of a query string: `{embed, view, compact, presenter, theme}`. */
export function viewFromQuery(search) {
  const q = new URLSearchParams(String(search));
  const pick = (k, list) => {
    const v = (q.get(k) || '').trim().toLowerCase();
    return list.includes(v) ? v : '';
  };
  const embed = flag(q.get('embed'), false);
  const panel = pick('panel', PANELS);
  // `view` wins; the older `panel=` still names a lab panel; an embed without either
  // shows the KV-cache demo, the lab's first lesson.
  const view = pick('view', VIEWS) || panel || (embed ? 'kv' : '');
  return {
    embed,
    view,
    compact: embed && flag(q.get('compact'), true),
    presenter: flag(q.get('presenter'), false),
    theme: pick('theme', THEMES) || 'auto',
  };
}

/** The query keys that reproduce `opts` (for links and snippets); defaults are left out. */
export function viewQuery(opts) {
  const q = new URLSearchParams();
  if (opts.view) q.set('view', opts.view);
  if (opts.embed) q.set('embed', '1');
  if (opts.embed && opts.compact === false) q.set('compact', '0');
  if (opts.presenter) q.set('presenter', '1');
  if (opts.theme && opts.theme !== 'auto') q.set('theme', opts.theme);
  return q;
}

const darkQuery = () => window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)');

/** Puts the view on the document: classes, the resolved theme, the help toggle. `onTheme`
 *  runs when an `auto` theme flips with the system's (charts redraw in the new colours). */
export function applyView(opts, { onTheme = () => {} } = {}) {
  const root = document.documentElement;
  const body = document.body;
  const resolve = () => {
    const dark = opts.theme === 'dark' || (opts.theme === 'auto' && darkQuery() && darkQuery().matches);
    root.dataset.theme = dark ? 'dark' : 'light';
  };
  resolve();
  if (opts.theme === 'auto' && darkQuery()) {
    darkQuery().addEventListener('change', () => {
      resolve();
      onTheme();
    });
  }
  root.classList.toggle('presenter', opts.presenter);
  body.classList.toggle('embed', opts.embed);
  body.classList.toggle('compact', opts.compact);
  if (opts.embed) body.dataset.view = opts.view;
  if (opts.compact) {
    addHelpToggle();
    // Secondary controls fold away so the panel fits its frame; a click unfolds them.
    for (const d of document.querySelectorAll('details[data-compact-closed]')) d.open = false;
    // Tables may scroll inside a small frame: keyboard users can then scroll them too.
    for (const t of document.querySelectorAll('.table-wrap')) {
      const cap = t.querySelector('caption');
      const h = t.closest('section') && t.closest('section').querySelector('h2, h3');
      t.tabIndex = 0;
      t.setAttribute('role', 'region');
      t.setAttribute('aria-label', (cap || h || { textContent: 'Table' }).textContent.trim());
    }
  }
}

/** A small button that unfolds the help text the compact layout hides. */
function addHelpToggle() {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'help-toggle';
  b.setAttribute('aria-pressed', 'false');
  b.setAttribute('aria-label', 'Show help text');
  b.title = 'Show help text';
  b.textContent = '?';
  b.addEventListener('click', () => {
    const on = !document.body.classList.contains('show-help');
    document.body.classList.toggle('show-help', on);
    b.setAttribute('aria-pressed', String(on));
    b.setAttribute('aria-label', on ? 'Hide help text' : 'Show help text');
    b.title = b.getAttribute('aria-label');
    window.dispatchEvent(new Event('resize')); // charts take their new size
  });
  document.body.prepend(b);
}

/** Keys a reveal.js deck navigates with, as its postMessage commands. */
const REVEAL_KEYS = {
  ArrowRight: { method: 'right' },
  ArrowLeft: { method: 'left' },
  ArrowUp: { method: 'up' },
  ArrowDown: { method: 'down' },
  PageDown: { method: 'next' },
  PageUp: { method: 'prev' },
  ' ': { method: 'next' },
  Home: { method: 'slide', args: [0] },
};

/** Whether the focused element uses `key` itself (typing, sliders, tabs, buttons…). */
function usedHere(target, key) {
  const el = target instanceof Element ? target : null;
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el.getAttribute('type') || 'text').toLowerCase();
    // A checkbox or switch uses only the space bar; the rest take arrows and typing.
    return ['checkbox', 'radio', 'button', 'submit'].includes(type) ? key === ' ' : true;
  }
  if (el.closest('[role="tablist"], [role="slider"], dialog')) return true;
  if (key === ' ' && el.closest('button, a[href], summary, [role="button"], [role="switch"]')) return true;
  // A scrolled region (the output) uses the arrows and page keys while it can scroll.
  if (el.matches('pre, [role="region"]') && el.scrollHeight > el.clientHeight) return true;
  return false;
}

/**
 * Keyboard in embed mode. `host` says what the host is ({reveal: bool}, filled in by
 * the postMessage module when reveal.js talks to the frame). Keys the embed does not
 * use go to the host: always as `{type: 'tinyopt:key', …}`, and to a reveal.js deck
 * also as its own postMessage command (`{"method":"right"}`), which reveal.js runs.
 * Escape returns focus to the host page (`onEscape` runs first, e.g. to stop a run).
 */
export function setupEmbedKeys(host, post, { onEscape = () => {} } = {}) {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    if (e.key === 'Escape') {
      if (document.querySelector('dialog[open]')) return;
      onEscape();
      leaveFocus();
      post({ type: 'tinyopt:focus-returned' });
      return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const nav = REVEAL_KEYS[e.key];
    if (!nav || usedHere(e.target, e.key)) return;
    e.preventDefault();
    post({ type: 'tinyopt:key', key: e.key, code: e.code, shiftKey: e.shiftKey });
    if (host.reveal && window.parent !== window) {
      // Shift+Space goes back in reveal.js too.
      const cmd = e.key === ' ' && e.shiftKey ? { method: 'prev' } : nav;
      window.parent.postMessage(JSON.stringify(cmd), '*');
    }
  });
}

/** Gives the keyboard back to the host page (best effort across origins). */
export function leaveFocus() {
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  try {
    if (window.parent !== window) window.parent.focus();
  } catch {
    // A browser may refuse; the blur alone already stops the embed taking keys.
  }
}

/**
 * Calls `onChange(visible)` when the embed comes into sight or leaves it: the frame
 * scrolled into the host's viewport (IntersectionObserver), the tab shown
 * (visibilitychange), and the host's slide shown (`setSlide`, from reveal.js's
 * `slide:start`/`slide:stop`). Returns `{setSlide, visible()}`.
 */
export function watchVisibility(onChange) {
  const observable = typeof IntersectionObserver === 'function';
  let inView = !observable;
  let slide = true;
  let last = null;
  const visible = () => inView && slide && document.visibilityState !== 'hidden';
  const check = () => {
    const v = visible();
    if (v !== last) {
      last = v;
      onChange(v);
    }
  };
  if (!observable) check();
  else {
    // Geometry only: a deck with no slide transition stacks its next slide in place at
    // opacity 0, which counts as in view; reveal.js's slide:stop/slide:start then say
    // more (and the data-src snippet loads the frame only on its slide anyway).
    const io = new IntersectionObserver((entries) => {
      inView = entries[entries.length - 1].isIntersecting;
      check();
    });
    io.observe(document.body);
  }
  document.addEventListener('visibilitychange', check);
  return {
    setSlide(on) {
      slide = on;
      check();
    },
    visible,
  };
}
