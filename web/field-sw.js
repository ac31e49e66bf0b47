// The service worker of 网格通 (served at /field-sw.js, registered with scope /field): the app
// works with no network at all once it has been opened once.
//
//   install    precaches the app shell: the two pages, their modules and styles, MapLibre, the
//              public style, the manifest and icons (a missing core file fails the install, so
//              the browser tries again; the optional ones are best effort)
//   navigate   /field and /field/team: network first (4 s), else the cached page
//   /tiles/**  cache first (the worker's grids, precached on the page's request, and every tile
//              seen, the latter capped); the TileJSON is refreshed behind the cached copy
//   GET /api/v1/field/*   network first (8 s), else the last answer, marked `X-Gridmap-Cache: hit`
//   shell files           network first (4 s), else the cached copy
//   anything else, and every non-GET (POST /api/v1/field/sync above all): not touched, never cached
//
// Messages from the page: {type: 'precache-tiles', revision, urls} keeps those tiles (dropping
// the old ones first when the atlas revision changed) and answers {cached, fetched, failed} on
// the given port; {type: 'forget'} drops the cached API answers (退出: another worker may pair
// this phone next). Caches are versioned; activate deletes the old ones, skipWaiting and
// clients.claim put a new version in charge at once.
const VERSION = 'v1';
const TILES_VERSION = 'v1';
const SHELL_CACHE = `gridmap-field-shell-${VERSION}`;
const API_CACHE = `gridmap-field-api-${VERSION}`;
const TILE_CACHE = `gridmap-field-tiles-${TILES_VERSION}`;
const SEEN_CACHE = `gridmap-field-tiles-seen-${TILES_VERSION}`;
const CACHES = [SHELL_CACHE, API_CACHE, TILE_CACHE, SEEN_CACHE];
const SEEN_MAX = 2000;
const REVISION_KEY = '/__gridmap-field/tiles-revision';
const NETWORK_TIMEOUT_MS = 4000;
const API_TIMEOUT_MS = 8000;

/** The app shell: without any of these the app cannot start offline. */
const SHELL = [
  '/field',
  '/web/field.js',
  '/web/field-store.js',
  '/web/field-sync.js',
  '/web/field-auth.js',
  '/web/field-data.js',
  '/web/field-map.js',
  '/web/field-patrol.js',
  '/web/field-visit.js',
  '/web/field-report.js',
  '/web/field-log.js',
  '/web/field-home.js',
  '/web/field-ui.js',
  '/web/field.css',
  '/web/lib/api.js',
  '/web/lib/dom.js',
  '/web/lib/map.js',
  '/web/lib/geom.js',
  '/web/lib/time.js',
  '/web/lib/tiles.js',
  '/web/lib/photo.js',
  '/vendor/maplibre-gl/maplibre-gl.js',
  '/vendor/maplibre-gl/maplibre-gl.css',
  '/styles/public.json',
];
/** Best effort: the leader's page, the manifest and the icons. */
const OPTIONAL = [
  '/field/team',
  '/web/team.js',
  '/web/team.css',
  '/web/field.webmanifest',
  '/web/field-192.png',
  '/web/field-512.png',
];
const SHELL_PATHS = new Set([...SHELL, ...OPTIONAL]);
const PAGES = { '/field': '/field', '/field/': '/field', '/field/team': '/field/team', '/field/team/': '/field/team' };

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    const put = async (url) => {
      const r = await fetch(url, { cache: 'reload' });
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      await cache.put(url, r);
    };
    await Promise.all(SHELL.map(put));
    await Promise.all(OPTIONAL.map((u) => put(u).catch((e) => console.warn('not precached:', e.message))));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('gridmap-field-') && !CACHES.includes(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (request.mode === 'navigate') {
    if (PAGES[path]) event.respondWith(networkFirst(request, SHELL_CACHE, { key: PAGES[path], timeout: NETWORK_TIMEOUT_MS }));
    return;
  }
  if (path.startsWith('/tiles/')) event.respondWith(tile(event, request, path));
  else if (path.startsWith('/api/v1/field/')) event.respondWith(networkFirst(request, API_CACHE, { mark: true, timeout: API_TIMEOUT_MS }));
  else if (SHELL_PATHS.has(path)) event.respondWith(networkFirst(request, SHELL_CACHE, { key: path, timeout: NETWORK_TIMEOUT_MS }));
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The network's answer (kept in `cacheName` under `key` when it is a 2xx), or — when the network
 * fails, or takes longer than `timeout` and a copy exists — the cached copy (with
 * `X-Gridmap-Cache: hit` when `mark`). No copy: the network's own failure.
 */
async function networkFirst(request, cacheName, { key = request, timeout = 0, mark = false } = {}) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (r) => {
    if (r.ok && r.status !== 206 && !r.redirected) await cache.put(key, r.clone());
    return r;
  });
  network.catch(() => {}); // awaited below, or abandoned for the copy after the timeout
  const fallback = async () => {
    const hit = await cache.match(key, { ignoreVary: true });
    return hit ? (mark ? marked(hit) : hit) : null;
  };
  try {
    if (!timeout) return await network;
    const first = await Promise.race([network, sleep(timeout).then(() => null)]);
    if (first) return first;
    return (await fallback()) || (await network);
  } catch (e) {
    const hit = await fallback();
    if (hit) return hit;
    throw e;
  }
}

