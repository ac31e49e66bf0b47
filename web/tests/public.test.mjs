// Browser test of the public grid diagram in real headless Chromium (Debian `chromium`, driven by
// playwright-core). Starts its own `gridmap serve` on a fresh embedded database with the demo.
// Run: node web/tests/public.test.mjs [--screenshot out.png]   (make test runs it)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;

function csv(path) {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const keys = header.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v])));
}

const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-web-'));
const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--demo', join(root, 'data', 'demo')], {
  cwd: root, env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), GRIDMAP_WEB_DIR: join(root, 'web') },
  stdio: ['ignore', 'pipe', 'inherit'],
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
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests = [];
  const bodies = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', async (r) => { try { bodies.push((await r.body()).toString('latin1'), (await r.body()).toString('utf8')); } catch { /* redirects */ } });
  page.on('pageerror', (e) => { console.error('page error:', e); failed = true; });
  const csp = await watchCsp(page);

  // 0. The page comes with its security headers and runs under its Content-Security-Policy.
  assertSecurityHeaders(await page.goto(origin + '/'));
  await page.waitForFunction(() => window.gridmap && window.gridmap.map && window.gridmap.map.loaded() && window.gridmap.map.areTilesLoaded(), null, { timeout: 60000 });
  await page.waitForTimeout(500);

  // 1. Nothing leaves localhost.
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  assert.match(await page.title(), /网格示意图/);
  assert.match(await page.textContent('header'), /不作为权属界线依据/);

  // 2. The canvas shows the cells: many pixels in the palette's colours.
  const coloured = await page.evaluate(async () => {
    const url = window.gridmap.map.getCanvas().toDataURL('image/png');
    const img = new Image();
    await new Promise((resolve) => { img.onload = resolve; img.src = url; });
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (Math.abs(r - g) + Math.abs(g - b) > 30) n++;
    }
    return n / (data.length / (4 * 7));
  });
  assert.ok(coloured > 0.2, `only ${coloured} of the canvas is coloured by cells`);

  // 3. Clicking a grid opens its card with the right name.
  const buildings = csv(join(root, 'data', 'demo', 'buildings.csv'));
  const target = buildings.find((b) => b.cell_code === '520328004016001');
  await page.evaluate(([lon, lat]) => window.gridmap.map.jumpTo({ center: [lon, lat], zoom: 15 }), [+target.lon, +target.lat]);
  await page.waitForFunction(() => window.gridmap.map.loaded() && window.gridmap.map.areTilesLoaded(), null, { timeout: 60000 });
  await page.waitForTimeout(300);
  const point = await page.evaluate(([lon, lat]) => {
    const p = window.gridmap.map.project([lon, lat]);
    const r = window.gridmap.map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, [+target.lon, +target.lat]);
  await page.mouse.click(point.x, point.y);
  await page.waitForSelector('#card:not([hidden]) h2', { timeout: 10000 });
  assert.equal(await page.textContent('#card h2'), '义泉社区第1网格');
  assert.match(await page.textContent('#card'), /东至/);
  assert.match(await page.textContent('#card'), /网格长/);

  // Also open every grid's card once through the page, so every team has been sent.
  const grids = await page.evaluate(() => fetch('/api/v1/cells?level=3').then((r) => r.json()));
  for (const f of grids.features) await page.evaluate((code) => window.gridmap.show(code), f.properties.code);

  // 4. No unconsented staff phone, and no household data, in anything the page received.
  const everything = bodies.join('\n');
  const staff = csv(join(root, 'data', 'demo', 'staff.csv'));
  const hidden = staff.filter((s) => !s.consent_at);
  assert.ok(hidden.length > 20);
  for (const s of hidden) assert.ok(!everything.includes(s.phone), `phone of unconsented ${s.id} was sent`);
  const shown = staff.filter((s) => s.consent_at);
  assert.ok(shown.some((s) => everything.includes(s.phone)), 'consented phones should be shown');
  const households = csv(join(root, 'data', 'demo', 'households.csv')).slice(0, 500);
  for (const h of households) assert.ok(!everything.includes(h.phone), `household phone ${h.id} was sent`);

  // 5. A grid's stable address /g/{code} (the QR code on its 网格员证) opens its card.
  await page.goto(origin + '/g/520328004016002');
  await page.waitForSelector('#card:not([hidden]) h2', { timeout: 30000 });
  assert.equal(await page.textContent('#card h2'), '义泉社区第2网格');

  // 6. Nothing broke the Content-Security-Policy.
  await csp.assertNone();

  if (shot) writeFileSync(shot, await page.screenshot());
  console.log(`public page: ok (CSP clean; ${requests.length} requests, all local; ${(coloured * 100).toFixed(0)}% of the map coloured)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
