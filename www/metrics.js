// Statistics of one run, computed from what the worker measured in this browser:
// the wasm step timings (`ms`, forward + sampling) and the worker's wall clock.
// Single samples are noisy, so latency is a median with its p10–p90 spread.

/** Linear-interpolated quantile of sorted numbers (same rule as the Rust `stats::quantile`). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(xs) {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/**
 * Figures of a run. `steps` are `{pos, ms, wall}` where `wall` is ms since `start()`.
 * - time to first token: wall clock to the first token (prompt prefill included);
 * - tokens/s: decode throughput, tokens after the first over the wall time they took
 *   (so prefill does not blur the cache comparison);
 * - ms/token: median and p10–p90 of the decode steps' own timings; when the clock was
 *   coarse, of the batches' times per token instead (`run.batches`: {from, k, ms}, each
 *   batch spanning ≥ 50 × the timer's resolution), and `batchK` says how many tokens a
 *   batch held (median);
 * - steps-alone rate: 1000 / the median ms per token, and `pageShare`, the decode speed
 *   over it: how much of the model's own rate the page's wall clock keeps.
 */
export function summarize(run) {
  const steps = run.steps;
  const n = steps.length;
  const out = {
    n,
    tokensPerS: NaN,
    medianMs: NaN,
    p10Ms: NaN,
    p90Ms: NaN,
    ttftMs: n > 0 ? steps[0].wall : NaN,
    kvBytes: run.started ? run.started.kv_cache_bytes : NaN,
    weightBytes: run.started ? run.started.weight_bytes : NaN,
    batchK: NaN,
    stepsPerS: NaN,
    pageShare: NaN,
  };
  if (n === 0) return out;
  const decode = n > 1 ? steps.slice(1) : steps;
  const batches = run.batches || [];
  let sorted;
  if (batches.length) {
    sorted = batches.map((b) => b.ms).sort((a, b) => a - b);
    out.batchK = median(batches.map((b) => b.k));
  } else sorted = decode.map((s) => s.ms).sort((a, b) => a - b);
  out.medianMs = quantile(sorted, 0.5);
  out.p10Ms = quantile(sorted, 0.1);
  out.p90Ms = quantile(sorted, 0.9);
  const span = n > 1 ? steps[n - 1].wall - steps[0].wall : steps[0].wall;
  if (span > 0) out.tokensPerS = (n > 1 ? n - 1 : 1) / (span / 1000);
  if (out.medianMs > 0) {
    out.stepsPerS = 1000 / out.medianMs;
    out.pageShare = out.tokensPerS / out.stepsPerS;
  }
  return out;
}

/** A number for display, with sensible precision for its size. */
export function fmt(x, digits = 3) {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

/** A small positive figure (e.g. a KL divergence): scientific notation below 0.001. */
export function fmtSmall(x, digits = 3) {
  if (Number.isFinite(x) && x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(digits - 1);
  return fmt(x, digits);
}

/** Bytes in binary units, e.g. `1.25 MiB`; the exact count goes in a tooltip. */
export function fmtBytes(b) {
  if (!Number.isFinite(b)) return '—';
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = b / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${units[i]}`;
}
