// The planner's editor: its state, its HTTP client and the edit queue. Every other plan-*.js
// module reads and writes the one state object `S`.
import { client } from './lib/api.js';
import { $ } from './lib/dom.js';
import { updateControls } from './plan-panel.js';

export const PALETTE = ['#f7c9a9', '#b9d8f0', '#c8e6c1', '#e3cdef', '#f9eab0'];
export const EDIT_ROLES = ['planner', 'admin'];
export const SNAP_PX = 8;
export const LOCK_TOLERANCE = 1e-7; // degrees (≈1 cm): coordinates carry 7 decimals
export const TOKEN_KEY = 'gridmap.plan.token';
export const DRAFT_KEY = 'gridmap.plan.draft';
export const VILLAGE_KEY = 'gridmap.plan.village';

export const S = {
  token: null,
  me: null,
  villages: [],
  village: null,          // Feature of the selected village
  base: new Map(),        // code → Feature: the published grids of the village
  view: new Map(),        // code → Feature: the draft view (base + changes)
  changes: new Map(),     // code → {deleted, feature}: the draft's changes (all villages)
  draft: null,            // {id, base_revision}
  report: null,
  staleWarned: false,     // the "someone committed since" warning was shown for this draft
  undo: [],
  redo: [],
  picked: [],             // codes picked with click / shift-click
  buildings: [],          // [lon, lat] snap targets
  names: new Map(),       // code → name, for codes met in reports (incl. other villages)
  mode: 'select',
  revision: null,
  syncing: false,         // terra-draw is being given our copies: ignore its change events
  pending: 0,
};

// ---------------------------------------------------------------- HTTP
const http = client(() => S.token);
/** `api(method, url, body)`: JSON with the planner's token; errors as ApiError. */
export function api(method, url, body) {
  return http.call(method, url, body);
}
export function get(url) {
  return http.get(url);
}

// ---------------------------------------------------------------- edit queue
// Every edit goes through one queue, so drags, undo and commit never interleave.
let queue = Promise.resolve();
export function enqueue(fn) {
  S.pending++;
  $('busy').hidden = false;
  const run = queue.then(fn);
  queue = run.catch(() => {}).then(() => {
    S.pending--;
    $('busy').hidden = S.pending === 0;
    updateControls();
  });
  return run;
}
/** Settles when every edit queued so far has. */
export function idle() {
  return queue;
}

/** A grid's name without its village's name in front. */
export function shortName(name) {
  const v = S.village && S.village.properties.name;
  return v && name && name.startsWith(v) && name.length > v.length ? name.slice(v.length) : name;
}
