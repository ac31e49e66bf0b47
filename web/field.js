// 网格通: the grid workers' phone app (/field), offline first. This module wires the page; the
// rest is split by concern:
//
//   field-store.js   IndexedDB: the outbox, the rejected actions, cached answers, the patrol
//   field-sync.js    actions and the sync loop (POST /api/v1/field/sync), the pending count
//   field-auth.js    the device token and pairing (shared with /field/team)
//   field-data.js    the server's answers, kept on the phone for offline
//   field-map.js     the map (public style + my grids, track, position), offline tiles
//   field-patrol.js  patrols: GPS watch, points in chunks, resumed after a reload
//   field-visit.js   household visits
//   field-report.js  incident reports
//   field-log.js     the daily log and grid meetings
//   field-home.js    today's work, incident actions, the rejected list
//   field-ui.js      messages, tabs, photo pickers
//   field-sw.js      the service worker (served at /field-sw.js, scope /field): the app shell,
//                    tiles and the field API offline
//
// Every action is written to the phone first and sent when there is a network; the counter
// "待同步 N" (#pending) is always on screen. Tests drive the page through `window.field`.
import { $ } from './lib/dom.js';
import * as store from './field-store.js';
import { events, startSync, status, syncNow } from './field-sync.js';
import { deviceName, forget, pair, setUser, token, user } from './field-auth.js';
import * as data from './field-data.js';
import { initMap, placeMap, setGrids, fitBox, unionBox, precacheTiles } from './field-map.js';
import { current as currentPatrol, restorePatrol, startPatrol, stopPatrol } from './field-patrol.js';
import { initVisit, setHouseholds, setProblems } from './field-visit.js';
import { initReport, locate, setGroups } from './field-report.js';
import { initLog, loadDay, setToday } from './field-log.js';
import { initHome, renderRejected, renderToday, setCategories } from './field-home.js';
import { busy, initTabs, onTab, say, showTab } from './field-ui.js';

const S = { today: null, entered: false, tilesAsked: false, wakeLock: null };

window.field = {
  ready: false,
  /** The number of actions waiting in the outbox. */
  pending: () => store.pendingCount(),
  /** One sync now; resolves when done (never rejects). */
  syncNow: () => syncNow(),
  /** The queued actions, in the order they were made. */
  outbox: async () => (await store.outbox()).map((e) => e.action),
  /** The actions the server refused, with its error: [{action, error}]. */
  rejected: async () => (await store.rejected()).map((e) => ({ action: e.action, error: e.error })),
  /** The last answer of /api/v1/field/today shown (null before the first). */
  today: () => (S.today ? S.today.data : null),
  /** The patrol in progress: {id, started, count, buffered} or null. */
  patrol: () => currentPatrol(),
  status: () => ({ ...status }),
};

// ---------------------------------------------------------------- service worker
function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/field-sw.js', { scope: '/field' })
    .catch((e) => console.warn('service worker not registered:', e));
}

// ---------------------------------------------------------------- the counters
async function renderPending() {
  const n = await store.pendingCount();
  const b = $('pending');
  b.textContent = `待同步 ${n}`;
  b.classList.toggle('zero', n === 0);
  b.title = status.lastError ? `上次同步：${status.lastError}` : '点击立即同步';
}

function renderOnline() {
  const online = navigator.onLine !== false && status.online;
  $('online').textContent = online ? '在线' : '离线';
  $('online').classList.toggle('off', !online);
}

// ---------------------------------------------------------------- pairing
function showPairing(message = '') {
  $('app').hidden = true;
  $('tabs').hidden = true;
  $('pairing').hidden = false;
  $('pair-error').textContent = message;
  if (!$('device').value) $('device').value = deviceName();
  // A scanned pairing QR code opens /field#pair=CODE: the code is filled in, then dropped from
  // the address so it is not left in the history.
  const scanned = /(?:^#|&)pair=(\d{8})\b/.exec(location.hash);
  if (scanned) {
    $('code').value = scanned[1];
    history.replaceState(null, '', location.pathname + location.search);
  }
  $('code').focus();
}

$('pair-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('pair-error').textContent = '';
  busy($('pair'), pair($('code').value, $('device').value), '配对中…')
    .then((u) => { $('code').value = ''; say(`配对成功：${u ? u.name : ''}`, 'ok'); return enter(); })
    .catch((err) => { $('pair-error').textContent = err.message; });
});

$('logout').addEventListener('click', async () => {
  const n = await store.pendingCount();
  const warn = n ? `还有 ${n} 条记录未同步，退出将删除这些记录。确定退出？` : '退出后需要重新配对本设备。确定退出？';
  if (!confirm(warn)) return;
  await store.clearAll();
  forget();
  const sw = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (sw) sw.postMessage({ type: 'forget' });
  location.replace('/field');
});

// ---------------------------------------------------------------- the app
async function enter() {
  $('pairing').hidden = true;
  $('app').hidden = false;
  $('tabs').hidden = false;
  const u = user();
  $('who').textContent = u ? u.name : '';
  $('account-name').textContent = u ? `${u.name}${u.cells && u.cells.length ? ' · ' + u.cells.join('、') : ''}` : '';
  if (!S.entered) {
    S.entered = true;
    showTab(location.hash.slice(1) || 'home');
    await restorePatrol();
    startSync();
    setInterval(() => { if (navigator.onLine !== false) refresh().catch(() => {}); }, 5 * 60 * 1000);
  }
  await showCached();
  refresh().catch((e) => console.warn('refresh', e));
}

