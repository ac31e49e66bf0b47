// The planner's editor: the edits. A vertex move PUTs the new geometry of every grid holding the
// vertex exactly (shared vertices move together, coverage stays exact); vertices on the village
// outline are refused. Undo/redo is a client-side stack of vertex moves: undoing PUTs the previous
// geometries back, redoing PUTs the new ones again. Split and merge are NOT undoable: they replace
// codes (the server writes lineage), so after either the stack is cleared; discard the draft to go
// back. Every edit is queued; its Promise resolves after its PUTs and the re-validation.
import { clone, contains, forEachVertex, hasVertex, intersect, replaceVertex, round7, same, segDist, segments } from './lib/geom.js';
import { S, api, enqueue, shortName } from './plan-state.js';
import { renderAll, renderGrids } from './plan-map.js';
import { isLocked, snapNear, snapTarget, syncDraw } from './plan-draw.js';
import { refreshDraftInfo, reloadDraft, validate } from './plan-draft.js';
import { failed, say } from './plan-panel.js';

// ---------------------------------------------------------------- vertex moves, undo and redo
/** PUTs `geometries` (code → geometry) into the draft; on failure restores `restore` locally. */
async function putGeometries(geometries, restore) {
  // Undo may reach grids of a village that is no longer shown: those are only PUT.
  for (const [code, g] of Object.entries(geometries)) if (S.view.has(code)) S.view.get(code).geometry = clone(g);
  renderGrids();
  syncDraw();
  const done = [];
  try {
    for (const [code, g] of Object.entries(geometries)) {
      const feature = { type: 'Feature', properties: {}, geometry: g };
      await api('PUT', `/api/v1/drafts/${S.draft.id}/cells/${code}`, feature);
      done.push(code);
      const known = S.view.get(code) || (S.changes.get(code) || {}).feature || S.base.get(code);
      S.changes.set(code, { deleted: false, feature: { type: 'Feature', properties: clone((known && known.properties) || { code }), geometry: clone(g) } });
    }
  } catch (e) {
    for (const [code, g] of Object.entries(restore)) if (S.view.has(code)) S.view.get(code).geometry = clone(g);
    // Best effort: put back what was already stored.
    for (const code of done) {
      await api('PUT', `/api/v1/drafts/${S.draft.id}/cells/${code}`, { type: 'Feature', properties: {}, geometry: restore[code] }).catch(() => {});
    }
    renderGrids();
    syncDraw();
    throw e;
  }
  refreshDraftInfo();
}

async function doMove(from, to, only) {
  if (!S.draft) throw new Error('请先开始草稿');
  from = [Number(from[0]), Number(from[1])];
  to = [Number(to[0]), Number(to[1])];
  const codes = [...S.view.keys()].filter((c) => hasVertex(S.view.get(c).geometry, from) && (!only || c === only));
  if (!codes.length) throw new Error(only ? `网格 ${only} 没有节点 ${from}` : `没有网格有节点 ${from}`);
  if (isLocked(from)) throw new Error('该节点在村/社区界上，已锁定，不能移动');
  const target = snapTarget(to, from).map(round7);
  if (same(target, from)) { renderGrids(); syncDraw(); return null; }
  const before = {}, after = {};
  for (const c of codes) {
    before[c] = clone(S.view.get(c).geometry);
    after[c] = replaceVertex(S.view.get(c).geometry, from, target);
  }
  await putGeometries(after, before);
  const names = codes.map((c) => shortName(S.view.get(c).properties.name));
  S.undo.push({ label: `移动节点（${names.join('、')}）`, before, after });
  S.redo = [];
  const report = await validate();
  return { codes, to: target, report };
}

export function moveVertex(from, to) {
  return enqueue(() => doMove(from, to, null)).catch(failed);
}
/** Moves the vertex in ONE grid only (breaks shared edges on purpose; for tests and repairs). */
export function moveVertexOf(code, from, to) {
  return enqueue(() => doMove(from, to, code)).catch(failed);
}

export function undo() {
  return enqueue(async () => {
    const e = S.undo.pop();
    if (!e) return null;
    try { await putGeometries(e.before, e.after); } catch (err) { S.undo.push(e); throw err; }
    S.redo.push(e);
    say(`已撤销：${e.label}`);
    return validate();
  }).catch(failed);
}
export function redo() {
  return enqueue(async () => {
    const e = S.redo.pop();
    if (!e) return null;
    try { await putGeometries(e.after, e.before); } catch (err) { S.redo.push(e); throw err; }
    S.undo.push(e);
    say(`已重做：${e.label}`);
    return validate();
  }).catch(failed);
}

// ---------------------------------------------------------------- split and merge
export function split(code, coordinates) {
  return enqueue(async () => {
    if (!S.draft) throw new Error('请先开始草稿');
    const f = S.view.get(code);
    if (!f) throw new Error(`没有网格 ${code}`);
    const line = { type: 'LineString', coordinates: snapLineEnds(f.geometry, coordinates) };
    const r = await api('POST', `/api/v1/drafts/${S.draft.id}/split`, { code, line });
    // Split is not undoable (new codes, lineage): clear the stack.
    S.undo = [];
    S.redo = [];
    await reloadDraft();
    S.picked = (r.new_codes || []).filter((c) => S.view.has(c));
    renderAll();
    say(`已拆分 ${shortName(f.properties.name)}：新网格 ${(r.new_codes || []).join('、')}`);
    await validate();
    return r;
  }).catch(failed);
}
export function merge(codes, name) {
  return enqueue(async () => {
    if (!S.draft) throw new Error('请先开始草稿');
    if (!codes || codes.length < 2) throw new Error('合并至少需要两个网格');
    const body = { codes };
    if (name) body.name = name;
    const r = await api('POST', `/api/v1/drafts/${S.draft.id}/merge`, body);
    // Merge is not undoable either.
    S.undo = [];
    S.redo = [];
    await reloadDraft();
    S.picked = r.new_code && S.view.has(r.new_code) ? [r.new_code] : [];
    renderAll();
    say(`已合并为 ${r.new_code}`);
    await validate();
    return r;
  }).catch(failed);
}

/** Fits a split line to the grid: each end that is within 16 px of a boundary vertex snaps to
 *  it; an end drawn outside the grid is cut back to where the line first (last) crosses the
 *  boundary, and that crossing snaps to a vertex within 16 px, else stays on the edge. */
function snapLineEnds(geometry, coordinates) {
  let coords = coordinates.map((c) => [Number(c[0]), Number(c[1])]);
  if (coords.length < 2) return coords;
  const verts = [];
  forEachVertex(geometry, (c) => verts.push(c));
  const edges = segments(geometry);
  const fit = (line) => {
    // Returns the line with its first point on the boundary.
    const v = snapNear(line[0], verts, 16);
    if (v) return [v, ...line.slice(1)];
    for (let i = 1; i < line.length && !contains(geometry, line[0]); i++) {
      let best = null;
      for (const [a, b] of edges) {
        const x = intersect(line[i - 1], line[i], a, b);
        if (x && (!best || x.t < best.t)) best = x;
      }
      if (best) return [snapNear(best.point, verts, 16) || best.point.map(round7), ...line.slice(i)];
    }
    let near = null;
    for (const [a, b] of edges) { const d = segDist(line[0], a, b); if (!near || d.d < near.d) near = d; }
    return [near ? snapNear(near.point, verts, 16) || near.point.map(round7) : line[0], ...line.slice(1)];
  };
  coords = fit(coords);
  coords = fit(coords.slice().reverse()).reverse();
  return coords;
}
