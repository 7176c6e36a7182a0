// The site's service worker (dist builds; scripts/site.mjs puts it at the site root
// with `self.BUILD = {version, files}` in front). Two jobs:
//  1. Cross-origin isolation on any static host: every same-origin response it hands
//     the page gets COOP/COEP/CORP headers, so `crossOriginIsolated` becomes true after
//     the one reload that puts the page under its control (www/sw-register.js), and the
//     browser's timer resolves microseconds instead of 100 µs.
//  2. Offline use: the whole site (page, modules, wasm, models) is precached on the
//     first visit; a new build has a new version, installs a new cache and deletes the
//     old one, so nothing stale is mixed in.

const BUILD = self.BUILD || { version: 'dev', files: [] };
const CACHE = `tinyopt-${BUILD.version}`;
const ISOLATION = [
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Embedder-Policy', 'require-corp'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `reload`: fetch past the HTTP cache, so the precache is exactly this build.
      await cache.addAll(BUILD.files.map((f) => new Request(f, { cache: 'reload' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('tinyopt-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

/** The response with the isolation headers (and the wasm MIME type some hosts get wrong). */
function isolate(res, url) {
  if (res.type === 'opaque' || res.status === 0) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of ISOLATION) headers.set(k, v);
  if (url.pathname.endsWith('.wasm')) headers.set('Content-Type', 'application/wasm');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // A page URL carries its state in the query: any query opens the cached page.
      const navigate = req.mode === 'navigate';
      let res = await cache.match(req, { ignoreSearch: navigate });
      if (!res) {
        try {
          res = await fetch(req);
        } catch (e) {
          res = navigate ? await cache.match('./') : undefined;
          if (!res) throw e;
        }
      }
      return isolate(res, url);
    })(),
  );
});
