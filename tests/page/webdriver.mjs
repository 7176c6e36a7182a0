// A minimal W3C WebDriver client (plain `fetch` to the driver's HTTP API) and one
// launcher per engine, so the same test code drives Firefox ESR (geckodriver), WebKitGTK
// (WebKitWebDriver + MiniBrowser, under xvfb-run: MiniBrowser has no headless mode) and
// Chromium (chromedriver). playwright-core drives only Chromium; this drives all three.
//
//   const b = await launch('webkit');          // starts the driver and a session
//   await b.go(url); await b.waitFor('return document.body.dataset.phase === "ready"');
//   await b.close();                           // ends the session and the driver
//
// FIREFOX_PREFS: extra Firefox prefs as JSON. Paths: GECKODRIVER (default: geckodriver on PATH or ~/.cargo/bin), FIREFOX
// (/usr/bin/firefox-esr), WEBKITDRIVER (/usr/bin/WebKitWebDriver), MINIBROWSER,
// CHROMEDRIVER (chromedriver on PATH), CHROMIUM (/usr/bin/chromium).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './harness.mjs';

/** The key W3C WebDriver names a web element by in JSON. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export const ENGINES = ['firefox', 'webkit', 'chromium'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function which(name) {
  for (const dir of [...(process.env.PATH || '').split(':'), path.join(os.homedir(), '.cargo/bin')]) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

/** How each engine's driver starts and what its new session asks for. */
function engineSpec(name) {
  if (name === 'firefox') {
    return {
      driver: process.env.GECKODRIVER || which('geckodriver'),
      args: (port) => ['--port', String(port), '--host', '127.0.0.1'],
      capabilities: {
        browserName: 'firefox',
        'moz:firefoxOptions': {
          binary: process.env.FIREFOX || '/usr/bin/firefox-esr',
          args: ['-headless'],
          // No update checks, telemetry or first-run pages in a test profile.
          // FIREFOX_PREFS (JSON) adds prefs, e.g. '{"javascript.options.wasm_optimizingjit":false}'.
          prefs: { 'app.update.disabledForTesting': true, 'datareporting.policy.dataSubmissionEnabled': false,
            'browser.shell.checkDefaultBrowser': false, ...JSON.parse(process.env.FIREFOX_PREFS || '{}') },
        },
      },
      install: 'cargo install geckodriver --locked (scripts/setup.sh)',
    };
  }
  if (name === 'webkit') {
    const driver = process.env.WEBKITDRIVER || '/usr/bin/WebKitWebDriver';
    return {
      // MiniBrowser needs a display: a private Xvfb per driver (`-a` picks a free one).
      driver: which('xvfb-run') && fs.existsSync(driver) ? which('xvfb-run') : null,
      args: (port) => ['-a', '-s', '-screen 0 1920x1600x24', driver, `--port=${port}`],
      capabilities: {
        'webkitgtk:browserOptions': {
          binary: process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
          args: ['--automation'],
        },
      },
      install: 'apt-get install webkit2gtk-driver xvfb (scripts/setup.sh)',
    };
  }
  if (name === 'chromium') {
    return {
      driver: process.env.CHROMEDRIVER || which('chromedriver'),
      args: (port) => [`--port=${port}`],
      capabilities: {
        browserName: 'chrome',
        'goog:chromeOptions': {
          binary: process.env.CHROMIUM || '/usr/bin/chromium',
          args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        },
      },
      install: 'apt-get install chromium chromium-driver (scripts/setup.sh)',
    };
  }
  throw new Error(`unknown engine "${name}" (one of ${ENGINES.join(', ')})`);
}

/** Whether `name`'s driver is installed here (a missing one is a clear error, not a hang). */
export function available(name) {
  const spec = engineSpec(name);
  return spec.driver && fs.existsSync(spec.driver) ? '' : `${name}: driver not found (${spec.install})`;
}

/** A WebDriver error with the driver's own words. */
class WebDriverError extends Error {
  constructor(what, value) {
    super(`${what}: ${value && value.error ? `${value.error}: ${value.message}` : JSON.stringify(value)}`);
    this.code = value && value.error;
  }
}

