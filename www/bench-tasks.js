// The benchmark's worker tasks (worker.js adds them to its TASKS): a suite run one round
// per wasm call, so the page shows progress and Stop lands between rounds; the rounds
// the page was hidden during are flagged invalid; a finished run is sealed into the
// submission record at once, while the running model is still the one that was measured.

/**
 * `env`: {pg() -> the Playground, Playground() -> the class (once loaded), modelUrl (the shipped model),
 * yieldToEventLoop}. Returns `{tasks, setHidden}`; `setHidden(bool)` takes the page's
 * visibility (worker.js forwards the page's `visibility` messages).
 */
export function createBenchTasks(env) {
  let hidden = false; // the page's visibility as last reported
  let disturbed = false; // the page was hidden at some point during the current round
  let shippedSha = null; // sha256 of the shipped model file, once known ('' = none)

  function setHidden(h) {
    hidden = Boolean(h);
    if (hidden) disturbed = true;
  }

  async function shippedBytes() {
    const res = await fetch(env.modelUrl);
    if (!res.ok) throw new Error(`the shipped model (${env.modelUrl.pathname}) is not available: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The smallest step of performance.now() here, ms (as Rust's timer_resolution_ms). */
  function timerResolutionMs() {
    let last = performance.now();
    const end = last + 5;
    let min = Infinity;
    while (last < end) {
      const t = performance.now();
      if (t > last) min = Math.min(min, t - last);
      last = t;
    }
    return Number.isFinite(min) ? min : 0;
  }

  const tasks = {
    /** `{sha256, shipped_sha256}`: whether the loaded model is the shipped one decides
     *  whether the open division is possible. */
    async benchInfo() {
      if (shippedSha === null) {
        try {
          const probe = env.Playground().fromBytes(await shippedBytes());
          shippedSha = probe.modelSha256();
          probe.free();
        } catch {
          shippedSha = '';
        }
      }
      return { sha256: env.pg().modelSha256(), shipped_sha256: shippedSha };
    },

    /**
     * Runs `suite` on the running recipe: closed (the loaded model is the reference) or
     * open (the shipped model file is). Progress partials are `{rounds, invalid}`.
     * Returns `{rounds, invalid, stopped, max_rounds, text}` (`text`: the record, JSON,
     * when the suite finished).
     */
    async bench({ settings, suite, division, handle }, job, progress) {
      const pg = env.pg();
      const reference = division === 'open' ? await shippedBytes() : new Uint8Array(0);
      const def = pg.benchStart(suite, reference);
      let rounds = 0;
      let invalid = 0;
      let done = false;
      progress(0, def.max_rounds, { rounds, invalid });
      while (!done && !job.cancelled) {
        disturbed = hidden; // a round that starts hidden is disturbed from the start
        const r = pg.benchStep();
        // Lets a `visibility` message sent during the round arrive before we judge it
        // (page messages and this yield share the posted-message queue, in order).
        await env.yieldToEventLoop();
        // Warm-up rounds are not kept (rounds stays put): nothing to flag then.
        if (disturbed && r.rounds > rounds) {
          pg.benchInvalidateLast();
          invalid++;
        }
        rounds = r.rounds;
        done = r.done;
        progress(rounds, def.max_rounds, { rounds, invalid });
      }
      const out = { rounds, invalid, max_rounds: def.max_rounds, stopped: !done, text: '' };
      if (!done) return out;
      const environment = {
        platform: String(self.navigator.userAgent || 'unknown browser'),
        cross_origin_isolated: self.crossOriginIsolated === true,
        timer_resolution_ms: timerResolutionMs(),
      };
      out.text = pg.benchRecord(settings.recipe, environment, handle, Math.floor(Date.now() / 1000));
      return out;
    },

    /** A record's text (untrusted) → `{record, verdict}`, or a clear error. */
    async checkRecord({ text }) {
      return env.pg().checkRecord(text);
    },
  };
  return { tasks, setHidden };
}
