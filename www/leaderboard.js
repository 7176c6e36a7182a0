// The Leaderboard view: leaderboard/board.json (written by `tinyopt leaderboard` from
// the verified records) as two ranked tables, closed and open, in the order given.
// The file is data from pull requests: every string is set as text, numbers checked.

import { fmt, fmtSmall } from './metrics.js';
import { el, gateBadge, num, ratio, statusBadge, tableWrap } from './bench-events.js';

const URL_BOARD = 'leaderboard/board.json';
const MAX_ROWS = 1000; // a board bigger than this is not one `tinyopt leaderboard` wrote
const COLUMNS = ['Rank', 'Handle', 'Recipe', 'Face', 'Verification', 'Gate', 'All-round', 'Latency', 'TTFT', 'Throughput', 'Footprint', 'KL', 'Top-1'];

function table(rows, caption) {
  const t = document.createElement('table');
  t.className = 'board';
  t.appendChild(el('caption', caption, 'help'));
  const head = t.createTHead().insertRow();
  for (const c of COLUMNS) {
    const th = el('th', c);
    th.scope = 'col';
    head.appendChild(th);
  }
  const body = t.createTBody();
  rows.slice(0, MAX_ROWS).forEach((r, i) => {
    const row = r && typeof r === 'object' ? r : {};
    const tr = body.insertRow();
    tr.insertCell().textContent = String(i + 1);
    const who = el('th', String(row.handle ?? '—'));
    who.scope = 'row';
    tr.appendChild(who);
    const recipe = tr.insertCell();
    recipe.className = 'board-recipe';
    recipe.appendChild(el('code', String(row.recipe_id ?? '—')));
    if (row.recipe_query) recipe.appendChild(el('span', String(row.recipe_query), 'spread'));
    const face = tr.insertCell();
    face.textContent = String(row.face ?? '—');
    if (row.platform) face.title = String(row.platform);
    tr.insertCell().appendChild(statusBadge(row.status));
    const gate = tr.insertCell();
    gate.appendChild(gateBadge(row.gate));
    for (const k of ['all_round', 'latency', 'ttft', 'throughput', 'footprint']) {
      const c = tr.insertCell();
      c.textContent = ratio(row[k]);
      c.dataset.event = k;
    }
    tr.insertCell().textContent = fmtSmall(num(row.kld));
    tr.insertCell().textContent = `${fmt(100 * num(row.top1_agreement), 4)} %`;
  });
  return t;
}

/** Fetches and renders the board into `root`; `status` says what happened, as text. */
export async function showBoard(root, status) {
  root.textContent = '';
  status.textContent = 'Loading the leaderboard…';
  let board;
  try {
    const res = await fetch(URL_BOARD, { cache: 'no-cache' });
    if (res.status === 404) {
      status.textContent = `No leaderboard here: ${URL_BOARD} is missing (run tinyopt leaderboard to build it).`;
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    board = await res.json();
  } catch (e) {
    status.textContent = `The leaderboard could not be read: ${(e && e.message) || e}.`;
    return;
  }
  if (!board || typeof board !== 'object' || !Array.isArray(board.closed) || !Array.isArray(board.open)) {
    status.textContent = `${URL_BOARD} is not a leaderboard (no closed and open lists).`;
    return;
  }
  const suite = String(board.suite ?? '');
  status.textContent =
    `Suite ${suite || '(unnamed)'}: ${board.closed.length} closed, ${board.open.length} open. ` +
    'Ranked by the all-round score (gate failures last); ratios are against the f32 reference measured in the same run, so they compare across machines.';
  for (const [name, rows, what] of [
    ['Closed division', board.closed, 'the shipped model with post-training transforms'],
    ['Open division', board.open, 'any model file, judged against the same reference'],
  ]) {
    const section = el('div', '', 'board-division');
    section.dataset.division = name.split(' ')[0].toLowerCase();
    section.appendChild(el('h4', `${name} (${rows.length})`));
    if (rows.length === 0) section.appendChild(el('p', `No ${name.toLowerCase()} records yet.`, 'help'));
    else {
      section.appendChild(tableWrap(table(rows, `${name}: ${what}.`), `${name} ranking`));
    }
    root.appendChild(section);
  }
}
