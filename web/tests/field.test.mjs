// Browser test of the grid workers' phone app (/field, 网格通) in real headless Chromium (Debian
// `chromium`, driven by playwright-core), as a phone: 390×844, touch, geolocation granted. Starts
// its own `gridmap serve` with the demo, pairs the phone with a code from `gridmap user pair`,
// and checks: the manifest and its icons; the page runs under its CSP with the security headers;
// the service worker takes control and holds every file the page loaded; a patrol walked along
// scripted GPS fixes, stopped offline, a visit and a report with a photo made offline all wait in
// the outbox (#pending ≥ 3); a reload offline still shows the app (from the service worker);
// back online everything syncs (pending 0, nothing rejected); the server has exactly one patrol
// (in the grid walked) and one incident with the description typed; sending the same actions
// again gives `duplicate` for every one and changes no count. Last, the leader's page
// (/field/team) shows the compliance table under its CSP.
// Run: node web/tests/field.test.mjs [--screenshot out.png]   (make test runs it)
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(root, 'web');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;
const WORKER = '测试网格员';
const DESCRIPTION = `网格通测试：楼道堆放杂物堵塞消防通道 ${Date.now()}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `check` (async) until it holds, or fails with `what` after `ms`. */
async function until(check, what, ms = 15000) {
  for (const t = Date.now(); !(await check());) {
    if (Date.now() - t > ms) throw new Error('timed out waiting: ' + what);
    await sleep(200);
  }
}
const chinaDay = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());

// ------------------------------------------------------------------ static: the shell is complete
// The service worker must precache every module the page imports, or the app cannot start
// offline: read the import graph from the files and the SHELL list from field-sw.js.
{
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)) walk(resolve(dirname(file), m[1]));
  };
  walk(join(web, 'field.js'));
  const sw = readFileSync(join(web, 'field-sw.js'), 'utf8');
  const shell = sw.slice(sw.indexOf('const SHELL = ['), sw.indexOf('];', sw.indexOf('const SHELL = [')));
  const missing = [...seen].map((f) => '/web/' + relative(web, f)).filter((u) => !shell.includes(`'${u}'`));
  assert.deepEqual(missing, [], 'field-sw.js SHELL lacks modules the page imports');
  for (const u of ['/field', '/web/field.css', '/vendor/maplibre-gl/maplibre-gl.js', '/vendor/maplibre-gl/maplibre-gl.css', '/styles/public.json']) {
    assert.ok(shell.includes(`'${u}'`), `field-sw.js SHELL lacks ${u}`);
  }
  console.log(`field: ok (the service worker's shell lists all ${seen.size} modules of the page)`);
}

// ------------------------------------------------------------------ a tiny PNG for the photo
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = y * (width * 3 + 1) + 1 + x * 3;
    raw[i] = 200; raw[i + 1] = (x * 4) & 255; raw[i + 2] = (y * 4) & 255;
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// ------------------------------------------------------------------ the demo: a grid and a walk
const [header, ...rows] = readFileSync(join(root, 'data', 'demo', 'buildings.csv'), 'utf8').trim().split('\n');
const cols = header.split(',');
const col = (name) => cols.indexOf(name);
const cellCol = col('cell') >= 0 ? col('cell') : col('cell_code');
assert.ok(cellCol >= 0, `buildings.csv has a cell column: ${header}`);
const buildings = rows.map((r) => r.split(',')).map((f) => ({ lon: Number(f[col('lon')]), lat: Number(f[col('lat')]), cell: f[cellCol] }));
const grid = buildings[123].cell;
const mine = buildings.filter((b) => b.cell === grid);
const metres = (a, b) => Math.hypot((b.lon - a.lon) * 111320 * Math.cos((a.lat * Math.PI) / 180), (b.lat - a.lat) * 110540);
// Start at the building nearest the middle of the grid's buildings (well inside the grid), walk
// towards its nearest neighbour at least 20 m away.
const mid = { lon: mine.reduce((s, b) => s + b.lon, 0) / mine.length, lat: mine.reduce((s, b) => s + b.lat, 0) / mine.length };
const from = mine.reduce((a, b) => (metres(b, mid) < metres(a, mid) ? b : a));
const to = mine.filter((b) => metres(from, b) >= 20).reduce((a, b) => (metres(from, b) < metres(from, a) ? b : a));

