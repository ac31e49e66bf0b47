// The planner's editor (网格调整): redraw the grids of one village inside a draft, see the coverage
// report and the impact after every edit, commit the draft as a new revision.
//
// * Everything comes from this server (MapLibre GL JS and terra-draw from web/node_modules, a plain
//   background style, no glyphs URL: labels are drawn with the browser's local CJK fonts).
// * The grids are the editor's own GeoJSON copies (not the published vector tiles): the base grids
//   of the village with the draft's changes applied.
// * terra-draw does the interaction: select mode with draggable coordinates (no midpoints, no
//   deletion, no feature drag) and a linestring mode for split lines. terra-draw only knows single
//   Polygons without holes, so every part of a grid is given to it as the outer ring of one Polygon
//   (id `code:part`). Its drag only moves the dragged grid's copy; we intercept the `finish` event,
//   find the vertex that moved (P → Q) and do the move ourselves: every grid holding a vertex
//   exactly equal to P gets it moved to Q (shared vertices move together, coverage stays exact).
//   Vertices on the village outline are locked: terra-draw is not even allowed to start dragging
//   them, and `moveVertex` refuses them.
// * Undo/redo is a client-side stack of vertex moves: undoing PUTs the previous geometries back,
//   redoing PUTs the new ones again. Split and merge are NOT undoable: they replace codes (the
//   server writes lineage), so after either the stack is cleared; discard the draft to go back.
// * Tests drive the page through `window.gridmap` (moveVertex, moveVertexOf, undo, redo, commit…);
//   every edit is queued, so the Promise it returns resolves after its PUTs and re-validation.
(function () {
  'use strict';

  const PALETTE = ['#f7c9a9', '#b9d8f0', '#c8e6c1', '#e3cdef', '#f9eab0'];
  const EDIT_ROLES = ['planner', 'admin'];
  const SNAP_PX = 8;
  const LOCK_TOLERANCE = 1e-7; // degrees (≈1 cm): coordinates carry 7 decimals
  const KIND_ZH = {
    overlap: '重叠', gap: '空隙', outside_parent: '超出上级', edge_mismatch: '边界不吻合',
    invalid_geometry: '几何无效', duplicate_code: '编码重复', bad_code: '编码不规范',
    unknown_parent: '上级不存在', level_mismatch: '层级不符', multipart: '多块网格', size_band: '规模超出标准',
  };
  const STATUS_ZH = { ok: '适中', low: '偏少', high: '偏多' };
  const DIRS = [['east', '东至'], ['south', '南至'], ['west', '西至'], ['north', '北至']];
  const TOKEN_KEY = 'gridmap.plan.token';
  const DRAFT_KEY = 'gridmap.plan.draft';
  const VILLAGE_KEY = 'gridmap.plan.village';

  // ---------------------------------------------------------------- small helpers
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v == null) continue;
      if (k === 'onclick') node.addEventListener('click', v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c != null && c !== false) node.append(c);
    return node;
  };
  const clone = (x) => JSON.parse(JSON.stringify(x));
  const round7 = (x) => Math.round(x * 1e7) / 1e7;
  const same = (a, b) => a[0] === b[0] && a[1] === b[1];
  const fmt = (n) => (n == null ? '—' : Number(n).toLocaleString('zh-CN'));
  const area = (m2) => (m2 == null ? '' : m2 >= 1e6 ? `${(m2 / 1e6).toFixed(2)} 平方公里` : `${Math.round(m2).toLocaleString('zh-CN')} 平方米`);

  /** Polygon parts of a Polygon or MultiPolygon, as arrays of rings. */
  const parts = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);
  function forEachVertex(geometry, fn) {
    const walk = (c) => { if (typeof c[0] === 'number') fn(c); else c.forEach(walk); };
    if (geometry.type === 'GeometryCollection') geometry.geometries.forEach((g) => forEachVertex(g, fn));
    else walk(geometry.coordinates);
  }
  function hasVertex(geometry, p) {
    let found = false;
    forEachVertex(geometry, (c) => { if (!found && same(c, p)) found = true; });
    return found;
  }
  function replaceVertex(geometry, p, q) {
    const walk = (c) => (typeof c[0] === 'number' ? (same(c, p) ? [q[0], q[1]] : c.slice()) : c.map(walk));
    return { type: geometry.type, coordinates: walk(geometry.coordinates) };
  }
  function bbox(geometry) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    forEachVertex(geometry, (c) => { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); });
    return b;
  }
  function segDist(p, a, b) {
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len = dx * dx + dy * dy;
    let t = len ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len : 0;
    t = Math.max(0, Math.min(1, t));
    const x = a[0] + t * dx, y = a[1] + t * dy;
    return { d: Math.hypot(p[0] - x, p[1] - y), point: [x, y] };
  }
  function ringContains(ring, p) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function contains(geometry, p) {
    return parts(geometry).some((rings) => ringContains(rings[0], p) && !rings.slice(1).some((h) => ringContains(h, p)));
  }
  function boundaryDistance(geometry, p) {
    let best = Infinity;
    for (const rings of parts(geometry)) for (const r of rings) for (let i = 1; i < r.length; i++) best = Math.min(best, segDist(p, r[i - 1], r[i]).d);
    return best;
  }
  function ringArea(r) {
    let s = 0;
    for (let i = 1; i < r.length; i++) s += r[i - 1][0] * r[i][1] - r[i][0] * r[i - 1][1];
    return Math.abs(s / 2);
  }
  /** A point well inside the largest part (coarse pole of inaccessibility), for the label. */
  function labelPoint(geometry) {
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
  const centroid = (geometry) => {
    const b = bbox(geometry);
    return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
  };

  // ---------------------------------------------------------------- state
  const S = {
    token: null,
    me: null,
    villages: [],
    village: null,          // Feature of the selected village
    base: new Map(),        // code → Feature: the published grids of the village
    view: new Map(),        // code → Feature: the draft view (base + changes)
    changes: new Map(),     // code → {deleted, feature}: the draft's changes (all villages)
    draft: null,            // {id, base_revision}
    report: null,
    undo: [],
    redo: [],
    picked: [],             // codes picked with click / shift-click
    buildings: [],          // [lon, lat] snap targets
    names: new Map(),       // code → name, for codes met in reports (incl. other villages)
    mode: 'select',
    revision: null,
    syncing: false,
    pending: 0,
  };

  // ---------------------------------------------------------------- HTTP
  async function api(method, url, body) {
    const headers = { Accept: 'application/json' };
    if (S.token) headers.Authorization = 'Bearer ' + S.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!r.ok) {
      const e = data && data.error;
      const err = new Error((e && (e.message || e.code)) || `${method} ${url}: HTTP ${r.status}`);
      err.status = r.status;
      err.code = e && e.code;
      err.details = e && e.details;
      throw err;
    }
    return data;
  }
  const get = (url) => api('GET', url);

  // ---------------------------------------------------------------- UI feedback
  let messageTimer = null;
  function say(text, kind = 'info', ...extra) {
    const box = $('message');
    box.replaceChildren(el('span', {}, text), ...extra);
    box.className = 'message ' + kind;
    box.hidden = false;
    clearTimeout(messageTimer);
    if (kind === 'info' && !extra.length) messageTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }
  const hint = (text) => { $('hint').textContent = text || ''; $('hint').hidden = !text; };

  // Every edit goes through one queue, so drags, undo and commit never interleave.
  let queue = Promise.resolve();
  function enqueue(fn) {
    S.pending++;
    $('busy').hidden = false;
    const run = queue.then(fn);
    queue = run.catch(() => {}).then(() => {
      S.pending--;
      $('busy').hidden = S.pending === 0;
      updateControls();
    });
    return run;
  }
  const failed = (e) => { say(e.message || String(e), 'error'); throw e; };

  // ---------------------------------------------------------------- map
  const map = new maplibregl.Map({
    container: 'map',
    style: {
      version: 8,
      name: 'gridmap planner',
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } }],
    },
    center: [107.47, 27.75],
    zoom: 9,
    attributionControl: false,
    boxZoom: false, // shift-click picks grids
    doubleClickZoom: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  const emptyFC = () => ({ type: 'FeatureCollection', features: [] });
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

  const mapReady = new Promise((resolve) => map.on('load', resolve));
  let draw = null;
  const { TerraDraw, TerraDrawSelectMode, TerraDrawPolygonMode, TerraDrawLineStringMode } = window.terraDraw;
  const { TerraDrawMapLibreGLAdapter } = window.terraDrawMaplibreGlAdapter;

  mapReady.then(() => {
    map.addImage('hatch', hatchImage('#1f6fb2'), { pixelRatio: 2 });
    for (const id of ['context', 'context-labels', 'grids', 'village', 'vertices', 'labels', 'violations', 'buildings']) {
      map.addSource(id, { type: 'geojson', data: emptyFC() });
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

    draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 }),
      idStrategy: {
        isValidId: (id) => typeof id === 'string' && id.length > 0,
        getId: (() => { let n = 0; return () => 'td' + (++n); })(),
      },
      modes: [
        // The grids' parts; never used for drawing, only as the mode the features belong to.
        new TerraDrawPolygonMode({
          modeName: 'grid',
          styles: { fillColor: '#ffffff', fillOpacity: 0, outlineColor: '#ffffff', outlineWidth: 0, outlineOpacity: 0 },
        }),
        new TerraDrawLineStringMode({
          modeName: 'splitline',
          snapping: { toCustom: (e) => snapScreen([e.containerX, e.containerY], vertexTargets(null)) },
          styles: { lineStringColor: '#c0171a', lineStringWidth: 3, closingPointColor: '#c0171a', closingPointOutlineColor: '#ffffff', snappingPointColor: '#c0171a', snappingPointOutlineColor: '#ffffff' },
        }),
        new TerraDrawSelectMode({
          pointerDistance: 12,
          keyEvents: { deselect: 'Escape', delete: null, rotate: null, scale: null },
          flags: {
            grid: {
              feature: {
                draggable: false, rotateable: false, scaleable: false, selfIntersectable: true,
                coordinates: { draggable: true, midpoints: false, deletable: false, snappable: { toCustom: snapDrag } },
              },
            },
          },
          pointerEvents: {
            leftClick: () => S.mode === 'select',
            rightClick: false,
            contextMenu: false,
            onDragStart: (e) => S.mode === 'select' && !!S.draft && !lockedNear(e),
            onDrag: true,
            onDragEnd: true,
          },
          styles: {
            selectedPolygonColor: '#2b6cb0', selectedPolygonFillOpacity: 0,
            selectedPolygonOutlineColor: '#1d4f8c', selectedPolygonOutlineWidth: 3,
            selectionPointWidth: 5, selectionPointOutlineWidth: 2,
            selectionPointColor: (f) => (isLocked(f.geometry.coordinates) ? '#262626' : '#ffffff'),
            selectionPointOutlineColor: (f) => (isLocked(f.geometry.coordinates) ? '#9a9a9a' : '#1d4f8c'),
          },
        }),
      ],
    });
    draw.start();
    draw.setMode('select');
    draw.on('change', onDrawChange);
    draw.on('finish', onDrawFinish);
    draw.on('select', (id) => { const code = codeOf(id); if (code && S.mode === 'select') hint(S.draft ? '拖动白色节点修改边界；黑色节点在村/社区界上，已锁定。' : '开始草稿后才能拖动节点。'); });
    draw.on('deselect', () => hint(''));
  });

  const codeOf = (id) => (typeof id === 'string' && id.includes(':') && !id.startsWith('td') ? id.slice(0, id.lastIndexOf(':')) : null);

  // ---------------------------------------------------------------- render
  function colouring(features, previous) {
    // Greedy: neighbours (sharing a vertex) get different palette colours. Grids keep the colour
    // they had (`previous`) unless a neighbour already holds it, so edits do not repaint the map.
    const verts = new Map();
    for (const f of features) forEachVertex(f.geometry, (c) => {
      const k = c[0] + ',' + c[1];
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
      while (used.has(i) && i < PALETTE.length - 1) i++;
      colour.set(f.properties.code, i);
    }
    return colour;
  }

  let colourCache = new Map();
  function renderGrids(preview) {
    if (!map.getSource('grids')) return;
    const view = preview || S.view;
    const features = [...view.values()];
    if (!preview) colourCache = colouring(features, colourCache);
    const flagged = new Set();
    for (const v of (S.report && S.report.violations) || []) if (!v.geometry) for (const c of v.cells || []) flagged.add(c);
    const picked = new Set(S.picked);
    map.getSource('grids').setData({
      type: 'FeatureCollection',
      features: features.map((f) => ({
        type: 'Feature',
        geometry: f.geometry,
        properties: {
          code: f.properties.code, name: f.properties.name,
          colour: PALETTE[colourCache.get(f.properties.code) || 0],
          picked: picked.has(f.properties.code), flagged: flagged.has(f.properties.code),
        },
      })),
    });
    if (preview) return;
    map.getSource('labels').setData({
      type: 'FeatureCollection',
      features: features.map((f) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: labelPoint(f.geometry) }, properties: { name: shortName(f.properties.name) } })),
    });
    const seen = new Set();
    const vertices = [];
    for (const f of features) forEachVertex(f.geometry, (c) => {
      const k = c[0] + ',' + c[1];
      if (seen.has(k)) return;
      seen.add(k);
      vertices.push({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: { locked: isLocked(c) } });
    });
    map.getSource('vertices').setData({ type: 'FeatureCollection', features: vertices });
  }
  const shortName = (name) => {
    const v = S.village && S.village.properties.name;
    return v && name && name.startsWith(v) && name.length > v.length ? name.slice(v.length) : name;
  };

  function renderVillage() {
    if (!map.getSource('village')) return;
    map.getSource('village').setData(S.village ? { type: 'FeatureCollection', features: [S.village] } : emptyFC());
    const others = S.villages.filter((v) => !S.village || v.properties.code !== S.village.properties.code);
    map.getSource('context').setData({ type: 'FeatureCollection', features: others });
    map.getSource('context-labels').setData({ type: 'FeatureCollection', features: others.map((v) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: labelPoint(v.geometry) }, properties: { name: v.properties.name } })) });
    map.getSource('buildings').setData({ type: 'FeatureCollection', features: S.buildings.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} })) });
  }

  function renderViolations() {
    if (!map.getSource('violations')) return;
    const features = [];
    (S.report ? S.report.violations : []).forEach((v, i) => {
      if (!v.geometry) return;
      const add = (g) => features.push({ type: 'Feature', geometry: g, properties: { kind: v.kind, severity: v.severity, index: i } });
      if (v.geometry.type === 'GeometryCollection') v.geometry.geometries.forEach(add); else add(v.geometry);
    });
    map.getSource('violations').setData({ type: 'FeatureCollection', features });
  }

  /** Puts the view's grids into terra-draw (outer ring of each part; terra-draw has no holes). */
  function syncDraw(full) {
    if (!draw) return;
    S.syncing = true;
    try {
      const wanted = new Map();
      for (const f of S.view.values()) parts(f.geometry).forEach((rings, i) => wanted.set(`${f.properties.code}:${i}`, rings[0]));
      const existing = new Set(draw.getSnapshot().filter((f) => f.properties.mode === 'grid').map((f) => f.id));
      const stale = [...existing].filter((id) => full || !wanted.has(id));
      if (stale.length) {
        for (const id of stale) { try { draw.deselectFeature(id); } catch { /* not selected */ } }
        draw.removeFeatures(stale.filter((id) => draw.hasFeature(id)));
      }
      const add = [];
      for (const [id, ring] of wanted) {
        const geometry = { type: 'Polygon', coordinates: [ring.map((c) => [c[0], c[1]])] };
        if (!full && draw.hasFeature(id)) {
          const cur = draw.getSnapshotFeature(id);
          if (JSON.stringify(cur.geometry.coordinates) !== JSON.stringify(geometry.coordinates)) draw.updateFeatureGeometry(id, geometry);
        } else add.push({ id, type: 'Feature', geometry, properties: { mode: 'grid' } });
      }
      if (add.length) {
        const results = draw.addFeatures(add);
        for (const r of results) if (!r.valid) console.warn('terra-draw refused', r.id, r.reason);
      }
    } finally {
      S.syncing = false;
    }
  }

  function renderAll() {
    renderVillage();
    renderGrids();
    renderViolations();
    syncDraw();
    renderSelection();
  }

  // ---------------------------------------------------------------- locking and snapping
  function isLocked(p) {
    if (!S.village) return false;
    if (hasVertex(S.village.geometry, p)) return true;
    return boundaryDistance(S.village.geometry, p) <= LOCK_TOLERANCE;
  }
  /** Whether the pointer is on a locked vertex of the selected grid (terra-draw must not drag it). */
  function lockedNear(e) {
    const selected = draw.getSnapshot().filter((f) => f.properties.selected && f.properties.mode === 'grid');
    for (const f of selected) for (const c of f.geometry.coordinates[0]) {
      const p = map.project(c);
      if (Math.hypot(p.x - e.containerX, p.y - e.containerY) <= 12 && isLocked(c)) {
        hint('该节点在村/社区界上，已锁定，不能拖动。');
        return true;
      }
    }
    return false;
  }
  /** Snap targets: the vertices of every grid that does not hold `from`, and building points. */
  function vertexTargets(from) {
    const out = [];
    for (const f of S.view.values()) {
      if (from && hasVertex(f.geometry, from)) continue;
      forEachVertex(f.geometry, (c) => out.push(c));
    }
    return out;
  }
  function snapScreen(xy, targets) {
    let best = null, bestD = SNAP_PX;
    for (const c of targets) {
      const p = map.project(c);
      const d = Math.hypot(p.x - xy[0], p.y - xy[1]);
      if (d <= bestD) { bestD = d; best = [c[0], c[1]]; }
    }
    return best || undefined;
  }
  function snapTarget(to, from) {
    const p = map.project(to);
    return snapScreen([p.x, p.y], vertexTargets(from).concat(S.buildings)) || to;
  }
  function snapDrag(e, ctx) {
    const id = ctx.currentId;
    const code = codeOf(id);
    if (!code || ctx.currentCoordinate == null) return undefined;
    const from = storedRing(id)[ctx.currentCoordinate];
    if (!from) return undefined;
    return snapScreen([e.containerX, e.containerY], vertexTargets(from).concat(S.buildings));
  }
  function storedRing(id) {
    const code = codeOf(id);
    const f = code && S.view.get(code);
    if (!f) return [];
    const part = parts(f.geometry)[Number(id.slice(id.lastIndexOf(':') + 1))];
    return part ? part[0] : [];
  }
  /** The single vertex of a terra-draw feature that differs from our copy: [from, to] or null. */
  function movedVertex(id) {
    const f = draw.getSnapshotFeature(id);
    if (!f) return null;
    const now = f.geometry.coordinates[0], was = storedRing(id);
    if (now.length !== was.length) return null;
    let moved = null;
    for (let i = 0; i < was.length - 1; i++) {
      if (!same(now[i], was[i])) {
        if (moved) return null; // more than one vertex changed: not a vertex drag
        moved = [was[i], now[i]];
      }
    }
    return moved;
  }

  // ---------------------------------------------------------------- terra-draw events
  function onDrawChange(ids, type, context) {
    if (S.syncing || type !== 'update' || (context && context.origin === 'api')) return;
    const id = ids.find((i) => codeOf(i));
    if (!id || S.mode !== 'select') return;
    const m = movedVertex(id);
    if (!m) return;
    // Live preview: every grid sharing the vertex follows the pointer.
    const preview = new Map();
    for (const [code, f] of S.view) preview.set(code, hasVertex(f.geometry, m[0]) ? { ...f, geometry: replaceVertex(f.geometry, m[0], m[1]) } : f);
    renderGrids(preview);
  }
  function onDrawFinish(id, context) {
    if (context.mode === 'splitline') { finishSplitLine(id); return; }
    if (context.action !== 'dragCoordinate' || !codeOf(id)) return;
    const m = movedVertex(id);
    if (!m) { renderGrids(); return; }
    moveVertex(m[0], m[1]).catch(() => { renderGrids(); syncDraw(); });
  }

  // ---------------------------------------------------------------- login, villages
  async function login(token) {
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
  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(DRAFT_KEY);
    sessionStorage.removeItem(VILLAGE_KEY);
    location.reload();
  }

  async function loadVillages() {
    const fc = await get('/api/v1/cells?level=2');
    S.villages = fc.features.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
    const select = $('village');
    select.replaceChildren(el('option', { value: '' }, '选择村/社区…'));
    for (const v of S.villages) select.append(el('option', { value: v.properties.code }, v.properties.name));
    select.disabled = false;
    await mapReady;
    renderVillage();
    if (S.villages.length) {
      const b = [Infinity, Infinity, -Infinity, -Infinity];
      for (const v of S.villages) { const x = bbox(v.geometry); b[0] = Math.min(b[0], x[0]); b[1] = Math.min(b[1], x[1]); b[2] = Math.max(b[2], x[2]); b[3] = Math.max(b[3], x[3]); }
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 0 });
    }
  }

  async function selectVillage(code) {
    await mapReady;
    const [village, grids] = await Promise.all([get(`/api/v1/cells/${code}`), get(`/api/v1/cells?parent=${code}`)]);
    if (!S.village || S.village.properties.code !== code) colourCache = new Map();
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
    const b = bbox(village.geometry);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 });
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
  function rebuildView() {
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

  function cells() {
    return { type: 'FeatureCollection', features: [...S.view.values()].map(clone) };
  }

  // ---------------------------------------------------------------- drafts
  function setDraft(d) {
    if (!S.draft || S.draft.id !== d.id) S.staleWarned = false;
    S.draft = { id: d.id, base_revision: d.base_revision };
    S.changes = new Map();
    for (const c of d.changes || []) S.changes.set(c.code, { deleted: !!c.deleted, feature: c.feature });
    sessionStorage.setItem(DRAFT_KEY, String(d.id));
    window.gridmap.draftId = d.id;
    if (S.village) { rebuildView(); syncDraw(true); renderAll(); }
    $('draft-info').replaceChildren(
      el('div', {}, el('strong', {}, `草稿 #${d.id}`), `　基于第 ${d.base_revision} 版`),
      el('div', { class: 'muted' }, S.changes.size ? `已修改 ${S.changes.size} 个网格` : '尚无修改'),
    );
    $('draft-badge').textContent = `草稿 #${d.id}`;
    $('draft-badge').hidden = false;
    $('start-draft').textContent = '放弃并新建草稿';
    $('commit-section').hidden = false;
    updateControls();
  }
  function clearDraft() {
    S.draft = null;
    S.changes = new Map();
    S.undo = [];
    S.redo = [];
    S.report = null;
    window.gridmap.draftId = null;
    window.gridmap.lastReport = null;
    sessionStorage.removeItem(DRAFT_KEY);
    $('draft-badge').hidden = true;
    $('start-draft').textContent = '开始草稿';
    $('draft-info').textContent = '尚未开始草稿。开始草稿后才能修改网格边界。';
    $('validation-section').hidden = true;
    $('impact-section').hidden = true;
    updateControls();
  }
  function refreshDraftInfo() {
    if (!S.draft) return;
    $('draft-info').replaceChildren(
      el('div', {}, el('strong', {}, `草稿 #${S.draft.id}`), `　基于第 ${S.draft.base_revision} 版`),
      el('div', { class: 'muted' }, S.changes.size ? `已修改 ${S.changes.size} 个网格` : '尚无修改'),
    );
  }

  function startDraft() {
    return enqueue(async () => {
      const d = await api('POST', '/api/v1/drafts', {});
      S.undo = [];
      S.redo = [];
      setDraft({ id: d.id, base_revision: d.base_revision, changes: [] });
      $('commit-result').replaceChildren();
      say(`已开始草稿 #${d.id}（基于第 ${d.base_revision} 版）`);
      await validate();
      return d;
    });
  }

  async function reloadDraft() {
    const d = await get(`/api/v1/drafts/${S.draft.id}`);
    setDraft(d);
    return d;
  }

  async function validate() {
    if (!S.draft) return null;
    const report = await api('POST', `/api/v1/drafts/${S.draft.id}/validate`, {});
    showReport(report);
    return report;
  }

  function showReport(report) {
    S.report = report;
    if (report.stale && !S.staleWarned) {
      S.staleWarned = true;
      say(`注意：别人已提交第 ${report.current_revision} 版，本草稿基于第 ${report.base_revision} 版，提交会被拒绝。`, 'error',
        el('button', { type: 'button', class: 'small', onclick: () => { $('message').hidden = true; startDraft().catch(() => {}); } }, '新建草稿'));
    }
    window.gridmap.lastReport = report;
    renderGrids();
    renderViolations();
    renderReport();
    renderImpact();
    updateControls();
  }

  /** PUTs `geometries` (code → geometry) into the draft; on failure restores `restore` locally. */
  async function putGeometries(geometries, restore) {
    // Undo may reach grids of a village that is no longer shown: those are only PUT.
    for (const [code, g] of Object.entries(geometries)) if (S.view.has(code)) S.view.get(code).geometry = clone(g);
    renderGrids();
    syncDraw();
    const done = [];
    try {
      for (const [code, g] of Object.entries(geometries)) {
        const feature = { type: 'Feature', properties: {}, geometry: g };
        await api('PUT', `/api/v1/drafts/${S.draft.id}/cells/${code}`, feature);
        done.push(code);
        const known = S.view.get(code) || (S.changes.get(code) || {}).feature || S.base.get(code);
        S.changes.set(code, { deleted: false, feature: { type: 'Feature', properties: clone((known && known.properties) || { code }), geometry: clone(g) } });
      }
    } catch (e) {
      for (const [code, g] of Object.entries(restore)) if (S.view.has(code)) S.view.get(code).geometry = clone(g);
      // Best effort: put back what was already stored.
      for (const code of done) {
        await api('PUT', `/api/v1/drafts/${S.draft.id}/cells/${code}`, { type: 'Feature', properties: {}, geometry: restore[code] }).catch(() => {});
      }
      renderGrids();
      syncDraw();
      throw e;
    }
    refreshDraftInfo();
  }

  async function doMove(from, to, only) {
    if (!S.draft) throw new Error('请先开始草稿');
    from = [Number(from[0]), Number(from[1])];
    to = [Number(to[0]), Number(to[1])];
    const codes = [...S.view.keys()].filter((c) => hasVertex(S.view.get(c).geometry, from) && (!only || c === only));
    if (!codes.length) throw new Error(only ? `网格 ${only} 没有节点 ${from}` : `没有网格有节点 ${from}`);
    if (isLocked(from)) throw new Error('该节点在村/社区界上，已锁定，不能移动');
    const target = snapTarget(to, from).map(round7);
    if (same(target, from)) { renderGrids(); syncDraw(); return null; }
    const before = {}, after = {};
    for (const c of codes) {
      before[c] = clone(S.view.get(c).geometry);
      after[c] = replaceVertex(S.view.get(c).geometry, from, target);
    }
    await putGeometries(after, before);
    const names = codes.map((c) => shortName(S.view.get(c).properties.name));
    S.undo.push({ label: `移动节点（${names.join('、')}）`, before, after });
    S.redo = [];
    const report = await validate();
    return { codes, to: target, report };
  }

  function moveVertex(from, to) {
    return enqueue(() => doMove(from, to, null)).catch(failed);
  }
  /** Moves the vertex in ONE grid only (breaks shared edges on purpose; for tests and repairs). */
  function moveVertexOf(code, from, to) {
    return enqueue(() => doMove(from, to, code)).catch(failed);
  }

  function undo() {
    return enqueue(async () => {
      const e = S.undo.pop();
      if (!e) return null;
      try { await putGeometries(e.before, e.after); } catch (err) { S.undo.push(e); throw err; }
      S.redo.push(e);
      say(`已撤销：${e.label}`);
      return validate();
    }).catch(failed);
  }
  function redo() {
    return enqueue(async () => {
      const e = S.redo.pop();
      if (!e) return null;
      try { await putGeometries(e.after, e.before); } catch (err) { S.redo.push(e); throw err; }
      S.undo.push(e);
      say(`已重做：${e.label}`);
      return validate();
    }).catch(failed);
  }

  // ---------------------------------------------------------------- split and merge
  function split(code, coordinates) {
    return enqueue(async () => {
      if (!S.draft) throw new Error('请先开始草稿');
      const f = S.view.get(code);
      if (!f) throw new Error(`没有网格 ${code}`);
      const line = { type: 'LineString', coordinates: snapLineEnds(f.geometry, coordinates) };
      const r = await api('POST', `/api/v1/drafts/${S.draft.id}/split`, { code, line });
      // Split is not undoable (new codes, lineage): clear the stack.
      S.undo = [];
      S.redo = [];
      await reloadDraft();
      S.picked = (r.new_codes || []).filter((c) => S.view.has(c));
      renderAll();
      say(`已拆分 ${shortName(f.properties.name)}：新网格 ${(r.new_codes || []).join('、')}`);
      await validate();
      return r;
    }).catch(failed);
  }
  function merge(codes, name) {
    return enqueue(async () => {
      if (!S.draft) throw new Error('请先开始草稿');
      if (!codes || codes.length < 2) throw new Error('合并至少需要两个网格');
      const body = { codes };
      if (name) body.name = name;
      const r = await api('POST', `/api/v1/drafts/${S.draft.id}/merge`, body);
      // Merge is not undoable either.
      S.undo = [];
      S.redo = [];
      await reloadDraft();
      S.picked = r.new_code && S.view.has(r.new_code) ? [r.new_code] : [];
      renderAll();
      say(`已合并为 ${r.new_code}`);
      await validate();
      return r;
    }).catch(failed);
  }

  /** Fits a split line to the grid: each end that is within 16 px of a boundary vertex snaps to
   *  it; an end drawn outside the grid is cut back to where the line first (last) crosses the
   *  boundary, and that crossing snaps to a vertex within 16 px, else stays on the edge. */
  function snapLineEnds(geometry, coordinates) {
    let coords = coordinates.map((c) => [Number(c[0]), Number(c[1])]);
    if (coords.length < 2) return coords;
    const verts = [];
    forEachVertex(geometry, (c) => verts.push(c));
    const edges = [];
    for (const rings of parts(geometry)) for (const r of rings) for (let i = 1; i < r.length; i++) edges.push([r[i - 1], r[i]]);
    const fit = (line) => {
      // Returns the line with its first point on the boundary.
      const v = snapNear(line[0], verts, 16);
      if (v) return [v, ...line.slice(1)];
      for (let i = 1; i < line.length && !contains(geometry, line[0]); i++) {
        let best = null;
        for (const [a, b] of edges) {
          const x = intersect(line[i - 1], line[i], a, b);
          if (x && (!best || x.t < best.t)) best = x;
        }
        if (best) return [snapNear(best.point, verts, 16) || best.point.map(round7), ...line.slice(i)];
      }
      let near = null;
      for (const [a, b] of edges) { const d = segDist(line[0], a, b); if (!near || d.d < near.d) near = d; }
      return [near ? snapNear(near.point, verts, 16) || near.point.map(round7) : line[0], ...line.slice(1)];
    };
    coords = fit(coords);
    coords = fit(coords.slice().reverse()).reverse();
    return coords;
  }
  /** Intersection of segments p1p2 and a-b: {t along p1p2, point} or null. */
  function intersect(p1, p2, a, b) {
    const rx = p2[0] - p1[0], ry = p2[1] - p1[1], sx = b[0] - a[0], sy = b[1] - a[1];
    const den = rx * sy - ry * sx;
    if (!den) return null;
    const t = ((a[0] - p1[0]) * sy - (a[1] - p1[1]) * sx) / den;
    const u = ((a[0] - p1[0]) * ry - (a[1] - p1[1]) * rx) / den;
    if (t < 0 || t > 1 || u < 0 || u > 1) return null;
    return { t, point: [p1[0] + t * rx, p1[1] + t * ry] };
  }
  function snapNear(p, verts, px) {
    const a = map.project(p);
    let best = null, bestD = px;
    for (const v of verts) {
      const b = map.project(v);
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      if (d <= bestD) { bestD = d; best = [v[0], v[1]]; }
    }
    return best;
  }

  function finishSplitLine(id) {
    const f = draw.getSnapshotFeature(id);
    draw.removeFeatures([id]);
    setMode('select');
    if (!f || f.geometry.type !== 'LineString') return;
    const line = f.geometry.coordinates;
    // The grid the line crosses: the picked one, else the one most of the line's samples fall in.
    let code = S.picked.length === 1 ? S.picked[0] : null;
    if (!code) {
      const score = new Map();
      for (let i = 1; i < line.length; i++) for (let k = 1; k < 10; k++) {
        const p = [line[i - 1][0] + ((line[i][0] - line[i - 1][0]) * k) / 10, line[i - 1][1] + ((line[i][1] - line[i - 1][1]) * k) / 10];
        for (const [c, g] of S.view) if (contains(g.geometry, p)) score.set(c, (score.get(c) || 0) + 1);
      }
      code = [...score.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0])[0];
    }
    if (!code) { say('拆分线没有穿过任何网格', 'error'); return; }
    split(code, line).catch(() => {});
  }

  // ---------------------------------------------------------------- commit, revisions
  function commit(message) {
    return enqueue(async () => {
      if (!S.draft) throw new Error('没有草稿可以提交');
      message = (message == null ? $('commit-message').value : message).trim();
      if (!message) throw new Error('请填写修订说明');
      let r;
      try {
        r = await api('POST', `/api/v1/drafts/${S.draft.id}/commit`, { message });
      } catch (e) {
        if (e.status === 409 || e.code === 'stale_base') {
          const d = e.details || {};
          say(`提交失败：别人已经提交了第 ${d.current_revision ?? '?'} 版（本草稿基于第 ${d.base_revision ?? S.draft.base_revision} 版）。请新建草稿后重做调整。`, 'error',
            el('button', { type: 'button', class: 'small', onclick: () => { $('message').hidden = true; startDraft().catch(() => {}); } }, '新建草稿'));
          await Promise.all([loadRevision(), loadRevisions()]);
        } else if (e.status === 422 || e.code === 'coverage_violated') {
          if (e.details && e.details.violations) showReport(e.details);
          say('提交失败：草稿不满足覆盖要求，请先修正右侧列出的问题。', 'error');
        } else say('提交失败：' + e.message, 'error');
        e.reported = true;
        throw e;
      }
      const number = r.revision;
      const village = S.village && S.village.properties.code;
      clearDraft();
      $('commit-message').value = '';
      $('commit-result').replaceChildren(el('div', { class: 'success' }, `已提交修订 ${number}`));
      say(`已提交修订 ${number}`, 'success');
      await Promise.all([loadRevision(), loadRevisions()]);
      if (village) await selectVillage(village);
      return number;
    }).catch((e) => { if (!e.reported) say(e.message, 'error'); throw e; });
  }

  async function loadRevision() {
    const r = await get('/api/v1/revision');
    S.revision = r;
    $('revision').textContent = `当前第 ${r.number} 版${r.date ? ' · ' + r.date : ''}`;
    $('revision').dataset.number = r.number;
    return r;
  }
  async function loadRevisions() {
    let list;
    try { list = (await get('/api/v1/revisions')).revisions || []; } catch { return; }
    const ol = $('revisions');
    ol.replaceChildren();
    for (const r of list.slice(0, 12)) {
      const stats = [];
      if (r.added) stats.push(el('span', { class: 'add' }, `+${r.added}`));
      if (r.removed) stats.push(el('span', { class: 'del' }, `−${r.removed}`));
      if (r.changed) stats.push(el('span', { class: 'chg' }, `~${r.changed}`));
      const when = r.created_at ? String(r.created_at).replace('T', ' ').slice(0, 16) : '';
      ol.append(el('li', { 'data-number': r.number },
        el('div', { class: 'rev-head' }, el('strong', {}, `第 ${r.number} 版`), el('span', { class: 'muted' }, when)),
        el('div', { class: 'rev-msg' }, r.message || '（无说明）'),
        el('div', { class: 'rev-meta' }, el('span', { class: 'muted' }, r.author || ''), el('span', { class: 'stats' }, ...stats))));
    }
  }

  // ---------------------------------------------------------------- side panel
  const nameOf = (code) => {
    if (code == null) return '（无）';
    const f = S.view.get(code) || S.base.get(code);
    const impact = S.report && S.report.impact && (S.report.impact.cells || []).find((c) => c.code === code);
    const name = (f && f.properties.name) || (impact && impact.name) || S.names.get(code);
    if (!name) lookUpName(code);
    if (S.village && code === S.village.properties.code) return `${name}（网格外）`;
    return name ? shortName(name) : code;
  };
  // Names of codes outside the view (neighbouring villages' grids in 四至): fetched once, then
  // the impact is drawn again.
  const asked = new Set();
  let renameTimer = null;
  function lookUpName(code) {
    if (asked.has(code) || !/^\d+$/.test(code)) return;
    asked.add(code);
    get(`/api/v1/cells/${code}`).then((f) => {
      S.names.set(code, f.properties.name);
      clearTimeout(renameTimer);
      renameTimer = setTimeout(() => { renderImpact(); renderReport(); }, 50);
    }).catch(() => {});
  }

  function renderReport() {
    const section = $('validation-section');
    const list = $('violations');
    list.replaceChildren();
    const report = S.report;
    section.hidden = !report;
    if (!report) return;
    const errors = report.violations.filter((v) => v.severity !== 'warning');
    $('valid-badge').textContent = report.valid ? '通过' : `${errors.length} 个问题`;
    $('valid-badge').className = 'badge ' + (report.valid ? 'ok' : 'bad');
    if (!report.violations.length) list.append(el('li', { class: 'none' }, '无重叠、无空隙，网格完整覆盖村/社区。'));
    report.violations.forEach((v, i) => {
      const li = el('li', { class: `violation ${v.kind} ${v.severity}`, 'data-kind': v.kind, title: v.message || '' },
        el('span', { class: 'kind' }, KIND_ZH[v.kind] || v.kind),
        el('span', { class: 'cells' }, (v.cells || []).map(nameOf).join('、')),
        v.area_m2 != null ? el('span', { class: 'area' }, area(v.area_m2)) : null,
        el('div', { class: 'msg' }, v.message || ''));
      li.addEventListener('click', () => zoomTo(v.geometry || unionOf(v.cells), i));
      list.append(li);
    });
  }
  function unionOf(codes) {
    const gs = (codes || []).map((c) => S.view.get(c)).filter(Boolean).map((f) => f.geometry);
    return gs.length ? { type: 'GeometryCollection', geometries: gs } : null;
  }
  function zoomTo(geometry) {
    if (!geometry) return;
    const b = bbox(geometry);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 80, maxZoom: 17, duration: 300 });
  }

  function renderImpact() {
    const box = $('impact');
    box.replaceChildren();
    const impact = S.report && S.report.impact;
    $('impact-section').hidden = !impact;
    if (!impact) return;

    for (const c of impact.cells || []) if (c.name) S.names.set(c.code, c.name);
    // The village itself shows up when buildings fall into a gap: not a grid, no band to meet.
    const cellsList = (impact.cells || []).filter((c) => S.view.has(c.code) || (S.village && c.code.startsWith(S.village.properties.code) && c.code !== S.village.properties.code));
    if (cellsList.length) {
      box.append(el('h3', {}, '户数与规模标准'));
      const max = Math.max(1, ...cellsList.map((c) => Math.max(c.households || 0, (c.band_households || [0, 0])[1] || 0))) * 1.15;
      const table = el('div', { class: 'bands' });
      for (const c of cellsList) {
        const [lo, hi] = c.band_households || [null, null];
        const bar = el('div', { class: 'bar' });
        if (lo != null && hi != null) {
          const band = el('div', { class: 'band' });
          band.style.left = `${(lo / max) * 100}%`;
          band.style.width = `${((hi - lo) / max) * 100}%`;
          bar.append(band);
        }
        const fill = el('div', { class: `fill ${c.status}` });
        fill.style.width = `${Math.min(100, ((c.households || 0) / max) * 100)}%`;
        bar.append(fill);
        const dev = c.deviation_pct == null ? '' : `${c.deviation_pct > 0 ? '+' : ''}${Math.round(c.deviation_pct)}%`;
        table.append(el('div', { class: `band-row ${c.status}`, title: `标准 ${lo ?? '?'}–${hi ?? '?'} 户；人口 ${fmt(c.population)}` },
          el('span', { class: 'name' }, nameOf(c.code)),
          bar,
          el('span', { class: 'num' }, `${fmt(c.households)} 户`),
          el('span', { class: `status ${c.status}` }, `${STATUS_ZH[c.status] || c.status}${dev && c.status !== 'ok' ? ' ' + dev : ''}`)));
      }
      box.append(table);
    }

    const moves = (impact.moves || []).filter((m) => m.buildings || m.households);
    box.append(el('h3', {}, '改属的户'));
    if (!moves.length) box.append(el('p', { class: 'muted' }, '没有建筑或住户改变所属网格。'));
    else {
      const ul = el('ul', { class: 'moves' });
      for (const m of moves) ul.append(el('li', {}, el('span', {}, nameOf(m.from)), el('span', { class: 'arrow' }, '→'), el('span', {}, nameOf(m.to)),
        el('span', { class: 'num' }, `${fmt(m.buildings)} 栋 · ${fmt(m.households)} 户`)));
      box.append(ul);
    }
    if ((impact.incidents || []).length) box.append(el('p', { class: 'muted' }, `${impact.incidents.length} 件未结事项将改由新网格处理。`));

    if ((impact.multipart || []).length) {
      box.append(el('h3', {}, '多块网格'));
      box.append(el('p', { class: 'warn' }, `以下网格由不相连的几块组成，请确认：${impact.multipart.map(nameOf).join('、')}`));
    }

    // 四至 of grids that stay (retired grids are left out; new grids show only their new 四至).
    const retired = (code) => (S.changes.get(code) || {}).deleted;
    const list = (x, k) => ((x || {})[k] || []).map(shortName).join('、');
    const four = (impact.four_to || []).filter((f) => !retired(f.code) && DIRS.some(([k]) => list(f.before, k) !== list(f.after, k)));
    if (four.length) {
      const details = el('details', { class: 'four-list' }, el('summary', {}, `四至变化（${four.length} 个网格）`));
      if (four.length <= 4) details.open = true;
      for (const f of four) {
        const fresh = DIRS.every(([k]) => !list(f.before, k));
        const dl = el('dl', { class: 'four' });
        for (const [k, zh] of DIRS) {
          const b = list(f.before, k) || '辖区边界';
          const a = list(f.after, k) || '辖区边界';
          if (fresh) dl.append(el('dt', {}, zh), el('dd', {}, a));
          else if (a !== b) dl.append(el('dt', {}, zh), el('dd', {}, el('del', {}, b), ' → ', el('ins', {}, a)));
        }
        details.append(el('div', { class: 'four-cell' }, el('strong', {}, nameOf(f.code)), fresh ? el('span', { class: 'muted' }, '（新网格）') : null, dl));
      }
      box.append(details);
    }
  }

  function renderSelection() {
    const section = $('selection-section');
    const box = $('selection');
    box.replaceChildren();
    const codes = S.picked.filter((c) => S.view.has(c));
    section.hidden = !codes.length;
    if (!codes.length) return;
    for (const c of codes) {
      const f = S.view.get(c);
      const impact = S.report && S.report.impact && (S.report.impact.cells || []).find((x) => x.code === c);
      box.append(el('div', { class: 'picked' }, el('strong', {}, f.properties.name), el('span', { class: 'muted' }, ` ${c} · ${f.properties.kind || ''}`),
        impact ? el('div', { class: 'muted' }, `${fmt(impact.households)} 户 · ${fmt(impact.population)} 人`) : null));
    }
    if (codes.length >= 2) {
      const input = el('input', { id: 'merge-name', type: 'text', placeholder: '合并后名称（可选）' });
      box.append(el('div', { class: 'row' }, input,
        el('button', { type: 'button', class: 'primary', disabled: !S.draft, onclick: () => merge(codes, input.value.trim() || undefined).catch(() => {}) }, `合并 ${codes.length} 个网格`)));
    } else box.append(el('p', { class: 'muted small' }, 'Shift+点击再选相邻网格以合并；“画线拆分”把所选网格一分为二。'));
  }

  function updateControls() {
    const editing = !!S.draft && !!S.village;
    const idle = S.pending === 0;
    $('tool-select').disabled = !S.village;
    $('tool-split').disabled = !editing;
    $('tool-merge').disabled = !editing || S.picked.length < 2;
    $('undo').disabled = !editing || !S.undo.length || !idle;
    $('redo').disabled = !editing || !S.redo.length || !idle;
    $('undo').title = S.undo.length ? `撤销：${S.undo[S.undo.length - 1].label}（Ctrl+Z）` : '撤销（Ctrl+Z）';
    $('start-draft').disabled = !S.me || !idle;
    const message = $('commit-message').value.trim();
    const valid = !!(S.report && S.report.valid);
    $('commit').disabled = !S.draft || !message || !valid || !idle;
    $('commit-hint').textContent = !S.draft ? '' : !valid ? '草稿未通过校验，不能提交' : !message ? '请填写修订说明' : '';
  }

  function setMode(mode) {
    S.mode = mode;
    $('tool-select').classList.toggle('active', mode === 'select');
    $('tool-split').classList.toggle('active', mode === 'split');
    if (!draw) return;
    if (mode === 'split') {
      draw.setMode('splitline');
      hint('依次点击画拆分线，线的两端落在网格边界上（自动吸附节点）；点击末点结束，Esc 取消。');
    } else {
      draw.setMode('select');
      hint('');
    }
  }

  // ---------------------------------------------------------------- wiring
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    login($('token').value).then(() => { $('token').value = ''; say(`欢迎，${S.me.name}`); }).catch((err) => say(err.message, 'error'));
  });
  $('logout').addEventListener('click', logout);
  $('village').addEventListener('change', () => { if ($('village').value) selectVillage($('village').value).catch((e) => say(e.message, 'error')); });
  $('start-draft').addEventListener('click', () => {
    if (S.draft && S.changes.size && !confirm('放弃当前草稿的修改并新建草稿？')) return;
    startDraft().catch((e) => say('无法开始草稿：' + e.message, 'error'));
  });
  $('tool-select').addEventListener('click', () => setMode('select'));
  $('tool-split').addEventListener('click', () => setMode(S.mode === 'split' ? 'select' : 'split'));
  $('tool-merge').addEventListener('click', () => {
    const name = $('merge-name') && $('merge-name').value.trim();
    merge(S.picked.slice(), name || undefined).catch(() => {});
  });
  $('undo').addEventListener('click', () => undo().catch(() => {}));
  $('redo').addEventListener('click', () => redo().catch(() => {}));
  $('commit-message').addEventListener('input', updateControls);
  $('commit').addEventListener('click', () => commit().catch(() => {}));
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === 'z') { e.preventDefault(); (e.shiftKey ? redo : undo)().catch(() => {}); }
    else if ((e.ctrlKey || e.metaKey) && key === 'y') { e.preventDefault(); redo().catch(() => {}); }
    else if (key === 'escape' && S.mode === 'split') setMode('select');
  });
  map.on('click', (e) => {
    if (S.mode !== 'select' || !S.village) return;
    const hit = map.queryRenderedFeatures(e.point, { layers: ['grids-fill'] })[0];
    const code = hit && hit.properties.code;
    if (e.originalEvent.shiftKey) {
      if (code) S.picked = S.picked.includes(code) ? S.picked.filter((c) => c !== code) : [...S.picked, code];
    } else S.picked = code ? [code] : [];
    renderGrids();
    renderSelection();
    updateControls();
  });
  // Clicking a neighbouring village (outside the selected one) switches to it.
  map.on('click', 'context-fill', (e) => {
    const f = e.features && e.features[0];
    if (!f || !S.me || S.mode !== 'select' || S.pending) return;
    if (S.village && contains(S.village.geometry, [e.lngLat.lng, e.lngLat.lat])) return;
    selectVillage(f.properties.code).catch((err) => say(err.message, 'error'));
  });
  map.on('mouseenter', 'context-fill', () => { if (S.me) map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'context-fill', () => { map.getCanvas().style.cursor = ''; });
  map.on('mousemove', 'vertices', (e) => {
    const f = e.features && e.features[0];
    if (f && f.properties.locked && S.mode === 'select') hint('该节点在村/社区界上，已锁定。');
  });

  window.gridmap = {
    map,
    draftId: null,
    lastReport: null,
    get draw() { return draw; },
    cells,
    village: () => (S.village ? clone(S.village) : null),
    state: () => ({ draft: S.draft, undo: S.undo.length, redo: S.redo.length, picked: S.picked.slice(), pending: S.pending, me: S.me }),
    idle: () => queue,
    login,
    selectVillage,
    startDraft,
    moveVertex,
    moveVertexOf,
    undo,
    redo,
    split,
    merge,
    commit,
    validate: () => enqueue(validate),
    isLocked: (p) => isLocked(p),
  };

  loadRevision().catch(() => {});
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) login(saved).catch(() => { sessionStorage.removeItem(TOKEN_KEY); });
  else loadVillages().catch(() => {}).finally(() => { $('village').disabled = true; $('village').firstChild.textContent = '请先登录'; });
  updateControls();
})();
