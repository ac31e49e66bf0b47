// Browser test of 吹哨报到 from the departments' side: the department's task page (/dept), the
// wall's 部门 panel (/wall) and the public 准入清单 (/matters), in real headless Chromium (Debian
// `chromium`, driven by playwright-core). Starts its own `gridmap serve` with the demo (which seeds
// the departments `pcs-T`/`zhzf-T` of its townships and three approved matters), creates a command
// user and two department users (湄江街道派出所 pcs-520328004, 湄江街道综合执法中队
// zhzf-520328004) with `gridmap user add`, reports an incident by the API in a grid of township
// 520328004, 受理 and 吹哨 to both with zhzf as the lead (naming two without a lead is refused with
// field "lead"), then checks:
// - /dept on a phone (390×844, touch), one tab per department, under its CSP: the page carries
//   the security headers; the token is entered through the labelled form; the department sees its
//   own part only, listed with the category, grid and village, description, the state 待报到, its
//   报到 and 处置 deadlines in local time, 牵头/协办; the buttons are at least 44 px high.
// - 报到 (tapped) turns each part 已报到 (on the page and in the API) and the incident 处置.
// - The lead's 办结 without a result is stopped at the page (no request, the field marked); with a
//   result but before the police is done, the server refuses it (409 illegal_transition) and the
//   page shows the server's message at the part (the department codes it names explained by
//   their names), which stays 已报到 with the typed result kept.
// - The police's 办结 with a result turns its part 已办结; then the lead's 办结 goes through and the
//   incident is 反馈 (by the API), each part's result recorded.
// - /wall as command (desktop, 1920×1080): the #departments panel lists both departments' open
//   parts (办理中 1, 待报到 1, nothing to rank yet) after the 吹哨, and after the 办结 ranks both by
//   响应率 (100.0%, nothing open) — the panel as `GET /api/v1/departments/board` answers; the
//   lists of late 报到 and overdue 处置 are there; CSP clean, no console error.
// - /matters (public, no token): at least the demo's three approved matters are listed, with no
//   console error, page error or CSP violation.
// - Last: /dept, which holds a token, is never framed (frame-ancestors 'none', X-Frame-Options
//   DENY), like the other token pages. Checked at the end so that everything above is reported
//   first.
// Run: node web/tests/dept.test.mjs [--screenshot DIR]
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { watchCsp, assertSecurityHeaders } from './csp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(root, 'web');
const binary = process.env.GRIDMAP_BIN || join(root, 'target', 'debug', 'gridmap');
const shots = process.argv.includes('--screenshot') ? process.argv[process.argv.indexOf('--screenshot') + 1] : null;
if (shots) mkdirSync(shots, { recursive: true });
const shot = async (page, name) => { if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true }); };
const path = (r) => new URL(r.url()).pathname;
const TOWNSHIP = '520328004';
const PCS = `pcs-${TOWNSHIP}`;
const ZHZF = `zhzf-${TOWNSHIP}`;
const DESCRIPTION = `部门测试：夜市摊点占道经营 ${String(Date.now()).slice(-6)}`;

