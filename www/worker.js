// Module Web Worker that owns the wasm instance, so the page stays responsive while
// the model computes. It streams messages to the main thread:
//   loading {message} · ready {info, source, notice, isolated} · started {id, started}
//   token {id, steps: [{token, text, pos, ms, wall}]}
//   done {id, stopped, message, contextFull} · error {id?, message, fatal}
// and takes: generate {id, settings} · stop {id} · panic (a test hook).
// `fatal` means the wasm instance trapped (a Rust panic): it is unusable afterwards,
// and the main thread replaces this worker with a fresh one.

import init, { Playground } from './pkg/tinyopt.js';

const MODEL_URL = new URL('../models/shakespeare-char.safetensors', import.meta.url);
/** Longest stretch of computation between two looks at the message queue. */
const SLICE_MS = 8;

let pg = null; // the Playground, once loaded
let current = null; // {id, cancelled} of the generation in progress
let queue = Promise.resolve(); // generations run one after another

const post = (m) => self.postMessage(m);

/** A macrotask yield: lets a pending `stop` message run. (setTimeout(0) gets clamped to 4 ms.) */
const chan = new MessageChannel();
let wake = null;
chan.port1.onmessage = () => wake && wake();
function yieldToEventLoop() {
  return new Promise((resolve) => {
    wake = resolve;
    chan.port2.postMessage(0);
  });
}

/** Reports an exception; a trap (panic) poisons the instance, so we say it is fatal. */
function report(e, id) {
  if (e instanceof WebAssembly.RuntimeError) {
    const panic = globalThis.__tinyoptPanic;
    globalThis.__tinyoptPanic = undefined;
    pg = null;
    post({
      type: 'error',
      id,
      fatal: true,
      message: panic || `the WebAssembly module crashed (${e.message})`,
    });
  } else {
    post({ type: 'error', id, fatal: false, message: (e && e.message) || String(e) });
  }
}

async function load() {
  post({ type: 'loading', message: 'Loading the WebAssembly module…' });
  await init();
  post({ type: 'loading', message: 'Loading the model…' });
  let source = 'random';
  let notice = '';
  try {
    const res = await fetch(MODEL_URL);
    if (res.ok) {
      pg = Playground.fromBytes(new Uint8Array(await res.arrayBuffer()));
      source = MODEL_URL.pathname;
    } else {
      notice = `no trained model at ${MODEL_URL.pathname} (HTTP ${res.status})`;
    }
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw e;
    notice = `the model file could not be used: ${e.message}`;
  }
  if (!pg) pg = Playground.randomInit(0);
  const info = pg.info();
  warmUp(info);
  // Browsers coarsen performance.now() unless the page is cross-origin isolated.
  const isolated = self.crossOriginIsolated === true;
  post({ type: 'ready', info, source, notice, isolated });
}

/** A short untimed run of each mode, so the first measured run is not also the one
 *  that pays for the engine's first optimising compile of the hot loops. */
function warmUp(info) {
  post({ type: 'loading', message: 'Warming up…' });
  const first = [...info.vocab][0];
  const n = Math.min(24, info.config.ctx - 1);
  for (const kv of [false, true]) {
    pg.start(first, { max_new_tokens: n, temperature: 0, top_k: 0, seed: 0, kv_cache: kv });
    while (pg.step() !== null);
  }
}

/** Runs one generation to its end (or until cancelled), yielding between slices. */
async function generate(job, s) {
  if (!pg) throw new Error('the model is not loaded');
  const t0 = performance.now();
  const started = pg.start(s.prompt, {
    max_new_tokens: s.tokens,
    temperature: s.temp,
    top_k: 0,
    seed: s.seed,
    kv_cache: s.kv,
  });
  post({ type: 'started', id: job.id, started });
  // Steps go out in one message per slice: a message per token would cost about a
  // third of a cached step, and the page only redraws once per frame anyway.
  let batch = [];
  const flush = () => {
    if (batch.length) post({ type: 'token', id: job.id, steps: batch });
    batch = [];
  };
  let slice = performance.now();
  for (;;) {
    if (job.cancelled) {
      flush();
      post({ type: 'done', id: job.id, stopped: true, message: 'stopped', contextFull: false });
      return;
    }
    const step = pg.step();
    if (step === null) break;
    step.wall = performance.now() - t0; // ms since start(): includes the prompt's prefill
    batch.push(step);
    if (performance.now() - slice > SLICE_MS) {
      flush();
      await yieldToEventLoop();
      slice = performance.now();
    }
  }
  flush();
  post({
    type: 'done',
    id: job.id,
    stopped: false,
    message: pg.stopMessage(),
    contextFull: pg.contextFull(),
  });
}

self.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case 'generate': {
      if (current) current.cancelled = true;
      const job = { id: m.id, cancelled: false };
      current = job;
      queue = queue.then(async () => {
        if (job.cancelled) {
          post({ type: 'done', id: job.id, stopped: true, message: 'stopped', contextFull: false });
          return;
        }
        try {
          await generate(job, m.settings);
        } catch (err) {
          report(err, job.id);
        } finally {
          if (current === job) current = null;
        }
      });
      break;
    }
    case 'stop':
      if (current && (m.id === undefined || m.id === current.id)) current.cancelled = true;
      break;
    case 'panic':
      // Test hook: a deliberate Rust panic, to exercise recovery.
      queue = queue.then(() => {
        try {
          if (!pg) throw new Error('the model is not loaded');
          pg.debugPanic();
        } catch (err) {
          report(err);
        }
      });
      break;
  }
};

load().catch((e) => report(e));
