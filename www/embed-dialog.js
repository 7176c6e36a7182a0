// The Embed dialog: ready snippets for the current settings and recipe, for any view —
// a plain <iframe>, a reveal.js/Quarto `data-src` one (loads when its slide shows), a
// plain link, and a PNG of the view's charts for tools that cannot embed (Google
// Slides, PowerPoint). Built with DOM calls; every value goes in as text or attribute.

import { toQuery } from './state.js';
import { VIEWS, THEMES, viewQuery } from './embed-view.js';
import { environment, isolationOf, fmtResolution } from './env-note.js';

const TITLES = {
  kv: 'KV-cache demo',
  quantize: 'Quantize',
  prune: 'Prune',
  profile: 'Profile',
  kernels: 'Kernels',
};
/** The charts of each view, in the order the image stacks them. */
const CHARTS = {
  kv: ['chart'],
  quantize: ['q-hist', 'q-sens-chart'],
  prune: ['p-curve-chart', 'p-sweep-chart'],
  profile: ['f-stack'],
  kernels: ['k-chart'],
};
const SIZES = [
  [960, 540],
  [1280, 720],
];
const ALLOW = 'cross-origin-isolated; clipboard-write';

/** Text for an HTML attribute value in double quotes. */
export function attr(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The address of `opts` (view options) with the settings `s`, from this page's location. */
export function embedUrl(s, opts, loc = window.location) {
  const q = new URLSearchParams(toQuery(s).slice(1));
  for (const [k, v] of viewQuery(opts)) q.set(k, v);
  return new URL(loc.pathname + '?' + q.toString(), loc.origin).href;
}

/** The three text snippets: {iframe, reveal, link}. */
export function snippets(url, opts, [w, h]) {
  const title = `tinyopt: ${TITLES[opts.view] || 'playground'}`;
  const common = `width="${w}" height="${h}" title="${attr(title)}" allow="${ALLOW}" style="border:0;max-width:100%;max-height:100%"`;
  return {
    iframe: `<iframe src="${attr(url)}" ${common} loading="lazy"></iframe>`,
    reveal:
      '<!-- reveal.js, or Quarto (revealjs) in a {=html} block: loads when the slide shows -->\n' +
      `<section>\n  <iframe data-src="${attr(url)}" ${common}></iframe>\n</section>`,
    link: url,
  };
}

/** One PNG of the view's charts (as drawn now), on the panel colour, with a title and
 *  the measurement note; null when none of them has been drawn (e.g. a hidden tab). */
export function chartImage(view, state) {
  const canvases = (CHARTS[view] || [])
    .map((id) => document.getElementById(id))
    .filter((c) => c && c.width > 0 && c.height > 0 && c.clientWidth > 0);
  if (!canvases.length) return null;
  const dpr = window.devicePixelRatio || 1;
  const pad = Math.round(16 * dpr);
  const line = Math.round(22 * dpr);
  const width = Math.max(...canvases.map((c) => c.width)) + 2 * pad;
  const height = canvases.reduce((a, c) => a + c.height + pad, 0) + pad + 2 * line;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = out.getContext('2d');
  const cs = getComputedStyle(document.documentElement);
  ctx.fillStyle = cs.getPropertyValue('--panel').trim() || '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = cs.getPropertyValue('--fg').trim() || '#000';
  ctx.font = `600 ${Math.round(15 * dpr)}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  ctx.fillText(`tinyopt · ${TITLES[view]}`, pad, pad / 2);
  let y = pad / 2 + line;
  for (const c of canvases) {
    ctx.drawImage(c, pad, y);
    y += c.height + pad;
  }
  const env = environment(state);
  ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
  ctx.fillStyle = cs.getPropertyValue('--muted').trim() || '#555';
  ctx.fillText(
    `Measured in ${env.browser} · ${isolationOf().text.split(':')[0]} · timer ${fmtResolution(env.timerMs ?? NaN)} · ${new Date().toISOString().slice(0, 10)}`,
    pad,
    y - pad / 2,
  );
  return out.toDataURL('image/png');
}

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

async function copyText(text, area) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    area.focus();
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** Adds the Embed button (in the page header) and its dialog. `ctx`: {state, viewOpts}. */
export function setupEmbedDialog({ state, viewOpts }) {
  const header = document.querySelector('header.site');
  if (!header || viewOpts.embed) return null;
  const open = el('button', { type: 'button', id: 'embed-open', class: 'embed-open', text: 'Embed…' });
  open.setAttribute('aria-haspopup', 'dialog');
  header.appendChild(open);

  const dlg = el('dialog', { id: 'embed-dialog', class: 'embed-dialog', 'aria-labelledby': 'embed-h' });
  const viewSel = el('select', { id: 'embed-view' });
  for (const v of VIEWS) viewSel.append(el('option', { value: v, text: TITLES[v] }));
  const sizeSel = el('select', { id: 'embed-size' });
  for (const [w, h] of SIZES) sizeSel.append(el('option', { value: `${w}x${h}`, text: `${w} × ${h}` }));
  const themeSel = el('select', { id: 'embed-theme' });
  for (const t of THEMES) themeSel.append(el('option', { value: t, text: t }));
  const compact = el('input', { type: 'checkbox', id: 'embed-compact', checked: true });
  const presenter = el('input', { type: 'checkbox', id: 'embed-presenter' });
  const status = el('p', { id: 'embed-copy-status', class: 'help', role: 'status', 'aria-live': 'polite' });

  const field = (id, label, input) => el('div', { class: 'field' }, el('label', { for: id, text: label }), input);
  const check = (input, label) => el('div', { class: 'check-row' }, input, el('label', { for: input.id, text: label }));
  const areas = {};
  const block = (key, label) => {
    const area = el('textarea', { id: `embed-${key}`, readOnly: true, rows: key === 'link' ? 2 : 3, spellcheck: false });
    areas[key] = area;
    const btn = el('button', { type: 'button', text: 'Copy', 'data-copy': key });
    btn.setAttribute('aria-label', `Copy the ${label}`);
    btn.addEventListener('click', async () => {
      const ok = await copyText(area.value, area);
      status.textContent = ok ? `Copied the ${label}.` : `Select the ${label} and copy it (the browser refused).`;
    });
    return el('div', { class: 'field' }, el('label', { for: area.id, text: label }), el('div', { class: 'copy-row' }, area, btn));
  };
  const img = el('img', { id: 'embed-png', alt: 'The charts of this view, as an image', hidden: true });
  const pngLink = el('a', { id: 'embed-png-link', download: 'tinyopt.png', href: '#', text: 'Download the charts as PNG', hidden: true });
  const pngNote = el('p', { class: 'help', id: 'embed-png-note' });
  const close = el('button', { type: 'button', text: 'Close', class: 'primary' });
  close.addEventListener('click', () => dlg.close());

  dlg.append(
    el('h2', { id: 'embed-h', text: 'Embed this view' }),
    el('p', { class: 'help', text: 'Snippets for the current settings and recipe. The compact layout fits a slide frame without scrolling; the embed starts only when it is visible and pauses when its slide is left.' }),
    el('div', { class: 'embed-options' }, field('embed-view', 'View', viewSel), field('embed-size', 'Frame size', sizeSel), field('embed-theme', 'Theme', themeSel)),
    el('div', { class: 'embed-options' }, check(compact, 'Compact layout'), check(presenter, 'Presenter (large type, high contrast)')),
    block('iframe', 'iframe snippet'),
    block('reveal', 'reveal.js / Quarto snippet'),
    block('link', 'link'),
    el('div', { class: 'field' }, el('span', { class: 'label', text: 'Image, for tools that cannot embed' }), pngNote, pngLink),
    status,
    el('div', { class: 'buttons' }, close),
  );
  document.body.appendChild(dlg);

  const update = () => {
    const opts = {
      view: viewSel.value,
      embed: true,
      compact: compact.checked,
      presenter: presenter.checked,
      theme: themeSel.value,
    };
    const size = sizeSel.value.split('x').map(Number);
    const url = embedUrl(state.settings, opts);
    const s = snippets(url, opts, size);
    for (const k of Object.keys(s)) areas[k].value = s[k];
    const png = chartImage(opts.view, state);
    img.hidden = !png;
    pngLink.hidden = !png;
    if (png) {
      // The preview joins the dialog only once there is one (no empty image in the page).
      if (!img.isConnected) pngLink.before(img);
      img.src = png;
      pngLink.href = png;
      pngLink.download = `tinyopt-${opts.view}.png`;
      pngNote.textContent = 'The charts as drawn now, with the measurement note.';
    } else {
      img.removeAttribute('src');
      pngNote.textContent = `Open the ${TITLES[opts.view]} tab (and measure) first: its charts are not drawn yet.`;
    }
  };
  for (const c of [viewSel, sizeSel, themeSel, compact, presenter]) c.addEventListener('change', update);
  open.addEventListener('click', () => {
    // The KV demo first; later openings keep the last choice.
    if (!dlg.dataset.opened) viewSel.value = 'kv';
    dlg.dataset.opened = '1';
    status.textContent = '';
    update();
    dlg.showModal();
  });
  return { update, dialog: dlg };
}