/** A time as the page shows it (lib/time.js's human()) in Asia/Shanghai: `12月2日 15:35`. */
function shanghai(iso) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${Number(parts.month)}月${Number(parts.day)}日 ${parts.hour}:${parts.minute}`;
}

// ------------------------------------------------------------------ the demo: a place in township 520328004
const [header, ...rows] = readFileSync(join(root, 'data', 'demo', 'buildings.csv'), 'utf8').trim().split('\n');
const cols = header.split(',');
const col = (name) => cols.indexOf(name);
const cellCol = col('cell') >= 0 ? col('cell') : col('cell_code');
const inTownship = rows.map((r) => r.split(',')).filter((f) => (f[cellCol] || '').startsWith(TOWNSHIP) && f[cellCol].length === 15);
assert.ok(inTownship.length > 0, `the demo has buildings in township ${TOWNSHIP}`);
const place = inTownship[Math.floor(inTownship.length / 2)];
const lon = Number(place[col('lon')]);
const lat = Number(place[col('lat')]);

// ------------------------------------------------------------------ the server
const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-dept-'));
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
const command = lastLine(['user', 'add', 'dept-command', '--role', 'command']);
const police = lastLine(['user', 'add', 'dept-police', '--role', 'department', '--department', PCS]);
const squad = lastLine(['user', 'add', 'dept-squad', '--role', 'department', '--department', ZHZF]);

/** The API with `token`: `{status, body}` (the parsed answer). */
async function call(token, p, { method = 'GET', body } = {}) {
  const r = await fetch(origin + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: r.status, body: parsed };
}
/** The API with `token`: the parsed answer of a 2xx, else a failed assertion. */
async function api(token, p, init) {
  const { status, body } = await call(token, p, init);
  assert.ok(status >= 200 && status < 300, `${(init && init.method) || 'GET'} ${p}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

let browser;
let failed = false;
const consoleErrors = []; // {label, text}
function watch(page, label) {
  page.on('pageerror', (e) => { console.error(`${label} page error:`, e); failed = true; });
  page.on('console', (m) => { if (m.type() === 'error') { const text = `${m.text()} (${m.location().url || 'no url'})`; consoleErrors.push({ label, text }); console.error(`${label} console:`, text); } });
  page.on('response', (r) => { if (r.status() >= 400) console.error(`${label} HTTP`, r.status(), r.request().method(), r.url()); });
}

