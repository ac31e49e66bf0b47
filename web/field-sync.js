// The outbox and its sync loop. Every action of the field app is written to the phone first
// (field-store.js) and only then sent: `POST /api/v1/field/sync {"actions": [...]}` in creation
// order, at most 200 actions and about 1.5 MB per request (photos travel inside the actions),
// answered `{"results": [{"id", "status": "created"|"duplicate"|"rejected", "error"?}]}` in input
// order. Created and duplicate actions leave the outbox (the server has them: the action id makes
// a resend harmless); rejected ones move to the `rejected` store with their error and are shown,
// never retried. A network failure or a server error leaves everything queued for the next try —
// on the `online` event, every 20 s, and right after each new action.
//
// A request refused as a whole (400/413/422) is narrowed down: the action its `details.field`
// names (`actions[3]…`) is rejected; without a name the batch is halved until the one action that
// cannot be taken is alone, and rejected. 401 stops the loop until the phone is paired again;
// 403/404/409/429 and 5xx keep everything queued.
import { ApiError, request } from './lib/api.js';
import { rfc3339 } from './lib/time.js';
import * as store from './field-store.js';
import { token } from './field-auth.js';

export const MAX_ACTIONS = 200;
export const MAX_BYTES = 1.5 * 1024 * 1024;
const RETRY_MS = 20000;
const REJECTABLE = new Set([400, 413, 415, 422]);

/** Events: `change` (the outbox or the rejected list changed), `synced` (the server took
 * something new), `unauthorized` (the token was refused), `status` (online or not). */
export const events = new EventTarget();
const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));

export const status = { online: navigator.onLine, lastError: null, lastSync: null, unauthorized: false };
function setOnline(online) {
  if (status.online === online) return;
  status.online = online;
  emit('status', status);
}

/** A UUID v4 (crypto.randomUUID where the context allows it, else from getRandomValues). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A new action: `{"id", "kind", "at", ...fields}`, `at` the phone's time with its offset. */
export function action(kind, fields = {}) {
  return { id: uuid(), kind, at: rfc3339(), ...fields };
}

/**
 * Queues actions (in this order), with `kv` written in the same transaction (see
 * store.queue), then tries to send them. Resolves once they are on the phone — not when sent.
 */
export async function queue(actions, kv) {
  const list = Array.isArray(actions) ? actions : [actions];
  await store.queue(list, kv);
  emit('change');
  syncSoon();
  return list;
}

// ---------------------------------------------------------------- the loop
let running = null;
let again = false;

/**
 * One sync now (or, when one is running, after it: its result includes every action queued
 * before this call). Never rejects: the outcome is in `status` and the stores.
 */
export function syncNow() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await withLock(syncOnce).catch((e) => { status.lastError = e.message; console.error('sync', e); });
    } while (again);
  })().finally(() => { running = null; emit('change'); });
  return running;
}

let soon = null;
/** A sync shortly (several actions queued together go in one request). */
export function syncSoon() {
  clearTimeout(soon);
  soon = setTimeout(() => { if (navigator.onLine !== false) syncNow(); }, 50);
}

/** Starts the retries: on `online`, every 20 s, and once now. */
export function startSync() {
  addEventListener('online', () => { setOnline(true); syncNow(); });
  addEventListener('offline', () => setOnline(false));
  setInterval(() => { if (navigator.onLine !== false) syncNow(); }, RETRY_MS);
  syncSoon();
}

/** Two tabs of the app must not send the same actions at the same time (harmless, but wasteful). */
function withLock(fn) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request('gridmap-field-sync', fn);
  return fn();
}

/** The first entries that fit in one request. */
function batchOf(entries, limit) {
  const batch = [];
  let bytes = 0;
  for (const e of entries) {
    if (batch.length >= limit) break;
    if (batch.length && bytes + e.bytes > MAX_BYTES) break;
    batch.push(e);
    bytes += e.bytes + 1;
  }
  return batch;
}

/** The index of the action a 4xx names in `details.field` (`actions[3].points`), if any. */
function namedIndex(e, length) {
  const field = e.details && typeof e.details === 'object' ? e.details.field : null;
  const m = typeof field === 'string' ? /^actions\[(\d+)\]/.exec(field) : null;
  const i = m ? Number(m[1]) : null;
  return i != null && i < length ? i : null;
}

const errorText = (err) => (err == null ? '服务器拒绝了此记录'
  : typeof err === 'string' ? err
  : err.message || err.code || JSON.stringify(err));

async function syncOnce() {
  const t = token();
  if (!t) return;
  let limit = MAX_ACTIONS;
  for (;;) {
    const entries = await store.outbox();
    if (!entries.length) { status.lastError = null; return; }
    const batch = batchOf(entries, limit);
    let answer;
    try {
      answer = await request('/api/v1/field/sync', { method: 'POST', token: t, body: { actions: batch.map((e) => e.action) } });
    } catch (e) {
      if (!(e instanceof ApiError)) {
        // No answer at all: offline, or the server is down. Everything stays queued.
        setOnline(false);
        status.lastError = '网络不可用';
        return;
      }
      setOnline(true);
      status.lastError = e.message;
      if (e.status === 401) {
        status.unauthorized = true;
        emit('unauthorized', e);
        return;
      }
      if (!REJECTABLE.has(e.status)) return; // 403, 404, 409, 429, 5xx: try again later
      const named = namedIndex(e, batch.length);
      if (named != null) {
        await store.reject([{ entry: batch[named], error: e.message }]);
        emit('change');
      } else if (batch.length > 1) {
        limit = Math.max(1, Math.floor(batch.length / 2));
      } else {
        await store.reject([{ entry: batch[0], error: e.status === 413 ? `数据过大（${e.message}）` : e.message }]);
        emit('change');
      }
      continue;
    }
    setOnline(true);
    status.unauthorized = false;
    status.lastSync = Date.now();
    status.lastError = null;
    limit = MAX_ACTIONS;
    const results = (answer && Array.isArray(answer.results)) ? answer.results : [];
    const byId = new Map(results.filter((r) => r && r.id != null).map((r) => [String(r.id), r]));
    const taken = [], refused = [];
    let created = 0;
    batch.forEach((entry, i) => {
      const r = byId.get(String(entry.id)) || (results[i] && results[i].id == null ? results[i] : null);
      if (!r) return; // not answered: stays queued
      if (r.status === 'created' || r.status === 'duplicate') {
        taken.push(entry.id);
        if (r.status === 'created') created++;
      } else if (r.status === 'rejected') refused.push({ entry, error: errorText(r.error) });
    });
    if (taken.length) await store.remove(taken);
    if (refused.length) await store.reject(refused);
    emit('change');
    if (created) emit('synced', { created });
    if (!taken.length && !refused.length) {
      status.lastError = '服务器未确认任何记录';
      return; // no progress: do not spin
    }
  }
}
