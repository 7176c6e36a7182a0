// Worker tasks of the recipe search (issue 21): the wasm search (`searchStart` /
// `searchStep`, the code `tinyopt search` runs) driven one candidate per call, so the
// page shows each measured candidate as it lands and Stop gets through between them.

/** `env`: {pg() -> the Playground, Playground() -> the class, yieldToEventLoop}. */
export function createSearchTasks(env) {
  return {
    /** `{objectives, tiers}` from wasm (the page keeps no list of its own). */
    async searchOptions() {
      return env.Playground().searchOptions();
    },

    /** Searches for the cheapest recipe of the loaded model passing `gate` (a ratio).
     *  Partials `{phase, tried, best}`; the result adds `{stopped, gate, objective}`. */
    async search({ gate, objective }, job, progress) {
      const pg = env.pg();
      progress(0, 0, { phase: 'calibrating', tried: [], best: null });
      await env.yieldToEventLoop();
      pg.searchStart(gate, objective);
      const tried = [];
      let out = { phase: 'start', tried, best: null };
      let done = false;
      while (!done && !job.cancelled) {
        progress(tried.length, 0, out);
        await env.yieldToEventLoop();
        if (job.cancelled) break;
        const r = pg.searchStep();
        if (r.candidate) tried.push(r.candidate);
        done = r.done;
        out = { phase: r.phase, tried, best: r.best };
      }
      return { ...out, stopped: !done, gate, objective };
    },
  };
}
