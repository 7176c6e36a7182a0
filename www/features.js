// What this browser's engine can do, found by trying the feature itself (never from the
// user-agent string): engines differ on shared memory, relaxed SIMD, memory measurement,
// service workers, the Cache API and the clipboard. The page's note and the lab report
// say what is missing, and each consumer degrades instead of failing.

/** A shared 4-byte counter the page can post to its worker, or `null` with the reason.
 *  Cross-origin isolation is not enough: WebKitGTK isolates the page but has no global
 *  `SharedArrayBuffer` and cannot post one, so both are tried here. */
export function sharedCounter() {
  if (globalThis.crossOriginIsolated !== true) return { counter: null, why: 'the page is not cross-origin isolated' };
  let buf = null;
  try {
    if (typeof SharedArrayBuffer === 'function') buf = new SharedArrayBuffer(4);
    else buf = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer;
  } catch (e) {
    return { counter: null, why: `no shared memory (${(e && e.message) || e})` };
  }
  try {
    // Posting it is what the worker needs: try it on a throwaway channel.
    const ch = new MessageChannel();
    ch.port1.postMessage(buf);
    ch.port1.close();
    ch.port2.close();
  } catch (e) {
    return { counter: null, why: `shared memory cannot be posted to a worker here (${(e && e.name) || e})` };
  }
  return { counter: new Int32Array(buf, 0, 1), why: '' };
}

/** `{name: {ok, note}}` for the features the page leans on, for the note under the
 *  metrics and the lab report. */
export function detectFeatures() {
  const out = {};
  const put = (name, ok, note = '') => (out[name] = { ok: Boolean(ok), note });
  const shared = sharedCounter();
  put('sharedMemory', shared.counter !== null, shared.why);
  put('moduleWorker', typeof Worker === 'function');
  put('serviceWorker', 'serviceWorker' in navigator && window.isSecureContext);
  put('cacheApi', typeof caches === 'object' && caches !== null);
  put('memoryMeasure', typeof performance.measureUserAgentSpecificMemory === 'function' && globalThis.crossOriginIsolated === true);
  put('clipboard', !!(navigator.clipboard && typeof navigator.clipboard.writeText === 'function'));
  return out;
}
