// MapLibre helpers shared by the pages. MapLibre GL JS itself is the classic script
// /vendor/maplibre-gl/maplibre-gl.js (UMD, served from web/node_modules), loaded before the
// pages' modules; it sets the global `maplibregl`.
import { bounds } from './geom.js';

const gl = () => globalThis.maplibregl;

/**
 * A map in `#map` with what every page wants: no attribution control (nothing to attribute: no
 * base map) and the drawing buffer kept, so the tests can read the canvas back. `options` go to
 * `maplibregl.Map` and override these.
 */
export function createMap(options) {
  return new (gl().Map)({
    container: 'map',
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
    ...options,
  });
}

/** Zoom buttons (no compass) and a metric scale, at the given corners (MapLibre's default if unset). */
export function addControls(map, { navigation, scale } = {}) {
  map.addControl(new (gl().NavigationControl)({ showCompass: false }), navigation);
  map.addControl(new (gl().ScaleControl)({ unit: 'metric' }), scale);
}

/** Resolves with the map on its `load` event; call right after creating the map. */
export const whenLoaded = (map) => new Promise((resolve) => map.once('load', () => resolve(map)));

export const featureCollection = (features = []) => ({ type: 'FeatureCollection', features });
/** A GeoJSON source (empty unless `data` is given), for a style's `sources` or `map.addSource`. */
export const geojsonSource = (data = featureCollection()) => ({ type: 'geojson', data });
/** Replaces the features of the GeoJSON source `id`. */
export function setFeatures(map, id, features) {
  map.getSource(id).setData(featureCollection(features));
}

/** Fits the view to a geometry's bounding box (`options` as for `map.fitBounds`). */
export function fitGeometry(map, geometry, options) {
  map.fitBounds(bounds(geometry), options);
}

/** A pointer cursor over `layer` (while `when()` holds). */
export function pointerOver(map, layer, when = () => true) {
  map.on('mouseenter', layer, () => { if (when()) map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}
