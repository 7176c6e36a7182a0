// The recipe's rules, read from the wasm module on the main thread. Rust's `Recipe` is
// the one definition (choices, defaults, ranges, normalisation, recipe_id, the URL and
// CLI spellings); this file only loads it. Loading the same package here as in the
// worker is worth it: these functions are pure and take microseconds, need no model,
// and the page needs them before the worker has loaded one (to read the URL and build
// the controls). The worker still owns every model.

import init, * as wasm from './pkg/tinyopt.js';

let loading = null;

/** Loads the wasm module once; a failed load can be tried again (Retry). */
export function loadRecipes() {
  if (!loading) {
    loading = init().catch((e) => {
      loading = null;
      throw e;
    });
  }
  return loading;
}

/** `[{key, kind: {type: 'choice', choices} | {type: 'number', min, max} | {type: 'flag'},
 *  default, help}]`, in the order of the flat keys. */
export const recipeFields = () => wasm.recipeFields();

/** A URL query read leniently: `{recipe, recipe_id, query, cli, values, problems}`;
 *  bad values keep their defaults and are described in `problems` (plain text). */
export const recipeFromQuery = (search) => wasm.recipeFromQuery(search);

/**
 * `recipe` with one flat key set: the same view, or throws a clear error. The key is set
 * in the recipe's flat query (the keys that differ from the defaults), which is then
 * parsed and normalised whole, as a link would be. Unlike `wasm.recipeWith` on the
 * nested form, a setting that normalisation had reset because it did not apply comes
 * back as its default: moving the prune slider up from 0 stores CSR, as `?prune=0.5`
 * does, not the `dense` an unpruned canonical recipe carries.
 */
export function recipeWith(recipe, key, value) {
  const q = new URLSearchParams(wasm.recipeView(recipe).query);
  q.set(key, String(value));
  return wasm.recipeView('?' + q.toString());
}

/** The view of a recipe (nested object, or canonical JSON / query text). */
export const recipeView = (recipe) => wasm.recipeView(recipe);
