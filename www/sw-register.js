// Puts the page under the site's service worker (www/sw.js, copied to the site root by
// the dist build, whose index.html carries the `tinyopt-site` marker), which makes the page cross-origin isolated on hosts that cannot send
// the headers and keeps it working offline. A page that is not yet controlled needs one
// reload to get the worker's headers; a session flag makes sure it is only one.
// The outcome is published as `window.__tinyoptSw` = {state, detail} for the page's
// measurement note: 'isolated-by-server' | 'isolated-by-worker' | 'reloading' |
// 'not-isolated' (with why) | 'unavailable' (with why).

const FLAG = 'tinyopt-sw-reloaded';
const status = (state, detail = '') => {
  window.__tinyoptSw = { state, detail };
  window.dispatchEvent(new CustomEvent('tinyopt-sw', { detail: window.__tinyoptSw }));
};

async function register() {
  // Only a built site (scripts/site.mjs marks its index.html) has ./sw.js; a checkout's
  // `tinyopt serve` sends the isolation headers itself and has no worker to offer.
  if (!document.querySelector('meta[name="tinyopt-site"][content="service-worker"]')) {
    status(window.crossOriginIsolated ? 'isolated-by-server' : 'unavailable', 'no service worker in a development checkout');
    return;
  }
  if (!('serviceWorker' in navigator) || !window.isSecureContext) {
    status(
      window.crossOriginIsolated ? 'isolated-by-server' : 'unavailable',
      'this browser or origin has no service workers (they need https or localhost)',
    );
    return;
  }
  let reg;
  try {
    reg = await navigator.serviceWorker.register('./sw.js');
  } catch (e) {
    // A development checkout has no ./sw.js: `tinyopt serve` sends the headers itself.
    status(window.crossOriginIsolated ? 'isolated-by-server' : 'unavailable', `no service worker here (${e.message})`);
    return;
  }
  if (window.crossOriginIsolated) {
    sessionStorage.removeItem(FLAG);
    status(navigator.serviceWorker.controller ? 'isolated-by-worker' : 'isolated-by-server');
    return;
  }
  // Inside a frame, isolation also needs the host page's: a reload would not help.
  const framed = window.top !== window;
  if (navigator.serviceWorker.controller || framed || sessionStorage.getItem(FLAG)) {
    status(
      'not-isolated',
      framed
        ? 'embedded in a page that is not cross-origin isolated itself'
        : 'the browser did not isolate the page through the service worker',
    );
    return;
  }
  // Not controlled yet: reload once the worker has taken over.
  const reload = () => {
    sessionStorage.setItem(FLAG, '1');
    status('reloading');
    window.location.reload();
  };
  if (reg.active) {
    navigator.serviceWorker.addEventListener('controllerchange', reload, { once: true });
    // `clients.claim()` may already have run before this listener existed.
    if (navigator.serviceWorker.controller) reload();
  } else {
    navigator.serviceWorker.addEventListener('controllerchange', reload, { once: true });
  }
}

register();
