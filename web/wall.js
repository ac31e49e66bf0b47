// The command-centre wall (指挥中心大屏): a heatmap of incidents over the grid borders, a
// choropleth of open incidents per grid, KPI tiles, a ticker, a village ranking and the overdue
// list — live from Server-Sent Events, without reloading. EventSource reconnects by itself and
// sends Last-Event-ID, so the server replays what was missed; after a reconnect the lists are
// fetched again as well. Everything comes from this server; no personal data beyond the grid
// team's names is shown. A banner warns when the working-day calendar does not reach far enough
// ahead (`/health`'s `calendar.ok`); deadlines beyond it carry `provisional` and show （暂定）.
// The 部门 panel (吹哨报到) comes from `GET /api/v1/departments/board`, fetched with the other
// figures: open parts per department (and how many still await their 报到), the parts whose 报到
// or 处置 is overdue, and the departments ranked by 响应率.
import { client, live, request } from './lib/api.js';
import { $, el } from './lib/dom.js';
import { createMap, fitGeometry, geojsonSource, setFeatures } from './lib/map.js';

const TOKEN_KEY = 'gridmap.wall.token';
const FINISHED = new Set(['结案', '评价', '作废']);
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let hours = 24;
let mode = 'heat';
const incidents = new Map(); // id → incident
let kpis = {};
let stats = null;
let board = null; // /api/v1/departments/board
let grids = null; // GeoJSON of level-3 cells
const ticker = []; // newest first
const pulses = []; // {lon, lat, born}
let lastEvent = null;
let calendar = null; // /health's `calendar`: {covered_until, ok}
let calendarChecked = false;

const api = client(() => token).get;
const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);
const dayTime = (iso) => new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
const hhmm = (iso) => new Date(iso).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Shanghai' });

// ------------------------------------------------------------------ map
const map = createMap({
  style: {
    version: 8,
    sources: {
      boundaries: { type: 'vector', url: `${location.origin}/tiles/boundaries.json` },
      incidents: geojsonSource(),
      pulses: geojsonSource(),
      grids: geojsonSource(),
    },
    layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': '#050d19' } },
      { id: 'grids', type: 'fill', source: 'grids', layout: { visibility: 'none' },
        paint: { 'fill-color': ['interpolate', ['linear'], ['get', 'open'], 0, '#0b2036', 1, '#1d4e89', 3, '#f59e0b', 6, '#ef4444'], 'fill-opacity': 0.85 } },
      { id: 'borders', type: 'line', source: 'boundaries', 'source-layer': 'boundaries',
        paint: { 'line-color': ['match', ['get', 'level'], 3, '#1f4e7a', 2, '#3b82c4', '#7cc4ff'],
                 'line-width': ['match', ['get', 'level'], 3, 0.8, 2, 1.8, 2.6] } },
      { id: 'heat', type: 'heatmap', source: 'incidents',
        paint: { 'heatmap-weight': ['/', ['get', 'severity'], 3], 'heatmap-intensity': 1.2,
                 'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 10, 12, 15, 40], 'heatmap-opacity': 0.85,
                 'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'], 0, 'rgba(0,0,0,0)', 0.2, '#1e40af', 0.45, '#06b6d4', 0.7, '#facc15', 1, '#ef4444'] } },
      { id: 'overdue', type: 'circle', source: 'incidents', filter: ['==', ['get', 'overdue'], true],
        paint: { 'circle-radius': 4, 'circle-color': '#ff4d4f', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
      { id: 'pulses', type: 'circle', source: 'pulses',
        paint: { 'circle-radius': ['get', 'r'], 'circle-color': 'rgba(250,204,21,0)', 'circle-stroke-color': '#facc15',
                 'circle-stroke-width': 3, 'circle-stroke-opacity': ['get', 'a'] } },
    ],
  },
  center: [107.47, 27.75],
  zoom: 11,
});