/** Draws what the phone has kept, before (or without) the network. */
async function showCached() {
  const [today, households, services] = await Promise.all([store.get('today'), store.get('households'), store.get('services')]);
  if (today) useToday({ ...today, offline: !navigator.onLine });
  if (households) setHouseholds(households.data.households || [], null);
  if (services) useServices(services.data);
  renderRejected();
  renderPending();
}

function useServices(list) {
  const groups = data.groupServices(Array.isArray(list) ? list : []);
  setGroups(groups);
  setProblems(groups);
  setCategories(groups);
}

function useToday(answer) {
  if (!answer || !answer.data) { renderToday(answer); return; }
  S.today = answer;
  const t = answer.data;
  if (t.user) setUser({ ...(user() || {}), ...t.user });
  renderToday(answer);
  setHouseholds(null, t.due_visits || []);
  setToday(t);
  const box = unionBox((t.grids || []).map((g) => g.bbox));
  if (box && !S.fitted) { fitBox(box); S.fitted = true; }
}

let refreshing = null;
/** Everything from the server (each part on its own: one failing keeps the others). */
function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const today = await data.today().catch((e) => ({ data: null, error: e }));
    if (today.data || !S.today) useToday(today);
    const t = today.data;
    const grids = t ? t.grids || [] : [];
    await Promise.all([
      data.households().then((h) => { if (h.data) setHouseholds(h.data.households || [], null); }).catch(() => {}),
      data.services().then((s) => { if (s.data) useServices(s.data); }).catch(() => {}),
      Promise.all(grids.map((g) => data.cell(g.code).then((c) => c.data).catch(() => null))).then(setGrids),
    ]);
    if (t && !today.offline && !S.tilesAsked) {
      S.tilesAsked = true;
      precacheTiles(grids.map((g) => g.bbox).filter(Boolean))
        .then((r) => { if (r) $('offline-map').textContent = `离线地图：已缓存 ${r.cached} 个图块${r.failed ? `（${r.failed} 个失败）` : ''}`; })
        .catch((e) => console.warn('tiles', e));
    }
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// ---------------------------------------------------------------- patrol buttons, wake lock
$('patrol-start').addEventListener('click', () => {
  startPatrol().then(() => { say('巡查已开始', 'ok'); keepAwake(); }).catch((e) => say(e.message, 'error'));
});
$('patrol-stop').addEventListener('click', () => {
  stopPatrol().then(() => releaseAwake()).catch((e) => say(e.message, 'error'));
});
/** The screen stays on while patrolling: a page cannot follow the GPS with the screen off. */
async function keepAwake() {
  if (!navigator.wakeLock || S.wakeLock || !currentPatrol()) return;
  try {
    S.wakeLock = await navigator.wakeLock.request('screen');
    S.wakeLock.addEventListener('release', () => { S.wakeLock = null; });
  } catch { /* not allowed (battery saver): the patrol goes on while the screen is on */ }
}
function releaseAwake() {
  if (S.wakeLock) S.wakeLock.release().catch(() => {});
  S.wakeLock = null;
}
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') keepAwake(); });

// ---------------------------------------------------------------- wiring
$('pending').addEventListener('click', () => {
  if (!token()) return;
  say('正在同步…');
  syncNow().then(async () => {
    const n = await store.pendingCount();
    say(n ? `仍有 ${n} 条待同步${status.lastError ? '：' + status.lastError : ''}` : '已全部同步', n ? 'error' : 'ok');
  });
});
events.addEventListener('change', () => { renderPending(); renderRejected(); });
events.addEventListener('status', renderOnline);
let syncedTimer = null;
events.addEventListener('synced', () => {
  clearTimeout(syncedTimer);
  syncedTimer = setTimeout(() => refresh().catch(() => {}), 1000);
});
events.addEventListener('unauthorized', () => {
  if (!token()) return;
  forget();
  showPairing('设备令牌已失效或被撤销，请重新配对（未同步的记录会保留）。');
});
addEventListener('online', renderOnline);
addEventListener('offline', renderOnline);
document.addEventListener('field:visited', () => { if (S.today) renderToday(S.today); });

onTab((name) => {
  const section = document.querySelector(`main > section[data-tab="${name}"]`);
  const slot = section && section.querySelector('.map-slot');
  if (slot) placeMap(slot);
  if (name === 'report') locate().catch(() => {});
  if (name === 'log') loadDay().catch(() => {});
});

async function main() {
  registerWorker();
  initTabs();
  initMap();
  await store.restoreSeq();
  await Promise.all([initVisit(), initLog(), initHome()]);
  initReport();
  renderOnline();
  await renderPending();
  if (token()) await enter();
  else showPairing();
  window.field.ready = true;
}

main().catch((e) => {
  console.error(e);
  say('启动失败：' + e.message, 'error');
});