function marked(response) {
  const headers = new Headers(response.headers);
  headers.set('X-Gridmap-Cache', 'hit');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Tiles: the precached ones, then those seen before, then the network (remembered). */
async function tile(event, request, path) {
  const [grids, seen] = await Promise.all([caches.open(TILE_CACHE), caches.open(SEEN_CACHE)]);
  const hit = (await grids.match(request, { ignoreVary: true })) || (await seen.match(request, { ignoreVary: true }));
  if (hit) {
    // TileJSON names the revision: refresh it behind the cached copy.
    if (path.endsWith('.json')) event.waitUntil(fetch(request).then((r) => (r.ok ? grids.put(request, r) : null)).catch(() => {}));
    return hit;
  }
  const r = await fetch(request);
  if (r.ok && r.status !== 206) event.waitUntil(seen.put(request, r.clone()).then(trimSeen).catch(() => {}));
  return r;
}

let trimming = null;
function trimSeen() {
  if (trimming) return trimming;
  trimming = (async () => {
    const seen = await caches.open(SEEN_CACHE);
    const keys = await seen.keys(); // oldest first
    for (const k of keys.slice(0, Math.max(0, keys.length - SEEN_MAX))) await seen.delete(k);
  })().finally(() => { trimming = null; });
  return trimming;
}

self.addEventListener('message', (event) => {
  const m = event.data || {};
  const reply = (answer) => {
    if (event.ports && event.ports[0]) event.ports[0].postMessage(answer);
    else if (event.source) event.source.postMessage(answer);
  };
  if (m.type === 'precache-tiles') {
    event.waitUntil(precacheTiles(m).then(reply, (e) => reply({ type: 'tiles-cached', error: e.message, cached: 0, fetched: 0, failed: 0 })));
  } else if (m.type === 'forget') {
    event.waitUntil(caches.delete(API_CACHE).then(() => reply({ type: 'forgotten' })));
  }
});

async function precacheTiles({ revision, urls = [] }) {
  const grids = await caches.open(TILE_CACHE);
  if (revision != null) {
    const known = await grids.match(REVISION_KEY);
    const was = known ? await known.text() : null;
    if (was !== String(revision)) {
      if (was != null) {
        // The atlas changed: the tiles on the phone may show old borders.
        await caches.delete(TILE_CACHE);
        await caches.delete(SEEN_CACHE);
      }
      await (await caches.open(TILE_CACHE)).put(REVISION_KEY, new Response(String(revision)));
    }
  }
  const cache = await caches.open(TILE_CACHE);
  const list = urls.filter((u) => {
    try { return new URL(u, self.location.href).origin === self.location.origin; } catch { return false; }
  });
  let cached = 0, fetched = 0, failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const url = list[next++];
      if (await cache.match(url, { ignoreVary: true })) { cached++; continue; }
      try {
        const r = await fetch(url);
        if (!r.ok) { failed++; continue; }
        await cache.put(url, r);
        fetched++;
        cached++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { type: 'tiles-cached', cached, fetched, failed, total: list.length };
}
