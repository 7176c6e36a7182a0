// Worker tasks for the exact-or-relaxed comparison (Kernels tab): the same model run by
// the bit-exact `simd` kernel and by the `relaxed` one, at three precisions. Speed from
// decode timings that alternate round by round; bits from `kernelBitsLost` (logits
// compared bit for bit on the fixed evaluation set, and a greedy run token by token).

/** The precisions compared: f32, then the two integer formats. */
export const RELAXED_PRECISIONS = ['f32', 'int8-dynamic', 'int4'];
export const RELAXED_KERNELS = ['simd', 'relaxed'];

/**
 * `env`: {pg() -> the Playground, recipeOf(precision, kernel) -> a recipe of the loaded
 * model, decodeTimes (the worker's task), yieldToEventLoop}.
 */
export function createRelaxedTasks(env) {
  return {
    /** `{rounds, tokens}` → `{precisions, times: {"f32/simd": [timeDecode…]…}, bits:
     *  {f32: BitsLost…}}`; partial results while it runs. */
    async relaxedCompare({ rounds, tokens }, job, progress) {
      const recipes = {};
      for (const p of RELAXED_PRECISIONS) {
        for (const k of RELAXED_KERNELS) recipes[`${p}/${k}`] = env.recipeOf(p, k);
      }
      const steps = rounds * Object.keys(recipes).length + RELAXED_PRECISIONS.length;
      const out = { precisions: RELAXED_PRECISIONS, times: {}, bits: {} };
      out.times = await env.decodeTimes({ recipes, rounds, tokens }, job, (done, _total, times) => {
        out.times = times;
        progress(done, steps, out);
      });
      let done = rounds * Object.keys(recipes).length;
      for (const p of RELAXED_PRECISIONS) {
        if (job.cancelled) break;
        out.bits[p] = env.pg().kernelBitsLost(recipes[`${p}/simd`], 'relaxed', tokens);
        progress(++done, steps, out);
        await env.yieldToEventLoop();
      }
      return out;
    },
  };
}
