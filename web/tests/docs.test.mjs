// Browser test of the API reference (/api/docs, web/docs.html) in real headless Chromium (Debian
// `chromium`, driven by playwright-core). Starts its own `gridmap serve` on a fresh embedded
// database with the demo, reads the OpenAPI document the server serves and checks the page shows
// every operation of it, under the page's Content-Security-Policy, with nothing fetched elsewhere.
// Run: node web/tests/docs.test.mjs [--screenshot out.png]
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shot = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-docs-'));
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
  // The document as the server serves it: every path × method is one operation to show.
  const res = await fetch(origin + '/api/v1/openapi.json');
  assert.equal(res.status, 200, 'GET /api/v1/openapi.json');
  assert.match(res.headers.get('content-type') || '', /json/);
  const doc = await res.json();
  assert.match(String(doc.openapi), /^3\.1\./, 'an OpenAPI 3.1 document');
  const expected = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const m of Object.keys(item)) if (METHODS.includes(m)) expected.push(`${m.toUpperCase()} ${path}`);
  }
  assert.ok(expected.length > 0, 'the document has no operations');
  assert.ok(doc.paths['/api/v1/locate'], 'the document does not describe /api/v1/locate');

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => { console.error('page error:', e); failed = true; });
  const csp = await watchCsp(page);

  // 0. The page comes with its security headers and renders the document.
  assertSecurityHeaders(await page.goto(origin + '/api/docs'));
  await page.waitForSelector('body[data-state=ready], body[data-state=error]', { timeout: 30000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'ready', 'the page failed: ' + (await page.textContent('#status')));
  assert.ok(requests.includes(origin + '/api/v1/openapi.json'), 'the page did not fetch /api/v1/openapi.json');
  if (doc.info && doc.info.title) assert.equal((await page.textContent('#title')).trim(), doc.info.title);

  // 1. As many operations as the document has, each once, with its method and path.
  const shown = await page.$$eval('.op', (els) => els.map((e) => `${e.dataset.method.toUpperCase()} ${e.dataset.path}`));
  assert.equal(shown.length, expected.length, `${shown.length} operations shown, the document has ${expected.length}`);
  assert.deepEqual([...shown].sort(), [...expected].sort());
  const heads = await page.$$eval('.op', (els) => els.map((e) => [e.querySelector('.method')?.textContent, e.querySelector('.path')?.textContent]));
  assert.deepEqual(heads.map(([m, p]) => `${m} ${p}`).sort(), [...expected].sort(), 'method badges and paths');

  // 2. The known public endpoint is there and visible.
  const locate = page.locator('.op[data-path="/api/v1/locate"]');
  assert.ok(await locate.count() >= 1, '/api/v1/locate is not shown');
  assert.ok(await locate.first().isVisible(), '/api/v1/locate is not visible');
  assert.equal((await locate.first().locator('.path').textContent()).trim(), '/api/v1/locate');

  // 3. The tag index: one entry per group, and every in-page link (index, schemas, schemes) lands.
  const groups = await page.locator('section.tag').count();
  assert.ok(groups >= 1);
  assert.equal(await page.locator('#tags > li').count(), groups, 'tag index entries');
  const broken = await page.$$eval('a[href^="#"]', (as) => as.filter((a) => !document.getElementById(decodeURIComponent(a.hash.slice(1)))).map((a) => a.getAttribute('href')));
  assert.deepEqual(broken, [], 'in-page links to nothing');
  const security = await page.textContent('#security');
  for (const name of Object.keys((doc.components && doc.components.securitySchemes) || {})) assert.ok(security.includes(name), `security scheme ${name} not shown`);

  // 4. The filter narrows the list, and clearing it brings every operation back.
  await page.fill('#filter', '/api/v1/locate');
  const visible = await page.$$eval('.op', (els) => els.filter((e) => e.offsetParent !== null).map((e) => [e.dataset.path, e.textContent]));
  assert.ok(visible.some(([p]) => p === '/api/v1/locate'), 'the filter hid /api/v1/locate');
  for (const [p, t] of visible) assert.ok(t.includes('/api/v1/locate'), `the filter left ${p}`);
  await page.fill('#filter', '');
  assert.equal(await page.$$eval('.op', (els) => els.filter((e) => e.offsetParent !== null).length), expected.length);

  // 5. On a phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const width = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (width[0] > width[1]) {
    const wide = await page.evaluate((w) => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > w + 1)
      .slice(0, 5).map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60)), width[1]);
    console.error('wider than the screen:', wide);
  }
  assert.ok(width[0] <= width[1], `the page is ${width[0]} px wide on a ${width[1]} px screen`);
  if (shot) writeFileSync(shot.replace(/\.png$/, '') + '-phone.png', await page.screenshot());
  await page.setViewportSize({ width: 1280, height: 900 });

  // 6. Nothing left the server, and nothing broke the Content-Security-Policy.
  const outside = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  await csp.assertNone();

  if (shot) writeFileSync(shot, await page.screenshot());
  console.log(`docs page: ok (${shown.length} operations in ${groups} groups, as in the document; CSP clean; ${requests.length} requests, all local)`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r() : server.on('exit', r)));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
