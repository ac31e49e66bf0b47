// Pure geometry on GeoJSON coordinates ([lon, lat] pairs), shared by the pages and their tests:
// no DOM, no MapLibre, no globals — node imports this file as it is (web/tests/plan.test.mjs).
// Polygon helpers take a Polygon or a MultiPolygon; the vertex walkers also take a
// GeometryCollection.

/** Whether two positions are exactly the same (shared vertices are bit-equal copies). */
export const same = (a, b) => a[0] === b[0] && a[1] === b[1];
/** A position as a map key. */
export const vertexKey = (c) => c[0] + ',' + c[1];
/** Coordinates carry 7 decimals (≈1 cm). */
export const round7 = (x) => Math.round(x * 1e7) / 1e7;
/** A deep copy of plain GeoJSON. */
export const clone = (x) => JSON.parse(JSON.stringify(x));

/** Polygon parts of a Polygon or MultiPolygon, as arrays of rings. */
export const parts = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);
/** Every ring (outer and holes) of every part. */
export const rings = (g) => parts(g).flat();

/** Calls `fn` with every position of the geometry (closing positions included). */
export function forEachVertex(geometry, fn) {
  const walk = (c) => { if (typeof c[0] === 'number') fn(c); else c.forEach(walk); };
  if (geometry.type === 'GeometryCollection') geometry.geometries.forEach((g) => forEachVertex(g, fn));
  else walk(geometry.coordinates);
}
/** The vertices of every ring, without each ring's closing repeat. */
export function vertices(geometry) {
  const out = [];
  for (const r of rings(geometry)) for (const c of r.slice(0, -1)) out.push(c);
  return out;
}
export function hasVertex(geometry, p) {
  let found = false;
  forEachVertex(geometry, (c) => { if (!found && same(c, p)) found = true; });
  return found;
}
/** A copy of the geometry with every position equal to `p` moved to `q`. */
export function replaceVertex(geometry, p, q) {
  const walk = (c) => (typeof c[0] === 'number' ? (same(c, p) ? [q[0], q[1]] : c.slice()) : c.map(walk));
  return { type: geometry.type, coordinates: walk(geometry.coordinates) };
}

/** [west, south, east, north]. */
export function bbox(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  forEachVertex(geometry, (c) => { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); });
  return b;
}
/** The bounding box as [[west, south], [east, north]] (what MapLibre's fitBounds takes). */
export function bounds(geometry) {
  const b = bbox(geometry);
  return [[b[0], b[1]], [b[2], b[3]]];
}

/** The edges [a, b] of every ring. */
export function segments(geometry) {
  const out = [];
  for (const r of rings(geometry)) for (let i = 1; i < r.length; i++) out.push([r[i - 1], r[i]]);
  return out;
}
/** Distance from p to the segment a–b, and the nearest point on it. */
export function segDist(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  let t = len ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  const x = a[0] + t * dx, y = a[1] + t * dy;
  return { d: Math.hypot(p[0] - x, p[1] - y), point: [x, y] };
}
/** Intersection of the segments p1–p2 and a–b: {t along p1–p2, point}, or null. */
export function intersect(p1, p2, a, b) {
  const rx = p2[0] - p1[0], ry = p2[1] - p1[1], sx = b[0] - a[0], sy = b[1] - a[1];
  const den = rx * sy - ry * sx;
  if (!den) return null;
  const t = ((a[0] - p1[0]) * sy - (a[1] - p1[1]) * sx) / den;
  const u = ((a[0] - p1[0]) * ry - (a[1] - p1[1]) * rx) / den;
  if (t < 0 || t > 1 || u < 0 || u > 1) return null;
  return { t, point: [p1[0] + t * rx, p1[1] + t * ry] };
}