try {
  // ================================================================ the incident, by the API
  const departments = (await api(command, '/api/v1/departments')).departments;
  const pcsName = departments.find((d) => d.code === PCS)?.name;
  const zhzfName = departments.find((d) => d.code === ZHZF)?.name;
  assert.ok(pcsName && pcsName.endsWith('派出所'), `the demo seeds ${PCS}: ${pcsName}`);
  assert.ok(zhzfName && zhzfName.endsWith('综合执法中队'), `the demo seeds ${ZHZF}: ${zhzfName}`);
  const made = await api(command, '/api/v1/incidents', { method: 'POST', body: { category: '0403', description: DESCRIPTION, lon, lat, crs: 'cgcs2000' } });
  const incident = made.incident;
  assert.ok(incident.cell && incident.cell.code.startsWith(TOWNSHIP), `the incident lies in township ${TOWNSHIP}: ${JSON.stringify(incident.cell)}`);
  await api(command, `/api/v1/incidents/${incident.id}/actions`, { method: 'POST', body: { action: '受理' } });
  const noLead = await call(command, `/api/v1/incidents/${incident.id}/dispatch`, { method: 'POST', body: { departments: [PCS, ZHZF] } });
  assert.equal(noLead.status, 400, 'two departments without a lead are refused');
  assert.equal(noLead.body.error.details.field, 'lead', 'naming the field lead');
  const dispatched = (await api(command, `/api/v1/incidents/${incident.id}/dispatch`, { method: 'POST', body: { departments: [PCS, ZHZF], lead: ZHZF } })).incident;
  const partOf = (code) => dispatched.parts.find((p) => p.department === code);
  const pcsPart = partOf(PCS);
  const zhzfPart = partOf(ZHZF);
  assert.ok(pcsPart && zhzfPart && zhzfPart.lead && !pcsPart.lead, `two parts, zhzf leading: ${JSON.stringify(dispatched.parts)}`);
  console.log(`dept: ok (incident #${incident.id} ${incident.category} in ${incident.cell.name}: 受理, 吹哨 to ${PCS} and ${ZHZF} (lead); without a lead refused on field "lead")`);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });

  // ================================================================ the wall, after the 吹哨
  const desk = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const wall = await desk.newPage();
  watch(wall, 'wall');
  const wallRequests = [];
  wall.on('request', (r) => wallRequests.push(r.url()));
  const wallCsp = await watchCsp(wall);
  assertSecurityHeaders(await wall.goto(origin + '/wall'), { frameAncestorsNone: true });
  await wall.fill('#token', command);
  const boardAnswer = wall.waitForResponse((r) => path(r) === '/api/v1/departments/board', { timeout: 30000 });
  await wall.click('#login button');
  assert.equal((await boardAnswer).status(), 200, 'the wall reads the departments board');
  await wall.waitForFunction(() => window.gridmap && window.gridmap.ready && window.gridmap.board, null, { timeout: 60000 });
  const row = (code) => wall.$$eval(`#departments #dept-rows tr[data-code="${code}"] > *`, (cells) => cells.map((c) => c.textContent.trim()));
  for (const [code, name] of [[PCS, pcsName], [ZHZF, zhzfName]]) {
    await wall.waitForSelector(`#departments #dept-rows tr[data-code="${code}"]`, { timeout: 10000 });
    // 名次, 部门, 办理中, 待报到, 响应率: nothing to rank before a 报到 is due.
    assert.deepEqual(await row(code), ['–', name, '1', '1', '—'], `${code}: 1 open part, 1 awaiting 报到`);
  }
  const panel = await wall.textContent('#departments');
  assert.match(panel, /派出所/, 'the panel lists the 派出所');
  assert.match(panel, /执法中队/, 'the panel lists the 执法中队');
  assert.match(panel, /报到超时/, 'the panel has the late 报到 list');
  assert.match(panel, /处置超期/, 'the panel has the overdue 处置 list');
  assert.match(panel, /响应率/, 'the panel has the 响应率 ranking');
  if (shots) await wall.screenshot({ path: join(shots, 'wall-departments.png') });
  console.log(`dept: ok (/wall: #departments lists ${pcsName} and ${zhzfName}, 1 open / 1 awaiting 报到 each)`);

  // ================================================================ /dept on two phones
  const phone = () => browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const pages = {};
  const requests = [];
  let deptHeaders = null;
  for (const [who, token, part, name] of [['police', police, pcsPart, pcsName], ['squad', squad, zhzfPart, zhzfName]]) {
    const ctx = await phone();
    const page = await ctx.newPage();
    watch(page, who);
    page.on('request', (r) => requests.push({ who, url: r.url(), method: r.method(), path: path(r) }));
    const csp = await watchCsp(page);
    const response = await page.goto(origin + '/dept');
    assertSecurityHeaders(response);
    deptHeaders = response.headers();
    await page.waitForFunction(() => window.dept && window.dept.ready, null, { timeout: 15000 });
    assert.ok(await page.isVisible('#login'), 'the login form is shown');
    assert.ok(await page.isHidden('#tasks'), 'no tasks before the login');
    const tokenInput = page.getByLabel('访问令牌（部门账号）');
    assert.equal(await tokenInput.count(), 1, 'the token field is labelled');
    assert.equal(await tokenInput.getAttribute('type'), 'password', 'the token is not shown');
    const submitBox = await page.locator('#token-submit').boundingBox();
    assert.ok(submitBox.height >= 44, `the login button is at least 44 px high: ${submitBox.height}`);
    await tokenInput.fill(token);
    await page.tap('#token-submit');
    await page.waitForSelector('#tasks', { state: 'visible', timeout: 15000 })
      .catch(async (e) => { console.error(`${who} login:`, await page.textContent('#token-error')); throw e; });
    await page.waitForFunction((id) => window.dept.parts().some((p) => p.id === id), part.id, { timeout: 15000 });
    const parts = await page.evaluate(() => window.dept.parts());
    assert.deepEqual([...new Set(parts.map((p) => p.department))], [part.department], `${who} sees its own parts only`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('gridmap.dept.token')), token, 'the token is kept for the tab');
    const li = `#parts li[data-part="${part.id}"]`;
    assert.equal(await page.getAttribute(li, 'data-state'), '待报到');
    const text = await page.textContent(li);
    for (const want of [incident.category, incident.cell.name, incident.village.name, DESCRIPTION, '待报到', part.lead ? '牵头' : '协办',
      shanghai(part.report_due), shanghai(part.deadline_at)]) {
      assert.ok(text.includes(want), `${who}: the part shows ${want}: ${text}`);
    }
    assert.ok(!text.includes(part.lead ? '协办' : '牵头'), `${who}: one role only`);
    assert.ok((await page.textContent('#who')).includes(name), `${who}: the department is named in the header`);
    const report = page.locator(`${li} button[data-action="report"]`);
    assert.equal(await report.count(), 1, `${who}: 报到 is offered while 待报到`);
    assert.equal(await page.locator(`${li} button[data-action="done"]`).count(), 0, `${who}: no 办结 before 报到`);
    const box = await report.boundingBox();
    assert.ok(box.height >= 44 && box.width >= 44, `${who}: 报到 is a touch target of at least 44 px: ${JSON.stringify(box)}`);
    const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(fits, `${who}: no sideways scrolling at 390 px`);
    await shot(page, `dept-${who}-list`);
    pages[who] = { ctx, page, csp, part, li };
  }
  console.log(`dept: ok (/dept at 390×844: each department logs in and sees its own part 待报到 with category, grid, village, description, deadlines in local time and 牵头/协办)`);

  // ---------------------------------------------------------------- 报到
  for (const who of ['police', 'squad']) {
    const { page, part, li } = pages[who];
    const answer = page.waitForResponse((r) => path(r) === `/api/v1/parts/${part.id}/report`, { timeout: 10000 });
    await page.tap(`${li} button[data-action="report"]`);
    assert.equal((await answer).status(), 200, `${who}: 报到 goes through`);
    await page.waitForFunction((id) => window.dept.parts().find((p) => p.id === id)?.state === '已报到', part.id, { timeout: 10000 });
    await page.waitForSelector(`${li}[data-state="已报到"]`, { timeout: 5000 });
    assert.ok((await page.textContent(li)).includes('已报到'), `${who}: the part shows 已报到`);
    assert.equal(await page.locator(`${li} button[data-action="report"]`).count(), 0, `${who}: 报到 is gone`);
    const done = page.locator(`${li} button[data-action="done"]`);
    assert.equal(await done.count(), 1, `${who}: 办结 is offered once 已报到`);
    assert.ok((await done.boundingBox()).height >= 44, `${who}: 办结 is at least 44 px high`);
    const area = page.getByLabel('办结结果（必填）');
    assert.equal(await area.count(), 1, `${who}: the result field is labelled`);
    assert.equal(await area.getAttribute('required'), '', `${who}: and required`);
    assert.match(await page.textContent('#notice'), /已报到/, `${who}: the step is confirmed`);
  }
  const afterReport = (await api(command, `/api/v1/incidents/${incident.id}`)).incident;
  assert.equal(afterReport.state, '处置', 'the 报到 starts 处置');
  assert.ok(afterReport.parts.every((p) => p.state === '已报到' && p.reported_at), `both parts 已报到 in the API: ${JSON.stringify(afterReport.parts.map((p) => p.state))}`);
  await shot(pages.squad.page, 'dept-squad-reported');
  console.log('dept: ok (报到 tapped on both phones: the parts are 已报到 on the page and in the API, the incident 处置)');

  // ---------------------------------------------------------------- the lead too early
  {
    const { page, part, li } = pages.squad;
    const area = `${li} textarea[name="result"]`;
    const sentBefore = requests.filter((r) => r.path === `/api/v1/parts/${part.id}/done`).length;
    await page.tap(`${li} button[data-action="done"]`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('aria-invalid') === 'true', area, { timeout: 5000 });
    assert.match(await page.textContent(`#part-${part.id}-error`), /请填写办结结果/, 'an empty result is stopped at the page');
    assert.equal(requests.filter((r) => r.path === `/api/v1/parts/${part.id}/done`).length, sentBefore, 'without a request');
    const RESULT = '已联合派出所现场劝离，占道摊点全部清理';
    await page.fill(area, RESULT);
    const answer = page.waitForResponse((r) => path(r) === `/api/v1/parts/${part.id}/done`, { timeout: 10000 });
    await page.tap(`${li} button[data-action="done"]`);
    const refused = await answer;
    assert.equal(refused.status(), 409, 'the lead cannot finish before the others');
    const { error } = await refused.json();
    assert.equal(error.code, 'illegal_transition');
    assert.deepEqual(JSON.parse(refused.request().postData()), { result: RESULT }, 'the result is sent');
    await page.waitForFunction((id) => document.getElementById(`part-${id}-error`)?.textContent.trim().length > 0, part.id, { timeout: 5000 });
    const shown = await page.textContent(`#part-${part.id}-error`);
    assert.ok(shown.includes(error.message), `the page shows the server's refusal "${error.message}": ${shown}`);
    assert.ok(shown.includes(pcsName), `the department named by its code is named in words too: ${shown}`);
    assert.equal(await page.getAttribute(li, 'data-state'), '已报到', 'the part stays 已报到');
    assert.equal(await page.inputValue(area), RESULT, 'the result typed is kept');
    await shot(page, 'dept-squad-refused');
    console.log(`dept: ok (the lead's 办结 without a result is stopped at the page; before the police is done the server refuses it and the page says: "${error.message}")`);
  }

  // ---------------------------------------------------------------- the police, then the lead
  {
    const { page, part, li } = pages.police;
    await page.fill(`${li} textarea[name="result"]`, '已到场维持秩序，劝离摊贩 3 名');
    const answer = page.waitForResponse((r) => path(r) === `/api/v1/parts/${part.id}/done`, { timeout: 10000 });
    await page.tap(`${li} button[data-action="done"]`);
    assert.equal((await answer).status(), 200, 'the police finish its part');
    await page.waitForFunction((id) => window.dept.parts().find((p) => p.id === id)?.state === '已办结', part.id, { timeout: 10000 });
    const doneLi = `#done-parts li[data-part="${part.id}"]`;
    await page.waitForSelector(`${doneLi}[data-state="已办结"]`, { state: 'attached', timeout: 5000 });
    assert.equal(await page.locator(`#parts li[data-part="${part.id}"]`).count(), 0, 'no longer among the open tasks');
    assert.ok(await page.isVisible('#empty'), 'nothing left to do');
    assert.match(await page.textContent(doneLi), /劝离摊贩 3 名/, 'the result is shown with the finished part');
    await shot(page, 'dept-police-done');
  }
  {
    const { page, part, li } = pages.squad;
    assert.ok((await page.inputValue(`${li} textarea[name="result"]`)).length > 0, 'the lead\'s result is still there');
    const answer = page.waitForResponse((r) => path(r) === `/api/v1/parts/${part.id}/done`, { timeout: 10000 });
    await page.tap(`${li} button[data-action="done"]`);
    assert.equal((await answer).status(), 200, 'the lead finishes once the police is done');
    await page.waitForFunction((id) => window.dept.parts().find((p) => p.id === id)?.state === '已办结', part.id, { timeout: 10000 });
    assert.equal((await page.textContent(`#part-${part.id}-error`)).trim(), '', 'the refusal is gone');
    assert.match(await page.textContent('#notice'), /已办结/);
  }
  const final = (await api(command, `/api/v1/incidents/${incident.id}`)).incident;
  assert.equal(final.state, '反馈', 'the lead\'s 办结 hands the incident to 反馈');
  assert.ok(final.parts.every((p) => p.state === '已办结' && p.result && p.done_at), `both parts 已办结 with a result: ${JSON.stringify(final.parts.map((p) => [p.state, p.result]))}`);
  console.log(`dept: ok (the police 办结, then the lead 办结: incident #${incident.id} is ${final.state})`);

  for (const who of ['police', 'squad']) {
    await pages[who].csp.assertNone();
    await pages[who].ctx.close();
  }
  const outside = requests.map((r) => r.url).filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  // The only console errors of the phones: Chromium's line for the refused 办结 (409).
  const unexpected = consoleErrors.filter((c) => c.label !== 'wall' && !(c.label === 'squad' && /status of 409/.test(c.text)));
  assert.deepEqual(unexpected, [], 'console errors on /dept');
  console.log(`dept: ok (/dept: CSP clean, ${requests.length} requests, all local)`);

  // ---------------------------------------------------------------- the wall ranks both
  // Fetched again on the live events of the steps (or, at the latest, within the minute).
  await wall.waitForFunction((codes) => codes.every((c) => {
    const tr = document.querySelector(`#dept-rows tr[data-code="${c}"]`);
    return tr && tr.querySelector('.rate').textContent === '100.0%' && tr.querySelector('.open').textContent === '0';
  }), [PCS, ZHZF], { timeout: 70000 });
  const ranks = [];
  for (const [code, name] of [[PCS, pcsName], [ZHZF, zhzfName]]) {
    const [rank, ...rest] = await row(code);
    assert.deepEqual(rest, [name, '0', '0', '100.0%'], `${code}: nothing open, 响应率 100.0%`);
    ranks.push(rank);
  }
  assert.deepEqual(ranks.sort(), ['1', '2'], 'both are ranked');
  const board = await wall.evaluate(() => window.gridmap.board);
  assert.deepEqual(board, await api(command, '/api/v1/departments/board'), 'the panel shows the board as the API answers it');
  await wallCsp.assertNone();
  assert.deepEqual(consoleErrors.filter((c) => c.label === 'wall'), [], 'no console errors on the wall');
  const wallOutside = wallRequests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(wallOutside, [], 'requests left the server: ' + wallOutside.join(', '));
  if (shots) await wall.screenshot({ path: join(shots, 'wall-departments-done.png') });
  await desk.close();
  console.log('dept: ok (/wall: after the 办结 the panel has no open parts and ranks both departments at 100.0% 响应率; CSP clean)');

  // ================================================================ /matters, public
  const pub = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const mp = await pub.newPage();
  watch(mp, 'matters');
  const matterRequests = [];
  mp.on('request', (r) => matterRequests.push(r));
  const mcsp = await watchCsp(mp);
  assertSecurityHeaders(await mp.goto(origin + '/matters'));
  await mp.waitForFunction(() => window.matters && window.matters.ready, null, { timeout: 15000 });
  const count = await mp.evaluate(() => window.matters.count);
  assert.ok(count >= 3, `the demo's three approved matters are listed: ${count}`);
  assert.equal(await mp.locator('#matters tbody tr').count(), count, 'one row per matter');
  assert.ok(await mp.isVisible('#matters'), 'the table is shown');
  assert.match(await mp.textContent('#status'), new RegExp(`共 ${count} 项`));
  assert.ok(matterRequests.every((r) => !r.headers().authorization), 'the public page sends no token');
  await shot(mp, 'matters');
  await mcsp.assertNone();
  assert.deepEqual(consoleErrors.filter((c) => c.label === 'matters'), [], 'no console errors on /matters');
  await pub.close();
  console.log(`dept: ok (/matters: ${count} matters listed without a token; no console error, CSP clean)`);

  assert.ok(!failed, 'no page errors');

  // ================================================================ /dept is never framed
  // It holds a department's token, like /wall, /plan, /field and /admin/staff.
  assert.ok((deptHeaders['content-security-policy'] || '').includes("frame-ancestors 'none'"),
    `/dept holds a token but its CSP lacks frame-ancestors 'none' (src/http/guard.rs holds_token has no "/dept", "/web/dept"): ${deptHeaders['content-security-policy']}`);
  assert.equal(deptHeaders['x-frame-options'], 'DENY', '/dept holds a token but is served without X-Frame-Options: DENY');
  console.log("dept: ok (/dept is never framed: frame-ancestors 'none', X-Frame-Options DENY)");
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
