// A submission record's figures as DOM: the events table, the gate and status badges.
// Shared by the run results and the compare view. Records may come from a file anyone
// wrote, so every value goes in as text and numbers are checked before formatting.

import { fmt, fmtBytes, fmtSmall } from './metrics.js';

/** The four ranked events, in the record's field names, with their raw units. */
export const EVENTS = [
  { key: 'latency', label: 'Latency (p90 per-token decode)', unit: 'ms' },
  { key: 'ttft', label: 'Time to first token', unit: 'ms' },
  { key: 'throughput', label: 'Throughput', unit: 'tokens/s' },
  { key: 'footprint', label: 'Footprint (weights + KV cache)', unit: 'bytes' },
];

/** A finite number, or NaN (a hostile file may hold strings or nothing). */
export const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

/** A ratio as "1.23×". */
export const ratio = (x) => (Number.isFinite(num(x)) ? `${fmt(x, 3)}×` : '—');

function raw(value, unit) {
  const v = num(value);
  if (unit === 'bytes') return fmtBytes(v);
  return Number.isFinite(v) ? `${fmt(v, 4)} ${unit}` : '—';
}

/** An element with text (never markup). */
export function el(tag, text = '', cls = '') {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** A scrolling box for a wide table: focusable and named, so keyboards can scroll it. */
export function tableWrap(table, label) {
  const wrap = el('div', '', 'table-wrap');
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', label);
  wrap.appendChild(table);
  return wrap;
}

/** A badge for the gate tier: "99.9%", "99%" or "fail" (anything else shown as is). */
export function gateBadge(gate) {
  const g = String(gate ?? '');
  const kind = g === 'fail' ? 'bad' : g === '99.9%' || g === '99%' ? 'ok' : 'neutral';
  const b = el('span', g === 'fail' ? 'gate: fail' : `gate: ${g || '—'}`, `badge badge-${kind}`);
  b.dataset.gate = g;
  return b;
}

/** A badge for the verification status: verified, re-run, self-reported (or invalid). */
export function statusBadge(status) {
  const s = String(status ?? '');
  const kind = s === 'verified' || s === 're-run' ? 'ok' : s === 'self-reported' ? 'neutral' : 'bad';
  const b = el('span', s || '—', `badge badge-${kind}`);
  b.dataset.status = s;
  return b;
}

/**
 * The events table of `scores` (a record's `scores`): ratio, interval, and the raw
 * medians, labelled as this machine's (`who`, e.g. "this machine's"), never ranked.
 */
export function eventsTable(scores, caption, who = "this machine's") {
  const t = document.createElement('table');
  t.className = 'bench-events';
  t.appendChild(el('caption', caption, 'help'));
  const head = t.createTHead().insertRow();
  for (const h of ['Event', 'Ratio vs reference', 'Interval (min–max)', `Reference median (${who})`, `Candidate median (${who})`, 'Rounds']) {
    const th = el('th', h);
    th.scope = 'col';
    head.appendChild(th);
  }
  const body = t.createTBody();
  const s = scores && typeof scores === 'object' ? scores : {};
  for (const e of EVENTS) {
    const ev = s[e.key] && typeof s[e.key] === 'object' ? s[e.key] : {};
    const tr = body.insertRow();
    tr.dataset.event = e.key;
    const th = el('th', e.label);
    th.scope = 'row';
    tr.appendChild(th);
    const r = tr.insertCell();
    r.textContent = ratio(ev.ratio);
    if (Number.isFinite(num(ev.ratio))) r.dataset.value = String(ev.ratio);
    tr.insertCell().textContent = Number.isFinite(num(ev.ratio_min))
      ? `${fmt(ev.ratio_min, 3)}–${fmt(ev.ratio_max, 3)}×`
      : '—';
    tr.insertCell().textContent = raw(ev.reference, e.unit);
    tr.insertCell().textContent = raw(ev.candidate, e.unit);
    tr.insertCell().textContent = Number.isFinite(num(ev.rounds)) ? String(ev.rounds) : '—';
  }
  return t;
}

/** Key facts of a record as a definition list (all text). */
export function recordFacts(rec) {
  const dl = el('dl', '', 'facts');
  const q = rec.quality && typeof rec.quality === 'object' ? rec.quality : {};
  const s = rec.scores && typeof rec.scores === 'object' ? rec.scores : {};
  const env = rec.environment && typeof rec.environment === 'object' ? rec.environment : {};
  const rows = [
    ['Handle', rec.handle],
    ['Suite', rec.suite && rec.suite.version],
    ['Division', rec.division],
    ['Recipe', rec.recipe_id],
    ['Face', env.face],
    ['Platform', env.platform],
    ['All-round', ratio(s.all_round)],
    ['KL vs reference', `${fmtSmall(num(q.kld))} nats/token`],
    ['Top-1 agreement', `${fmt(100 * num(q.top1_agreement), 4)} %`],
    ['Quality ratio', `${fmt(num(s.quality_ratio), 5)} (perplexity, reference / candidate)`],
  ];
  for (const [k, v] of rows) {
    const d = el('div');
    d.appendChild(el('dt', k));
    d.appendChild(el('dd', v === undefined || v === null || v === '' ? '—' : String(v)));
    dl.appendChild(d);
  }
  return dl;
}