function renderMap() {
  if (!map.isStyleLoaded()) return;
  const since = Date.now() - hours * 3600e3;
  const features = [...incidents.values()]
    .filter((i) => i.lon != null && Date.parse(i.created_at) >= since)
    .map((i) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [i.lon, i.lat] },
      properties: { id: i.id, severity: i.severity, overdue: i.overdue && !FINISHED.has(i.state) } }));
  setFeatures(map, 'incidents', features);
  if (grids) {
    const open = {};
    for (const i of incidents.values()) if (!FINISHED.has(i.state) && i.cell) open[i.cell.code] = (open[i.cell.code] || 0) + 1;
    for (const f of grids.features) f.properties.open = open[f.properties.code] || 0;
    map.getSource('grids').setData(grids);
  }
  map.setLayoutProperty('grids', 'visibility', mode === 'choropleth' ? 'visible' : 'none');
  map.setLayoutProperty('heat', 'visibility', mode === 'heat' ? 'visible' : 'none');
}

let pulsing = false;
function animatePulses() {
  const now = performance.now();
  while (pulses.length && now - pulses[0].born > 3000) pulses.shift();
  // Touch the source only while something pulses (and once more to clear it), so the map
  // settles (map.loaded()) between arrivals.
  const active = pulses.length > 0;
  if ((active || pulsing) && map.isStyleLoaded()) {
    setFeatures(map, 'pulses', pulses.map((p) => {
      const t = ((now - p.born) % 1000) / 1000;
      return { type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { r: 6 + 26 * t, a: 1 - t } };
    }));
  }
  pulsing = active;
  requestAnimationFrame(animatePulses);
}

// ------------------------------------------------------------------ panels
function renderPanels() {
  $('kpi-today').textContent = kpis.today ?? '–';
  $('kpi-open').textContent = kpis.open ?? '–';
  $('kpi-overdue').textContent = kpis.overdue ?? '–';
  $('kpi-ontime').textContent = pct(kpis.on_time_rate);
  $('kpi-satisfaction').textContent = pct(kpis.satisfaction_rate);
  $('kpi-compliance').textContent = kpis.compliance ?? '–';

  const byVillage = new Map();
  for (const i of incidents.values()) {
    if (FINISHED.has(i.state) || !i.village) continue;
    const v = byVillage.get(i.village.code) || { name: i.village.name, open: 0 };
    v.open += 1;
    byVillage.set(i.village.code, v);
  }
  $('ranking').replaceChildren(...[...byVillage.values()].sort((a, b) => b.open - a.open).slice(0, 10).map((v) => {
    const li = document.createElement('li');
    li.append(v.name, Object.assign(document.createElement('b'), { textContent: `${v.open} 件` }));
    return li;
  }));

  const late = [...incidents.values()].filter((i) => i.overdue && !FINISHED.has(i.state))
    .sort((a, b) => Date.parse(a.deadline_at) - Date.parse(b.deadline_at)).slice(0, 12);
  $('overdue').replaceChildren(...late.map((i) => {
    const li = document.createElement('li');
    li.dataset.id = i.id;
    const team = (i.team || []).filter((t) => t.role === '网格长' || t.role === '网格员').map((t) => `${t.role} ${t.name}`).join('、');
    const due = document.createElement('small');
    due.append(`应于 ${new Date(i.deadline_at).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })} 前办结`);
    // The deadline lies beyond the working-day calendar: counted on a guess of the holidays.
    if (i.provisional) due.append(Object.assign(document.createElement('span'), { className: 'provisional', textContent: '（暂定）', title: '期限超出节假日日历覆盖范围，为暂定' }));
    due.append(` · ${team || '—'}`);
    li.append(`${i.category} · ${i.cell ? i.cell.name : '未定位'} · ${i.state}`, due);
    return li;
  }));

  $('ticker').replaceChildren(...ticker.slice(0, 12).map((t) => {
    const li = document.createElement('li');
    li.className = t.kind === 'incident.created' ? 'created' : 'updated';
    li.append(Object.assign(document.createElement('time'), { textContent: hhmm(t.at) }),
      `${t.kind === 'incident.created' ? '新上报' : t.incident.state} · ${t.incident.category} · ${t.incident.cell ? t.incident.cell.name : '未定位'}`);
    return li;
  }));
}

