// Worker tasks of data-free recovery (issue 22): the shipped teacher is pruned, samples
// its own training text, and the pruned copy is distilled back from its logits — the
// wasm `Recoverer`, the same code as `tinyopt recover`. Driven one sample / one step per
// slice, so Stop and progress get through; the result can become the running model.

/** Tasks over `Recoverer()` (the wasm class), `teacherBytes()` (the shipped teacher's
 *  file), `useBytes(bytes, source)` (makes a model file the running one). */
export function createRecoverTasks({ Recoverer, teacherBytes, useBytes, yieldToEventLoop }) {
  /** The last recovered model's file, kept for `useRecovered`. */
  let recovered = null;

  const tasks = {
    /** The recovery's default options and prune kinds, from wasm. */
    async recoverDefaults() {
      return Recoverer().defaults();
    },

    /** Recovers `opts` (RecoverOptions) within `seconds` of training (0: all steps).
     *  Partial results: `{phase, done, total, curve, before, unpruned, fitted}` (`fitted`:
     *  the schedule's length fitted to `seconds`, once the warmup is timed); the result
     *  adds `{after, weights_sha256, steps_done, steps_total, sample_ms, train_ms, bytes}`. */
    async recover({ opts, seconds }, job, progress) {
      const r = new (Recoverer())(await teacherBytes(), opts);
      try {
        const t0 = performance.now();
        let s = { ready: false };
        while (!s.ready && !job.cancelled) {
          s = r.sample(1);
          progress(s.done || 0, s.total || 1, { phase: 'sampling', done: s.done, total: s.total, curve: [] });
          await yieldToEventLoop();
        }
        if (job.cancelled) return null;
        const sampleMs = performance.now() - t0;
        const q0 = r.quality();
        const curve = [];
        let trainMs = 0;
        // With a time budget, the schedule's length is fitted after the warmup at the
        // pace measured here, so the cosine ends when the budget does (wasm fitBudget).
        const fitAfter = r.fitAfter();
        let total = opts.steps;
        let fitted = null;
        while (!job.cancelled) {
          const t = performance.now();
          const got = r.steps(1);
          trainMs += performance.now() - t;
          if (!got.length) break;
          for (const g of got) curve.push({ ...g, seconds: trainMs / 1e3 });
          if (seconds > 0 && curve.length === fitAfter) {
            total = r.fitBudget(trainMs, seconds * 1e3);
            fitted = { after: fitAfter, ms: trainMs, steps: total };
          }
          progress(curve.length, total, {
            phase: 'training', curve, before: q0.before, unpruned: q0.unpruned, train_ms: trainMs, fitted,
          });
          if (seconds > 0 && trainMs >= seconds * 1e3) break;
          await yieldToEventLoop();
        }
        const q = r.quality();
        recovered = r.modelBytes();
        return {
          phase: 'done', curve, before: q.before, unpruned: q.unpruned, after: q.now,
          sparsity: q.sparsity, frozen: q.frozen, steps_done: q.steps_done, steps_total: q.steps_total, fitted,
          weights_sha256: q.weights_sha256, sample_ms: sampleMs, train_ms: trainMs,
          bytes: recovered.slice(),
        };
      } finally {
        r.free();
      }
    },

    /** Makes the last recovered model the running one (export, benchmark, compare). */
    async useRecovered() {
      if (!recovered) throw new Error('recover a model first');
      useBytes(recovered, 'recovered in this page (data-free distillation from the teacher)');
      return { model: 'recovered' };
    },
  };
  return { tasks };
}
