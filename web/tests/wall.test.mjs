// Browser test of the command-centre wall in real headless Chromium (Debian `chromium`, driven by
// playwright-core). Starts its own `gridmap serve` with the demo (which seeds a week of incidents),
// logs in with a command token, then reports an incident with a worker token and checks that the
// wall shows it within 1 s of the POST without reloading, that an action arrives, and that the
// KPI tile of today's reports goes up. Also: the page runs under its Content-Security-Policy and
// carries the security headers; the calendar banner is shown exactly when /health says the
// working-day calendar does not reach far enough; provisional deadlines are marked （暂定）.
// Run: node web/tests/wall.test.mjs [--screenshot out.png]   (make test runs it)
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;

const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-wall-'));
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
const token = (name, role) => execFileSync(binary, ['--data-dir', dataDir, 'user', 'add', name, '--role', role], { cwd: root, env })
  .toString().trim().split('\n').pop();
const command = token('wall-test', 'command');
const worker = token('wall-reporter', 'worker');

const [header, ...rows] = readFileSync(join(root, 'data', 'demo', 'buildings.csv'), 'utf8').trim().split('\n');
const cols = header.split(',');
const place = rows[123].split(',');
const lon = Number(place[cols.indexOf('lon')]);
const lat = Number(place[cols.indexOf('lat')]);

let browser;
let failed = false;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => { console.error('page error:', e); failed = true; });
  page.on('response', (r) => { if (r.status() >= 400) console.error('HTTP', r.status(), r.url()); });

  const csp = await watchCsp(page);

  // The page comes with its security headers (never framed) and runs under its CSP.
  assertSecurityHeaders(await page.goto(origin + '/wall'), { frameAncestorsNone: true });
  await page.fill('#token', command);
  await page.click('#login button');
  await page.waitForFunction(() => window.gridmap && window.gridmap.ready && window.gridmap.map.loaded(), null, { timeout: 60000 }).catch(async (e) => { console.error('login error:', await page.textContent('#login-error'), await page.evaluate(() => [window.gridmap?.ready, window.gridmap?.map.loaded()])); throw e; });
  await page.waitForFunction(() => document.getElementById('status').textContent === '实时', null, { timeout: 10000 });
  const before = await page.evaluate(() => ({ n: window.gridmap.incidents().length, kpis: window.gridmap.kpis() }));
  assert.ok(before.n >= 100, `the demo week of incidents is on the wall: ${before.n}`);
  assert.ok(before.kpis.open > 0, 'open incidents counted');
  // The compliance tile: the demo's workers this week, some of them behind.
  await page.waitForFunction(() => /^\d+\/\d+$/.test(document.getElementById('kpi-compliance').textContent), null, { timeout: 10000 });
  const [met, of] = (await page.textContent('#kpi-compliance')).split('/').map(Number);
  assert.ok(of >= 8 && met < of, `compliance tile ${met}/${of}: the demo's 8 workers, some behind`);
  console.log(`ok - the compliance tile shows ${met}/${of} workers meeting every duty`);
  assert.match(await page.textContent('#overdue'), /网格/, 'overdue incidents are listed with their grid');

  // The calendar banner agrees with /health, whatever today's date: shown iff calendar.ok is false.
  const health = await fetch(origin + '/health').then((r) => r.json());
  assert.ok(health.calendar && typeof health.calendar.ok === 'boolean', '/health reports the calendar: ' + JSON.stringify(health));
  await page.waitForFunction(() => window.gridmap.calendarChecked, null, { timeout: 10000 });
  assert.equal(await page.locator('#calendar-warning').count(), 1, 'the wall has the calendar banner');
  const bannerShown = await page.isVisible('#calendar-warning');
  assert.equal(bannerShown, health.calendar.ok === false,
    `calendar banner ${bannerShown ? 'shown' : 'hidden'} but /health says ${JSON.stringify(health.calendar)}`);
  if (bannerShown && health.calendar.covered_until) {
    assert.ok((await page.textContent('#calendar-warning')).includes(health.calendar.covered_until), 'the banner names the end of the calendar');
  }
  // Every listed deadline is marked provisional exactly when its incident says so.
  const marks = await page.evaluate(() => [...document.querySelectorAll('#overdue li[data-id]')].map((li) => {
    const i = window.gridmap.incidents().find((x) => String(x.id) === li.dataset.id);
    return { id: li.dataset.id, known: !!i, provisional: !!(i && i.provisional), marked: li.textContent.includes('（暂定）') };
  }));
  assert.ok(marks.length > 0, 'overdue items carry their incident id');
  for (const m of marks) {
    assert.ok(m.known, `overdue item ${m.id} is an incident on the wall`);
    assert.equal(m.marked, m.provisional, `incident ${m.id}: provisional ${m.provisional}, marked （暂定） ${m.marked}`);
  }

  // A report arrives without reloading, within a second of the POST.
  const posted = Date.now();
  const response = await fetch(origin + '/api/v1/incidents', {
    method: 'POST',
    headers: { Authorization: `Bearer ${worker}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ category: '安全隐患/消防隐患', description: '大屏测试：楼道电动车充电', lon, lat, crs: 'cgcs2000', source: '网格员巡查', severity: 3 }),
  });
  assert.equal(response.status, 201);
  const { incident } = await response.json();
  await page.waitForFunction((id) => window.gridmap.incidents().some((i) => i.id === id), incident.id, { timeout: 5000 });
  const seenAfter = Date.now() - posted;
  assert.ok(seenAfter < 1000, `shown ${seenAfter} ms after the POST`);
  assert.match(await page.textContent('#ticker'), /新上报 · 安全隐患\/消防隐患/);

  // An action arrives too.
  await fetch(`${origin}/api/v1/incidents/${incident.id}/actions`, {
    method: 'POST', headers: { Authorization: `Bearer ${command}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ action: '受理' }),
  });
  await page.waitForFunction((id) => window.gridmap.incidents().find((i) => i.id === id)?.state === '受理', incident.id, { timeout: 5000 });
  await page.waitForFunction((n) => window.gridmap.kpis().today === n + 1, before.kpis.today, { timeout: 5000 });
  assert.equal(Number(await page.textContent('#kpi-today')), before.kpis.today + 1);

  // Modes switch; nothing left the server; the big screen renders too.
  await page.click('[data-mode="choropleth"]');
  assert.equal(await page.evaluate(() => window.gridmap.mode), 'choropleth');
  await page.click('[data-mode="heat"]');
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  if (shot) await page.screenshot({ path: shot });
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.waitForTimeout(500);
  const fits = await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight + 1);
  assert.ok(fits, 'the 4K layout fits the screen');
  if (shot) await page.screenshot({ path: shot.replace(/\.png$/, '-4k.png') });
  await csp.assertNone();
  assert.ok(!failed, 'no page errors');
  // The server stops on SIGTERM even with the wall still connected to its live stream.
  const stopping = Date.now();
  server.kill('SIGTERM');
  const stopped = await Promise.race([
    new Promise((r) => server.on('exit', () => r(true))),
    new Promise((r) => setTimeout(() => r(false), 15000)),
  ]);
  assert.ok(stopped, 'the server stops on SIGTERM while a wall is connected');
  console.log(`server stopped ${Date.now() - stopping} ms after SIGTERM with the wall connected`);
  console.log(`wall: ok (CSP clean; calendar banner ${bannerShown ? 'shown' : 'hidden'} as /health says; new incident shown ${seenAfter} ms after the POST; ${before.n} incidents on the wall; ${requests.length} requests, all local)`);
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