// ------------------------------------------------------------------ departments
function renderBoard() {
  const b = board || { open: [], late_reports: [], overdue: [], ranking: [] };
  const none = (text) => el('li', { class: 'none' }, text);
  // One row per department: those ranked by 响应率 first (in the board's order), then those with
  // open parts but nothing to rank yet, most open first.
  const open = new Map((b.open || []).map((d) => [d.code, d]));
  const ranked = (b.ranking || []).map((d, i) => ({ code: d.code, name: d.name, rank: i + 1, rate: d.response_rate, to_respond: d.to_respond }));
  const unranked = [...open.values()].filter((d) => !ranked.some((r) => r.code === d.code))
    .sort((x, y) => y.open - x.open || y.awaiting_report - x.awaiting_report)
    .map((d) => ({ code: d.code, name: d.name, rank: null, rate: null, to_respond: 0 }));
  const rows = [...ranked, ...unranked].slice(0, 10).map((d) => {
    const o = open.get(d.code) || { open: 0, awaiting_report: 0 };
    return el('tr', { 'data-code': d.code },
      el('td', { class: 'rank' }, d.rank == null ? '–' : `${d.rank}`),
      el('th', { scope: 'row', class: 'name', title: d.name }, d.name),
      el('td', { class: 'open' }, `${o.open}`),
      el('td', { class: o.awaiting_report ? 'awaiting' : 'zero' }, `${o.awaiting_report}`),
      el('td', { class: 'rate', title: d.rate == null ? '暂无应报到的任务' : `应报到 ${d.to_respond} 件` }, d.rate == null ? '—' : pct(d.rate)));
  });
  $('dept-rows').replaceChildren(...(rows.length ? rows
    : [el('tr', { class: 'none' }, el('td', { colspan: '5' }, board ? '暂无派遣到部门的任务' : '—'))]));
  const late = b.late_reports || [];
  const over = b.overdue || [];
  $('dept-late-count').textContent = board ? `${late.length}` : '–';
  $('dept-overdue-count').textContent = board ? `${over.length}` : '–';
  const item = (p, due, verb) => el('li', { 'data-incident': p.incident, 'data-part': p.part },
    el('span', { class: 'name', title: `${p.category} · ${p.department_name}` }, `${p.category} · ${p.department_name}${p.lead ? '（牵头）' : ''}`),
    el('small', {}, `应于 ${dayTime(due)} ${verb}`));
  $('dept-late').replaceChildren(...(late.length ? late.slice(0, 6).map((p) => item(p, p.report_due, '报到')) : [none(board ? '无' : '—')]));
  $('dept-overdue').replaceChildren(...(over.length ? over.slice(0, 6).map((p) => item(p, p.deadline_at, '办结')) : [none(board ? '无' : '—')]));
}

// Only the command centre (and admins) may read the panel; a refusal leaves it at –.
async function loadBoard() {
  try {
    board = await api('/api/v1/departments/board');
  } catch { board = null; }
  renderBoard();
}

let statsTimer = null;
let boardTimer = null;
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(loadStats, 300);
}
async function loadStats() {
  stats = await api('/api/v1/stats?level=village');
  kpis = { ...kpis, today: stats.totals.today, open: stats.totals.open, overdue: stats.totals.overdue_now,
           on_time_rate: stats.totals.on_time_rate, satisfaction_rate: stats.totals.satisfaction_rate };
  renderPanels();
  loadCompliance();
  loadBoard();
}

// The compliance tile: grid workers meeting every duty this week (patrol days, logs, visits,
// meetings), as `/api/v1/compliance` judges them. Planners may not see it; the tile then stays –.
async function loadCompliance() {
  try {
    const c = await api('/api/v1/compliance');
    const rows = c.rows || [];
    kpis.compliance = rows.length ? `${rows.filter((r) => r.ok).length}/${rows.length}` : '–';
    kpis.complianceRows = rows.length;
  } catch { kpis.compliance = '–'; }
  renderPanels();
}

async function loadLists() {
  const list = await api('/api/v1/incidents?hours=168&limit=5000');
  incidents.clear();
  for (const i of list.incidents) incidents.set(i.id, i);
  if (!ticker.length) {
    for (const i of list.incidents.slice(0, 12)) ticker.push({ kind: 'incident.created', incident: i, at: i.created_at });
  }
  await loadStats();
  renderMap();
}

