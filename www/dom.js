// The one small DOM builder the page's view modules share: attributes set as
// attributes, children appended as nodes (strings become text, never markup).

/** `tag` with `attrs` and `children`. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

/** Saves `text` as a download named `name` (a temporary object URL and link). */
export function downloadText(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
