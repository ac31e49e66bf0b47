// The planner's editor: the map, its layers, and drawing the editor's state onto them (the grids
// of the draft view, the village and its neighbours, the violations). terra-draw's own layers go
// on top (plan-draw.js).
import { colourNeighbours, forEachVertex, labelPoint, vertexKey } from './lib/geom.js';
import { addControls, createMap, fitGeometry, geojsonSource, setFeatures, whenLoaded } from './lib/map.js';
import { PALETTE, S, shortName } from './plan-state.js';
import { isLocked, startDraw, syncDraw } from './plan-draw.js';
import { renderSelection } from './plan-panel.js';

export const map = createMap({
  style: {
    version: 8,
    name: 'gridmap planner',
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } }],
  },
  center: [107.47, 27.75],
  zoom: 9,
  boxZoom: false, // shift-click picks grids
  doubleClickZoom: false,
});
addControls(map, { navigation: 'bottom-left', scale: 'bottom-right' });
export const mapReady = whenLoaded(map);

function hatchImage(colour) {
  const size = 16;
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const ctx = c.getContext('2d');
  ctx.fillStyle = 'rgba(31, 111, 178, 0.12)';
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let k = -size; k <= size; k += 8) { ctx.moveTo(k, size); ctx.lineTo(k + size, 0); }
  ctx.stroke();
  return ctx.getImageData(0, 0, size, size);
}

