// What the field app reads from the server, each answer kept on the phone (IndexedDB `kv`) so
// the app shows the last one when offline: today's work, the households of my grids, the
// incident categories (Open311 services), my grids' outlines and a day's summary for the log.
// The service worker keeps copies too (network first for /api/v1/field/*) and marks an answer
// it served from its cache with `X-Gridmap-Cache: hit`, so the page can say the data is old.
import { ApiError, exchange } from './lib/api.js';
import * as store from './field-store.js';
import { token } from './field-auth.js';
import { events } from './field-sync.js';

/**
 * GET `url` (with the device token unless `auth` is false), falling back to the copy under
 * `key`. Resolves to {data, at (ms the data was fetched), offline}; data is null when there is
 * neither an answer nor a copy. A 401 says the token is no longer good (event `unauthorized`).
 */
export async function load(url, key, { auth = true } = {}) {
  try {
    const { data, response } = await exchange(url, { token: auth ? token() : undefined });
    const fromCache = response.headers.get('X-Gridmap-Cache') === 'hit';
    if (!fromCache) {
      const at = Date.now();
      await store.set(key, { data, at });
      return { data, at, offline: false };
    }
    const copy = await store.get(key);
    if (copy) return { ...copy, offline: true };
    const date = Date.parse(response.headers.get('Date') || '');
    return { data, at: Number.isNaN(date) ? null : date, offline: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) events.dispatchEvent(new CustomEvent('unauthorized', { detail: e }));
    const copy = await store.get(key);
    if (copy) return { ...copy, offline: true, error: e };
    if (e instanceof ApiError && e.status !== 401) throw e;
    return { data: null, at: null, offline: true, error: e };
  }
}

/** `GET /api/v1/field/today`. */
export const today = () => load('/api/v1/field/today', 'today');
/** `GET /api/v1/field/households` → {households: [...]}. */
export const households = () => load('/api/v1/field/households', 'households');
/** `GET /open311/v2/services.json` → [{service_code, service_name, group}] (public). */
export const services = () => load('/open311/v2/services.json', 'services', { auth: false });
/** `GET /api/v1/cells/{code}` → a Feature (public). */
export const cell = (code) => load(`/api/v1/cells/${encodeURIComponent(code)}`, `cell:${code}`, { auth: false });
/** `GET /api/v1/field/day?date=` → {date, patrols, visits, incidents, summary}. */
export const day = (date) => load(`/api/v1/field/day?date=${encodeURIComponent(date)}`, `day:${date}`);

/** The categories as groups: [{group, services: [{code, name}]}], in the server's order. */
export function groupServices(list) {
  const groups = new Map();
  for (const s of list || []) {
    const g = s.group || s.keywords || '其他';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push({ code: s.service_code, name: s.service_name });
  }
  return [...groups].map(([group, services]) => ({ group, services }));
}
