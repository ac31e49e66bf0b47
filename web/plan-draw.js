// The planner's editor: terra-draw does the pointer work. Select mode with draggable coordinates
// (no midpoints, no deletion, no feature drag) and a linestring mode for split lines. terra-draw
// only knows single Polygons without holes, so every part of a grid is given to it as the outer
// ring of one Polygon (id `code:part`). Its drag only moves the dragged grid's copy; we intercept
// the `finish` event, find the vertex that moved (P → Q) and do the move ourselves (plan-edit.js).
// Vertices on the village outline are locked: terra-draw is not even allowed to start dragging
// them. Drops and split-line points snap to other grids' vertices (and buildings) within 8 px.
import { contains, forEachVertex, hasVertex, onBoundary, parts, replaceVertex, same } from './lib/geom.js';
import { LOCK_TOLERANCE, S, SNAP_PX } from './plan-state.js';
import { map, renderGrids } from './plan-map.js';
import { moveVertex, split } from './plan-edit.js';
import { hint, say, setMode } from './plan-panel.js';

const { TerraDraw, TerraDrawSelectMode, TerraDrawPolygonMode, TerraDrawLineStringMode } = globalThis.terraDraw;
const { TerraDrawMapLibreGLAdapter } = globalThis.terraDrawMaplibreGlAdapter;

/** The terra-draw instance, once the map has loaded. */
export let draw = null;

/** The grid code of a terra-draw feature id (`code:part`), or null for drawn lines. */
export function codeOf(id) {
  return typeof id === 'string' && id.includes(':') && !id.startsWith('td') ? id.slice(0, id.lastIndexOf(':')) : null;
}

/** Starts terra-draw on the loaded map (its layers go above ours). */
export function startDraw() {
  draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 }),
    idStrategy: {
      isValidId: (id) => typeof id === 'string' && id.length > 0,
      getId: (() => { let n = 0; return () => 'td' + (++n); })(),
    },
    modes: [
      // The grids' parts; never used for drawing, only as the mode the features belong to.
      new TerraDrawPolygonMode({
        modeName: 'grid',
        styles: { fillColor: '#ffffff', fillOpacity: 0, outlineColor: '#ffffff', outlineWidth: 0, outlineOpacity: 0 },
      }),
      new TerraDrawLineStringMode({
        modeName: 'splitline',
        snapping: { toCustom: (e) => snapScreen([e.containerX, e.containerY], vertexTargets(null)) },
        styles: { lineStringColor: '#c0171a', lineStringWidth: 3, closingPointColor: '#c0171a', closingPointOutlineColor: '#ffffff', snappingPointColor: '#c0171a', snappingPointOutlineColor: '#ffffff' },
      }),
      new TerraDrawSelectMode({
        pointerDistance: 12,
        keyEvents: { deselect: 'Escape', delete: null, rotate: null, scale: null },
        flags: {
          grid: {
            feature: {
              draggable: false, rotateable: false, scaleable: false, selfIntersectable: true,
              coordinates: { draggable: true, midpoints: false, deletable: false, snappable: { toCustom: snapDrag } },
            },
          },
        },
        pointerEvents: {
          leftClick: () => S.mode === 'select',
          rightClick: false,
          contextMenu: false,
          onDragStart: (e) => S.mode === 'select' && !!S.draft && !lockedNear(e),
          onDrag: true,
          onDragEnd: true,
        },
        styles: {
          selectedPolygonColor: '#2b6cb0', selectedPolygonFillOpacity: 0,
          selectedPolygonOutlineColor: '#1d4f8c', selectedPolygonOutlineWidth: 3,
          selectionPointWidth: 5, selectionPointOutlineWidth: 2,
          selectionPointColor: (f) => (isLocked(f.geometry.coordinates) ? '#262626' : '#ffffff'),
          selectionPointOutlineColor: (f) => (isLocked(f.geometry.coordinates) ? '#9a9a9a' : '#1d4f8c'),
        },
      }),
    ],
  });
  draw.start();
  draw.setMode('select');
  draw.on('change', onDrawChange);
  draw.on('finish', onDrawFinish);
  draw.on('select', (id) => { const code = codeOf(id); if (code && S.mode === 'select') hint(S.draft ? '拖动白色节点修改边界；黑色节点在村/社区界上，已锁定。' : '开始草稿后才能拖动节点。'); });
  draw.on('deselect', () => hint(''));
}

/** Puts the view's grids into terra-draw (outer ring of each part; terra-draw has no holes). */
export function syncDraw(full) {
  if (!draw) return;
  S.syncing = true;
  try {
    const wanted = new Map();
    for (const f of S.view.values()) parts(f.geometry).forEach((rings, i) => wanted.set(`${f.properties.code}:${i}`, rings[0]));
    const existing = new Set(draw.getSnapshot().filter((f) => f.properties.mode === 'grid').map((f) => f.id));
    const stale = [...existing].filter((id) => full || !wanted.has(id));
    if (stale.length) {
      for (const id of stale) { try { draw.deselectFeature(id); } catch { /* not selected */ } }
      draw.removeFeatures(stale.filter((id) => draw.hasFeature(id)));
    }
    const add = [];
    for (const [id, ring] of wanted) {
      const geometry = { type: 'Polygon', coordinates: [ring.map((c) => [c[0], c[1]])] };
      if (!full && draw.hasFeature(id)) {
        const cur = draw.getSnapshotFeature(id);
        if (JSON.stringify(cur.geometry.coordinates) !== JSON.stringify(geometry.coordinates)) draw.updateFeatureGeometry(id, geometry);
      } else add.push({ id, type: 'Feature', geometry, properties: { mode: 'grid' } });
    }
    if (add.length) {
      const results = draw.addFeatures(add);
      for (const r of results) if (!r.valid) console.warn('terra-draw refused', r.id, r.reason);
    }
  } finally {
    S.syncing = false;
  }
}

