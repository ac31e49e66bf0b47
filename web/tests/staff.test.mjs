// Browser test of the staff registry (/admin/staff) and the voter's ballot page (/vote) in real
// headless Chromium (Debian `chromium`, driven by playwright-core). Starts its own `gridmap serve`
// with the demo (every grid has a team with its 网格长) and an administrator from
// `gridmap user add`, then checks:
// - /admin/staff (desktop, 1280×900): the page carries the security headers and runs under its
//   CSP; with the token pasted in, the team of a village is listed by grid, with its 网格长 and
//   the team rules it breaks; a refused form names the field the server named; a person added
//   through the form is in the table and in `GET /api/v1/staff`; moving them through 调动 ends the
//   old membership (`until` set) and opens one in the other grid of the village; a CSV imported
//   through the file input is reported row by row (1 written, line 3 rejected for its unknown
//   role); the half-year scores are shown (columns from the scheme's items) and a manual item
//   entered through the form counts (the form offers the manual items only); grids are named from
//   `members[].cell_name` (no `GET /api/v1/cells?parent=`).
// - 满意度测评与公示 (same page): an electorate CSV imported for one grid (2 added, line 4 rejected
//   for its 类别); a vote opened through the form on two grids, 3 ballots each (`GET /api/v1/votes`
//   has it, issued 6; no code on the page; the CSV downloaded holds the six); two 不满意 cast by
//   the API, 刷新 shows 不满意 2 and 应予调整; 打印测评票 answers a PDF; 结束测评 (confirmed) closes
//   it; 公示 published through the form and `/gongshi/{village}.pdf` answers a PDF, without a token.
// - /admin/staff as a village leader: the electorate part only (no votes, no 公示).
// - /vote (a phone, 390×844, touch): with a code of a vote opened by the API, the page shows the
//   grid's name, removes the code from the address bar, takes 不满意 and says thank you; the tally
//   counts it; the same code again says it was used; a forged code typed in says it is invalid; a
//   real code typed in lower case with spaces opens the ballot.
// Run: node web/tests/staff.test.mjs [--screenshot DIR]
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
const stamp = String(Date.now()).slice(-6);
const ADDED = `测试网格员${stamp}`;
const IMPORTED = `测试导入甲${stamp}`;

// ------------------------------------------------------------------ the demo: a village and two grids
function csv(file) {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const keys = header.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v.trim()])));
}
const memberships = csv(join(root, 'data', 'demo', 'cell_staff.csv'));
const leaders = new Set(memberships.filter((m) => m.role === '网格长').map((m) => m.cell_code));
const villages = new Map(); // village code (the first 12 digits) → its grids with a 网格长
for (const code of [...leaders].filter((c) => c.length === 15).sort()) {
  const v = code.slice(0, 12);
  if (!villages.has(v)) villages.set(v, []);
  villages.get(v).push(code);
}
const [village, [gridA, gridB]] = [...villages].find(([, grids]) => grids.length >= 2);
assert.ok(village && gridA && gridB, 'the demo has a village with two grids, each with its 网格长');

// ------------------------------------------------------------------ the server
const dataDir = mkdtempSync(join(tmpdir(), 'gridmap-staff-'));
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
const admin = lastLine(['user', 'add', 'staff-admin', '--role', 'admin']);