// ------------------------------------------------------------------ the server
const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-field-'));
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), GRIDMAP_WEB_DIR: web };
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
const lastLine = (args) => execFileSync(binary, ['--data-dir', dataDir, ...args], { cwd: root, env }).toString().trim().split('\n').pop().trim();
const admin = lastLine(['user', 'add', 'admin-t', '--role', 'admin']);
const code = lastLine(['user', 'pair', WORKER, '--cells', grid]);
assert.match(code, /^\d{8}$/, `gridmap user pair prints an 8-digit code on its last line: ${code}`);

async function api(path, token, init = {}) {
  const r = await fetch(origin + path, { ...init, headers: { Authorization: token.startsWith('Bearer ') ? token : `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers || {}) } });
  const text = await r.text();
  assert.ok(r.ok, `${init.method || 'GET'} ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

let browser;
let failed = false;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    permissions: ['geolocation'], geolocation: { longitude: from.lon, latitude: from.lat, accuracy: 10 },
    locale: 'zh-CN', timezoneId: 'Asia/Shanghai', serviceWorkers: 'allow',
  });
  const page = await context.newPage();
  const requests = [];
  const syncs = []; // the bodies and Authorization of every POST /api/v1/field/sync
  page.on('request', (r) => {
    requests.push(r.url());
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/field/sync') syncs.push({ body: r.postData(), auth: r.headers().authorization });
  });
  page.on('pageerror', (e) => { console.error('page error:', e); failed = true; });
  page.on('response', (r) => { if (r.status() >= 400) console.error('HTTP', r.status(), r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
  const csp = await watchCsp(page);
  const pending = () => page.evaluate(() => window.field.pending());
  const pendingShown = async () => Number((/(\d+)/.exec(await page.textContent('#pending')) || [])[1]);
  const ready = () => page.waitForFunction(() => window.field && window.field.ready, null, { timeout: 30000 });

  // ---------------------------------------------------------------- the page, the manifest
  assertSecurityHeaders(await page.goto(origin + '/field'), { frameAncestorsNone: true });
  await ready();
  const href = await page.getAttribute('link[rel="manifest"]', 'href');
  assert.ok(href, 'field.html links a manifest');
  assert.ok(await page.getAttribute('meta[name="theme-color"]', 'content'), 'a theme-color');
  assert.ok(await page.getAttribute('link[rel="apple-touch-icon"]', 'href'), 'an apple-touch-icon');
  assert.match(await page.getAttribute('meta[name="viewport"]', 'content'), /width=device-width/);
  const manifestResponse = await fetch(new URL(href, origin));
  assert.equal(manifestResponse.status, 200, 'the manifest is served');
  const manifest = JSON.parse(await manifestResponse.text());
  assert.equal(manifest.name, '网格通');
  assert.equal(manifest.start_url, '/field');
  assert.equal(manifest.scope, '/field');
  assert.equal(manifest.display, 'standalone');
  const sizes = new Set(manifest.icons.map((i) => i.sizes));
  assert.ok(sizes.has('192x192') && sizes.has('512x512'), 'icons of 192 and 512 px');
  assert.ok(manifest.icons.some((i) => (i.purpose || '').includes('maskable')), 'a maskable icon');
  for (const icon of manifest.icons) {
    const r = await fetch(new URL(icon.src, new URL(href, origin)));
    assert.equal(r.status, 200, `icon ${icon.src}`);
    assert.equal((r.headers.get('content-type') || '').split(';')[0], 'image/png', `icon ${icon.src} is image/png`);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG', `icon ${icon.src} is a PNG`);
    assert.equal(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`, icon.sizes, `icon ${icon.src} is ${icon.sizes}`);
  }
  console.log(`field: ok (manifest ${manifest.name}, ${manifest.icons.length} icons, PNG of the sizes it says)`);

  // The service worker runs under the CSP of its own script's response: the data policy
  // (default-src 'none') would block every fetch it makes, so it could never install.
  const swScript = await fetch(origin + '/field-sw.js');
  assert.equal(swScript.status, 200, '/field-sw.js is served');
  assert.match(swScript.headers.get('content-type') || '', /javascript/, '/field-sw.js is JavaScript');
  const swPolicy = Object.fromEntries((swScript.headers.get('content-security-policy') || '').split(';')
    .map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k.toLowerCase(), v]));
  const swConnect = swPolicy['connect-src'] || swPolicy['default-src'];
  assert.ok(!swConnect || swConnect.includes("'self'"),
    `/field-sw.js is served with CSP "${swScript.headers.get('content-security-policy')}": a service worker is bound by its script's policy, which must allow connect-src 'self'`);

  // ---------------------------------------------------------------- pairing
  await page.waitForSelector('#code', { state: 'visible' });
  assert.ok((await page.inputValue('#device')).length > 0, 'the device name is prefilled');
  assert.equal(await page.getAttribute('#code', 'inputmode'), 'numeric');
  await page.fill('#code', '00000000');
  await page.click('#pair');
  await page.waitForFunction(() => document.getElementById('pair-error').textContent.trim().length > 0, null, { timeout: 10000 });
  const wrong = await page.textContent('#pair-error');
  await page.fill('#code', code);
  await page.click('#pair');
  await page.waitForSelector('#app', { state: 'visible', timeout: 15000 }).catch(async (e) => { console.error('pairing:', await page.textContent('#pair-error')); throw e; });
  console.log(`field: ok (a wrong code is refused with "${wrong.trim()}"; the right one pairs)`);

  // ---------------------------------------------------------------- the service worker
  const controlled = () => page.waitForFunction(() => !!(navigator.serviceWorker && navigator.serviceWorker.controller), null, { timeout: 20000 });
  await controlled().catch(async () => { await page.reload(); await ready(); await controlled(); });
  await page.waitForFunction(() => window.field.today() !== null, null, { timeout: 20000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#visit-household option')].some((o) => o.value), null, { timeout: 20000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#report-group option')].some((o) => o.value), null, { timeout: 20000 });
  const uncached = await page.evaluate(async () => {
    const paths = performance.getEntriesByType('resource').map((e) => new URL(e.name))
      .filter((u) => u.origin === location.origin && (u.pathname.startsWith('/web/') || u.pathname.startsWith('/vendor/')))
      .map((u) => u.pathname);
    const out = [];
    for (const p of new Set(paths)) if (!(await caches.match(p))) out.push(p);
    return out;
  });
  assert.deepEqual(uncached, [], 'files the page loaded are not in the service worker cache');
  const today = await page.evaluate(() => window.field.today());
  assert.ok(today.grids.some((g) => g.code === grid), `today lists the grid ${grid}: ${JSON.stringify(today.grids)}`);
  assert.match(await page.textContent('#patrol-days'), /本周巡查 \d+\/\d+ 天/);
  console.log(`field: ok (service worker in control, app shell cached; today: ${today.grids.length} grid(s), ${today.due_visits.length} due visit(s))`);

  // ---------------------------------------------------------------- a patrol
  await page.click('nav.tabs [data-tab="patrol"]');
  await page.click('#patrol-start');
  await page.waitForFunction(() => window.field.patrol() !== null, null, { timeout: 5000 });
  const walk = metres(from, to);
  const started = Date.now();
  const step = async () => {
    await sleep(300);
    const f = Math.min(1, (1.4 * (Date.now() - started)) / 1000 / walk); // 1.4 m/s along the way
    await context.setGeolocation({ longitude: from.lon + (to.lon - from.lon) * f, latitude: from.lat + (to.lat - from.lat) * f, accuracy: 10 });
  };
  for (let i = 1; i <= 8; i++) await step();
  // The patrol in progress survives a reload: same patrol, no point lost, the watch resumes.
  await page.waitForFunction(() => window.field.patrol().count >= 5, null, { timeout: 10000 });
  const beforeReload = await page.evaluate(() => window.field.patrol());
  await page.reload();
  await ready();
  const afterReload = await page.evaluate(() => window.field.patrol());
  assert.ok(afterReload && afterReload.id === beforeReload.id, `the patrol survives a reload: ${JSON.stringify([beforeReload, afterReload])}`);
  assert.ok(afterReload.count >= beforeReload.count, 'no point lost in the reload');
  for (let i = 1; i <= 10; i++) await step();
  await page.waitForFunction(() => window.field.patrol().count >= 10, null, { timeout: 10000 })
    .catch(async (e) => { console.error('patrol:', await page.evaluate(() => window.field.patrol())); throw e; });
  const points = (await page.evaluate(() => window.field.patrol())).count;
  assert.ok(Number(await page.textContent('#patrol-points')) >= 10, 'the points are counted on screen');
  assert.match(await page.textContent('#patrol-elapsed'), /^\d+:\d\d:\d\d$/);
  // patrol.start went out while online.
  await until(async () => (await pending()) === 0, 'patrol.start is sent while online');

  // ---------------------------------------------------------------- offline: stop, visit, report
  await context.setOffline(true);
  await page.waitForFunction(() => document.getElementById('online').textContent === '离线', null, { timeout: 5000 });
  await page.click('#patrol-stop');
  await page.waitForFunction(() => window.field.patrol() === null, null, { timeout: 5000 });

  await page.click('nav.tabs [data-tab="visit"]');
  const household = await page.$eval('#visit-household', (s) => [...s.options].find((o) => o.value).value);
  await page.selectOption('#visit-household', household);
  await page.selectOption('#visit-outcome', '见面');
  await page.fill('#visit-note', '网格通测试：户主在家，无新增诉求');
  let before = await pending();
  await page.click('#visit-submit');
  await until(async () => (await pending()) > before, 'the action is queued');

  await page.click('nav.tabs [data-tab="report"]');
  const group = await page.$eval('#report-group', (s) => [...s.options].find((o) => o.value).value);
  await page.selectOption('#report-group', group);
  const category = await page.$eval('#report-category', (s) => [...s.options].find((o) => o.value).value);
  await page.selectOption('#report-category', category);
  await page.fill('#report-description', DESCRIPTION);
  await page.setInputFiles('#report-photo', { name: 'photo.png', mimeType: 'image/png', buffer: png(64, 48) });
  await page.waitForSelector('#report-photos img', { timeout: 10000 });
  before = await pending();
  await page.click('#report-submit');
  await until(async () => (await pending()) > before, 'the action is queued');

  const offline = await pending();
  assert.ok(offline >= 3, `at least 3 actions wait offline: ${offline}`);
  assert.equal(await pendingShown(), offline, '#pending shows the number waiting');
  const queued = await page.evaluate(() => window.field.outbox());
  const kinds = queued.map((a) => a.kind);
  for (const k of ['patrol.end', 'visit', 'incident']) assert.ok(kinds.includes(k), `${k} is queued: ${kinds}`);
  const report = queued.find((a) => a.kind === 'incident');
  assert.equal(report.description, DESCRIPTION);
  assert.equal(report.crs, 'wgs84');
  assert.equal(report.category, category);
  assert.equal(report.photos.length, 1);
  assert.match(report.photos[0], /^data:image\/jpeg;base64,/, 'the photo is re-encoded as JPEG');
  const visit = queued.find((a) => a.kind === 'visit');
  assert.equal(String(visit.household), household);
  assert.ok(Array.isArray(visit.position) && visit.position.length === 3, `the visit has the phone's position: ${visit.position}`);
  for (const a of queued) {
    assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `a UUID id: ${a.id}`);
    assert.match(a.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/, `at is RFC 3339 with an offset: ${a.at}`);
  }
  if (shot) await page.screenshot({ path: shot.replace(/\.png$/, '-report.png') });

  // A reload offline: the service worker serves the app, the outbox is still there.
  const reloaded = await page.reload();
  assert.ok(reloaded && reloaded.fromServiceWorker(), 'the page came from the service worker offline');
  await ready();
  assert.ok(await page.isVisible('#app'), 'the app shell shows offline');
  assert.equal(await pending(), offline, 'the outbox survives the reload');
  assert.equal(await pendingShown(), offline);
  assert.equal(await page.textContent('#online'), '离线');
  console.log(`field: ok (patrol of ${points} points; ${offline} actions queued offline; a reload offline shows the app from the service worker)`);

  // ---------------------------------------------------------------- back online: sync
  await context.setOffline(false);
  await page.evaluate(() => window.field.syncNow());
  await until(async () => {
    if ((await pending()) === 0) return true;
    await page.evaluate(() => window.field.syncNow());
    return (await pending()) === 0;
  }, 'the outbox to empty', 30000).catch(async (e) => { console.error('sync status:', await page.evaluate(() => window.field.status())); throw e; });
  const rejected = await page.evaluate(() => window.field.rejected());
  assert.deepEqual(rejected, [], 'the server rejected actions');
  assert.equal(await pending(), 0, 'everything is synced');
  await page.waitForFunction(() => /待同步 0/.test(document.getElementById('pending').textContent), null, { timeout: 5000 });
  if (shot) await page.screenshot({ path: shot });

  // ---------------------------------------------------------------- what the server has
  const day = chinaDay();
  const patrolsNow = async () => (await api(`/api/v1/patrols?worker=${encodeURIComponent(WORKER)}&from=${day}&to=${day}`, admin)).patrols;
  const incidentsNow = async () => (await api('/api/v1/incidents?hours=1', admin)).incidents.filter((i) => i.description === DESCRIPTION);
  const patrols = await patrolsNow();
  assert.equal(patrols.length, 1, `exactly one patrol: ${JSON.stringify(patrols)}`);
  assert.ok(patrols[0].grids.length > 0, 'the patrol entered a grid');
  assert.ok(patrols[0].grids.some((g) => g.code === grid), `the patrol is in the grid walked (${grid}): ${JSON.stringify(patrols[0].grids)}`);
  const incidents = await incidentsNow();
  assert.equal(incidents.length, 1, 'exactly one incident with the description typed');

  const sent = new Map();
  for (const s of syncs) for (const a of JSON.parse(s.body).actions) if (!sent.has(a.id)) sent.set(a.id, a);
  const actions = [...sent.values()];
  const auth = syncs[0].auth;
  assert.ok(auth && auth.startsWith('Bearer '), 'the sync carries the device token');
  for (const k of ['patrol.start', 'patrol.points', 'patrol.end', 'visit', 'incident']) assert.ok(actions.some((a) => a.kind === k), `${k} was sent`);
  const sentPoints = actions.filter((a) => a.kind === 'patrol.points').reduce((n, a) => n + a.points.length, 0);
  assert.equal(sentPoints, points, 'every point recorded was sent');
  const dayBefore = await api(`/api/v1/field/day?date=${day}`, auth);
  assert.ok(dayBefore.visits >= 1, `the day counts the visit: ${JSON.stringify(dayBefore)}`);

  // The same actions again: every one a duplicate, nothing changes.
  const again = await api('/api/v1/field/sync', auth, { method: 'POST', body: JSON.stringify({ actions }) });
  assert.equal(again.results.length, actions.length, 'one result per action');
  again.results.forEach((r, i) => {
    assert.equal(r.id, actions[i].id, 'results in input order');
    assert.equal(r.status, 'duplicate', `resent ${actions[i].kind} ${r.id}: ${JSON.stringify(r)}`);
  });
  const patrolsAfter = await patrolsNow();
  assert.equal(patrolsAfter.length, 1, 'still one patrol');
  assert.equal(patrolsAfter[0].id, patrols[0].id);
  assert.equal((await incidentsNow()).length, 1, 'still one incident');
  assert.equal((await api(`/api/v1/field/day?date=${day}`, auth)).visits, dayBefore.visits, 'the visits are not counted twice');
  console.log(`field: ok (synced: 1 patrol in ${patrols[0].grids.map((g) => g.code).join(', ')}, 1 incident; ${actions.length} actions resent, all duplicate, counts unchanged)`);

  // ---------------------------------------------------------------- the leader's page
  await page.evaluate(() => localStorage.removeItem('gridmap.field.token'));
  assertSecurityHeaders(await page.goto(origin + '/field/team'), { frameAncestorsNone: true });
  await page.waitForFunction(() => window.team && window.team.ready, null, { timeout: 15000 });
  await page.fill('#token', admin);
  const compliance = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/compliance', { timeout: 15000 });
  await page.click('#token-submit');
  assert.equal((await compliance).status(), 200, 'the compliance report loads');
  await page.waitForFunction(() => window.team.answer() !== null, null, { timeout: 10000 });
  const teamRows = await page.evaluate(() => window.team.answer().rows.length);
  assert.equal(await page.locator('#compliance tbody tr').count(), teamRows, 'one table row per worker');
  if (shot) await page.screenshot({ path: shot.replace(/\.png$/, '-team.png') });
  console.log(`field: ok (/field/team shows the compliance of ${teamRows} worker(s))`);

  // A pairing QR code for the worker's next phone, issued from the team page; opening its link
  // fills the code in on /field.
  await page.evaluate((w) => window.team.showWorker(w), WORKER);
  const issued = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/devices/pairings', { timeout: 10000 });
  await page.click('#pairing-issue');
  const pairing = await (await issued).json();
  await page.waitForFunction(() => !document.getElementById('pairing-out').hidden && document.getElementById('pairing-qr').naturalWidth >= 240, null, { timeout: 10000 });
  assert.equal(await page.textContent('#pairing-code'), pairing.code);
  assert.ok(pairing.link.endsWith(`/field#pair=${pairing.code}`), pairing.link);
  const second = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phone2 = await second.newPage();
  await phone2.goto(origin + `/field#pair=${pairing.code}`);
  await phone2.waitForFunction((c) => document.getElementById('code').value === c, pairing.code, { timeout: 15000 });
  assert.ok(!(await phone2.evaluate(() => location.hash)).includes(pairing.code), 'the code leaves the address bar');
  await second.close();
  console.log('field: ok (the team page issues a pairing QR code; its link fills the code in on a new phone)');

  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  await csp.assertNone();
  assert.ok(!failed, 'no page errors');
  console.log(`field: ok (CSP clean, ${requests.length} requests, all local)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (browser) await browser.close();
  if (server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
