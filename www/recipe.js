// The recipe's rules, read from the wasm module on the main thread. Rust's `Recipe` is
// the one definition (choices, defaults, ranges, normalisation, recipe_id, the URL and
// CLI spellings); this file only loads it. Loading the same package here as in the
// worker is worth it: these functions are pure and take microseconds, need no model,
// and the page needs them before the worker has loaded one (to read the URL and build
// the controls). The worker still owns every model.

import { pickBuild, importBuild } from './engine.js';

let wasm = null;
let loading = null;

/** Loads the wasm module once (the build the worker loads too, so the browser fetches
 *  one package; the rules are the same in both); a failed load can be tried again (Retry). */
export function loadRecipes() {
  if (!loading) {
    const { build } = pickBuild(location.search);
    loading = importBuild(build)
      .catch((e) => (build === 'simd128' ? Promise.reject(e) : importBuild('simd128')))
      .then((mod) => {
        wasm = mod;
      })
      .catch((e) => {
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

/** `recipe` with one flat key set and normalised by the core: the same view, or
 *  throws a clear error (a refused value leaves `recipe` as it was). */
export const recipeWith = (recipe, key, value) => wasm.recipeWith(recipe, key, String(value));

/** The view of a recipe (nested object, or canonical JSON / query text). */
export const recipeView = (recipe) => wasm.recipeView(recipe);
