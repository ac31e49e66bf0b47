// Browser test of the public grid diagram in real headless Chromium (Debian `chromium`, driven by
// playwright-core). Starts its own `gridmap serve` on a fresh embedded database with the demo.
// Then the same site as a phone (390×844, touch, geolocation granted): the bottom sheet, the
// 我在哪个网格 button, the server-rendered card at /g/{code}, the suggestion form (居民之声) and
// its /track/{code} page, the keyboard, and axe-core on every public page (no serious or
// critical violation).
// Keeps a screenshot of the phone at target/test-artefacts/public-phone.png.
// Run: node web/tests/public.test.mjs [--screenshot out.png]   (make test runs it)
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;
const artefacts = join(root, 'target', 'test-artefacts');
const axeSource = readFileSync(join(root, 'web', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };

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

/** Resolves once the page's map is loaded, its tiles are in and it stands still. */
const mapIdle = (page) => page.waitForFunction(() => {
  const m = window.gridmap && window.gridmap.map;
  return m && m.loaded() && m.areTilesLoaded() && !m.isMoving();
}, null, { timeout: 60000 });

const area = (r) => Math.max(0, r.width) * Math.max(0, r.height);
function overlap(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}
const rect = (page, selector) => page.$eval(selector, (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; });

/**
 * axe-core on `url` in its own context with `bypassCSP` (the only way to inject axe's source under
 * the page's CSP; every other check runs under the real policy). Prints every violation; returns
 * the serious and critical ones.
 */
async function axeViolations(browser, url, contextOptions, label, prepare = async () => {}) {
  const context = await browser.newContext({ ...contextOptions, bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(url);
    if (await page.$('#map')) await mapIdle(page);
    await prepare(page);
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 6) })));
    for (const v of violations) console.log(`axe ${label}: [${v.impact}] ${v.id}: ${v.help} — ${v.nodes.join(', ')}`);
    if (!violations.length) console.log(`axe ${label}: no violations`);
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${label}: ${v.id} (${v.impact}) ${v.nodes.join(', ')}`);
  } finally {
    await context.close();
  }
}

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

  // ---- The phone ----------------------------------------------------------------------------
  const grid = '520328004016002';
  const home = buildings.find((b) => b.cell_code.slice(0, 15) === grid);
  assert.ok(home, `no building of grid ${grid} in buildings.csv`);
  // Demo coordinates are CGCS2000; WGS84 differs by centimetres, so they serve as a GPS fix.
  const fix = { longitude: +home.lon, latitude: +home.lat };
  const phoneOptions = {
    viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    geolocation: fix, permissions: ['geolocation'], locale: 'zh-CN',
  };
  const phoneContext = await browser.newContext(phoneOptions);
  const phone = await phoneContext.newPage();
  const phoneRequests = [];
  phone.on('request', (r) => phoneRequests.push(r.url()));
  phone.on('pageerror', (e) => { console.error('phone page error:', e); failed = true; });
  phone.on('dialog', (d) => { console.error('the page opened a dialog:', d.message()); failed = true; d.dismiss(); });
  const phoneCsp = await watchCsp(phone);

  // P1. On `/` the map fills the screen below the header; the sheet is collapsed to its bar.
  await phone.goto(origin + '/');
  await mapIdle(phone);
  const viewportArea = PHONE.width * PHONE.height;
  const mapBox = await rect(phone, '#map');
  const sheetBox = await rect(phone, '#panel');
  const mapVisible = area(mapBox) - overlap(mapBox, sheetBox);
  assert.ok(mapBox.width >= 300, `the map is ${mapBox.width} px wide on a phone`);
  assert.ok(mapVisible >= 0.6 * viewportArea, `the map shows ${(100 * mapVisible / viewportArea).toFixed(0)} % of the phone's screen (sheet ${JSON.stringify(sheetBox)})`);
  assert.ok(sheetBox.height <= 0.25 * PHONE.height, `the collapsed sheet is ${sheetBox.height} px tall`);
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'false');
  assert.equal(await phone.isVisible('#legend'), false, 'the collapsed sheet shows its body');
  assert.ok(await phone.isVisible('#whereami'), '我在哪个网格 is not visible on the phone');
  const whereBox = await rect(phone, '#whereami');
  assert.ok(overlap(whereBox, mapBox) === area(whereBox), '我在哪个网格 is not over the map');
  assert.ok(whereBox.height >= 44 && whereBox.width >= 44, `我在哪个网格 is ${whereBox.width}×${whereBox.height} px`);

  // The handle opens and closes the sheet (tap), and the village select still works in the header.
  await phone.tap('#sheet-handle');
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'true');
  assert.ok(await phone.isVisible('#legend'), 'the open sheet does not show the legend');
  const openBox = await rect(phone, '#panel');
  assert.ok(openBox.height >= 0.6 * PHONE.height && openBox.height <= 0.8 * PHONE.height, `the open sheet is ${openBox.height} px tall`);
  await phone.tap('#sheet-handle');
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'false');
  const zoomBefore = await phone.evaluate(() => window.gridmap.map.getZoom());
  await phone.selectOption('#village', '520328004016');
  await mapIdle(phone);
  assert.ok(await phone.evaluate(() => window.gridmap.map.getZoom()) > zoomBefore + 0.5, 'choosing a village did not zoom in');

  // P2. 我在哪个网格, refused the position, then outside every grid: a polite status each time,
  // no card, no dialog.
  await phoneContext.clearPermissions();
  await phone.tap('#whereami');
  await phone.waitForFunction(() => /定位权限/.test(document.getElementById('locate-status').textContent), null, { timeout: 10000 });
  await phoneContext.grantPermissions(['geolocation']);
  await phoneContext.setGeolocation({ longitude: 100.0, latitude: 30.0 });
  await phone.tap('#whereami');
  await phone.waitForFunction(() => /不在/.test(document.getElementById('locate-status').textContent), null, { timeout: 10000 });
  assert.equal(await phone.getAttribute('#locate-status', 'role'), 'status');
  assert.equal(await phone.isHidden('#card'), true, 'a card was shown for a position outside every grid');

  // …and at a building of the grid: its card, the sheet open, the marker on the position.
  await phoneContext.setGeolocation(fix);
  const located = phone.waitForRequest((r) => r.url().includes('/api/v1/locate?'));
  await phone.tap('#whereami');
  const locateUrl = new URL((await located).url());
  assert.equal(locateUrl.searchParams.get('crs'), 'wgs84');
  assert.ok(Math.abs(+locateUrl.searchParams.get('lon') - fix.longitude) < 1e-6 && Math.abs(+locateUrl.searchParams.get('lat') - fix.latitude) < 1e-6, `locate asked for ${locateUrl.search}`);
  await phone.waitForSelector('#card:not([hidden]) h2', { timeout: 10000 });
  assert.equal(await phone.textContent('#card h2'), '义泉社区第2网格');
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'true');
  assert.match(await phone.textContent('#locate-status'), /义泉社区第2网格/);
  await phone.waitForFunction((g) => location.pathname === `/g/${g}`, grid);
  await mapIdle(phone);
  const markerAt = await phone.evaluate(async () => {
    const m = window.gridmap.map;
    const f = ((await m.getSource('me').getData()).features || [])[0];
    if (!f) return null;
    const p = m.project(f.geometry.coordinates);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y, coordinates: f.geometry.coordinates };
  });
  assert.ok(markerAt, 'no marker at the position');
  const sheetOpen = await rect(phone, '#panel');
  assert.ok(markerAt.y > mapBox.y && markerAt.y < sheetOpen.y && markerAt.x > 0 && markerAt.x < PHONE.width,
    `the position ${JSON.stringify(markerAt)} is not in the map above the open sheet (top ${sheetOpen.y})`);

  // P3. The phone with the card, kept as an artefact.
  mkdirSync(artefacts, { recursive: true });
  writeFileSync(join(artefacts, 'public-phone.png'), await phone.screenshot());

  // P4. /g/{code} comes with the card in the HTML (no script needed), and the page fits the map.
  const linkedHtml = await (await fetch(`${origin}/g/${grid}`)).text();
  assert.ok(linkedHtml.includes('义泉社区第2网格'), '/g/{code} does not carry the card');
  assert.ok(linkedHtml.includes(`data-grid="${grid}"`), '/g/{code} does not carry data-grid');
  const noScript = await browser.newContext({ ...phoneOptions, javaScriptEnabled: false });
  const bare = await noScript.newPage();
  await bare.goto(`${origin}/g/${grid}`);
  assert.equal(await bare.textContent('#card:not([hidden]) h2'), '义泉社区第2网格');
  assert.match(await bare.title(), /义泉社区第2网格/);
  await noScript.close();

  await phone.goto(`${origin}/g/${grid}`);
  await mapIdle(phone);
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'true');
  const cell = await (await fetch(`${origin}/api/v1/cells/${grid}`)).json();
  const fitted = await phone.evaluate((geometry) => {
    const m = window.gridmap.map;
    const b = new window.maplibregl.LngLatBounds();
    const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
    walk(geometry.coordinates);
    const view = m.getBounds();
    const sheetTop = document.getElementById('panel').getBoundingClientRect().top - m.getCanvas().getBoundingClientRect().top;
    const sw = m.project(b.getSouthWest()), ne = m.project(b.getNorthEast());
    return { inView: view.contains(b.getSouthWest()) && view.contains(b.getNorthEast()), top: ne.y, bottom: sw.y, left: sw.x, right: ne.x, sheetTop, width: m.getCanvas().clientWidth };
  }, cell.geometry);
  assert.ok(fitted.inView, `the grid is not in view on /g/${grid}: ${JSON.stringify(fitted)}`);
  assert.ok(fitted.top >= -1 && fitted.bottom <= fitted.sheetTop + 1, `the grid is not above the open sheet: ${JSON.stringify(fitted)}`);
  assert.ok(fitted.bottom - fitted.top > 60 || fitted.right - fitted.left > 0.3 * fitted.width, `the grid is not fitted (too small): ${JSON.stringify(fitted)}`);

  // P7. Keyboard: Tab reaches the sheet handle, 我在哪个网格 and the form's fields; Enter on the
  // handle closes and opens the sheet.
  await phone.evaluate(() => document.activeElement && document.activeElement.blur());
  const reached = new Set();
  for (let i = 0; i < 80 && !reached.has('s-text-submit'); i++) {
    await phone.keyboard.press('Tab');
    const id = await phone.evaluate(() => {
      const a = document.activeElement;
      return a ? (a.id || (a.matches('#suggest button[type=submit]') ? 's-text-submit' : a.tagName)) : null;
    });
    reached.add(id);
  }
  for (const id of ['sheet-handle', 'whereami', 's-category', 's-text', 's-contact', 's-photo', 's-where', 's-text-submit']) {
    assert.ok(reached.has(id), `Tab does not reach #${id} (reached ${[...reached].join(', ')})`);
  }
  await phone.focus('#sheet-handle');
  await phone.keyboard.press('Enter');
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'false');
  await phone.keyboard.press('Space');
  assert.equal(await phone.getAttribute('#sheet-handle', 'aria-expanded'), 'true');

  // P5. 居民之声: an empty text is refused on the page (no request); a refusal of the server
  // names its field; a suggestion goes in and its /track page shows a state and nothing of it.
  let posted = 0;
  phone.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/public/suggestions')) posted++; });
  await phone.tap('#suggest button[type=submit]');
  assert.equal(await phone.getAttribute('#s-text', 'aria-invalid'), 'true');
  assert.ok((await phone.textContent('#suggest-result')).trim(), 'no message for an empty suggestion');
  assert.equal(posted, 0, 'an empty suggestion was sent');

  await phone.route('**/api/v1/public/suggestions', (route) => route.fulfill({
    status: 400, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'bad_field', message: '联系电话格式不对', details: { field: 'contact' } } }),
  }), { times: 1 });
  await phone.fill('#s-text', '测试');
  await phone.fill('#s-contact', '12');
  await phone.tap('#suggest button[type=submit]');
  // The page says it in Chinese for the field the server named (the API's words are English).
  await phone.waitForFunction(() => document.getElementById('suggest-result').textContent.includes('联系电话请填写数字'));
  assert.equal(await phone.getAttribute('#s-contact', 'aria-invalid'), 'true');
  await phone.unrouteAll();

  const said = `路灯坏了三盏，晚上看不清台阶（测试 ${Date.now()}）`;
  const contact = '13712345678';
  const category = await phone.$eval('#s-category', (s) => [...s.options].map((o) => o.value).filter(Boolean).pop());
  await phone.selectOption('#s-category', category);
  await phone.fill('#s-text', said);
  await phone.fill('#s-contact', contact);
  await phone.check('#s-where');
  // A photo (a 1×1 PNG) goes as a data: URL.
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
  await phone.setInputFiles('#s-photo', { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  const sent = phone.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/public/suggestions'));
  await phone.tap('#suggest button[type=submit]');
  const body = JSON.parse((await sent).postData());
  assert.equal(body.cell, grid);
  assert.equal(body.category, category);
  assert.equal(body.text, said);
  assert.equal(body.contact, contact);
  assert.equal(body.photo, 'data:image/png;base64,' + png, 'the photo sent');
  assert.ok(Math.abs(body.lon - fix.longitude) < 1e-6 && Math.abs(body.lat - fix.latitude) < 1e-6, `the position sent: ${body.lon}, ${body.lat}`);
  await phone.waitForFunction(() => /查询码\s*[A-Z0-9]{4,}/.test(document.getElementById('suggest-result').textContent), null, { timeout: 10000 });
  const tracking = /查询码\s*([A-Z0-9]+)/.exec(await phone.textContent('#suggest-result'))[1];
  const trackHref = await phone.getAttribute('#suggest-result a', 'href');
  assert.ok(trackHref && trackHref.includes(tracking), `the link ${trackHref} does not carry the code ${tracking}`);
  assert.equal(await phone.inputValue('#s-text'), '', 'the form was not reset');
  assert.equal(await phone.getAttribute('#s-contact', 'aria-invalid'), null);

  const trackUrl = new URL(trackHref, origin).href;
  assertSecurityHeaders(await phone.goto(trackUrl));
  const state = (await phone.textContent('.track .state') || '').trim();
  assert.ok(state, 'the track page shows no state');
  const trackText = await phone.textContent('body');
  assert.ok(trackText.includes(tracking), 'the track page does not show its code');
  assert.ok(!trackText.includes(said) && !trackText.includes('路灯坏了'), 'the track page shows the submitted text');
  assert.ok(!trackText.includes(contact), 'the track page shows the contact phone');
  const trackBox = await rect(phone, '.track');
  assert.ok(trackBox.width <= PHONE.width, `the track page is ${trackBox.width} px wide`);

  const phoneOutside = phoneRequests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(phoneOutside, [], 'requests left the server: ' + phoneOutside.join(', '));
  await phoneCsp.assertNone();
  await phoneContext.close();
  console.log(`public page on a phone: ok (map ${(100 * mapVisible / viewportArea).toFixed(0)} % of the screen; 我在哪个网格 → ${grid}; suggestion ${tracking} is ${state})`);

  // P6. axe-core: no serious or critical violation on the public pages.
  const desktopOptions = { viewport: { width: 1400, height: 900 }, locale: 'zh-CN' };
  const serious = [
    ...await axeViolations(browser, origin + '/', desktopOptions, 'desktop /'),
    ...await axeViolations(browser, `${origin}/g/${grid}`, desktopOptions, `desktop /g/${grid}`),
    ...await axeViolations(browser, origin + '/', phoneOptions, 'phone /'),
    ...await axeViolations(browser, `${origin}/g/${grid}`, phoneOptions, `phone /g/${grid}`),
    ...await axeViolations(browser, `${origin}/g/${grid}`, phoneOptions, `phone /g/${grid} (collapsed)`, async (p) => { await p.tap('#sheet-handle'); }),
    ...await axeViolations(browser, trackUrl, phoneOptions, 'phone /track'),
  ];
  assert.deepEqual(serious, [], 'axe-core found serious or critical violations');
  console.log('public pages: axe-core finds no serious or critical violation');
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
