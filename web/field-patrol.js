// Patrols (巡查): a GPS track from `navigator.geolocation.watchPosition` (high accuracy, WGS84),
// sent as actions — `patrol.start`, then `patrol.points` {patrol, points: [[lon, lat, unix_ms,
// accuracy_m], …]} every 30 points or 60 s, and the last points with `patrol.end` at stop. The
// patrol in progress (its id, start, the points not yet queued and the track so far) lives in
// IndexedDB (`kv` "patrol") and is resumed after a reload; the points handed to the outbox and
// the patrol state are written in one transaction, so no point is lost or sent twice.
import { $ } from './lib/dom.js';
import { clockDuration } from './lib/time.js';
import * as store from './field-store.js';
import { action, queue } from './field-sync.js';
import { setMe, setTrack, centerOn } from './field-map.js';
import { say } from './field-ui.js';

export const CHUNK_POINTS = 30;
export const CHUNK_MS = 60000;
const KEY = 'patrol';

/** {id, started (ms), buffer: points not yet queued, count, flushed (ms), track: [[lon, lat]]} */
let patrol = null;
let watch = null;
let ticker = null;
let last = null; // the latest fix: {lon, lat, accuracy, t}
let writing = Promise.resolve(); // point writes, in order

export const current = () => (patrol ? { id: patrol.id, started: patrol.started, count: patrol.count, buffered: patrol.buffer.length } : null);
/** The latest position fix seen by the patrol watch (any age), or null. */
export const lastFix = () => last;

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

export async function restorePatrol() {
  patrol = (await store.get(KEY)) || null;
  const done = await store.get('patrol:last-track');
  if (patrol) {
    startWatch();
    say('巡查进行中，已恢复');
  }
  setTrack(patrol ? patrol.track : (done || []));
  render();
}

export async function startPatrol() {
  if (patrol) return current();
  if (!navigator.geolocation) throw new Error('此设备不支持定位');
  const start = action('patrol.start');
  const p = { id: start.id, started: Date.now(), buffer: [], count: 0, flushed: Date.now(), track: [] };
  await queue([start], { [KEY]: p });
  patrol = p;
  setTrack([]);
  startWatch();
  render();
  return current();
}

export async function stopPatrol() {
  if (!patrol) return null;
  stopWatch();
  await writing;
  const p = patrol;
  const actions = [];
  if (p.buffer.length) actions.push(action('patrol.points', { patrol: p.id, points: p.buffer }));
  actions.push(action('patrol.end', { patrol: p.id }));
  await queue(actions, { [KEY]: undefined, 'patrol:last-track': p.track });
  patrol = null;
  render();
  say(`巡查已结束，共记录 ${p.count} 个轨迹点`, 'ok');
  return { id: p.id, count: p.count };
}

function startWatch() {
  stopWatch();
  watch = navigator.geolocation.watchPosition(onFix, onError, { enableHighAccuracy: true, maximumAge: 0 });
  ticker = setInterval(() => {
    render();
    if (patrol && patrol.buffer.length && Date.now() - patrol.flushed >= CHUNK_MS) write(flush);
  }, 1000);
}

function stopWatch() {
  if (watch != null) navigator.geolocation.clearWatch(watch);
  clearInterval(ticker);
  watch = null;
  ticker = null;
}

/** Point writes run one after another (a fix arriving while the last one is written waits). */
function write(fn) {
  writing = writing.then(fn).catch((e) => { console.error('patrol', e); say('保存轨迹失败：' + e.message, 'error'); });
  return writing;
}

function onFix(pos) {
  const c = pos.coords;
  last = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy, t: pos.timestamp || Date.now() };
  setMe([c.longitude, c.latitude]);
  if (!patrol) return;
  const point = [round(c.longitude, 7), round(c.latitude, 7), Math.round(last.t), round(c.accuracy || 0, 1)];
  write(async () => {
    if (!patrol) return;
    const prev = patrol.buffer[patrol.buffer.length - 1];
    if (prev && prev[2] === point[2]) return; // the same fix again
    patrol.buffer.push(point);
    patrol.track.push([point[0], point[1]]);
    patrol.count++;
    if (patrol.count === 1) centerOn(point, 16);
    setTrack(patrol.track);
    if (patrol.buffer.length >= CHUNK_POINTS || Date.now() - patrol.flushed >= CHUNK_MS) await flush();
    else await store.set(KEY, patrol);
    render();
  });
}

/** Hands the buffered points to the outbox as one `patrol.points`. */
async function flush() {
  if (!patrol || !patrol.buffer.length) return;
  const next = { ...patrol, buffer: [], flushed: Date.now() };
  await queue([action('patrol.points', { patrol: patrol.id, points: patrol.buffer })], { [KEY]: next });
  patrol = next;
}

function onError(e) {
  const why = e.code === 1 ? '未授权定位，请在浏览器设置中允许' : e.code === 3 ? '定位超时' : '暂时无法定位';
  $('patrol-accuracy').textContent = why;
  if (patrol) say('定位：' + why, 'error');
}

export function render() {
  const on = !!patrol;
  $('patrol-start').disabled = on;
  $('patrol-stop').disabled = !on;
  $('patrol-state').textContent = on ? '巡查中' : '未开始';
  $('patrol-state').classList.toggle('on', on);
  $('patrol-elapsed').textContent = on ? clockDuration(Date.now() - patrol.started) : '0:00:00';
  $('patrol-points').textContent = on ? String(patrol.count) : '0';
  if (last && watch != null) $('patrol-accuracy').textContent = `±${Math.round(last.accuracy)} 米`;
  document.body.classList.toggle('patrolling', on);
}

/**
 * The phone's position now: {lon, lat, accuracy} from a fresh fix (high accuracy, at most 8 s),
 * else the patrol watch's last fix if under two minutes old, else null.
 */
export function here({ timeout = 8000 } = {}) {
  const recent = () => (last && Date.now() - last.t < 120000 ? { lon: last.lon, lat: last.lat, accuracy: last.accuracy } : null);
  if (!navigator.geolocation) return Promise.resolve(recent());
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition((pos) => {
      const c = pos.coords;
      last = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy, t: pos.timestamp || Date.now() };
      setMe([c.longitude, c.latitude]);
      resolve({ lon: c.longitude, lat: c.latitude, accuracy: c.accuracy });
    }, () => resolve(recent()), { enableHighAccuracy: true, timeout, maximumAge: 15000 });
  });
}
