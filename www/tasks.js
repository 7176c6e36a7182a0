// Panel work sent to the worker as named tasks, as promises on this side; plus the
// button/progress/Stop wiring every long measurement shares.

export class TaskRunner {
  constructor(client) {
    this.client = client;
    this.pending = new Map(); // id -> {resolve, reject, onProgress}
    this.epoch = undefined; // the worker's model count at its last `ready`
  }

  /** Starts task `name`; returns `{id, promise}`; `promise` gives `{value, stopped}`. */
  run(name, args = {}, onProgress = null, transfer = []) {
    // Tasks name the model they were asked about; the worker drops them if it changed.
    const id = this.client.task(name, { ...args, epoch: this.epoch }, transfer);
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, onProgress }));
    return { id, promise };
  }

  cancel(id) {
    this.client.cancel(id);
  }

  /** Takes a worker message; true if it was a task's. */
  handle(m) {
    const t = this.pending.get(m.id);
    if (!m.type.startsWith('task-')) return false;
    if (!t) return true;
    if (m.type === 'task-progress') {
      if (t.onProgress) t.onProgress(m.done, m.total, m.partial);
    } else if (m.type === 'task-result') {
      this.pending.delete(m.id);
      t.resolve({ value: m.value, stopped: m.stopped });
    } else if (m.type === 'task-error') {
      this.pending.delete(m.id);
      t.reject(new Error(m.message));
    } else if (m.type === 'task-done') {
      this.pending.delete(m.id);
      t.resolve({ value: null, stopped: true });
    }
    return true;
  }

  /** The worker died or was replaced: nothing pending will ever answer. */
  failAll(message) {
    for (const t of this.pending.values()) t.reject(new Error(message));
    this.pending.clear();
  }
}

/**
 * Wires a measurement: `button` starts `start(onProgress)` (which returns a task
 * handle `{id, promise}`), `stop` cancels it, `progress` shows it; `done(result)` and
 * `fail(error)` take the outcome. While it runs the button is disabled and aria-busy
 * marks `busyEl`.
 */
export function bindTask({ button, stop, progress, busyEl, runner, start, done, fail }) {
  let current = null;
  const setRunning = (on) => {
    button.disabled = on;
    if (stop) stop.disabled = !on;
    if (progress) {
      progress.hidden = !on;
      progress.removeAttribute('value'); // indeterminate until the first report
    }
    if (busyEl) busyEl.setAttribute('aria-busy', on ? 'true' : 'false');
  };
  const onProgress = (doneN, total, partial) => {
    if (progress && total) {
      progress.max = total;
      progress.value = doneN;
    }
    if (done && partial !== undefined) done({ value: partial, partial: true });
  };
  const go = async () => {
    if (current) return;
    setRunning(true);
    try {
      current = start(onProgress);
      const result = await current.promise;
      done(result);
    } catch (e) {
      fail(e);
    } finally {
      current = null;
      setRunning(false);
    }
  };
  button.addEventListener('click', go);
  if (stop) stop.addEventListener('click', () => current && runner.cancel(current.id));
  return { go, running: () => current !== null };
}
