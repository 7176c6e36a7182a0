// Which build of the engine this browser runs. Two wasm packages of the same crate are
// shipped: `pkg/` (simd128) and `pkg-relaxed/` (simd128 + relaxed SIMD). The relaxed one
// is picked where the browser validates a relaxed-SIMD instruction; both start on the
// bit-exact `simd` kernel, and only the `relaxed` kernel uses the extra instructions.
// `?build=simd128` or `?build=relaxed` in the page's URL overrides the pick (to compare
// builds, or to test the fallback); any other value is ignored, with a note.

/** The smallest module that uses `i32x4.relaxed_dot_i8x16_i7x16_add_s` (0xfd 0x113):
 *  one function () -> () that dots three zero vectors and drops the result. */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one type, () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3e, 0x01, 0x3c, 0x00, // code section: one body of 60 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array(16).fill(0)]), // 3 × v128.const 0
  0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s
  0x1a, 0x0b, // drop, end
]);

export const BUILDS = {
  simd128: { dir: './pkg/', label: 'wasm simd128' },
  relaxed: { dir: './pkg-relaxed/', label: 'wasm simd128 + relaxed-simd' },
};

/** Whether this browser's WebAssembly has relaxed SIMD. */
export function relaxedSimdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** `{build, why}` for a page query (`location.search`): the build to load and, in plain
 *  words, why that one. */
export function pickBuild(search = '') {
  const supported = relaxedSimdSupported();
  let asked = null;
  try {
    asked = new URLSearchParams(search).get('build');
  } catch {
    asked = null;
  }
  const shown = String(asked).length > 20 ? `${String(asked).slice(0, 20)}…` : String(asked);
  const note = asked !== null && !Object.hasOwn(BUILDS, asked) ? `; ?build=${shown} is not a build (simd128 or relaxed)` : '';
  if (asked === 'simd128') return { build: 'simd128', why: 'asked for in the URL (?build=simd128)' };
  if (asked === 'relaxed') {
    return supported
      ? { build: 'relaxed', why: 'asked for in the URL (?build=relaxed)' }
      : { build: 'simd128', why: 'the URL asked for relaxed, but this browser has no relaxed SIMD' };
  }
  return supported
    ? { build: 'relaxed', why: `this browser supports relaxed SIMD${note}` }
    : { build: 'simd128', why: `this browser has no relaxed SIMD${note}` };
}

/** Imports and initialises the package of `build`; returns its module namespace. */
export async function importBuild(build) {
  const mod = await import(new URL(`${BUILDS[build].dir}tinyopt.js`, import.meta.url).href);
  await mod.default();
  return mod;
}
