// Reporting an incident (事件上报): a two-level category (Open311 services: the group, then the
// service), the place — the phone's GPS position by default, or a tap on the map — a
// description, an optional address and photos. Queued as `{"kind": "incident", "category":
// <service code>, "description", "lon", "lat", "crs": "wgs84", "address"?, "photos"}`.
import { $ } from './lib/dom.js';
import { action, queue } from './field-sync.js';
import { here } from './field-patrol.js';
import { map, setPick, centerOn } from './field-map.js';
import { busy, currentTab, fillSelect, photoPicker, say } from './field-ui.js';

let groups = [];
let place = null; // {lon, lat, accuracy?, source: 'gps' | 'map'}
let photos = null;

export function initReport() {
  photos = photoPicker($('report-photo'), $('report-photos'));
  $('report-group').addEventListener('change', renderCategories);
  $('report-gps').addEventListener('click', () => locate(true));
  $('report-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('report-submit'), submit(), '保存中…').catch((err) => say(err.message, 'error'));
  });
  if (map) {
    map.on('click', (e) => {
      if (currentTab() !== 'report') return;
      setPlace({ lon: e.lngLat.lng, lat: e.lngLat.lat, source: 'map' });
    });
  }
}

/** The categories: [{group, services: [{code, name}]}]. */
export function setGroups(list) {
  groups = list || [];
  fillSelect($('report-group'), groups.map((g) => [g.group, g.group]), groups.length ? '选择大类' : '暂无分类（联网后自动下载）');
  renderCategories();
}

function renderCategories() {
  const g = groups.find((x) => x.group === $('report-group').value);
  fillSelect($('report-category'), g ? g.services.map((s) => [s.code, s.name]) : [], g ? '选择小类' : '先选择大类');
  $('report-category').disabled = !g;
}

function setPlace(p) {
  place = p;
  setPick(p ? [p.lon, p.lat] : null);
  $('report-location').textContent = !p ? '未定位：请点“使用当前位置”或在地图上点选'
    : `${p.source === 'map' ? '地图点选' : `当前位置（±${Math.round(p.accuracy || 0)} 米）`} ${p.lon.toFixed(6)}, ${p.lat.toFixed(6)}`;
}

/** The report's place from GPS (when the tab opens, unless one was picked on the map). */
export async function locate(force = false) {
  if (place && place.source === 'map' && !force) return place;
  $('report-location').textContent = '正在定位…';
  const fix = await here();
  setPlace(fix ? { ...fix, source: 'gps' } : null);
  if (fix && force) centerOn([fix.lon, fix.lat], 16);
  return place;
}

async function submit() {
  const code = $('report-category').value;
  if (!code) throw new Error('请选择事件分类');
  const description = $('report-description').value.trim();
  if (!description) throw new Error('请填写事件描述');
  await photos.busy();
  const where = place && place.source === 'map' ? place : await locate(true);
  if (!where) throw new Error('无法定位：请在地图上点选事件位置');
  const address = $('report-address').value.trim();
  const report = action('incident', {
    category: code,
    description,
    lon: Math.round(where.lon * 1e7) / 1e7,
    lat: Math.round(where.lat * 1e7) / 1e7,
    crs: 'wgs84',
    ...(address ? { address } : {}),
    photos: photos.photos(),
  });
  await queue([report]);
  $('report-description').value = '';
  $('report-address').value = '';
  photos.reset();
  setPlace(null);
  say(navigator.onLine ? '事件已保存，正在上报' : '事件已保存，联网后自动上报', 'ok');
  return report;
}