/** A value as JSON text (undefined: null), and back. Script arguments and results
 *  travel as these strings, parsed by node's and the page's own JavaScript: geckodriver
 *  re-encodes the numbers of the JSON it relays and moves some doubles by one bit in
 *  the last place (2.1561518230989236e-7 arrives as 2.156151823098924e-7; issue 24). */
const toText = (v) => (v === undefined ? 'null' : JSON.stringify(v));
const fromText = (t) => (t === null || t === undefined ? null : JSON.parse(t));
/** The same two, defined in the page by every wrapped script. */
const inPage = `const toText = ${toText}; const fromText = ${fromText};`;

/** One browser session through one driver process. */
export class Browser {
  constructor(engine, url, child) {
    this.engine = engine;
    this.url = url; // the driver's base URL
    this.child = child;
    this.session = null;
    this.caps = null;
    this.driverLog = [];
  }

  async cmd(method, route, body) {
    const where = this.session ? `${this.url}/session/${this.session}${route}` : `${this.url}${route}`;
    const res = await fetch(where, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebDriverError(`${method} ${route}`, { error: `HTTP ${res.status}`, message: text.slice(0, 300) });
    }
    if (!res.ok || (json.value && json.value.error)) throw new WebDriverError(`${method} ${route}`, json.value);
    return json.value;
  }

  async newSession(capabilities) {
    const v = await this.cmd('POST', '/session', { capabilities: { alwaysMatch: capabilities } });
    this.session = v.sessionId;
    this.caps = v.capabilities;
    // Scripts may wait long (a benchmark suite); pages load a 3 MB model.
    await this.cmd('POST', '/timeouts', { script: 600000, pageLoad: 120000, implicit: 0 });
  }

  /** `{browserName, browserVersion}` as the driver reports them. */
  get version() {
    return `${this.caps.browserName} ${this.caps.browserVersion}`;
  }

  go(url) {
    return this.cmd('POST', '/url', { url });
  }

  currentUrl() {
    return this.cmd('GET', '/url');
  }

  /** Runs `script` (a function body; `arguments` holds `args`) in the page. Arguments
   *  and result cross the driver as JSON text (see `inPage`), so numbers keep their bits. */
  async run(script, ...args) {
    const wrapped = `${inPage}
      const v = (function () { ${script} }).apply(null, fromText(arguments[0]));
      // A returned promise is awaited, as WebDriver does with the plain value.
      return v && typeof v.then === 'function' ? Promise.resolve(v).then((x) => toText(x)) : toText(v);`;
    return fromText(await this.cmd('POST', '/execute/sync', { script: wrapped, args: [toText(args)] }));
  }

  /** Runs an async function body: its returned promise's value (or error) comes back. */
  async runAsync(script, ...args) {
    const wrapped = `${inPage}
      const done = arguments[arguments.length - 1];
      const args = fromText(arguments[0]);
      Promise.resolve().then(() => (async function () { ${script} }).apply(null, args)).then(
        (v) => done({ ok: toText(v) }),
        (e) => done({ err: String((e && e.stack) || e) }));`;
    const r = await this.cmd('POST', '/execute/async', { script: wrapped, args: [toText(args)] });
    if (r && r.err !== undefined) throw new Error(`in ${this.engine}: ${r.err}`);
    return r ? fromText(r.ok) : r;
  }

