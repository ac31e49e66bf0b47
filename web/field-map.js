// The field app's one map: the public grid diagram (/styles/public.json, our own vector tiles)
// with the worker's grids outlined, the patrol's track, the phone's position and the point picked
// for a report. The map element moves into the slot of the tab being shown (home, patrol,
// report). Without WebGL the app works on, mapless. It also asks the service worker to keep the
// tiles of the worker's grids (z12–16, at most 400) for offline use: MapLibre draws vector tiles
// at 512 px, so the map at zoom 13–17 reads tiles of zoom 12–16.
import { $ } from './lib/dom.js';
import { createMap, addControls, featureCollection } from './lib/map.js';
import { padBox, tileUrls } from './lib/tiles.js';
import { request } from './lib/api.js';

export let map = null;
let loaded = false;
const data = { mine: featureCollection(), track: featureCollection(), me: featureCollection(), pick: featureCollection() };
let pendingFit = null;

const BOX_KEY = 'gridmap.field.box';

export function initMap() {
  if (!globalThis.maplibregl) return null;
  // Open on the grids seen last (offline too), not on a default view whose tiles were never kept.
  let box = null;
  try { box = JSON.parse(localStorage.getItem(BOX_KEY) || 'null'); } catch { /* none */ }
  const view = Array.isArray(box) && box.length === 4
    ? { bounds: [[box[0], box[1]], [box[2], box[3]]], fitBoundsOptions: { padding: 24, maxZoom: 17 } }
    : { center: [107.47, 27.75], zoom: 12 };
  try {
    map = createMap({ style: '/styles/public.json', ...view, maxZoom: 19, dragRotate: false, pitchWithRotate: false });
  } catch (e) {
    console.warn('no map:', e);
    $('map').classList.add('nomap');
    return null;
  }
  map.touchZoomRotate.disableRotation();
  addControls(map, { navigation: 'top-right', scale: 'bottom-left' });
  map.on('error', (e) => console.warn('map:', e.error ? e.error.message : e));
  map.on('load', () => {
    for (const [id, fc] of Object.entries(data)) map.addSource(id, { type: 'geojson', data: fc });
    map.addLayer({ id: 'mine-fill', type: 'fill', source: 'mine', paint: { 'fill-color': '#f5b041', 'fill-opacity': 0.12 } });
    map.addLayer({ id: 'mine-line', type: 'line', source: 'mine', paint: { 'line-color': '#8c2d19', 'line-width': 3.5 } });
    map.addLayer({ id: 'track', type: 'line', source: 'track', layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#1f5fa8', 'line-width': 4, 'line-opacity': 0.9 } });
    map.addLayer({ id: 'pick', type: 'circle', source: 'pick',
      paint: { 'circle-radius': 9, 'circle-color': '#e03131', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
    map.addLayer({ id: 'me', type: 'circle', source: 'me',
      paint: { 'circle-radius': 7, 'circle-color': '#1c7ed6', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2.5 } });
    loaded = true;
    if (pendingFit) { fitBox(pendingFit); pendingFit = null; }
  });
  return map;
}

function put(id, fc) {
  data[id] = fc;
  if (loaded) map.getSource(id).setData(fc);
}

/** Moves the map into `slot` (an element of the tab being shown). */
export function placeMap(slot) {
  const node = $('map');
  if (!slot || node.parentNode === slot) { if (map) map.resize(); return; }
  slot.append(node);
  if (map) requestAnimationFrame(() => map.resize());
}

/** The worker's grids: Features (from /api/v1/cells/{code}). */
export const setGrids = (features) => put('mine', featureCollection(features.filter(Boolean)));

/** The patrol's track: [[lon, lat], …]. */
export function setTrack(coords) {
  put('track', featureCollection(coords.length > 1 ? [{ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: coords } }] : []));
}

const point = (p) => (p ? [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [p[0], p[1]] } }] : []);
/** The phone's position [lon, lat] (or null). */
export const setMe = (p) => put('me', featureCollection(point(p)));
/** The point picked for a report [lon, lat] (or null). */
export const setPick = (p) => put('pick', featureCollection(point(p)));

/** Fits the view to [west, south, east, north]. */
export function fitBox(box) {
  if (!box) return;
  localStorage.setItem(BOX_KEY, JSON.stringify(box));
  if (!map) return;
  if (!loaded) { pendingFit = box; return; }
  map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 24, duration: 0, maxZoom: 17 });
}

export function centerOn(p, zoom) {
  if (map && p) map.easeTo({ center: [p[0], p[1]], zoom: Math.max(map.getZoom(), zoom || 0), duration: 300 });
}

/** The union of boxes [west, south, east, north]. */
export function unionBox(boxes) {
  const ok = boxes.filter((b) => Array.isArray(b) && b.length === 4 && b.every(Number.isFinite));
  if (!ok.length) return null;
  return ok.reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
}

/**
 * Asks the service worker to keep, for offline use, the TileJSON of every vector source of the
 * style and the tiles of `boxes` at z12–16 (at most 400 URLs), taking the tile URLs from the
 * TileJSON templates — exactly what MapLibre will ask for. When the atlas revision changed
 * since the last time, the worker drops its old tiles first. Resolves to the worker's answer
 * {cached, fetched, failed} or null (no worker, offline).
 */
export async function precacheTiles(boxes) {
  const sw = navigator.serviceWorker && (await navigator.serviceWorker.ready.catch(() => null));
  if (!sw || !sw.active || !boxes.length) return null;
  const style = await request('/styles/public.json');
  const jsonUrls = [...new Set(Object.values(style.sources || {}).filter((s) => s.type === 'vector' && s.url).map((s) => s.url))];
  const templates = [];
  for (const u of jsonUrls) {
    const tj = await request(u);
    if (tj && Array.isArray(tj.tiles)) templates.push(...tj.tiles);
  }
  const revision = await request('/api/v1/revision').then((r) => r && r.number).catch(() => null);
  // The grids with a margin: the map shows more than a grid, and a patrol strays over its border.
  const urls = [...jsonUrls, ...tileUrls(boxes.map((b) => padBox(b)), templates, { minzoom: 12, maxzoom: 16, cap: 400 })];
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 120000);
    channel.port1.onmessage = (e) => { clearTimeout(timer); resolve(e.data); };
    sw.active.postMessage({ type: 'precache-tiles', revision, urls }, [channel.port2]);
  });
}
