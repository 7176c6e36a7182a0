// The recipe card: what runs now (recipe_id, the storage formats counted in the built
// model, its quality) and the shell command that reproduces it natively. The exact
// KL and top-1 are kept in data- attributes, so a test can compare them bit for bit.

import { fmt, fmtSmall } from './metrics.js';
import { recipeView } from './recipe.js';

const $ = (id) => document.getElementById(id);

/** "16 csr-int8 · 3 int8": matrices per storage format, most first. */
export function storageText(storage) {
  return Object.entries(storage || {})
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([format, n]) => `${n} ${format}`)
    .join(' · ');
}

/** Shows the running recipe from a `setRecipe` report (null: the model as loaded). */
export function showRecipeCard(report) {
  const card = $('recipe-card');
  const copy = $('rc-copy');
  $('rc-copy-status').textContent = '';
  if (!report) {
    $('rc-id').textContent = 'as loaded';
    for (const id of ['rc-storage', 'rc-kld', 'rc-top1', 'rc-time']) $(id).textContent = '—';
    $('rc-cli').textContent = 'the loaded file is the reference: apply a recipe to get a command';
    copy.disabled = true;
    for (const k of ['recipeId', 'kld', 'top1', 'cli']) delete card.dataset[k];
    return;
  }
  const view = recipeView(report.recipe);
  $('rc-id').textContent = view.recipe_id;
  $('rc-storage').textContent = storageText(report.storage);
  $('rc-kld').textContent = `${fmtSmall(report.kld, 3)} nats/token`;
  $('rc-top1').textContent = `${fmt(100 * report.top1_agreement, 4)} %`;
  // What the student waited for, measured in the worker: building the model, then its quality.
  $('rc-time').textContent = Number.isFinite(report.construct_ms)
    ? `${fmt(report.ms, 3)} ms (build ${fmt(report.construct_ms, 3)}, quality ${fmt(report.quality_ms, 3)})`
    : '—';
  $('rc-cli').textContent = view.cli;
  copy.disabled = false;
  card.dataset.recipeId = view.recipe_id;
  card.dataset.kld = String(report.kld);
  card.dataset.top1 = String(report.top1_agreement);
}

/** Copies the command; where the clipboard is unavailable (a non-secure page, a denied
 *  permission), selects the command's text instead and says how to copy it. */
async function copyCommand() {
  const code = $('rc-cli');
  const status = $('rc-copy-status');
  const text = code.textContent;
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard here');
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    status.textContent = 'The clipboard is not available here: the command is selected, press Ctrl+C (⌘C) to copy it.';
  }
}

/** Wires the copy button (once). */
export function setupRecipeCard() {
  $('rc-copy').addEventListener('click', copyCommand);
  $('rc-copy').disabled = true;
}