/** The API as the administrator: the parsed answer of a 2xx, else a failed assertion. */
async function api(p, init = {}) {
  const r = await fetch(origin + p, { ...init, headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json', ...(init.headers || {}) } });
  const text = await r.text();
  assert.ok(r.ok, `${init.method || 'GET'} ${p}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

function watch(page, label) {
  page.on('pageerror', (e) => { console.error(`${label} page error:`, e); failed = true; });
  page.on('console', (m) => { if (m.type() === 'error') console.error(`${label} console:`, m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) console.error(`${label} HTTP`, r.status(), r.request().method(), r.url()); });
}

let browser;
let failed = false;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });

  // ================================================================ /admin/staff, on a desktop
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await desk.newPage();
  watch(page, 'staff');
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const csp = await watchCsp(page);

  assertSecurityHeaders(await page.goto(origin + '/admin/staff'), { frameAncestorsNone: true });
  await page.waitForFunction(() => window.staff && window.staff.ready, null, { timeout: 15000 });
  await page.waitForSelector('#token', { state: 'visible' });
  await page.fill('#token', admin);
  await page.click('#token-submit');
  await page.waitForSelector('#registry', { state: 'visible', timeout: 15000 })
    .catch(async (e) => { console.error('login:', await page.textContent('#token-error')); throw e; });
  await page.waitForFunction(() => [...document.querySelectorAll('#add-role option')].some((o) => o.value === '网格员'), null, { timeout: 15000 });

  // ---------------------------------------------------------------- the team of a village
  await page.fill('#cell', village);
  const teamAnswer = page.waitForResponse((r) => path(r) === '/api/v1/staff' && r.request().method() === 'GET', { timeout: 15000 });
  await page.click('#load');
  assert.equal((await teamAnswer).status(), 200, 'the team loads');
  await page.waitForFunction((v) => window.staff.team() && window.staff.team().cell === v, village, { timeout: 10000 });
  const team = await page.evaluate(() => window.staff.team());
  assert.ok(team.members.length > 0, `the demo village ${village} has a team`);
  assert.equal(await page.locator('#members tbody tr[data-membership]').count(), team.members.length, 'one row per membership');
  const shownRoles = await page.$$eval('#members tr[data-membership] td.role', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(shownRoles.includes('网格长'), `a 网格长 is listed: ${shownRoles.join(' ')}`);
  const cellsShown = await page.$$eval('#members tbody[data-cell]', (bodies) => bodies.map((b) => b.dataset.cell));
  assert.deepEqual(cellsShown, [...new Set(team.members.map((m) => m.cell))], 'the table is grouped by cell, in the order of the answer');
  assert.ok(cellsShown.includes(gridA) && cellsShown.includes(gridB), `both grids are in the table: ${cellsShown}`);
  assert.equal(await page.locator('#members tr[data-membership] .consent').count(), team.members.length * 3, 'three consent badges a row (名/照/电)');
  assert.equal(await page.locator('#violations li[data-cell]').count(), team.violations.length, 'every team rule broken is listed');
  await shot(page, 'staff-team');
  console.log(`staff: ok (/admin/staff lists the team of ${village}: ${team.members.length} memberships in ${cellsShown.length} grids, ${team.violations.length} rule(s) broken)`);

  // ---------------------------------------------------------------- a refusal names its field
  await page.fill('#add-name', ADDED);
  await page.fill('#add-phone', 'abc');
  await page.selectOption('#add-role', '网格员');
  await page.fill('#add-cell', gridA);
  const refused = page.waitForResponse((r) => path(r) === '/api/v1/staff' && r.request().method() === 'POST', { timeout: 10000 });
  await page.click('#add-submit');
  assert.equal((await refused).status(), 400, 'a bad phone number is refused');
  await page.waitForFunction(() => document.getElementById('add-error').textContent.trim().length > 0, null, { timeout: 5000 });
  const refusal = await page.textContent('#add-error');
  assert.ok(refusal.includes('手机'), `the error names the field: ${refusal}`);
  assert.equal(await page.getAttribute('#add-phone', 'aria-invalid'), 'true', 'the field is marked invalid');
  console.log(`staff: ok (a refused form shows the server's message at the form, naming the field: "${refusal.trim()}")`);

  // ---------------------------------------------------------------- a person added through the form
  await page.fill('#add-phone', '13900000021');
  const addedAnswer = page.waitForResponse((r) => path(r) === '/api/v1/staff' && r.request().method() === 'POST', { timeout: 10000 });
  await page.click('#add-submit');
  const addedResponse = await addedAnswer;
  assert.equal(addedResponse.status(), 201, 'the person is added');
  const { staff_id: staffId, membership_id: firstMembership } = await addedResponse.json();
  assert.ok(staffId > 0 && firstMembership > 0, 'staff_id and membership_id');
  const addedRow = `#members tr[data-membership="${firstMembership}"]`;
  await page.waitForSelector(addedRow, { timeout: 10000 });
  assert.equal((await page.textContent(`${addedRow} th.name`)).trim(), ADDED);
  assert.equal(await page.getAttribute(addedRow, 'data-cell'), gridA);
  assert.equal((await page.textContent(`${addedRow} td.role`)).trim(), '网格员');
  assert.equal(await page.getAttribute('#add-phone', 'aria-invalid'), null, 'the mark is cleared once the form goes through');
  const afterAdd = await api(`/api/v1/staff?cell=${village}`);
  const added = afterAdd.members.find((m) => m.membership === firstMembership);
  assert.ok(added, 'GET /api/v1/staff lists the person added');
  assert.equal(added.name, ADDED);
  assert.equal(added.cell, gridA);
  assert.equal(added.role, '网格员');
  assert.equal(added.phone, '13900000021');
  assert.equal(added.until, null);
  console.log(`staff: ok (${ADDED} added through the form as 网格员 of ${gridA}: in the table and in the API)`);

  // ---------------------------------------------------------------- 调动 to the other grid
  await page.click(`${addedRow} button[data-action="move"]`);
  await page.waitForSelector('#move-dialog[open]', { timeout: 5000 });
  await page.fill('#move-to', gridB);
  const movedAnswer = page.waitForResponse((r) => path(r) === `/api/v1/memberships/${firstMembership}/move`, { timeout: 10000 });
  await page.click('#move-submit');
  const movedResponse = await movedAnswer;
  assert.equal(movedResponse.status(), 200, 'the move goes through');
  const moved = await movedResponse.json();
  const secondMembership = moved.membership_id;
  assert.ok(moved.ended && moved.ended.until, `the move answers the ended membership: ${JSON.stringify(moved)}`);
  await page.waitForFunction(() => !document.getElementById('move-dialog').open, null, { timeout: 5000 });
  await page.waitForSelector(`#members tr[data-membership="${secondMembership}"][data-cell="${gridB}"]`, { timeout: 10000 });
  assert.equal(await page.locator(addedRow).count(), 0, 'the ended membership is no longer in the team of today');
  const history = await api(`/api/v1/staff/${staffId}`);
  const old = history.memberships.find((m) => m.membership === firstMembership);
  const fresh = history.memberships.find((m) => m.membership === secondMembership);
  assert.ok(old && old.cell === gridA && old.until, `the old membership in ${gridA} has until: ${JSON.stringify(old)}`);
  assert.ok(fresh && fresh.cell === gridB && fresh.until === null && fresh.role === '网格员', `a new membership in ${gridB}: ${JSON.stringify(fresh)}`);
  assert.equal(fresh.since, old.until, 'the new membership begins the day the old one ends');
  const afterMove = await api(`/api/v1/staff?cell=${village}`);
  assert.deepEqual(afterMove.members.filter((m) => m.staff === staffId).map((m) => m.cell), [gridB], 'today the person serves the other grid only');
  console.log(`staff: ok (调动 through the UI: membership ${firstMembership} in ${gridA} ended ${old.until}, ${secondMembership} in ${gridB} begun)`);

  // ---------------------------------------------------------------- the import
  const file = ['姓名,角色,网格编码,电话,公开同意', `${IMPORTED},网格员,${gridA},13900000031,是`, `测试导入乙${stamp},不存在的角色,${gridA},13900000032,否`, ''].join('\n');
  await page.setInputFiles('#import-file', { name: 'staff.csv', mimeType: 'text/csv', buffer: Buffer.from(file, 'utf8') });
  const importAnswer = page.waitForResponse((r) => path(r) === '/api/v1/import/staff', { timeout: 20000 });
  await page.click('#import-submit');
  const importResponse = await importAnswer;
  assert.equal(importResponse.status(), 200, 'the import answers its report');
  const sent = importResponse.request();
  assert.equal(sent.headers()['content-type'], 'application/octet-stream', 'the file is sent as raw bytes');
  assert.ok(sent.headers().authorization.startsWith('Bearer '), 'with the token');
  await page.waitForSelector('#import-result', { state: 'visible', timeout: 5000 });
  assert.equal((await page.textContent('#import-written')).trim(), '1', '1 row written');
  assert.equal((await page.textContent('#import-rejected')).trim(), '1', '1 row rejected');
  const rejected = await page.$$eval('#import-report tr.rejected', (trs) => trs.map((tr) => ({ line: tr.dataset.line, th: tr.querySelector('th').textContent.trim(), why: tr.querySelector('.why').textContent })));
  assert.deepEqual(rejected.map((r) => r.line), ['3'], 'line 3 is the rejected one');
  assert.equal(rejected[0].th, '3', 'its line number is shown');
  assert.ok(rejected[0].why.includes('角色'), `with the reason: ${rejected[0].why}`);
  assert.equal(await page.locator('#import-report tr.written[data-line="2"]').count(), 1, 'line 2 is written');
  // The team is read again: the person imported is in the table, consent to all three scopes.
  await page.waitForFunction((name) => [...document.querySelectorAll('#members th.name')].some((t) => t.textContent === name), IMPORTED, { timeout: 10000 });
  const importedRow = page.locator('#members tr[data-membership]', { has: page.locator('th.name', { hasText: IMPORTED }) });
  assert.equal(await importedRow.locator('.consent.on').count(), 3, '公开同意 是: 名/照/电 all on');
  const afterImport = await api(`/api/v1/staff?cell=${village}`);
  const imported = afterImport.members.find((m) => m.name === IMPORTED);
  assert.ok(imported && imported.cell === gridA, 'the person imported is in the team');
  assert.deepEqual(imported.consent, { name: true, photo: true, phone: true });
  await shot(page, 'staff-import');
  console.log(`staff: ok (import through the file input: 1 written, line 3 rejected: ${rejected[0].why.trim()})`);

  // ---------------------------------------------------------------- the 千分制 scores
  const scoresAnswer = page.waitForResponse((r) => path(r) === '/api/v1/scores', { timeout: 60000 });
  await page.click('#scores-load');
  assert.equal((await scoresAnswer).status(), 200, 'the scores load');
  await page.waitForFunction(() => window.staff.scores() !== null, null, { timeout: 10000 });
  const scores = await page.evaluate(() => window.staff.scores());
  assert.ok(scores.people.length > 0, 'people are scored');
  assert.equal(await page.locator('#scores tbody tr[data-staff]').count(), scores.people.length, 'one row per person and grid');
  const leader = scores.people.find((p) => p.role === '网格长');
  assert.ok(leader, 'a 网格长 is scored');
  assert.ok(leader.score.items.some((i) => i.key === 'conduct'), 'the scheme has the manual item conduct');
  await page.selectOption('#entry-staff', String(leader.staff));
  await page.selectOption('#entry-item', 'conduct');
  await page.fill('#entry-points', '85');
  await page.fill('#entry-reason', '测试：按时参加例会，群众反映好');
  const entryAnswer = page.waitForResponse((r) => path(r) === '/api/v1/scores/entries', { timeout: 10000 });
  await page.click('#entry-submit');
  assert.equal((await entryAnswer).status(), 201, 'the manual score is entered');
  await page.waitForFunction((id) => {
    const s = window.staff.scores();
    const p = s && s.people.find((x) => x.staff === id);
    return p && p.score.items.find((i) => i.key === 'conduct').points === 85;
  }, leader.staff, { timeout: 60000 });
  const conduct = await page.textContent(`#scores tr[data-staff="${leader.staff}"] td[data-item="conduct"] .value`);
  assert.equal(conduct.trim(), '85', 'the table shows the points entered');
  await shot(page, 'staff-scores');
  console.log(`staff: ok (scores of ${scores.period}: ${scores.people.length} rows; 日常表现 85 entered for ${leader.name} through the form)`);

  // The scores' columns are the scheme's items; the form offers only those entered by hand.
  assert.ok(Array.isArray(scores.items) && scores.items.length > 0, 'GET /api/v1/scores carries the items');
  const columns = await page.$$eval('#scores thead th[data-item]', (ths) => ths.map((t) => t.dataset.item));
  assert.deepEqual(columns, scores.items.map((i) => i.key), 'one column per item of the scheme');
  const manualItems = scores.items.filter((i) => i.source === 'manual');
  const offered = await page.$$eval('#entry-item option', (os) => os.map((o) => ({ key: o.value, max: o.dataset.max, text: o.textContent })));
  assert.deepEqual(offered.map((o) => o.key), manualItems.map((i) => i.key), 'the form offers the manual items only');
  assert.ok(offered.every((o, k) => o.text.includes(String(manualItems[k].max_points))), `with their max points: ${offered.map((o) => o.text)}`);
  assert.match(await page.textContent('#entry-hint'), /满分/, 'the max points are shown at the points');
  // Grids are named from the team's answer.
  assert.ok(!requests.some((u) => new URL(u).pathname === '/api/v1/cells'), 'no GET /api/v1/cells?parent= to name grids');
  const namedA = afterImport.members.find((m) => m.cell === gridA).cell_name;
  assert.ok(namedA, 'members carry cell_name');
  assert.ok((await page.textContent(`#members tbody[data-cell="${gridA}"] .group-name`)).includes(namedA), 'the group is named by cell_name');
  console.log(`staff: ok (scores: ${columns.length} columns from the scheme, the form offers ${manualItems.map((i) => `${i.name}/${i.max_points}`).join('、')} only; grids named by cell_name)`);

  // ---------------------------------------------------------------- 满意度测评: the electorate
  const year = new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date());
  await page.waitForSelector('#vote-section', { state: 'visible' });
  assert.ok(await page.isVisible('#votes-part') && await page.isVisible('#publish-part'), 'an admin sees the votes and 公示');
  await page.waitForFunction((v) => { const s = window.staff.vote(); return s && s.cell === v && s.electors !== null; }, village, { timeout: 10000 });
  const electorsBefore = (await api(`/api/v1/electors?cell=${gridA}`)).filter((e) => e.cell === gridA).length;
  const shownBefore = (await page.textContent(`#electorate-summary tr[data-cell="${gridA}"] td.total`)).trim();
  assert.ok(shownBefore.startsWith(String(electorsBefore)), `the summary counts ${gridA}: ${shownBefore} (API ${electorsBefore})`);
  const ELECTOR1 = `测试党员${stamp}`;
  const ELECTOR2 = `测试代表${stamp}`;
  const electorFile = ['姓名,类别,网格编码', `${ELECTOR1},党员,${gridA}`, `${ELECTOR2},村民代表,${gridA}`, `测试群众${stamp},群众,${gridA}`, ''].join('\n');
  await page.setInputFiles('#elector-file', { name: 'electors.csv', mimeType: 'text/csv', buffer: Buffer.from(electorFile, 'utf8') });
  const electorAnswer = page.waitForResponse((r) => path(r) === '/api/v1/import/electors', { timeout: 20000 });
  await page.click('#elector-import-submit');
  const electorResponse = await electorAnswer;
  assert.equal(electorResponse.status(), 200, 'the electorate import answers its report');
  assert.equal(electorResponse.request().headers()['content-type'], 'application/octet-stream', 'the file is sent as raw bytes');
  assert.ok(electorResponse.request().headers().authorization.startsWith('Bearer '), 'with the token');
  await page.waitForSelector('#elector-import-result', { state: 'visible', timeout: 5000 });
  assert.equal((await page.textContent('#elector-import-added')).trim(), '2', '2 electors added');
  assert.equal((await page.textContent('#elector-import-rejected')).trim(), '1', '1 row rejected');
  const electorRejected = await page.$$eval('#elector-import-report tr.rejected', (trs) => trs.map((tr) => ({ line: tr.dataset.line, th: tr.querySelector('th').textContent.trim(), why: tr.querySelector('.why').textContent })));
  assert.deepEqual(electorRejected.map((r) => r.line), ['4'], 'line 4 is the rejected one');
  assert.equal(electorRejected[0].th, '4', 'its line number is shown');
  assert.ok(electorRejected[0].why.includes('类别'), `with the reason: ${electorRejected[0].why}`);
  assert.equal(await page.locator('#elector-import-report tr.added').count(), 2, 'lines 2 and 3 are added');
  const electorsAfter = (await api(`/api/v1/electors?cell=${gridA}`)).filter((e) => e.cell === gridA);
  assert.equal(electorsAfter.length, electorsBefore + 2, 'two electors more in the grid');
  assert.ok(electorsAfter.some((e) => e.name === ELECTOR1 && e.kind === '党员') && electorsAfter.some((e) => e.name === ELECTOR2 && e.kind === '村民代表'), 'named and kinded as in the file');
  await page.waitForFunction(([g, n]) => (document.querySelector(`#electorate-summary tr[data-cell="${g}"] td.total`) || {}).textContent === String(n), [gridA, electorsBefore + 2], { timeout: 10000 });
  await page.click('#electorate-details summary');
  assert.ok(await page.locator('#electorate-list th', { hasText: ELECTOR1 }).isVisible(), 'the list, unfolded, names the elector imported');
  await shot(page, 'staff-electorate');
  console.log(`staff: ok (electorate import through the file input: 2 added to ${gridA} (now ${electorsBefore + 2}), line 4 rejected: ${electorRejected[0].why.trim()})`);

  // ---------------------------------------------------------------- a vote opened through the form
  assert.equal(await page.inputValue('#vote-period'), year, 'the period defaults to the current year');
  const choices = await page.$$eval('#vote-cell-list input[name="cells"]', (ns) => ns.map((n) => n.value));
  assert.ok(choices.includes(gridA) && choices.includes(gridB), `both grids can be chosen: ${choices}`);
  assert.ok(choices.every((c) => c.length === 15 && c.startsWith(village)), 'the grids of the village, 15-digit codes');
  await page.click('#vote-none');
  await page.check(`#vote-cell-list input[value="${gridA}"]`);
  await page.check(`#vote-cell-list input[value="${gridB}"]`);
  await page.fill('#vote-ballots', '3');
  const openAnswer = page.waitForResponse((r) => path(r) === '/api/v1/votes' && r.request().method() === 'POST', { timeout: 15000 });
  await page.click('#vote-submit');
  const openResponse = await openAnswer;
  assert.equal(openResponse.status(), 201, 'the vote is opened');
  assert.deepEqual(JSON.parse(openResponse.request().postData()), { period: year, cells: [gridA, gridB], ballots_per_cell: 3 }, 'the form sends the period, the grids and the ballots');
  const openedByUi = await openResponse.json();
  assert.equal(openedByUi.ballots.length, 6, 'six codes');
  await page.waitForSelector('#vote-opened', { state: 'visible', timeout: 5000 });
  const html = await page.content();
  assert.ok(openedByUi.ballots.every((b) => !html.includes(b.code)), 'no code is on the page');
  const listed = await api('/api/v1/votes');
  assert.equal(listed[0].id, openedByUi.id, 'newest first');
  assert.equal(listed[0].issued, 6, 'GET /api/v1/votes: issued 6');
  assert.equal(listed[0].cells, 2, 'on two grids');
  assert.equal(listed[0].used, 0, 'none used');
  assert.equal(listed[0].closed_at, null, 'open');
  await page.waitForSelector(`#votes tr[data-vote="${openedByUi.id}"]`, { timeout: 5000 });
  await page.waitForSelector(`#tally-table tr[data-cell="${gridA}"]`, { timeout: 10000 });
  // 下载测评码 CSV: built in the page from the answer.
  const downloading = page.waitForEvent('download', { timeout: 10000 });
  await page.click('#opened-csv');
  const download = await downloading;
  assert.match(download.suggestedFilename(), /\.csv$/, 'a .csv');
  const csvText = readFileSync(await download.path(), 'utf8');
  assert.ok(csvText.startsWith('\ufeff'), 'with a BOM for Excel');
  const csvRows = csvText.replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.equal(csvRows.length, 7, 'a header and six codes');
  assert.ok(csvRows[0].includes('测评码'), `the header: ${csvRows[0]}`);
  assert.deepEqual(csvRows.slice(1).map((r) => r.split(',')[4]).sort(), openedByUi.ballots.map((b) => b.code).sort(), 'the CSV holds the codes of the answer');
  console.log(`staff: ok (vote ${openedByUi.id} opened through the form on ${gridA} and ${gridB}, 3 each: issued 6; no code on the page, the six in the CSV)`);

  // ---------------------------------------------------------------- two 不满意, 刷新
  const codesA = openedByUi.ballots.filter((b) => b.cell === gridA).map((b) => b.code);
  assert.equal(codesA.length, 3, 'three codes for the first grid');
  for (const c of codesA.slice(0, 2)) {
    const r = await fetch(`${origin}/api/v1/ballots/${c}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ choice: '不满意' }) });
    assert.equal(r.status, 201, `the ballot ${c} is counted`);
  }
  const refreshAnswer = page.waitForResponse((r) => path(r) === `/api/v1/votes/${openedByUi.id}/tally`, { timeout: 10000 });
  await page.click('#tally-refresh');
  assert.equal((await refreshAnswer).status(), 200, 'the tally is read again');
  const rowA = `#tally-table tr[data-cell="${gridA}"]`;
  await page.waitForFunction((sel) => (document.querySelector(`${sel} td[data-choice="不满意"]`) || {}).textContent === '2', rowA, { timeout: 10000 });
  assert.equal((await page.textContent(`${rowA} td.cast`)).trim(), '2/3', 'cast/issued');
  assert.equal((await page.textContent(`${rowA} .badge.flag`)).trim(), '应予调整', 'the badge: 2 of 2 cast is over a third');
  assert.equal(await page.locator(`#tally-table tr[data-cell="${gridB}"] .badge.flag`).count(), 0, 'the other grid is not flagged');
  assert.equal((await page.textContent(`#tally-table tr[data-cell="${gridB}"] td.cast`)).trim(), '0/3');
  await shot(page, 'staff-tally');

  // 打印测评票: the PDF fetched with the token.
  const popup = page.waitForEvent('popup', { timeout: 10000 }).catch(() => null);
  const slipsAnswer = page.waitForResponse((r) => path(r) === `/api/v1/votes/${openedByUi.id}/slips.pdf`, { timeout: 30000 });
  await page.click('#tally-slips');
  const slipsResponse = await slipsAnswer;
  assert.equal(slipsResponse.status(), 200, 'the slips are printed');
  assert.equal((slipsResponse.headers()['content-type'] || '').split(';')[0], 'application/pdf', 'as a PDF');
  assert.ok(slipsResponse.request().headers().authorization.startsWith('Bearer '), 'fetched with the token');
  const slipsPage = await popup;
  if (slipsPage) await slipsPage.close();
  console.log(`staff: ok (2 不满意 cast by the API, 刷新 shows 不满意 2, 2/3 and 应予调整 for ${gridA}; 打印测评票 answered a PDF)`);

  // ---------------------------------------------------------------- 结束测评
  page.once('dialog', (d) => { assert.equal(d.type(), 'confirm', 'asked first'); d.accept(); });
  const closeAnswer = page.waitForResponse((r) => path(r) === `/api/v1/votes/${openedByUi.id}/close`, { timeout: 10000 });
  await page.click('#tally-close');
  assert.equal((await closeAnswer).status(), 200, 'the vote is closed');
  await page.waitForFunction(() => document.getElementById('tally-close').disabled && document.getElementById('tally-title').textContent.includes('已结束'), null, { timeout: 10000 });
  const closedVote = (await api('/api/v1/votes')).find((v) => v.id === openedByUi.id);
  assert.ok(closedVote.closed_at, 'GET /api/v1/votes: closed');
  assert.equal(closedVote.used, 2, 'two used');
  const late = await fetch(`${origin}/api/v1/ballots/${codesA[2]}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ choice: '满意' }) });
  assert.equal(late.status, 409, 'a ballot after the close is refused');
  console.log(`staff: ok (结束测评 through the UI, confirmed: vote ${openedByUi.id} closed, a late ballot refused)`);

  // ---------------------------------------------------------------- 公示
  assert.equal(await page.inputValue('#pub-under'), village, 'the village of the cell loaded');
  assert.equal(await page.inputValue('#pub-period'), year, 'the period defaults to the current year');
  await page.selectOption('#pub-vote', String(openedByUi.id));
  page.once('dialog', (d) => { assert.equal(d.type(), 'confirm', 'asked first'); d.accept(); });
  const publishAnswer = page.waitForResponse((r) => path(r) === '/api/v1/publications' && r.request().method() === 'POST', { timeout: 60000 });
  await page.click('#publish-submit');
  const publishResponse = await publishAnswer;
  assert.equal(publishResponse.status(), 201, 'the results are published');
  assert.deepEqual(JSON.parse(publishResponse.request().postData()), { period: year, under: village, vote: openedByUi.id }, 'the form sends period, under and vote');
  const { id: publication } = await publishResponse.json();
  await page.waitForSelector(`#publications tr[data-publication="${publication}"]`, { timeout: 10000 });
  await page.waitForSelector('#gongshi-link', { state: 'visible', timeout: 5000 });
  const gongshi = await page.getAttribute('#gongshi-link', 'href');
  assert.equal(gongshi, `/gongshi/${village}.pdf`, 'a link to the public sheet');
  assert.equal(await page.getAttribute('#gongshi-link', 'target'), '_blank');
  assert.ok((await page.getAttribute('#gongshi-link', 'rel')).includes('noopener'), 'rel noopener');
  const published = (await api(`/api/v1/publications?under=${village}`)).find((p) => p.id === publication);
  assert.ok(published && published.vote_id === openedByUi.id && published.under === village, `GET /api/v1/publications: ${JSON.stringify(published)}`);
  const flaggedRow = published.results.rows.find((r) => r.cell === gridA);
  assert.ok(flaggedRow && flaggedRow.flagged && flaggedRow.counts['不满意'] === 2, `the result of ${gridA} is published: ${JSON.stringify(flaggedRow)}`);
  const sheet = await fetch(origin + gongshi);
  assert.equal(sheet.status, 200, 'the 公示 sheet is public');
  assert.equal((sheet.headers.get('content-type') || '').split(';')[0], 'application/pdf', 'a PDF');
  assert.equal(Buffer.from(await sheet.arrayBuffer()).subarray(0, 4).toString(), '%PDF');
  await shot(page, 'staff-publish');
  console.log(`staff: ok (公示 #${publication} of ${village} published through the form with vote ${openedByUi.id}; ${gongshi} answers a PDF without a token)`);

  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, [], 'requests left the server: ' + outside.join(', '));
  await csp.assertNone();
  console.log(`staff: ok (/admin/staff: CSP clean, ${requests.length} requests, all local)`);

  // ================================================================ /admin/staff as a village leader
  const leaderToken = lastLine(['user', 'add', 'staff-leader', '--role', 'worker', '--cells', village]);
  const lctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const lp = await lctx.newPage();
  watch(lp, 'leader');
  const lcsp = await watchCsp(lp);
  await lp.goto(origin + '/admin/staff');
  await lp.waitForFunction(() => window.staff && window.staff.ready, null, { timeout: 15000 });
  await lp.fill('#token', leaderToken);
  await lp.click('#token-submit');
  await lp.waitForSelector('#registry', { state: 'visible', timeout: 15000 });
  await lp.waitForFunction((v) => { const s = window.staff.vote(); return s && s.cell === v && s.electors !== null; }, village, { timeout: 15000 });
  assert.ok(await lp.isVisible('#electorate-part'), 'a leader sees the electorate');
  assert.ok(await lp.isHidden('#votes-part'), 'but not the votes');
  assert.ok(await lp.isHidden('#publish-part'), 'nor 公示');
  assert.equal((await lp.textContent(`#electorate-summary tr[data-cell="${gridA}"] td.total`)).trim(), String(electorsBefore + 2), 'the electorate of the grid');
  await lcsp.assertNone();
  await lctx.close();
  console.log(`staff: ok (a leader of ${village} sees the electorate part only)`);

  // ================================================================ /vote, on a phone
  const opened = await api('/api/v1/votes', { method: 'POST', body: JSON.stringify({ period: '2026', cells: [gridA], ballots_per_cell: 3 }) });
  assert.equal(opened.ballots.length, 3, 'three codes');
  assert.ok(opened.ballots.every((b) => b.cell === gridA), 'for the grid asked');
  const [code, second] = opened.ballots.map((b) => b.code);
  const gridName = (await (await fetch(`${origin}/api/v1/cells/${gridA}`)).json()).properties.name;
  assert.ok(gridName, `the grid ${gridA} has a name`);

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const vp = await phone.newPage();
  watch(vp, 'vote');
  const voteRequests = [];
  vp.on('request', (r) => voteRequests.push(r));
  const vcsp = await watchCsp(vp);
  const voteReady = () => vp.waitForFunction(() => window.vote && window.vote.ready && !['loading', 'sending'].includes(window.vote.state()), null, { timeout: 15000 });

  assertSecurityHeaders(await vp.goto(`${origin}/vote#code=${code}`), { frameAncestorsNone: true });
  await voteReady();
  assert.equal(await vp.evaluate(() => window.vote.state()), 'ballot', 'the code opens the ballot');
  const href = await vp.evaluate(() => location.href);
  assert.ok(!href.includes(code) && !href.includes('code='), `the code leaves the address bar: ${href}`);
  assert.ok(!vp.url().includes(code), `and the page's URL: ${vp.url()}`);
  const title = (await vp.textContent('#ballot-title')).trim();
  assert.equal(title, `${gridName} 网格长满意度测评 2026`, 'the grid and the period');
  assert.ok((await vp.textContent('main')).includes('本测评匿名进行，不记录投票人信息'), 'the page says the vote is anonymous');
  assert.equal(await vp.locator('main').count(), 1, 'a <main>');
  assert.equal(await vp.locator('h1').count(), 1, 'a heading');
  assert.equal(await vp.getAttribute('#notice', 'aria-live'), 'polite', 'the status is announced');
  // Big, labelled, keyboard-usable choices.
  for (const name of ['满意', '基本满意', '不满意']) {
    const radio = vp.getByRole('radio', { name, exact: true });
    assert.equal(await radio.count(), 1, `a radio labelled ${name}`);
    const box = await radio.boundingBox();
    assert.ok(box && box.height >= 48 && box.width >= 48, `${name}: a touch target of at least 48 px: ${JSON.stringify(box)}`);
  }
  const confirmBox = await vp.locator('#confirm').boundingBox();
  assert.ok(confirmBox.height >= 48, 'the confirm button is at least 48 px high');
  assert.ok(await vp.isDisabled('#confirm'), 'nothing to confirm before a choice');
  await vp.focus('#choice-good');
  await vp.keyboard.press('ArrowDown');
  assert.ok(await vp.isChecked('#choice-basic'), 'the arrow keys move between the choices');
  await vp.getByRole('radio', { name: '不满意', exact: true }).check();
  assert.ok(await vp.isEnabled('#confirm'), 'a choice can be confirmed');
  assert.match(await vp.textContent('#chosen'), /不满意/);
  await shot(vp, 'vote-ballot');
  const cast = vp.waitForResponse((r) => path(r) === `/api/v1/ballots/${code}` && r.request().method() === 'POST', { timeout: 10000 });
  await vp.click('#confirm');
  const castResponse = await cast;
  assert.equal(castResponse.status(), 201, 'the ballot is counted');
  assert.deepEqual(JSON.parse(castResponse.request().postData()), { choice: '不满意' }, 'only the choice is sent');
  assert.equal(castResponse.request().headers().authorization, undefined, 'and no token');
  await vp.waitForFunction(() => window.vote.state() === 'done', null, { timeout: 10000 });
  assert.ok(await vp.isVisible('#done'), 'the thank-you state');
  assert.equal((await vp.textContent('#done-title')).trim(), '感谢参与，您的选择已匿名计入');
  assert.ok(await vp.isHidden('#ballot'), 'the ballot is gone');
  await shot(vp, 'vote-done');
  const tally = await api(`/api/v1/votes/${opened.id}/tally`);
  const row = tally.leaders.find((l) => l.cell === gridA);
  assert.ok(row, `the tally has ${gridA}: ${JSON.stringify(tally)}`);
  assert.equal(row.counts['不满意'], 1, 'the tally counts the 不满意');
  assert.equal(row.cast, 1, 'one ballot cast');
  console.log(`staff: ok (/vote: ${gridName}, 不满意 cast from the phone, the tally of vote ${opened.id} counts it; the code left the address bar)`);

  // The same code again (a new page load, in lower case): used.
  await vp.goto('about:blank');
  await vp.goto(`${origin}/vote#code=${code.toLowerCase()}`);
  await voteReady();
  assert.equal(await vp.evaluate(() => window.vote.state()), 'used', 'the code is used');
  assert.match(await vp.textContent('#notice'), /该测评码已使用/);
  assert.ok(await vp.isVisible('#code'), 'another code can be typed');
  assert.ok(!(await vp.evaluate(() => location.href)).includes(code.toLowerCase()), 'the code leaves the address bar');

  // A forged code, typed: invalid.
  await vp.fill('#code', 'zzzzz zzzzz');
  await vp.click('#code-submit');
  await vp.waitForFunction(() => window.vote.state() === 'invalid', null, { timeout: 10000 });
  assert.match(await vp.textContent('#notice'), /无效/);
  assert.ok(voteRequests.some((r) => path(r) === '/api/v1/ballots/ZZZZZZZZZZ'), 'the code typed is sent without spaces, in upper case');
  await shot(vp, 'vote-invalid');

  // A real code typed in lower case with spaces opens its ballot.
  await vp.fill('#code', `${second.slice(0, 4).toLowerCase()} ${second.slice(4).toLowerCase()}`);
  await vp.click('#code-submit');
  await vp.waitForFunction(() => window.vote.state() === 'ballot', null, { timeout: 10000 });
  assert.equal((await vp.textContent('#ballot-title')).trim(), `${gridName} 网格长满意度测评 2026`);
  console.log('staff: ok (/vote: a used code says so, a forged one is invalid, a code typed in lower case with spaces is read)');

  const voteOutside = voteRequests.map((r) => r.url()).filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:') && !u.startsWith('about:'));
  assert.deepEqual(voteOutside, [], 'requests left the server: ' + voteOutside.join(', '));
  assert.ok(voteRequests.every((r) => !r.headers().authorization), 'the vote page sends no token');
  await vcsp.assertNone();
  assert.ok(!failed, 'no page errors');
  console.log(`staff: ok (/vote: CSP clean, ${voteRequests.length} requests, all local, none with a token)`);
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
