// Browser test of the planner's editor (/plan) in real headless Chromium (Debian `chromium`, driven
// by playwright-core). Starts its own `gridmap serve` on a fresh embedded database with the demo,
// creates a planner with `gridmap user add`, then: log in, pick a village, start a draft, break a
// shared vertex on purpose (overlap reported), undo (valid again), move a shared vertex properly
// (valid), commit, and find the new revision on the page and in /api/v1/revisions.
// Run: node web/tests/plan.test.mjs [--screenshot out.png]   (GRIDMAP_BIN overrides the binary)
import { chromium } from 'playwright-core';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';
import { centroid, contains, hasVertex, onBoundary, rings, same, segments, vertices } from '../lib/geom.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;
const PREFERRED_VILLAGE = '520328004016'; // 义泉社区: nine grids in the demo

// ------------------------------------------------------------------ geometry
// The page's own helpers (web/lib/geom.js), plus what only the test needs to pick a vertex.
const toward = (p, q, f) => [+(p[0] + (q[0] - p[0]) * f).toFixed(7), +(p[1] + (q[1] - p[1]) * f).toFixed(7)];
function cross(a, b, c) { return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]); }
function properlyCross([a, b], [c, d]) {
  if (same(a, c) || same(a, d) || same(b, c) || same(b, d)) return false;
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  return ((d1 > 0) !== (d2 > 0)) && ((d3 > 0) !== (d4 > 0));
}
/** The neighbours of p along the rings of g (the other ends of its edges). */
function neighbours(g, p) {
  const out = [];
  for (const r of rings(g)) for (let i = 1; i < r.length; i++) {
    if (same(r[i], p)) out.push(r[i - 1]);
    if (same(r[i - 1], p)) out.push(r[i]);
  }
  return out;
}
/** Whether moving p to t in `moved` grids keeps every edge from crossing another one. */
function cleanMove(grids, moved, p, t) {
  const fresh = [];
  for (const g of moved) for (const n of neighbours(g.geometry, p)) fresh.push([n, t]);
  for (const s of fresh) for (const g of grids) for (const e of segments(g.geometry)) {
    if (same(e[0], p) || same(e[1], p)) continue; // the edges that move with p
    if (properlyCross(s, e)) return false;
  }
  return true;
}

// ------------------------------------------------------------------ server and planner token
const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-plan-'));
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), GRIDMAP_WEB_DIR: join(root, 'web') };
const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--demo', join(root, 'data', 'demo')], {
  cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'],
});
const origin = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('server did not start')), 120000);
  server.stdout.on('data', (chunk) => {
    const m = /listening on (http:\/\/[^\s]+)/.exec(chunk.toString());
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  server.on('exit', (code) => reject(new Error('server exited ' + code)));
});