// ------------------------------------------------------------------ live
let source = null;
function connect() {
  let broken = false;
  const onIncident = (kind) => (e) => {
    const { incident } = JSON.parse(e.data);
    lastEvent = { kind, id: e.lastEventId, incident, at: new Date().toISOString() };
    const known = incidents.get(incident.id);
    // Keep the richer copy's team when the event carries none.
    if (known && (!incident.team || !incident.team.length)) incident.team = known.team;
    incidents.set(incident.id, incident);
    ticker.unshift({ kind, incident, at: lastEvent.at });
    ticker.length = Math.min(ticker.length, 50);
    if (kind === 'incident.created' && incident.lon != null) pulses.push({ lon: incident.lon, lat: incident.lat, born: performance.now() });
    if (kind === 'incident.created') kpis.today = (kpis.today || 0) + 1;
    renderPanels();
    renderMap();
    refreshStatsSoon();
  };
  source = live(token, {
    open: () => {
      $('status').textContent = '实时';
      $('status').classList.add('live');
      if (broken) loadLists().catch(() => {});
      broken = false;
    },
    error: () => {
      broken = true;
      $('status').textContent = '重新连接…';
      $('status').classList.remove('live');
    },
    'incident.created': onIncident('incident.created'),
    'incident.updated': onIncident('incident.updated'),
    'atlas.revision': (e) => {
      lastEvent = { kind: 'atlas.revision', id: e.lastEventId, ...JSON.parse(e.data) };
      loadGrids().catch(() => {});
    },
  });
}

async function loadGrids() {
  grids = await api('/api/v1/cells?level=3');
  renderMap();
}

// ------------------------------------------------------------------ calendar
// `/health` (no token needed) says until when the working-day calendar is known and whether
// that reaches far enough ahead; checked at load and every 10 minutes. An answer without a
// calendar (the database is down: 503) keeps the last state.
async function checkCalendar() {
  // A 503 still carries a body; a network failure has none.
  const body = await request('/health', { cache: 'no-store' }).catch((e) => e.body);
  if (body && body.calendar) calendar = body.calendar;
  const box = $('calendar-warning');
  const warn = !!calendar && calendar.ok === false;
  box.textContent = !warn ? ''
    : calendar.covered_until ? `节假日日历仅覆盖至 ${calendar.covered_until}，之后的期限为暂定（请导入新年度放假安排）`
    : '节假日日历尚未导入，期限均为暂定（请导入放假安排）';
  box.hidden = !warn;
  calendarChecked = true;
  return calendar;
}
checkCalendar();
setInterval(checkCalendar, 10 * 60 * 1000);

// ------------------------------------------------------------------ controls
for (const b of document.querySelectorAll('[data-mode]')) b.addEventListener('click', () => setMode(b.dataset.mode));
for (const b of document.querySelectorAll('[data-hours]')) b.addEventListener('click', () => setWindow(Number(b.dataset.hours)));
function setMode(m) {
  mode = m;
  for (const b of document.querySelectorAll('[data-mode]')) b.classList.toggle('on', b.dataset.mode === m);
  renderMap();
}
function setWindow(h) {
  hours = h;
  for (const b of document.querySelectorAll('[data-hours]')) b.classList.toggle('on', Number(b.dataset.hours) === h);
  renderMap();
}
setInterval(() => {
  $('clock').textContent = new Date().toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}, 1000);

async function login(t) {
  token = t.trim();
  const me = await api('/api/v1/me');
  if (!['command', 'admin'].includes(me.role)) throw new Error('此令牌不是指挥中心角色');
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').classList.add('hidden');
  await Promise.all([loadLists(), loadGrids()]);
  const county = await api('/api/v1/cells?level=0');
  if (county.features[0]) fitGeometry(map, county.features[0].geometry, { padding: 20, duration: 0 });
  connect();
  // Lateness grows with time alone: the panel is fetched again every minute as well.
  clearInterval(boardTimer);
  boardTimer = setInterval(loadBoard, 60 * 1000);
  window.gridmap.ready = true;
  return me;
}
$('login').querySelector('form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  login($('token').value).catch((err) => { $('login-error').textContent = err.message; });
});
map.on('load', () => { renderMap(); animatePulses(); });

window.gridmap = {
  map, ready: false,
  incidents: () => [...incidents.values()],
  kpis: () => ({ ...kpis }),
  get lastEvent() { return lastEvent; },
  get mode() { return mode; },
  get calendar() { return calendar; },
  get board() { return board; },
  get calendarChecked() { return calendarChecked; },
  setMode, setWindow, login, checkCalendar,
};
if (token) login(token).catch(() => $('login').classList.remove('hidden'));