/** Even-odd point-in-ring test. */
export function ringContains(ring, p) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
/** Whether p lies inside the (multi)polygon: inside an outer ring and outside its holes. */
export function contains(geometry, p) {
  return parts(geometry).some((rs) => ringContains(rs[0], p) && !rs.slice(1).some((h) => ringContains(h, p)));
}
/** Distance from p to the nearest edge of any ring (degrees). */
export function boundaryDistance(geometry, p) {
  let best = Infinity;
  for (const [a, b] of segments(geometry)) best = Math.min(best, segDist(p, a, b).d);
  return best;
}
/** Whether p lies on an edge of the geometry, within `tolerance` degrees (default ≈1 cm). */
export const onBoundary = (geometry, p, tolerance = 1e-7) => boundaryDistance(geometry, p) <= tolerance;

/** Unsigned area of a ring (square degrees). */
export function ringArea(r) {
  let s = 0;
  for (let i = 1; i < r.length; i++) s += r[i - 1][0] * r[i][1] - r[i][0] * r[i - 1][1];
  return Math.abs(s / 2);
}
/** Area centroid of the largest part's outer ring. */
export function centroid(geometry) {
  let best = null, bestA = -1;
  for (const rs of parts(geometry)) {
    const r = rs[0];
    let a = 0, x = 0, y = 0;
    for (let i = 1; i < r.length; i++) {
      const k = r[i - 1][0] * r[i][1] - r[i][0] * r[i - 1][1];
      a += k; x += (r[i - 1][0] + r[i][0]) * k; y += (r[i - 1][1] + r[i][1]) * k;
    }
    if (Math.abs(a) > bestA) { bestA = Math.abs(a); best = [x / (3 * a), y / (3 * a)]; }
  }
  return best;
}
/** A point well inside the largest part (coarse pole of inaccessibility), for the label. */
export function labelPoint(geometry) {
  const ps = parts(geometry);
  if (!ps.length) return null;
  const main = ps.reduce((a, b) => (ringArea(b[0]) > ringArea(a[0]) ? b : a));
  const poly = { type: 'Polygon', coordinates: main };
  const [x0, y0, x1, y1] = bbox(poly);
  let best = null, bestD = -1;
  const N = 24;
  for (let i = 1; i < N; i++) for (let j = 1; j < N; j++) {
    const p = [x0 + ((x1 - x0) * i) / N, y0 + ((y1 - y0) * j) / N];
    if (!contains(poly, p)) continue;
    const d = boundaryDistance(poly, p);
    if (d > bestD) { bestD = d; best = p; }
  }
  return best || main[0][0];
}

/**
 * Greedy colouring of features with a `properties.code`: neighbours (sharing a vertex) get
 * different colour indexes in [0, count). A feature keeps its index in `previous` (code → index)
 * unless a neighbour already holds it, so edits do not repaint everything. Returns code → index.
 */
export function colourNeighbours(features, previous, count) {
  const verts = new Map();
  for (const f of features) forEachVertex(f.geometry, (c) => {
    const k = vertexKey(c);
    if (!verts.has(k)) verts.set(k, new Set());
    verts.get(k).add(f.properties.code);
  });
  const nbrs = new Map(features.map((f) => [f.properties.code, new Set()]));
  for (const set of verts.values()) for (const a of set) for (const b of set) if (a !== b) nbrs.get(a).add(b);
  const colour = new Map();
  const sorted = [...features].sort((a, b) => a.properties.code.localeCompare(b.properties.code));
  for (const f of sorted) {
    const code = f.properties.code;
    const old = previous && previous.get(code);
    if (old != null && ![...nbrs.get(code)].some((n) => colour.get(n) === old)) colour.set(code, old);
  }
  for (const f of sorted) {
    if (colour.has(f.properties.code)) continue;
    const used = new Set([...nbrs.get(f.properties.code)].map((n) => colour.get(n)));
    let i = 0;
    while (used.has(i) && i < count - 1) i++;
    colour.set(f.properties.code, i);
  }
  return colour;
}
