// Compare two submission records side by side. Each side takes a file or pasted text,
// which the worker parses and verifies (`checkRecord`, the same checks as
// `tinyopt verify`); a bad record shows the reason as text and leaves the other side be.

import { el, eventsTable, recordFacts, statusBadge, tableWrap } from './bench-events.js';

const $ = (id) => document.getElementById(id);
/** Records are at most 8 MiB (Rust's MAX_RECORD_BYTES): a bigger file is not read. */
const MAX_BYTES = 8 << 20;
/** Longer texts are checked without being copied into the paste box. */
const MAX_SHOWN = 1 << 20;

function verdictView(value, side) {
  const out = document.createDocumentFragment();
  const v = value.verdict || {};
  const head = el('p', '', 'bench-verdict');
  head.appendChild(el('strong', v.passed ? 'PASS ' : 'FAIL '));
  head.appendChild(statusBadge(v.status));
  head.dataset.passed = String(Boolean(v.passed));
  out.appendChild(head);
  const list = el('ul', '', 'bench-checks');
  for (const c of Array.isArray(v.checks) ? v.checks : []) {
    const li = el('li', `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
    li.className = c.ok ? 'ok' : 'bad';
    list.appendChild(li);
  }
  out.appendChild(list);
  out.appendChild(recordFacts(value.record || {}));
  const events = eventsTable((value.record || {}).scores, 'Events: ratios against the reference of the same run', 'its machine');
  out.appendChild(tableWrap(events, `Events of record ${side.toUpperCase()}`));
  return out;
}

/** Side `side` ('a' or 'b') from the template, its parts given ids `b-cmp-<side>-<part>`. */
function makeSide(side) {
  const node = $('b-cmp-side').content.firstElementChild.cloneNode(true);
  const name = side.toUpperCase();
  for (const e of node.querySelectorAll('[data-part]')) e.id = `b-cmp-${side}-${e.dataset.part}`;
  for (const l of node.querySelectorAll('[data-for]')) l.htmlFor = `b-cmp-${side}-${l.dataset.for}`;
  node.querySelector('[data-part="h"]').textContent = `Record ${name}`;
  node.querySelector('[data-part="check"]').textContent = `Check ${name}`;
  node.querySelector('[data-part="out"]').setAttribute('aria-labelledby', `b-cmp-${side}-h`);
  $('b-compare').appendChild(node);
}

/** `ctx`: {runner}. Builds and wires the two sides, `a` and `b`. */
export function setupCompare(ctx) {
  for (const side of ['a', 'b']) {
    makeSide(side);
    const id = (part) => `b-cmp-${side}-${part}`;
    const text = $(id('text'));
    const out = $(id('out'));
    const error = $(id('error'));
    let pending = ''; // a long file's text, not copied into the paste box

    async function check(recordText) {
      out.textContent = '';
      error.textContent = '';
      out.setAttribute('aria-busy', 'true');
      try {
        const { value } = await ctx.runner.run('checkRecord', { text: recordText }).promise;
        if (value) out.appendChild(verdictView(value, side));
      } catch (e) {
        error.textContent = `Not a usable record: ${(e && e.message) || e}`;
      } finally {
        out.setAttribute('aria-busy', 'false');
      }
    }

    $(id('file')).addEventListener('change', async (e) => {
      const file = e.target.files && e.target.files[0];
      if (!file) return;
      if (file.size > MAX_BYTES) {
        out.textContent = '';
        error.textContent = `Not a usable record: ${file.name} is ${file.size} bytes; records are at most 8 MiB.`;
        return;
      }
      const t = await file.text();
      pending = t.length > MAX_SHOWN ? t : '';
      text.value = pending ? '' : t;
      text.placeholder = pending ? `${file.name}: too long to show here; checked as loaded.` : text.placeholder;
      check(t);
    });
    $(id('check')).addEventListener('click', () => check(pending && !text.value ? pending : text.value));
    text.addEventListener('input', () => {
      pending = '';
    });
  }
}
