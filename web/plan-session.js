// The planner's editor: logging in, the villages, and the editor's own GeoJSON copies of the
// grids (not the published vector tiles): the base grids of the selected village with the
// draft's changes applied (the "view").
import { $, el } from './lib/dom.js';
import { clone } from './lib/geom.js';
import { DRAFT_KEY, EDIT_ROLES, S, TOKEN_KEY, VILLAGE_KEY, enqueue, get } from './plan-state.js';
import { mapReady, renderAll, renderVillage, resetColours, zoomTo } from './plan-map.js';
import { draw, syncDraw } from './plan-draw.js';
import { loadRevisions, setDraft, validate } from './plan-draft.js';
import { hint, say, updateControls } from './plan-panel.js';

// ---------------------------------------------------------------- login
export async function login(token) {
  token = (token || '').trim();
  if (!token) throw new Error('请输入访问令牌');
  const previous = S.token;
  S.token = token;
  let me;
  try {
    me = await get('/api/v1/me');
  } catch (e) {
    S.token = previous;
    throw new Error(e.status === 401 ? '令牌无效或已失效' : e.message);
  }
  if (!EDIT_ROLES.includes(me.role)) {
    S.token = previous;
    throw new Error(`用户“${me.name}”的角色是 ${me.role}，没有调整网格的权限（需要 planner 或 admin）`);
  }
  S.me = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('whoami-text').textContent = `${me.name} · ${me.role === 'admin' ? '管理员' : '规划人员'}`;
  $('user').textContent = me.name;
  $('user').hidden = false;
  $('login-form').hidden = true;
  $('whoami').hidden = false;
  $('draft-section').hidden = false;
  await loadVillages();
  await loadRevisions();
  const stored = sessionStorage.getItem(DRAFT_KEY);
  if (stored && !S.draft) {
    try {
      const d = await get(`/api/v1/drafts/${stored}`);
      if (d.committed_revision == null) { setDraft(d); say(`已恢复草稿 #${d.id}`); }
      else sessionStorage.removeItem(DRAFT_KEY);
    } catch { sessionStorage.removeItem(DRAFT_KEY); }
  }
  const village = sessionStorage.getItem(VILLAGE_KEY);
  if (village && !S.village && S.villages.some((v) => v.properties.code === village)) {
    await selectVillage(village).catch(() => {});
    if (S.draft) await enqueue(validate).catch(() => {});
  }
  updateControls();
  return me;
}
export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(DRAFT_KEY);
  sessionStorage.removeItem(VILLAGE_KEY);
  location.reload();
}

// ---------------------------------------------------------------- villages and the view
export async function loadVillages() {
  const fc = await get('/api/v1/cells?level=2');
  S.villages = fc.features.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
  const select = $('village');
  select.replaceChildren(el('option', { value: '' }, '选择村/社区…'));
  for (const v of S.villages) select.append(el('option', { value: v.properties.code }, v.properties.name));
  select.disabled = false;
  await mapReady;
  renderVillage();
  if (S.villages.length) zoomTo({ type: 'GeometryCollection', geometries: S.villages.map((v) => v.geometry) }, { padding: 30, duration: 0 });
}

export async function selectVillage(code) {
  await mapReady;
  const [village, grids] = await Promise.all([get(`/api/v1/cells/${code}`), get(`/api/v1/cells?parent=${code}`)]);
  if (!S.village || S.village.properties.code !== code) resetColours(grids.features);
  S.village = village;
  S.base = new Map(grids.features.map((f) => [f.properties.code, f]));
  for (const f of grids.features) S.names.set(f.properties.code, f.properties.name);
  S.names.set(code, village.properties.name);
  S.picked = [];
  S.buildings = await loadBuildings(code);
  $('village').value = code;
  sessionStorage.setItem(VILLAGE_KEY, code);
  rebuildView();
  draw && draw.getSnapshot().filter((f) => f.properties.selected).forEach((f) => draw.deselectFeature(f.id));
  syncDraw(true);
  renderAll();
  zoomTo(village.geometry, { padding: 40, duration: 0 });
  hint('点击网格查看并编辑节点；Shift+点击多选网格。');
  return cells();
}

async function loadBuildings(code) {
  // Buildings are not public; planners may get them later from this endpoint. 404: none.
  try {
    const data = await get(`/api/v1/buildings?cell=${code}`);
    const list = (data && (data.features || data.buildings)) || [];
    return list.map((b) => (b.geometry ? b.geometry.coordinates : b.lon != null ? [b.lon, b.lat] : b.coordinates)).filter((c) => Array.isArray(c) && c.length >= 2);
  } catch {
    return [];
  }
}

/** The draft view of the selected village: its base grids with the draft's changes applied. */
export function rebuildView() {
  const view = new Map();
  for (const [code, f] of S.base) view.set(code, clone(f));
  const vcode = S.village && S.village.properties.code;
  for (const [code, ch] of S.changes) {
    const mine = code.startsWith(vcode) || (ch.feature && ch.feature.properties && ch.feature.properties.parent === vcode);
    if (!mine) continue;
    if (ch.deleted) { view.delete(code); continue; }
    const old = view.get(code);
    const props = { ...(old ? old.properties : {}), ...((ch.feature && ch.feature.properties) || {}), code };
    view.set(code, { type: 'Feature', properties: props, geometry: clone(ch.feature.geometry) });
  }
  S.view = view;
  S.picked = S.picked.filter((c) => view.has(c));
}

export function cells() {
  return { type: 'FeatureCollection', features: [...S.view.values()].map(clone) };
}
