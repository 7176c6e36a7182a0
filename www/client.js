// Main-thread side of the worker: starts it, sends it work, and replaces it when the
// wasm instance inside has trapped (a panic leaves it unusable), so the page keeps
// working without a reload.

import { sharedCounter } from './features.js';

export class ModelClient {
  /** `onMessage(msg)` receives every worker message (see worker.js), plus
   *  `{type: 'restarting'}` when a fresh worker replaces a broken one. */
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.worker = null;
    this.nextId = 1;
    this.waiting = new Set(); // generations not yet sent (see `generate`)
    this.ready = false;
    this.paused = false;
    this.model = ''; // the model picker's id the worker loads at start (issue 14)
  }

  /** (Re)starts the worker, which loads the wasm and the model afresh. */
  start() {
    if (this.worker) this.worker.terminate();
    this.ready = false;
    const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker = w;
    // Cross-origin isolated, the page counts the messages it sends in memory the worker
    // shares, so a generation looks at its queue only when something is waiting there
    // (each look costs a share of a cached step). Elsewhere it looks after every slice.
    // Feature-detected (features.js): isolated WebKitGTK has no postable shared memory.
    this.sent = sharedCounter().counter;
    if (this.sent) this.send({ type: 'mailbox', sent: this.sent });
    // Model picker (issue 14): the model to load, as the first message (a query on the
    // script's URL would miss the service worker's offline cache).
    // The page's query goes along for the engine build (`?build=`, see engine.js).
    this.send({ type: 'model', model: this.model || '', search: location.search });
    w.onmessage = (e) => {
      if (w !== this.worker) return; // a message from a worker we already replaced
      const m = e.data;
      if (m.type === 'ready') this.ready = true;
      // A crash while loading would crash again on a restart: report it as a startup
      // failure (the page offers Retry) instead of restarting in a loop.
      const restart = m.type === 'error' && m.fatal && this.ready;
      if (m.type === 'error' && m.fatal && !this.ready) m.startup = true;
      this.onMessage(m);
      if (restart) this.restart();
    };
    // A module that fails to load (e.g. www/pkg not built) reports here, without details.
    w.onerror = (e) => {
      if (w !== this.worker) return;
      e.preventDefault();
      this.ready = false;
      this.onMessage({
        type: 'error',
        fatal: false,
        startup: true,
        message:
          (e.message ? e.message + ': ' : '') +
          'the model worker could not start. Are the wasm packages built into www/pkg and www/pkg-relaxed? ' +
          '(scripts/build.sh builds it)',
      });
    };
    if (this.paused) this.send({ type: 'pause' });
  }

  /** Posts `m` to the worker (moving `transfer`), counted in the shared count if any. */
  send(m, transfer = []) {
    this.worker.postMessage(m, transfer);
    if (this.sent) Atomics.add(this.sent, 0, 1);
  }

  /** Pauses the worker's work at its next yield (an embed out of sight), or resumes it;
   *  paused time is left out of the timings. */
  pause(on) {
    this.paused = on;
    if (this.worker) this.send({ type: on ? 'pause' : 'resume' });
  }

  restart() {
    this.onMessage({ type: 'restarting' });
    this.start();
  }

  /** Starts a generation with a copy of the settings once `start` resolves (the page
   *  waits until its run-start frame is drawn); returns its id. */
  generate(settings, start = Promise.resolve()) {
    const id = this.nextId++;
    const copy = { ...settings };
    this.waiting.add(id);
    start.then(() => {
      if (this.waiting.delete(id)) this.send({ type: 'generate', id, settings: copy });
    });
    return id;
  }

  /** Stops generation `id`; one not sent yet ends here, as a stopped run with no steps. */
  stop(id) {
    if (this.waiting.delete(id)) {
      queueMicrotask(() => this.onMessage({ type: 'done', id, stopped: true, message: 'stopped', contextFull: false }));
    } else if (this.worker) this.send({ type: 'stop', id });
  }

  /** Starts a panel task (see TASKS in worker.js); returns its id. `transfer` lists
   *  buffers to move rather than copy (a loaded file's bytes). */
  task(name, args = {}, transfer = []) {
    const id = this.nextId++;
    this.send({ type: 'task', id, name, args }, transfer);
    return id;
  }

  cancel(id) {
    if (this.worker) this.send({ type: 'cancel', id });
  }

  /** Tells the worker whether the page is hidden (a benchmark round run while hidden
   *  is flagged invalid). */
  visibility(hidden) {
    if (this.worker) this.send({ type: 'visibility', hidden });
  }

  /** Test hook: makes the wasm panic inside the worker. */
  debugPanic() {
    this.send({ type: 'panic' });
  }
}
