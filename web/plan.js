// The planner's editor (网格调整): redraw the grids of one village inside a draft, see the coverage
// report and the impact after every edit, commit the draft as a new revision. This module wires
// the page together; the rest is split by concern:
//
//   plan-state.js    constants, the state object `S`, the HTTP client, the edit queue
//   plan-map.js      the MapLibre map, its layers, drawing the state onto them
//   plan-draw.js     terra-draw (vertex drags, split lines), locking and snapping
//   plan-edit.js     vertex moves, undo/redo, split and merge
//   plan-session.js  login, the villages, the draft view of the selected village
//   plan-draft.js    the draft, its validation, commit, the revision list
//   plan-panel.js    the side panel, the toolbar's state, messages and hints
//   lib/*.js         shared with the other pages (api, dom, geom, map)
//
// * Everything comes from this server (MapLibre GL JS and terra-draw from web/node_modules as
//   classic scripts before this module, a plain background style, no glyphs URL: labels are
//   drawn with the browser's local CJK fonts).
// * Tests drive the page through `window.gridmap` (moveVertex, moveVertexOf, undo, redo, commit…);
//   every edit is queued, so the Promise it returns resolves after its PUTs and re-validation.
import { $ } from './lib/dom.js';
import { clone, contains } from './lib/geom.js';
import { pointerOver } from './lib/map.js';
import { S, TOKEN_KEY, enqueue, idle } from './plan-state.js';
import { map, renderGrids } from './plan-map.js';
import { draw, isLocked } from './plan-draw.js';
import { merge, moveVertex, moveVertexOf, redo, split, undo } from './plan-edit.js';
import { cells, loadVillages, login, logout, selectVillage } from './plan-session.js';
import { commit, loadRevision, startDraft, validate } from './plan-draft.js';
import { hint, renderSelection, say, setMode, updateControls } from './plan-panel.js';

// ---------------------------------------------------------------- wiring
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  login($('token').value).then(() => { $('token').value = ''; say(`欢迎，${S.me.name}`); }).catch((err) => say(err.message, 'error'));
});
$('logout').addEventListener('click', logout);
$('village').addEventListener('change', () => { if ($('village').value) selectVillage($('village').value).catch((e) => say(e.message, 'error')); });
$('start-draft').addEventListener('click', () => {
  if (S.draft && S.changes.size && !confirm('放弃当前草稿的修改并新建草稿？')) return;
  startDraft().catch((e) => say('无法开始草稿：' + e.message, 'error'));
});
$('tool-select').addEventListener('click', () => setMode('select'));
$('tool-split').addEventListener('click', () => setMode(S.mode === 'split' ? 'select' : 'split'));
$('tool-merge').addEventListener('click', () => {
  const name = $('merge-name') && $('merge-name').value.trim();
  merge(S.picked.slice(), name || undefined).catch(() => {});
});
$('undo').addEventListener('click', () => undo().catch(() => {}));
$('redo').addEventListener('click', () => redo().catch(() => {}));
$('commit-message').addEventListener('input', updateControls);
$('commit').addEventListener('click', () => commit().catch(() => {}));
document.addEventListener('keydown', (e) => {
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
  const key = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && key === 'z') { e.preventDefault(); (e.shiftKey ? redo : undo)().catch(() => {}); }
  else if ((e.ctrlKey || e.metaKey) && key === 'y') { e.preventDefault(); redo().catch(() => {}); }
  else if (key === 'escape' && S.mode === 'split') setMode('select');
});
map.on('click', (e) => {
  if (S.mode !== 'select' || !S.village) return;
  const hit = map.queryRenderedFeatures(e.point, { layers: ['grids-fill'] })[0];
  const code = hit && hit.properties.code;
  if (e.originalEvent.shiftKey) {
    if (code) S.picked = S.picked.includes(code) ? S.picked.filter((c) => c !== code) : [...S.picked, code];
  } else S.picked = code ? [code] : [];
  renderGrids();
  renderSelection();
  updateControls();
});
// Clicking a neighbouring village (outside the selected one) switches to it.
map.on('click', 'context-fill', (e) => {
  const f = e.features && e.features[0];
  if (!f || !S.me || S.mode !== 'select' || S.pending) return;
  if (S.village && contains(S.village.geometry, [e.lngLat.lng, e.lngLat.lat])) return;
  selectVillage(f.properties.code).catch((err) => say(err.message, 'error'));
});
pointerOver(map, 'context-fill', () => !!S.me);
map.on('mousemove', 'vertices', (e) => {
  const f = e.features && e.features[0];
  if (f && f.properties.locked && S.mode === 'select') hint('该节点在村/社区界上，已锁定。');
});

window.gridmap = {
  map,
  get draftId() { return S.draft ? S.draft.id : null; },
  get lastReport() { return S.report; },
  get draw() { return draw; },
  cells,
  village: () => (S.village ? clone(S.village) : null),
  state: () => ({ draft: S.draft, undo: S.undo.length, redo: S.redo.length, picked: S.picked.slice(), pending: S.pending, me: S.me }),
  idle,
  login,
  selectVillage,
  startDraft,
  moveVertex,
  moveVertexOf,
  undo,
  redo,
  split,
  merge,
  commit,
  validate: () => enqueue(validate),
  isLocked: (p) => isLocked(p),
};

loadRevision().catch(() => {});
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) login(saved).catch(() => { sessionStorage.removeItem(TOKEN_KEY); });
else loadVillages().catch(() => {}).finally(() => { $('village').disabled = true; $('village').firstChild.textContent = '请先登录'; });
updateControls();
