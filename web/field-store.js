// The field app's storage on the phone (IndexedDB `gridmap-field`), the one place that knows it:
//
//   outbox    actions not yet accepted by the server, key = the action's id (a UUID), with a
//             `seq` (index) giving the order they were made in — the order they are sent in
//   rejected  actions the server refused for good, with its error (shown, never sent again)
//   kv        everything else by name: the last answers of the API (for offline), the patrol in
//             progress, the logs sent from this phone
//
// An outbox entry is {id, seq, bytes, queued_at, action}; `bytes` (the action's JSON size) lets
// the sync loop keep its requests under the server's body limit without serialising twice.
// Several writes that belong together (a patrol's last points, its end and the cleared patrol
// state) go in one transaction, so a crash in between can neither lose nor double them.

const NAME = 'gridmap-field';
const VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' }).createIndex('seq', 'seq');
      if (!db.objectStoreNames.contains('rejected')) db.createObjectStore('rejected', { keyPath: 'id' }).createIndex('seq', 'seq');
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
    };
    req.onsuccess = () => {
      const db = req.result;
      // Another tab upgrading the schema: let it, and reopen on the next call.
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    req.onerror = () => { opening = null; reject(req.error); };
    req.onblocked = () => console.warn('IndexedDB upgrade blocked by another tab');
  });
  return opening;
}

const done = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/**
 * Runs `fn(stores)` in one transaction over `names` (`stores.outbox`, `stores.kv`, …) and
 * resolves with what `fn` returned (awaited) once the transaction has committed.
 */
async function transaction(names, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve(fn(stores)).then((r) => { result = r; }, (e) => { tx.abort(); reject(e); });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

const sizeOf = (action) => new TextEncoder().encode(JSON.stringify(action)).length;

let lastSeq = 0;
/** A `seq` after every earlier one, even within the same millisecond. */
function nextSeq() {
  lastSeq = Math.max(Date.now(), lastSeq + 1);
  return lastSeq;
}

// ---------------------------------------------------------------- outbox

/**
 * Puts actions into the outbox and, in the same transaction, writes `kv` (name → value; a value
 * of undefined deletes the name). Resolves once both are on disk.
 */
export function queue(actions, kv = {}) {
  const entries = actions.map((action) => ({ id: action.id, seq: nextSeq(), bytes: sizeOf(action), queued_at: Date.now(), action }));
  return transaction(['outbox', 'kv'], 'readwrite', (s) => {
    for (const e of entries) s.outbox.put(e);
    for (const [k, v] of Object.entries(kv)) {
      if (v === undefined) s.kv.delete(k);
      else s.kv.put(v, k);
    }
    return entries;
  });
}

/** The outbox entries in the order they were made. */
export function outbox() {
  return transaction(['outbox'], 'readonly', (s) => done(s.outbox.index('seq').getAll()));
}

export function pendingCount() {
  return transaction(['outbox'], 'readonly', (s) => done(s.outbox.count()));
}

/** Removes the entries with these ids (the server has them). */
export function remove(ids) {
  return transaction(['outbox'], 'readwrite', (s) => { for (const id of ids) s.outbox.delete(id); });
}

/** Moves entries from the outbox to `rejected`, each with its error text. */
export function reject(list) {
  return transaction(['outbox', 'rejected'], 'readwrite', (s) => {
    for (const { entry, error } of list) {
      s.outbox.delete(entry.id);
      s.rejected.put({ ...entry, error, rejected_at: Date.now() });
    }
  });
}

export function rejected() {
  return transaction(['rejected'], 'readonly', (s) => done(s.rejected.index('seq').getAll()));
}

export function dismissRejected(id) {
  return transaction(['rejected'], 'readwrite', (s) => { s.rejected.delete(id); });
}

/** Restores the lastSeq counter from the outbox (a clock set back must not reorder actions). */
export async function restoreSeq() {
  const all = await outbox();
  for (const e of all) lastSeq = Math.max(lastSeq, e.seq);
}

// ---------------------------------------------------------------- kv

export function get(key) {
  return transaction(['kv'], 'readonly', (s) => done(s.kv.get(key)));
}

export function set(key, value) {
  return transaction(['kv'], 'readwrite', (s) => { s.kv.put(value, key); });
}

export function del(key) {
  return transaction(['kv'], 'readwrite', (s) => { s.kv.delete(key); });
}

/** Forgets everything: the outbox, the rejected actions and every cached answer (退出). */
export function clearAll() {
  return transaction(['outbox', 'rejected', 'kv'], 'readwrite', (s) => {
    s.outbox.clear();
    s.rejected.clear();
    s.kv.clear();
  });
}