mapReady.then(() => {
  map.addImage('hatch', hatchImage('#1f6fb2'), { pixelRatio: 2 });
  for (const id of ['context', 'context-labels', 'grids', 'village', 'vertices', 'labels', 'violations', 'buildings']) {
    map.addSource(id, geojsonSource());
  }
  const isKind = (k) => ['==', ['get', 'kind'], k];
  const polygonal = ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false];
  map.addLayer({ id: 'context-fill', type: 'fill', source: 'context', paint: { 'fill-color': '#e7e3da' } });
  map.addLayer({ id: 'context-line', type: 'line', source: 'context', paint: { 'line-color': '#b8b2a6', 'line-width': 1 } });
  map.addLayer({ id: 'grids-fill', type: 'fill', source: 'grids', paint: { 'fill-color': ['get', 'colour'], 'fill-opacity': 0.88 } });
  map.addLayer({ id: 'grids-picked', type: 'fill', source: 'grids', filter: ['==', ['get', 'picked'], true], paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.4 } });
  map.addLayer({ id: 'buildings', type: 'circle', source: 'buildings', minzoom: 14, paint: { 'circle-radius': 1.6, 'circle-color': '#6b6255', 'circle-opacity': 0.6 } });
  map.addLayer({ id: 'v-gap', type: 'fill', source: 'violations', filter: ['all', polygonal, isKind('gap')], paint: { 'fill-pattern': 'hatch' } });
  map.addLayer({ id: 'v-overlap', type: 'fill', source: 'violations', filter: ['all', polygonal, isKind('overlap')], paint: { 'fill-color': '#d62728', 'fill-opacity': 0.6 } });
  map.addLayer({ id: 'v-outside', type: 'fill', source: 'violations', filter: ['all', polygonal, isKind('outside_parent')], paint: { 'fill-color': '#f28c28', 'fill-opacity': 0.6 } });
  map.addLayer({ id: 'v-other-fill', type: 'fill', source: 'violations', filter: ['all', polygonal, ['!', ['in', ['get', 'kind'], ['literal', ['gap', 'overlap', 'outside_parent']]]]], paint: { 'fill-color': '#d62728', 'fill-opacity': 0.3 } });
  map.addLayer({ id: 'grids-line', type: 'line', source: 'grids', paint: { 'line-color': '#5d5a55', 'line-width': 1.1 } });
  map.addLayer({ id: 'grids-flagged', type: 'line', source: 'grids', filter: ['==', ['get', 'flagged'], true], paint: { 'line-color': '#d62728', 'line-width': 2.5, 'line-dasharray': [2, 1.5] } });
  map.addLayer({ id: 'grids-picked-line', type: 'line', source: 'grids', filter: ['==', ['get', 'picked'], true], paint: { 'line-color': '#1d4f8c', 'line-width': 3 } });
  map.addLayer({ id: 'village-line', type: 'line', source: 'village', paint: { 'line-color': '#262626', 'line-width': 3.2 } });
  map.addLayer({ id: 'v-line', type: 'line', source: 'violations', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': ['match', ['get', 'kind'], 'outside_parent', '#c85f00', 'gap', '#1f6fb2', '#c0171a'], 'line-width': ['case', polygonal, 1.5, 3.5] } });
  map.addLayer({ id: 'v-point', type: 'circle', source: 'violations', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 6, 'circle-color': '#d62728', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'vertices', type: 'circle', source: 'vertices', minzoom: 13,
    paint: { 'circle-radius': ['case', ['get', 'locked'], 2.6, 2.2], 'circle-color': ['case', ['get', 'locked'], '#262626', '#ffffff'],
      'circle-stroke-color': ['case', ['get', 'locked'], '#ffffff', '#4a4743'], 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'context-labels', type: 'symbol', source: 'context-labels',
    layout: { 'text-field': ['get', 'name'], 'text-size': 12, 'text-max-width': 6 },
    paint: { 'text-color': '#7a7467', 'text-halo-color': '#f3f1ec', 'text-halo-width': 1.2 } });
  map.addLayer({ id: 'labels', type: 'symbol', source: 'labels',
    layout: { 'text-field': ['get', 'name'], 'text-size': 13, 'text-max-width': 12, 'text-allow-overlap': false },
    paint: { 'text-color': '#1e1e1e', 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 } });
  startDraw();
});

// ---------------------------------------------------------------- render
let colourCache = new Map();
/**
 * A new village: colours start from the snapshot's colour index served with the cells
 * (`properties.colour`), so the editor shows each grid as the tiles and posters do; edits then
 * keep them where they can.
 */
export function resetColours(features = []) {
  colourCache = new Map(features
    .filter((f) => Number.isInteger(f.properties.colour))
    .map((f) => [f.properties.code, f.properties.colour]));
}

/** Draws the grids of the view (or of `preview`, while a vertex is dragged: no labels, vertices). */
export function renderGrids(preview) {
  if (!map.getSource('grids')) return;
  const view = preview || S.view;
  const features = [...view.values()];
  // Neighbours (sharing a vertex) get different palette colours; grids keep theirs when they can.
  if (!preview) colourCache = colourNeighbours(features, colourCache, PALETTE.length);
  const flagged = new Set();
  for (const v of (S.report && S.report.violations) || []) if (!v.geometry) for (const c of v.cells || []) flagged.add(c);
  const picked = new Set(S.picked);
  setFeatures(map, 'grids', features.map((f) => ({
    type: 'Feature',
    geometry: f.geometry,
    properties: {
      code: f.properties.code, name: f.properties.name,
      colour: PALETTE[colourCache.get(f.properties.code) || 0],
      picked: picked.has(f.properties.code), flagged: flagged.has(f.properties.code),
    },
  })));
  if (preview) return;
  setFeatures(map, 'labels', features.map((f) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: labelPoint(f.geometry) }, properties: { name: shortName(f.properties.name) } })));
  const seen = new Set();
  const vertices = [];
  for (const f of features) forEachVertex(f.geometry, (c) => {
    const k = vertexKey(c);
    if (seen.has(k)) return;
    seen.add(k);
    vertices.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: { locked: isLocked(c) } });
  });
  setFeatures(map, 'vertices', vertices);
}

export function renderVillage() {
  if (!map.getSource('village')) return;
  setFeatures(map, 'village', S.village ? [S.village] : []);
  const others = S.villages.filter((v) => !S.village || v.properties.code !== S.village.properties.code);
  setFeatures(map, 'context', others);
  setFeatures(map, 'context-labels', others.map((v) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: labelPoint(v.geometry) }, properties: { name: v.properties.name } })));
  setFeatures(map, 'buildings', S.buildings.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} })));
}

export function renderViolations() {
  if (!map.getSource('violations')) return;
  const features = [];
  (S.report ? S.report.violations : []).forEach((v, i) => {
    if (!v.geometry) return;
    const add = (g) => features.push({ type: 'Feature', geometry: g, properties: { kind: v.kind, severity: v.severity, index: i } });
    if (v.geometry.type === 'GeometryCollection') v.geometry.geometries.forEach(add); else add(v.geometry);
  });
  setFeatures(map, 'violations', features);
}

export function renderAll() {
  renderVillage();
  renderGrids();
  renderViolations();
  syncDraw();
  renderSelection();
}

/** Shows a geometry (a violation, a village) with some room around it. */
export function zoomTo(geometry, options = { padding: 80, maxZoom: 17, duration: 300 }) {
  if (!geometry) return;
  fitGeometry(map, geometry, options);
}