let browser;
let failed = false;
try {
  const { stdout } = await promisify(execFile)(binary, ['--data-dir', dataDir, 'user', 'add', 'plan-test', '--role', 'planner'], { cwd: root, env });
  const token = stdout.trim().split('\n').pop().trim();
  assert.ok(token.length >= 16, 'no token printed by `gridmap user add`: ' + stdout);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests = [];
  const pageErrors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => { console.error('page error:', e); pageErrors.push(e); });
  const api = (path, init = {}) => page.evaluate(async ([p, i, t]) => {
    const r = await fetch(p, { ...i, headers: { Authorization: 'Bearer ' + t, 'Content-Type': 'application/json' } });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [path, init, token]);

  const csp = await watchCsp(page);

  // 0. The page comes with its security headers (never framed) and runs under its CSP.
  assertSecurityHeaders(await page.goto(origin + '/plan'), { frameAncestorsNone: true });
  await page.waitForFunction(() => window.gridmap && window.gridmap.map && window.gridmap.map.loaded() && window.gridmap.draw, null, { timeout: 60000 });
  assert.match(await page.title(), /网格调整（规划）/);
  assert.match(await page.textContent('header'), /网格调整/);
  const revisionBefore = (await api('/api/v1/revision')).body.number;

  // 1. Log in with the planner's token.
  await page.fill('#token', token);
  await page.click('#login');
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 20000 });
  assert.match(await page.textContent('#whoami'), /plan-test/);

  // 2. Pick a village: its grids become the editor's own GeoJSON copies.
  const village = await page.evaluate((preferred) => {
    const values = [...document.querySelectorAll('#village option')].map((o) => o.value).filter(Boolean);
    return values.includes(preferred) ? preferred : values[0];
  }, PREFERRED_VILLAGE);
  assert.ok(village, 'no village to pick');
  await page.selectOption('#village', village);
  await page.waitForFunction((v) => {
    const g = window.gridmap;
    return g.village() && g.village().properties.code === v && g.cells().features.length > 1;
  }, village, { timeout: 30000 });
  const grids = (await page.evaluate(() => window.gridmap.cells())).features;
  const villageGeometry = (await page.evaluate(() => window.gridmap.village())).geometry;

  // 3. Start a draft; the untouched draft is valid.
  await page.click('#start-draft');
  await page.waitForFunction(() => window.gridmap.draftId && window.gridmap.lastReport && window.gridmap.state().pending === 0, null, { timeout: 60000 });
  const first = await page.evaluate(() => window.gridmap.lastReport);
  assert.equal(first.valid, true, 'the untouched draft should be valid: ' + JSON.stringify(first.violations).slice(0, 800));

  // 4. A vertex shared by exactly two grids, not on the village outline, with room to move.
  const candidates = [];
  const seen = new Set();
  for (const g of grids) for (const p of vertices(g.geometry)) {
    const key = p.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const holders = grids.filter((h) => hasVertex(h.geometry, p));
    if (holders.length !== 2 || onBoundary(villageGeometry, p)) continue;
    if (grids.some((h) => !holders.includes(h) && onBoundary(h.geometry, p))) continue;
    const [a, b] = holders;
    const overlapTo = toward(p, centroid(b.geometry), 0.3); // a's copy pushed into b
    const validTo = toward(p, centroid(a.geometry), 0.2);   // both copies pulled into a
    if (!contains(b.geometry, overlapTo) || !contains(a.geometry, validTo)) continue;
    if (!cleanMove(grids, [a], p, overlapTo) || !cleanMove(grids, [a, b], p, validTo)) continue;
    candidates.push({ p, a: a.properties.code, b: b.properties.code, overlapTo, validTo });
  }
  assert.ok(candidates.length, 'no vertex shared by exactly two grids off the village outline');
  // Keep the moved vertex clear of other grids' vertices on screen, so the 8 px snap leaves it alone.
  const clearance = await page.evaluate((list) => {
    const m = window.gridmap.map;
    const all = window.gridmap.cells().features;
    return list.map(({ p, a, b, validTo }) => {
      const t = m.project(validTo), q = m.project(p);
      let d = Infinity;
      for (const f of all) {
        if (f.properties.code === a || f.properties.code === b) continue;
        const walk = (c) => { if (typeof c[0] === 'number') { const s = m.project(c); d = Math.min(d, Math.hypot(s.x - t.x, s.y - t.y)); } else c.forEach(walk); };
        walk(f.geometry.coordinates);
      }
      return { d, moved: Math.hypot(t.x - q.x, t.y - q.y) };
    });
  }, candidates);
  const pick = candidates.map((c, i) => ({ ...c, ...clearance[i] })).filter((c) => c.d > 20 && c.moved > 4)
    .sort((x, y) => y.moved - x.moved)[0] || candidates[0];

  // 5. A deliberately broken edit: only one grid's copy of the shared vertex moves → overlap.
  await page.evaluate(({ a, p, overlapTo }) => window.gridmap.moveVertexOf(a, p, overlapTo), pick);
  const broken = await page.evaluate(() => window.gridmap.lastReport);
  assert.equal(broken.valid, false, 'moving one copy of a shared vertex must invalidate the draft');
  assert.ok(broken.violations.some((v) => v.kind === 'overlap'), 'an overlap should be reported: ' + broken.violations.map((v) => v.kind).join(','));
  await page.waitForFunction(() => [...document.querySelectorAll('#violations li[data-kind="overlap"]')].some((li) => /重叠/.test(li.textContent)), null, { timeout: 10000 });
  assert.equal(await page.isDisabled('#commit'), true, 'commit must be disabled while the draft is invalid');

  // 6. Undo with the keyboard: the draft is valid again.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => window.gridmap.state().undo === 0 && window.gridmap.state().pending === 0 && window.gridmap.lastReport.valid, null, { timeout: 60000 });
  const restored = (await page.evaluate(() => window.gridmap.cells())).features.find((f) => f.properties.code === pick.a);
  assert.ok(hasVertex(restored.geometry, pick.p), 'undo should put the vertex back');
  assert.equal(await page.locator('#violations li[data-kind]').count(), 0, 'the overlap should be gone from the panel');

  // 7. A proper shared move: both grids follow, coverage stays exact.
  const moved = await page.evaluate(({ p, validTo }) => window.gridmap.moveVertex(p, validTo), pick);
  assert.deepEqual(moved.codes.slice().sort(), [pick.a, pick.b].sort(), 'both grids holding the vertex should move');
  const good = await page.evaluate(() => window.gridmap.lastReport);
  assert.equal(good.valid, true, 'the shared move should stay valid: ' + JSON.stringify(good.violations).slice(0, 800));
  const after = (await page.evaluate(() => window.gridmap.cells())).features;
  for (const code of [pick.a, pick.b]) {
    const f = after.find((x) => x.properties.code === code);
    assert.ok(hasVertex(f.geometry, moved.to) && !hasVertex(f.geometry, pick.p), `${code} should hold the moved vertex`);
  }
  const draft = await api(`/api/v1/drafts/${await page.evaluate(() => window.gridmap.draftId)}`);
  assert.equal(draft.status, 200);
  assert.deepEqual(draft.body.changes.filter((c) => !c.deleted).map((c) => c.code).sort(), [pick.a, pick.b].sort(), 'the draft should hold the two changed grids');

  // 8. Commit with a message; the new revision shows on the page and in /api/v1/revisions.
  const message = `plan test: 调整${pick.a.slice(-3)}与${pick.b.slice(-3)}网格界线`;
  await page.fill('#commit-message', message);
  await page.waitForFunction(() => !document.getElementById('commit').disabled, null, { timeout: 10000 });
  await page.click('#commit');
  await page.waitForFunction(() => /已提交修订 \d+/.test(document.getElementById('commit-result').textContent), null, { timeout: 60000 });
  const number = Number(/已提交修订 (\d+)/.exec(await page.textContent('#commit-result'))[1]);
  assert.ok(number > revisionBefore, `revision ${number} should follow ${revisionBefore}`);
  await page.waitForFunction((n) => document.getElementById('revision').textContent.includes(`第 ${n} 版`), number, { timeout: 20000 });
  await page.waitForFunction((n) => document.querySelector(`#revisions li[data-number="${n}"]`), number, { timeout: 20000 });
  const revisions = await api('/api/v1/revisions');
  assert.equal(revisions.status, 200);
  const listed = revisions.body.revisions.find((r) => r.number === number);
  assert.ok(listed, `revision ${number} missing from /api/v1/revisions`);
  assert.equal(listed.message, message);
  assert.equal((await api('/api/v1/revision')).body.number, number);
  const published = (await api(`/api/v1/cells?parent=${village}`)).body.features.find((f) => f.properties.code === pick.a);
  assert.ok(hasVertex(published.geometry, moved.to), 'the committed geometry should be published');
  await page.waitForFunction((a) => window.gridmap.cells().features.some((f) => f.properties.code === a), pick.a, { timeout: 20000 });

  // 9. Nothing left localhost, nothing broke the CSP, no page errors.
  await csp.assertNone();
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  assert.deepEqual(pageErrors.map(String), [], 'page errors');

  if (shot) writeFileSync(shot, await page.screenshot());
  console.log(`plan page: ok (CSP clean; village ${village}, vertex ${pick.p.join(',')} of ${pick.a}/${pick.b}: overlap → undo → valid move; committed revision ${number}; ${requests.length} requests, all local)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode != null ? r() : server.on('exit', r)));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