// ---------------------------------------------------------------- locking and snapping
/** Whether p is on the village outline (a vertex of it, or within ≈1 cm of an edge): locked. */
export function isLocked(p) {
  if (!S.village) return false;
  return hasVertex(S.village.geometry, p) || onBoundary(S.village.geometry, p, LOCK_TOLERANCE);
}
/** Whether the pointer is on a locked vertex of the selected grid (terra-draw must not drag it). */
function lockedNear(e) {
  const selected = draw.getSnapshot().filter((f) => f.properties.selected && f.properties.mode === 'grid');
  for (const f of selected) for (const c of f.geometry.coordinates[0]) {
    const p = map.project(c);
    if (Math.hypot(p.x - e.containerX, p.y - e.containerY) <= 12 && isLocked(c)) {
      hint('该节点在村/社区界上，已锁定，不能拖动。');
      return true;
    }
  }
  return false;
}
/** Snap targets: the vertices of every grid that does not hold `from`, and building points. */
function vertexTargets(from) {
  const out = [];
  for (const f of S.view.values()) {
    if (from && hasVertex(f.geometry, from)) continue;
    forEachVertex(f.geometry, (c) => out.push(c));
  }
  return out;
}
/** The target nearest to the screen point `xy`, within `px` pixels (a copy), or undefined. */
function snapScreen(xy, targets, px = SNAP_PX) {
  let best = null, bestD = px;
  for (const c of targets) {
    const p = map.project(c);
    const d = Math.hypot(p.x - xy[0], p.y - xy[1]);
    if (d <= bestD) { bestD = d; best = [c[0], c[1]]; }
  }
  return best || undefined;
}
/** The vertex nearest to the position `p` on screen, within `px` pixels, or undefined. */
export function snapNear(p, verts, px) {
  const a = map.project(p);
  return snapScreen([a.x, a.y], verts, px);
}
/** Where a vertex dropped at `to` lands: on another grid's vertex or a building within 8 px, else at `to`. */
export function snapTarget(to, from) {
  const p = map.project(to);
  return snapScreen([p.x, p.y], vertexTargets(from).concat(S.buildings)) || to;
}
function snapDrag(e, ctx) {
  const id = ctx.currentId;
  const code = codeOf(id);
  if (!code || ctx.currentCoordinate == null) return undefined;
  const from = storedRing(id)[ctx.currentCoordinate];
  if (!from) return undefined;
  return snapScreen([e.containerX, e.containerY], vertexTargets(from).concat(S.buildings));
}
function storedRing(id) {
  const code = codeOf(id);
  const f = code && S.view.get(code);
  if (!f) return [];
  const part = parts(f.geometry)[Number(id.slice(id.lastIndexOf(':') + 1))];
  return part ? part[0] : [];
}
/** The single vertex of a terra-draw feature that differs from our copy: [from, to] or null. */
function movedVertex(id) {
  const f = draw.getSnapshotFeature(id);
  if (!f) return null;
  const now = f.geometry.coordinates[0], was = storedRing(id);
  if (now.length !== was.length) return null;
  let moved = null;
  for (let i = 0; i < was.length - 1; i++) {
    if (!same(now[i], was[i])) {
      if (moved) return null; // more than one vertex changed: not a vertex drag
      moved = [was[i], now[i]];
    }
  }
  return moved;
}

// ---------------------------------------------------------------- terra-draw events
function onDrawChange(ids, type, context) {
  if (S.syncing || type !== 'update' || (context && context.origin === 'api')) return;
  const id = ids.find((i) => codeOf(i));
  if (!id || S.mode !== 'select') return;
  const m = movedVertex(id);
  if (!m) return;
  // Live preview: every grid sharing the vertex follows the pointer.
  const preview = new Map();
  for (const [code, f] of S.view) preview.set(code, hasVertex(f.geometry, m[0]) ? { ...f, geometry: replaceVertex(f.geometry, m[0], m[1]) } : f);
  renderGrids(preview);
}
function onDrawFinish(id, context) {
  if (context.mode === 'splitline') { finishSplitLine(id); return; }
  if (context.action !== 'dragCoordinate' || !codeOf(id)) return;
  const m = movedVertex(id);
  if (!m) { renderGrids(); return; }
  moveVertex(m[0], m[1]).catch(() => { renderGrids(); syncDraw(); });
}

function finishSplitLine(id) {
  const f = draw.getSnapshotFeature(id);
  draw.removeFeatures([id]);
  setMode('select');
  if (!f || f.geometry.type !== 'LineString') return;
  const line = f.geometry.coordinates;
  // The grid the line crosses: the picked one, else the one most of the line's samples fall in.
  let code = S.picked.length === 1 ? S.picked[0] : null;
  if (!code) {
    const score = new Map();
    for (let i = 1; i < line.length; i++) for (let k = 1; k < 10; k++) {
      const p = [line[i - 1][0] + ((line[i][0] - line[i - 1][0]) * k) / 10, line[i - 1][1] + ((line[i][1] - line[i - 1][1]) * k) / 10];
      for (const [c, g] of S.view) if (contains(g.geometry, p)) score.set(c, (score.get(c) || 0) + 1);
    }
    code = [...score.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0])[0];
  }
  if (!code) { say('拆分线没有穿过任何网格', 'error'); return; }
  split(code, line).catch(() => {});
}