  /** Polls `script` (a function body returning truthy when done) every `every` ms. */
  async waitFor(script, { timeout = 60000, every = 100, what = script } = {}, ...args) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await this.run(script, ...args);
        if (last) return last;
      } catch (e) {
        // A navigation in flight (the service worker's reload) can lose the context once.
        if (!/no such window|unexpected alert|JavaScript error|stale|detached|navigat|context/i.test(e.message)) throw e;
        last = e.message;
      }
      if (Date.now() > end) throw new Error(`${this.engine}: timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
      await sleep(every);
    }
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return v[ELEMENT];
  }

  /** Scripts and clicks go into the iframe `css` picks (in the current frame), or back
   *  to the top-level page. */
  async frame(css) {
    const id = await this.find(css);
    await this.cmd('POST', '/frame', { id: { [ELEMENT]: id } });
  }

  topFrame() {
    return this.cmd('POST', '/frame', { id: null });
  }

  /** A real click on the element (the driver moves the pointer there). */
  async click(css) {
    const id = await this.find(css);
    await this.cmd('POST', `/element/${id}/click`, {});
  }

  /** `{x, y, width, height}` of the window; `setRect` resizes it. */
  rect() {
    return this.cmd('GET', '/window/rect');
  }

  setRect(r) {
    return this.cmd('POST', '/window/rect', r);
  }

  /** Resizes the window so the page's viewport is `width`×`height` (the window's own
   *  frame and toolbar differ per engine: measured, then corrected once). */
  async setViewport(width, height) {
    await this.setRect({ width, height });
    const [w, h] = await this.run('return [innerWidth, innerHeight]');
    if (w !== width || h !== height) await this.setRect({ width: 2 * width - w, height: 2 * height - h });
    return this.run('return [innerWidth, innerHeight]');
  }

  /** The viewport as a PNG buffer. With `full`, the window is first made as tall as the
   *  page (no engine-specific full-page command is needed), then put back. */
  async screenshot(file, { full = false } = {}) {
    let back = null;
    if (full) {
      back = await this.rect();
      const [inner, outer, doc] = await this.run(
        'return [innerHeight, outerHeight, Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)]',
      );
      await this.setRect({ width: back.width, height: Math.min(8000, doc + (outer - inner)) });
      await sleep(300);
    }
    const png = Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
    if (back) await this.setRect({ width: back.width, height: back.height });
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, png);
    }
    return png;
  }

  /** Ends the session and stops the driver (and, for WebKit, its private X server). */
  async close() {
    if (this.session) {
      await this.cmd('DELETE', '').catch(() => {});
      this.session = null;
    }
    if (this.child && this.child.exitCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      try {
        process.kill(-this.child.pid, 'SIGTERM'); // its process group: the driver and its children
      } catch {
        this.child.kill('SIGTERM');
      }
      await Promise.race([gone, sleep(5000)]);
      if (this.child.exitCode === null) {
        try {
          process.kill(-this.child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
}

/** Starts `engine`'s driver on a free port and opens a session at `width`×`height`. */
export async function launch(engine, { width = 1280, height = 900 } = {}) {
  const missing = available(engine);
  if (missing) throw new Error(missing);
  const spec = engineSpec(engine);
  const port = await freePort();
  // Its own process group, so close() can end the driver with whatever it started.
  const child = spawn(spec.driver, spec.args(port), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const b = new Browser(engine, `http://127.0.0.1:${port}`, child);
  const keep = (d) => {
    b.driverLog.push(String(d));
    if (b.driverLog.length > 200) b.driverLog.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const end = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${engine} driver exited: ${b.driverLog.join('').slice(-500)}`);
    try {
      const s = await b.cmd('GET', '/status');
      if (s && s.ready !== false) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) {
      await b.close();
      throw new Error(`${engine} driver did not answer on port ${port}`);
    }
    await sleep(100);
  }
  try {
    await b.newSession(spec.capabilities);
    await b.setRect({ width, height });
  } catch (e) {
    await b.close();
    throw new Error(`${engine}: ${e.message}\n${b.driverLog.join('').slice(-800)}`);
  }
  return b;
}

/** The engines to test: TINYOPT_ENGINES (comma-separated), default all three. */
export function enginesToTest() {
  const want = (process.env.TINYOPT_ENGINES || ENGINES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of want) engineSpec(e); // unknown names fail here, clearly
  return want;
}

/** The driver and browser versions, for logs. */
export function driverVersion(engine) {
  const spec = engineSpec(engine);
  const bin = engine === 'webkit' ? process.env.WEBKITDRIVER || '/usr/bin/WebKitWebDriver' : spec.driver;
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return '?';
  }
}
