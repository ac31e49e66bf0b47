// Web Mercator tile arithmetic (the XYZ scheme of TileJSON), pure: no DOM, no globals — node
// imports this file as it is (web/tests/field.test.mjs). The field app uses it to list the tiles
// of a worker's grids, which its service worker then keeps for offline use.

/** The tile [x, y] holding (lon, lat) at zoom z, clamped to the world. */
export function tileOf(lon, lat, z) {
  const n = 2 ** z;
  const clampLat = Math.max(-85.0511287798, Math.min(85.0511287798, lat));
  const r = (clampLat * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  const clamp = (v) => Math.max(0, Math.min(n - 1, v));
  return [clamp(x), clamp(y)];
}

/** Every tile [z, x, y] meeting the box [west, south, east, north] at zoom z (north row first). */
export function tilesOfBox([west, south, east, north], z) {
  const [x0, y0] = tileOf(west, north, z);
  const [x1, y1] = tileOf(east, south, z);
  const out = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push([z, x, y]);
  return out;
}

/**
 * The box [west, south, east, north] grown on every side by `ratio` of its size, and by at least
 * `min` degrees: a map fitted to a box shows more than the box.
 */
export function padBox([w, s, e, n], ratio = 0.5, min = 0.003) {
  const dx = Math.max((e - w) * ratio, min), dy = Math.max((n - s) * ratio, min);
  return [w - dx, s - dy, e + dx, n + dy];
}

/** A TileJSON template (`…/{z}/{x}/{y}.mvt`) filled in. */
export const tileUrl = (template, [z, x, y]) => template.replace('{z}', z).replace('{x}', x).replace('{y}', y);

/**
 * The URLs of the tiles of `boxes` for every template, zoom by zoom from the lowest (so a cap
 * keeps the overview rather than a corner of the detail), without repeats, at most `cap`.
 */
export function tileUrls(boxes, templates, { minzoom = 13, maxzoom = 16, cap = 400 } = {}) {
  const urls = new Set();
  for (let z = minzoom; z <= maxzoom; z++) {
    for (const box of boxes) {
      for (const tile of tilesOfBox(box, z)) {
        for (const t of templates) {
          if (urls.size >= cap) return [...urls];
          urls.add(tileUrl(t, tile));
        }
      }
    }
  }
  return [...urls];
}
