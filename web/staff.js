// The staff registry (/admin/staff) for an administrator or a village (community) leader, desktop
// first and usable on a phone: the team of a cell and every cell under it on a day
// (`GET /api/v1/staff?cell=&at=`), grouped by cell, with consent badges (名/照/电) and per
// membership 调动 (`POST /api/v1/memberships/{id}/move`), 结束 (`…/end`) and 详情 (the person's
// memberships and consent log, `GET /api/v1/staff/{id}`, with forms to record consent given or
// withdrawn per scope and to add a membership); the team rules a cell breaks (shown, never
// enforced); a form to add a person (`POST /api/v1/staff`); the staff import (the raw .xlsx or
// CSV as the body of `POST /api/v1/import/staff`, the per-row report shown, rejected lines
// highlighted); the 网格员证 (`GET /api/v1/staff/cards.pdf`, fetched with the token and opened from
// a blob URL, since a plain link could not carry it); and the 千分制 scores of a half-year
// (`GET /api/v1/scores`, exported as xlsx or CSV the same way) with the manual items a leader
// enters (`POST /api/v1/scores/entries`, only the scheme's items of source `manual`); and the
// 满意度测评与公示 section (staff-vote.js). Cells are named by the answers themselves
// (`members[].cell_name`, the violations, the scores). Every refusal is shown next to the form
// that caused it, the field the server names (`details.field`) marked. The token is the field
// app's (same pairing, same localStorage, see field-auth.js) or one pasted in once.
import { ApiError, client } from './lib/api.js';
import { $, el } from './lib/dom.js';
import { human, localDay } from './lib/time.js';
import { deviceName, forget, pair, token, useToken } from './field-auth.js';
import { setupVote } from './staff-vote.js';

const api = client(token);
const S = {
  me: null,
  team: null,
  roles: [],
  detail: null,
  scores: null,
  report: null,
  names: new Map(), // cell code → name
  target: null, // the membership a dialog acts on
  opener: null,
  fresh: null, // a membership to highlight after a change
  freshShown: null,
  teamSeq: 0,
  detailSeq: 0,
};

window.staff = {
  ready: false,
  load: () => loadTeam(),
  team: () => S.team,
  detail: () => S.detail,
  scores: () => S.scores,
  importReport: () => S.report,
  vote: () => null, // set below, once the section is set up
};

const SCOPES = [
  { key: 'name', short: '名', label: '姓名' },
  { key: 'photo', short: '照', label: '照片' },
  { key: 'phone', short: '电', label: '电话' },
];
const ACCOUNT_ROLES = { admin: '管理员', command: '指挥中心', worker: '网格', planner: '规划' };
const IMPORT_STATUS = { written: '写入', unchanged: '未变', rejected: '拒绝' };
const IMPORT_CHANGES = { 'new person': '新增人员', membership: '新任职', consent: '公开同意', details: '信息更新', account: '关联账号' };
/** Fields the server may name that have no input in the form that sent them. */
const FIELD_NAMES = { under: '单元编码', period: '考核期', staff: '人员', cell: '单元编码', to: '调往网格', id: '编号' };

// ---------------------------------------------------------------- small helpers
let sayTimer = null;
function say(text, kind = 'info') {
  const box = $('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
  clearTimeout(sayTimer);
  if (text) sayTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

/** The current half-year of the assessment, `2026H2`. */
function currentHalf(d = new Date()) {
  return `${d.getFullYear()}H${d.getMonth() < 6 ? 1 : 2}`;
}

/** A cell code as typed: digits only. */
const normCell = (s) => String(s || '').replace(/\s+/g, '');
const isCode = (s) => /^\d{6,19}$/.test(s);

function cellLabel(code) {
  const name = S.names.get(code);
  return name ? `${name}（${code}）` : code;
}

/** An error of the page's own, shaped like the server's (`details.field`). */
function localError(field, message) {
  return new ApiError(message, { status: 0, code: 'bad_request', details: { field } });
}

function explain(err) {
  if (!(err instanceof ApiError)) {
    if (err instanceof TypeError && /fetch|network|load failed/i.test(err.message)) return '无法连接服务器，请检查网络后重试';
    return (err && err.message) || String(err);
  }
  const m = err.message;
  switch (err.status) {
    case 401: return `令牌无效或已失效，请重新输入令牌（${m}）`;
    case 403: return `无权操作：${m}`;
    case 404: return `未找到：${m}`;
    case 409: return `与现有记录冲突：${m}`;
    case 413: return `文件过大：${m}`;
    case 415: return `格式不受支持：${m}`;
    case 429: return `尝试过于频繁，请稍后再试：${m}`;
    case 503: return '数据库暂不可用，请稍后再试';
    default: return m;
  }
}

function labelOf(node) {
  if (node.id) {
    const label = document.querySelector(`label[for="${CSS.escape(node.id)}"]`);
    if (label) return label.textContent.trim();
  }
  const legend = node.closest('fieldset') && node.closest('fieldset').querySelector('legend');
  return legend ? legend.textContent.trim() : '';
}

function clearError(form) {
  for (const n of form.querySelectorAll('[aria-invalid]')) n.removeAttribute('aria-invalid');
  const box = form.querySelector('p.error');
  if (box) box.textContent = '';
}

/**
 * Shows `err` in the error line of `form`; the field the server names (`details.field`, e.g.
 * `phone` or `scopes[0]`) is marked invalid, named in the message and focused.
 */
function showError(form, err, prefix = '') {
  clearError(form);
  const raw = err && err.details && typeof err.details.field === 'string' ? err.details.field : '';
  const field = raw.replace(/\[\d+\]/g, '').split('.')[0];
  let label = '';
  if (field) {
    const inputs = [...form.querySelectorAll(`[name="${CSS.escape(field)}"]`)];
    if (inputs.length) {
      for (const n of inputs) n.setAttribute('aria-invalid', 'true');
      label = labelOf(inputs[0]);
      const folded = inputs[0].closest('details');
      if (folded) folded.open = true;
      if (inputs[0].type !== 'file' && inputs[0].type !== 'hidden') inputs[0].focus({ preventScroll: false });
    } else if (field !== 'body') {
      label = FIELD_NAMES[field] || raw;
    }
  }
  const box = form.querySelector('p.error');
  const text = `${prefix}${label ? `【${label}】` : ''}${explain(err)}`;
  if (box) box.textContent = text;
  else say(text, 'error');
}

/** Runs `work` with `button` disabled, errors shown at `form`. */
async function busy(button, form, work, prefix = '') {
  if (form) clearError(form);
  if (button) button.disabled = true;
  try {
    return await work();
  } catch (err) {
    if (form) showError(form, err, prefix);
    else say(prefix + explain(err), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** A request whose answer is not JSON (a file), or whose body is not (the import): the token in
 *  the header, errors in the server's contract thrown as ApiError. */
async function raw(url, { method = 'GET', body, headers = {} } = {}) {
  const r = await fetch(url, { method, body, headers: { Authorization: `Bearer ${token()}`, ...headers } });
  if (!r.ok) {
    const data = await r.json().catch(() => null);
    const e = data && typeof data === 'object' ? data.error : null;
    throw new ApiError((e && (e.message || e.code)) || `${method} ${url}: HTTP ${r.status}`,
      { status: r.status, code: e && e.code, details: e && e.details, body: data });
  }
  return r;
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function consentBadges(consent = {}) {
  return el('span', { class: 'consents' }, ...SCOPES.map((s) => el('span', {
    class: `consent ${consent[s.key] ? 'on' : 'off'}`,
    title: `${s.label}：${consent[s.key] ? '同意公开' : '未同意公开'}`,
  }, el('span', { 'aria-hidden': 'true' }, s.short), el('span', { class: 'sr' }, `${s.label}${consent[s.key] ? '已同意公开' : '未同意公开'}`))));
}

// ---------------------------------------------------------------- names of cells
/** Learns the names the team answer carries: the cell's own, its members' grids, the cells that
 *  break a rule. */
function learnTeamNames(t) {
  if (t.cell && t.name) S.names.set(t.cell, t.name);
  for (const m of t.members || []) if (m.cell_name) S.names.set(m.cell, m.cell_name);
  for (const v of t.violations || []) if (v.name) S.names.set(v.cell, v.name);
  fillCells();
}

function fillCells() {
  const codes = new Set([...S.names.keys(), ...((S.me && S.me.cells) || [])]);
  $('cells-list').replaceChildren(...[...codes].sort().map((code) => el('option', { value: code, label: S.names.get(code) || code })));
}

// ---------------------------------------------------------------- roles
async function loadRoles() {
  const answer = await api.get('/api/v1/teams/roles');
  S.roles = (answer && answer.roles) || [];
  for (const select of document.querySelectorAll('select.roles')) {
    const keep = select.value;
    const teams = new Map();
    for (const r of S.roles) {
      if (!teams.has(r.team)) teams.set(r.team, []);
      teams.get(r.team).push(r);
    }
    select.replaceChildren(...[...teams].map(([team, roles]) => el('optgroup', { label: team },
      ...roles.map((r) => el('option', { value: r.name, title: r.description || null }, r.scored ? `${r.name}（千分制考核）` : r.name)))));
    const fallback = S.roles.some((r) => r.name === '网格员') ? '网格员' : (S.roles[0] && S.roles[0].name);
    select.value = keep && S.roles.some((r) => r.name === keep) ? keep : fallback || '';
  }
}

// ---------------------------------------------------------------- the team
async function loadTeam() {
  const form = $('filters');
  clearError(form);
  const cell = normCell($('cell').value);
  if (!isCode(cell)) throw localError('cell', '请输入 6 至 19 位数字的单元编码（村/社区 12 位，网格 15 位）');
  $('cell').value = cell;
  const p = new URLSearchParams({ cell });
  const at = $('at').value;
  if (at && at !== localDay()) p.set('at', at); // today: the server's today
  const seq = ++S.teamSeq;
  const answer = await api.get(`/api/v1/staff?${p}`);
  if (seq !== S.teamSeq) return S.team;
  S.team = answer;
  learnTeamNames(answer);
  renderTeam(answer);
  vote.teamLoaded(answer);
  return answer;
}

function renderTeam(t) {
  const members = t.members || [];
  $('team-title').replaceChildren(`${t.name || t.cell} 团队 `, el('span', { id: 'team-count', class: 'badge' }, String(members.length)));
  $('team-at').textContent = `${t.cell} 及下属网格 · ${t.at} 在岗人员`;
  const table = $('members');
  for (const b of [...table.tBodies]) b.remove();
  if (!members.length) {
    table.append(el('tbody', {}, el('tr', {}, el('td', { colspan: '7', class: 'muted' }, '该日没有在岗人员。'))));
  }
  const groups = new Map();
  for (const m of members) {
    if (!groups.has(m.cell)) groups.set(m.cell, []);
    groups.get(m.cell).push(m);
  }
  for (const [cell, list] of groups) {
    const body = el('tbody', { 'data-cell': cell },
      el('tr', { class: 'group' }, el('th', { colspan: '7', scope: 'rowgroup' },
        el('span', { class: 'group-name' }, cellLabel(cell)),
        el('span', { class: 'badge' }, `${list.length} 人`),
        el('button', { type: 'button', class: 'small link-button', 'data-action': 'cards', 'data-cell': cell, 'aria-label': `打印 ${cellLabel(cell)} 的网格员证` }, '打印本网格证件'))));
    for (const m of list) {
      body.append(el('tr', { 'data-membership': String(m.membership), 'data-staff': String(m.staff), 'data-cell': m.cell, class: S.fresh === m.membership ? 'fresh' : null },
        el('td', { class: 'role' }, m.role),
        el('th', { scope: 'row', class: 'name' }, m.name),
        el('td', { class: 'phone' }, m.phone || '—'),
        el('td', { class: 'term' }, `${m.since} 至 ${m.until || '今'}`),
        el('td', { class: 'consent-cell' }, consentBadges(m.consent)),
        el('td', { class: 'account' }, m.account || '—'),
        el('td', { class: 'actions' }, el('div', { class: 'action-buttons' },
          el('button', { type: 'button', class: 'small', 'data-action': 'move', 'aria-label': `调动 ${m.name}（${m.role}）` }, '调动'),
          el('button', { type: 'button', class: 'small', 'data-action': 'end', 'aria-label': `结束 ${m.name} 的${m.role}任职` }, '结束'),
          el('button', { type: 'button', class: 'small', 'data-action': 'detail', 'aria-label': `${m.name} 的详情` }, '详情')))));
    }
    table.append(body);
  }
  renderViolations(t.violations || []);
  const fresh = S.fresh && S.fresh !== S.freshShown && table.querySelector(`tr[data-membership="${S.fresh}"]`);
  if (fresh) {
    S.freshShown = S.fresh;
    fresh.scrollIntoView({ block: 'nearest' });
  }
}

function violationText(v) {
  if (v.have < v.min) return `缺${v.role}（现有 ${v.have} 人，应至少 ${v.min} 人）`;
  return `${v.role}超出（现有 ${v.have} 人，最多 ${v.max} 人）`;
}

function renderViolations(list) {
  $('violations-count').textContent = String(list.length);
  if (!list.length) {
    $('violations').replaceChildren(el('li', { class: 'none' }, '没有违反团队规则的单元。'));
    return;
  }
  $('violations').replaceChildren(...list.map((v) => {
    const li = el('li', { 'data-cell': v.cell, 'data-role': v.role },
      el('span', { class: 'code' }, v.cell), ' ',
      el('span', {}, v.name ? `${v.name} ` : ''),
      el('b', {}, violationText(v)),
      el('div', { class: 'muted' }, v.rule));
    if (v.have < v.min && S.roles.some((r) => r.name === v.role)) {
      li.append(el('button', {
        type: 'button', class: 'small', 'data-action': 'fill',
        onclick: () => {
          $('add-cell').value = v.cell;
          $('add-role').value = v.role;
          $('add-name').focus();
        },
      }, `添加${v.role}`));
    }
    return li;
  }));
}

$('members').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-action]');
  if (!button) return;
  if (button.dataset.action === 'cards') {
    printCards(button.dataset.cell, null, button);
    return;
  }
  const row = button.closest('tr[data-membership]');
  const m = row && S.team && (S.team.members || []).find((x) => String(x.membership) === row.dataset.membership);
  if (!m) return;
  S.opener = button;
  if (button.dataset.action === 'move') openMove(m);
  else if (button.dataset.action === 'end') openEnd(m);
  else if (button.dataset.action === 'detail') showDetail(m.staff).catch((err) => say('无法读取详情：' + explain(err), 'error'));
});

/** After a change: the team again, and the open detail if it is the person changed. */
async function refresh(staffId) {
  await loadTeam().catch((err) => showError($('filters'), err));
  if (S.detail && (staffId == null || S.detail.staff.id === staffId)) {
    await showDetail(S.detail.staff.id, { scroll: false }).catch((err) => say('无法读取详情：' + explain(err), 'error'));
  }
}

// ---------------------------------------------------------------- move and end
function openMove(m) {
  S.target = m;
  const form = $('move-form');
  clearError(form);
  $('move-who').textContent = `${m.name} · ${m.role} · 现属 ${cellLabel(m.cell)}，自 ${m.since} 起`;
  $('move-to').value = '';
  $('move-on').value = localDay();
  $('move-on').min = m.since;
  $('move-dialog').showModal();
  $('move-to').focus();
}

function openEnd(m) {
  S.target = m;
  clearError($('end-form'));
  $('end-who').textContent = `${m.name} · ${m.role} · ${cellLabel(m.cell)}，自 ${m.since} 起`;
  $('end-until').value = localDay();
  $('end-until').min = m.since;
  $('end-dialog').showModal();
  $('end-until').focus();
}

for (const id of ['move', 'end']) {
  const dialog = $(`${id}-dialog`);
  $(`${id}-cancel`).addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    if (S.opener && S.opener.isConnected) S.opener.focus();
    S.opener = null;
  });
}

$('move-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('move-form');
  const m = S.target;
  if (!m) return;
  const to = normCell($('move-to').value);
  if (!isCode(to)) { showError(form, localError('to', '请输入调往网格的编码')); return; }
  const body = { to };
  if ($('move-on').value) body.on = $('move-on').value;
  const done = await busy($('move-submit'), form, () => api.post(`/api/v1/memberships/${encodeURIComponent(m.membership)}/move`, body));
  if (!done) return;
  $('move-dialog').close();
  S.fresh = done.membership_id;
  say(`已将 ${m.name} 调往 ${cellLabel(to)}（${body.on || '今天'}起）`, 'ok');
  await refresh(m.staff);
});

$('end-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('end-form');
  const m = S.target;
  if (!m) return;
  const body = {};
  if ($('end-until').value) body.until = $('end-until').value;
  const done = await busy($('end-submit'), form, () => api.post(`/api/v1/memberships/${encodeURIComponent(m.membership)}/end`, body));
  if (!done) return;
  $('end-dialog').close();
  say(`${m.name} 的${m.role}任职已结束（${done.until || body.until || '今天'}）`, 'ok');
  await refresh(m.staff);
});

// ---------------------------------------------------------------- one person
async function showDetail(staffId, { scroll = true } = {}) {
  const seq = ++S.detailSeq;
  const d = await api.get(`/api/v1/staff/${encodeURIComponent(staffId)}`);
  if (seq !== S.detailSeq) return;
  S.detail = d;
  renderDetail(d);
  $('detail').hidden = false;
  if (scroll) {
    $('detail').scrollIntoView({ block: 'start', behavior: 'smooth' });
    $('detail-name').focus({ preventScroll: true });
  }
}

function renderDetail(d) {
  const s = d.staff;
  $('detail-name').textContent = `${s.name}（编号 ${s.id}）`;
  const fact = (k, v) => [el('dt', {}, k), el('dd', {}, v == null || v === '' ? '—' : v)];
  $('detail-facts').replaceChildren(
    ...fact('人员编号', s.ext_id),
    ...fact('手机', s.phone),
    ...fact('办公电话', s.office_phone),
    ...fact('职责', (s.duties || []).join('、')),
    ...fact('照片', s.has_photo ? '已上传' : '无'),
    ...fact('网格通账号', s.account),
    ...fact('公开同意', consentBadges(s.consent)));
  const today = localDay();
  const history = d.memberships || [];
  $('detail-history').tBodies[0].replaceChildren(...(history.length ? history.map((m) => el('tr', { class: m.until && m.until <= today ? 'ended' : null, 'data-membership': String(m.membership) },
    el('td', {}, cellLabel(m.cell)),
    el('td', {}, m.role),
    el('td', {}, m.since),
    el('td', {}, m.until || '—'),
    el('td', {}, !m.until ? '在任' : m.until > today ? `${m.until} 起结束` : '已结束'))) : [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, '无任职记录'))]));
  const scope = (k) => (SCOPES.find((x) => x.key === k) || { label: k }).label;
  const consents = d.consents || [];
  $('detail-consents').tBodies[0].replaceChildren(...(consents.length ? consents.map((c) => el('tr', { class: c.granted ? 'granted' : 'withdrawn' },
    el('td', {}, scope(c.scope)),
    el('td', {}, c.granted ? '同意' : '撤回'),
    el('td', {}, c.given_on),
    el('td', {}, c.how),
    el('td', {}, c.note || '—'),
    el('td', {}, c.recorded_by),
    el('td', {}, human(c.recorded_at)))) : [el('tr', {}, el('td', { colspan: '7', class: 'muted' }, '尚无同意记录：姓名、照片、电话均不公开'))]));
}

$('detail-close').addEventListener('click', () => {
  S.detail = null;
  S.detailSeq++;
  $('detail').hidden = true;
});

$('consent-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('consent-form');
  if (!S.detail) return;
  const id = S.detail.staff.id;
  const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((n) => n.value);
  if (!scopes.length) { showError(form, localError('scopes', '请至少选择一项范围')); return; }
  const granted = (form.querySelector('input[name="granted"]:checked') || {}).value !== 'false';
  const how = $('consent-how').value.trim();
  if (!how) { showError(form, localError('how', '请填写同意或撤回的方式（如 书面）')); return; }
  const body = { scopes, granted, how };
  if ($('consent-on').value) body.given_on = $('consent-on').value;
  const note = $('consent-note').value.trim();
  if (note) body.note = note;
  const now = await busy($('consent-submit'), form, () => api.post(`/api/v1/staff/${encodeURIComponent(id)}/consents`, body));
  if (!now) return;
  $('consent-note').value = '';
  say(`已登记${granted ? '同意' : '撤回'}：${scopes.map((k) => SCOPES.find((x) => x.key === k).label).join('、')}`, 'ok');
  await refresh(id);
});

$('membership-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('membership-form');
  if (!S.detail) return;
  const id = S.detail.staff.id;
  const cell = normCell($('mem-cell').value);
  if (!isCode(cell)) { showError(form, localError('cell', '请输入网格编码')); return; }
  const body = { cell, role: $('mem-role').value };
  if ($('mem-since').value) body.since = $('mem-since').value;
  const done = await busy($('mem-submit'), form, () => api.post(`/api/v1/staff/${encodeURIComponent(id)}/memberships`, body));
  if (!done) return;
  S.fresh = done.membership_id;
  $('mem-cell').value = '';
  say(`已增加任职：${cellLabel(cell)} ${body.role}`, 'ok');
  await refresh(id);
});

// ---------------------------------------------------------------- add a person
$('add-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('add-form');
  const name = $('add-name').value.trim();
  if (!name) { showError(form, localError('name', '请填写姓名')); return; }
  const cell = normCell($('add-cell').value);
  if (!isCode(cell)) { showError(form, localError('cell', '请输入网格编码（15 位）')); return; }
  if (!$('add-role').value) { showError(form, localError('role', '请选择角色')); return; }
  const body = { name, cell, role: $('add-role').value };
  const optional = { phone: 'add-phone', since: 'add-since', account: 'add-account', ext_id: 'add-ext', office_phone: 'add-office' };
  for (const [k, id] of Object.entries(optional)) {
    const v = $(id).value.trim();
    if (v) body[k] = v;
  }
  const duties = $('add-duties').value.split(/[、;；,，\n]/).map((s) => s.trim()).filter(Boolean);
  if (duties.length) body.duties = duties;
  const done = await busy($('add-submit'), form, () => api.post('/api/v1/staff', body));
  if (!done) return;
  for (const id of ['add-name', 'add-phone', 'add-account', 'add-ext', 'add-office', 'add-duties']) $(id).value = '';
  S.fresh = done.membership_id;
  say(`已添加 ${name}：${cellLabel(cell)} ${body.role}（人员编号 ${done.staff_id}）`, 'ok');
  if (!$('cell').value && S.me) $('cell').value = cell;
  await refresh(null);
  $('add-name').focus();
});

// ---------------------------------------------------------------- the import
/**
 * Sends the file chosen in `fileId` as it is (xlsx or CSV) to `url` from `formId`, the button
 * `submitId` busy meanwhile: the server's per-row report, or null (the refusal shown at the form).
 */
async function uploadFile(formId, fileId, submitId, url) {
  const form = $(formId);
  const file = $(fileId).files[0];
  if (!file) { showError(form, localError('body', '请选择 .xlsx 或 .csv 文件')); return null; }
  if (file.size > 64 * 1024 * 1024) { showError(form, localError('body', '文件超过 64 MB')); return null; }
  say(`正在导入 ${file.name}…`);
  const report = await busy($(submitId), form, async () => {
    const r = await raw(url, {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
    });
    return r.json();
  }, '导入失败：');
  if (!report) say('');
  return report;
}

$('import-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const report = await uploadFile('import-form', 'import-file', 'import-submit', '/api/v1/import/staff');
  if (!report) return;
  S.report = report;
  renderImport(report);
  say(`导入完成：写入 ${report.written}，未变 ${report.unchanged}，拒绝 ${report.rejected}`, report.rejected ? 'error' : 'ok');
  if (report.written && isCode(normCell($('cell').value))) await refresh(null);
});

function renderImport(r) {
  $('import-result').hidden = false;
  $('import-format').textContent = `格式 ${r.format}`;
  $('import-rows').textContent = String(r.rows);
  $('import-written').textContent = String(r.written);
  $('import-unchanged').textContent = String(r.unchanged);
  $('import-rejected').textContent = String(r.rejected);
  $('import-report').tBodies[0].replaceChildren(...(r.report || []).map((row) => el('tr', { class: row.status, 'data-line': String(row.line) },
    el('th', { scope: 'row', class: 'line' }, String(row.line)),
    el('td', { class: 'status' }, IMPORT_STATUS[row.status] || row.status),
    el('td', {}, row.name || '—'),
    el('td', { class: 'why' }, row.status === 'rejected'
      ? row.reason || ''
      : [(row.changes || []).map((c) => IMPORT_CHANGES[c] || c).join('、') || '无变化', row.staff_id ? ` · 人员编号 ${row.staff_id}` : ''].join('')))));
}

// ---------------------------------------------------------------- PDFs (网格员证, 测评票)
/**
 * Fetches the PDF at `url` with the token (a plain link could not carry it) and opens it from a
 * blob URL in a new tab, else downloads it as `name`. Errors are shown at `form`.
 */
async function openPdf(url, name, button, form, label) {
  // Opened at the click, or the browser would block the window as a pop-up.
  const win = window.open('', '_blank');
  say(`正在生成${label}…`);
  const blob = await busy(button, form, async () => (await raw(url, { headers: { Accept: 'application/pdf' } })).blob(), `无法生成${label}：`);
  if (!blob) { if (win) win.close(); say(''); return false; }
  const blobUrl = URL.createObjectURL(blob);
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10 * 60 * 1000);
  if (win && !win.closed) {
    win.location.href = blobUrl;
    say(`${label}已在新标签页打开`, 'ok');
  } else {
    saveBlob(blob, name);
    say(`浏览器阻止了新窗口，${label}已下载`, 'ok');
  }
  return true;
}

async function printCards(cell, staff, button) {
  const form = $('filters');
  if (!isCode(cell || '')) { showError(form, localError('cell', '请先输入单元编码')); return; }
  const p = new URLSearchParams({ cell });
  if (staff) p.set('staff', String(staff));
  await openPdf(`/api/v1/staff/cards.pdf?${p}`, `网格员证_${cell}.pdf`, button, form, '网格员证');
}

$('print-cards').addEventListener('click', () => {
  printCards(normCell($('cell').value) || (S.team && S.team.cell), null, $('print-cards'));
});

// ---------------------------------------------------------------- the 千分制 scores
function scoreQuery(extra = {}) {
  const period = $('period').value.trim().toUpperCase();
  if (!/^\d{4}H[12]$/.test(period)) throw localError('period', '考核期写作 2026H1（1–6 月）或 2026H2（7–12 月）');
  $('period').value = period;
  const under = normCell($('cell').value) || (S.team && S.team.cell) || '';
  if (!isCode(under)) throw localError('under', '请先在上方输入单元编码');
  return new URLSearchParams({ period, under, ...extra });
}

async function loadScores() {
  const q = scoreQuery();
  const v = await api.get(`/api/v1/scores?${q}`);
  S.scores = v;
  for (const p of v.people || []) if (p.grid) S.names.set(p.cell, p.grid);
  renderScores(v);
  return v;
}

function renderScores(v) {
  const people = v.people || [];
  // The scheme's items (older servers: those of the first person).
  const items = v.items && v.items.length ? v.items : people.length ? people[0].score.items : [];
  const itemOf = (p, key) => p.score.items.find((i) => i.key === key) || { key, points: '—', basis: '' };
  $('scores-meta').textContent = `${v.period}（${v.from} 至 ${v.to}）· ${v.scheme} · 每分 ${v.yuan_per_point} 元 · ${people.length} 人`;
  const table = $('scores');
  table.tHead.rows[0].replaceChildren(
    el('th', { scope: 'col' }, '姓名'), el('th', { scope: 'col' }, '角色'), el('th', { scope: 'col' }, '网格'),
    ...items.map((i) => el('th', { scope: 'col', 'data-item': i.key }, i.name, el('span', { class: 'max' }, `/${i.max_points}`))),
    el('th', { scope: 'col' }, '总分'), el('th', { scope: 'col' }, '补贴（元）'), el('th', { scope: 'col' }, el('span', { class: 'sr' }, '操作')));
  table.tBodies[0].replaceChildren(...(people.length ? people.map((p) => el('tr', { 'data-staff': String(p.staff), 'data-cell': p.cell },
    el('th', { scope: 'row' }, p.name, p.account ? null : el('span', { class: 'warn', title: '未关联网格通账号：巡查、日志与走访记为 0' }, ' 未关联')),
    el('td', {}, p.role),
    el('td', {}, p.grid || p.cell),
    ...items.map((it) => itemOf(p, it.key)).map((i) => el('td', { class: `points${i.basis === '未评定' ? ' unrated' : ''}`, 'data-item': i.key, title: i.basis },
      el('span', { class: 'value' }, String(i.points)), el('span', { class: 'basis' }, i.basis))),
    el('td', { class: 'total' }, `${p.score.total}`, el('span', { class: 'max' }, `/${p.score.max_total}`)),
    el('td', { class: 'yuan' }, String(p.score.yuan)),
    el('td', {}, el('button', { type: 'button', class: 'small', 'data-action': 'score', 'aria-label': `为 ${p.name} 评分` }, '评分')))) : [el('tr', {}, el('td', { colspan: String(items.length + 6), class: 'muted' }, '该单元没有参加千分制考核的人员'))]));
  // The manual-score form: the people (once each) and the items.
  const keepStaff = $('entry-staff').value;
  const seen = new Set();
  $('entry-staff').replaceChildren(...people.filter((p) => !seen.has(p.staff) && seen.add(p.staff))
    .map((p) => el('option', { value: String(p.staff) }, `${p.name} · ${p.role} · ${p.grid || p.cell}`)));
  if (keepStaff && seen.has(Number(keepStaff))) $('entry-staff').value = keepStaff;
  // Only the items entered by hand; the others are scored from the records.
  const manual = items.filter((i) => i.source === undefined ? i.key === 'conduct' : i.source === 'manual');
  const keepItem = $('entry-item').value;
  $('entry-item').replaceChildren(...(manual.length
    ? manual.map((i) => el('option', { value: i.key, 'data-max': String(i.max_points), 'data-description': i.description || '' }, `${i.name}（满分 ${i.max_points}）`))
    : [el('option', { value: '' }, '本方案没有人工评定的项目')]));
  $('entry-item').value = manual.some((i) => i.key === keepItem) ? keepItem : (manual[0] ? manual[0].key : '');
  $('entry-submit').disabled = !manual.length;
  syncPointsMax();
}

function syncPointsMax() {
  const o = $('entry-item').selectedOptions[0];
  if (o && o.value) {
    $('entry-points').max = o.dataset.max;
    $('entry-hint').textContent = `满分 ${o.dataset.max} 分，可填 0–${o.dataset.max}${o.dataset.description ? `。${o.dataset.description}` : ''}`;
  } else {
    $('entry-hint').textContent = '';
  }
}
$('entry-item').addEventListener('change', syncPointsMax);

$('scores').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action="score"]');
  if (!b) return;
  $('entry-staff').value = b.closest('tr').dataset.staff;
  $('entry-points').focus();
});

$('scores-form').addEventListener('submit', (e) => {
  e.preventDefault();
  busy($('scores-load'), $('scores-form'), loadScores);
});

async function exportScores(format, button) {
  await busy(button, $('scores-form'), async () => {
    const q = scoreQuery({ format });
    const r = await raw(`/api/v1/scores?${q}`, { headers: { Accept: format === 'csv' ? 'text/csv' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' } });
    saveBlob(await r.blob(), `千分制_${q.get('period')}_${q.get('under')}.${format}`);
  }, '导出失败：');
}
$('scores-xlsx').addEventListener('click', () => exportScores('xlsx', $('scores-xlsx')));
$('scores-csv').addEventListener('click', () => exportScores('csv', $('scores-csv')));

$('entry-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('entry-form');
  if (!S.scores) { showError(form, localError('staff', '请先计算得分，再选择人员')); return; }
  const staff = Number($('entry-staff').value);
  if (!staff) { showError(form, localError('staff', '请选择人员')); return; }
  if (!$('entry-item').value) { showError(form, localError('item', '请选择项目')); return; }
  const pointsText = $('entry-points').value.trim();
  const points = Number(pointsText);
  if (!pointsText || !Number.isFinite(points)) { showError(form, localError('points', '请填写分数')); return; }
  const reason = $('entry-reason').value.trim();
  if (!reason) { showError(form, localError('reason', '请写明评分理由')); return; }
  const body = { period: S.scores.period, staff, item: $('entry-item').value, points, reason };
  const done = await busy($('entry-submit'), form, () => api.post('/api/v1/scores/entries', body));
  if (!done) return;
  $('entry-reason').value = '';
  $('entry-points').value = '';
  say('评分已保存', 'ok');
  await busy($('scores-load'), $('scores-form'), loadScores);
});

// ---------------------------------------------------------------- 满意度测评与公示
const vote = setupVote({
  api, raw, busy, showError, localError, say, explain, saveBlob, openPdf, cellLabel, normCell, isCode, uploadFile,
  names: S.names,
  me: () => S.me,
  team: () => S.team,
});
window.staff.vote = () => vote.state();

// ---------------------------------------------------------------- login
function showLogin(message = '') {
  $('registry').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('token-error').textContent = message;
  if (!$('device').value) $('device').value = deviceName();
  $('token').focus();
}

async function enter() {
  let me;
  try {
    me = await api.get('/api/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { forget(); showLogin('令牌无效或已失效，请重新输入'); return; }
    throw e;
  }
  S.me = me;
  $('who').textContent = `${me.name || ''}${me.role ? `（${ACCOUNT_ROLES[me.role] || me.role}）` : ''}`;
  $('login').hidden = true;
  $('registry').hidden = false;
  $('logout').hidden = false;
  const own = me.cells || [];
  fillCells();
  vote.enter(me);
  if (!normCell($('cell').value) && own.length) $('cell').value = own[0];
  try {
    await loadRoles();
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) { say('此账号无权管理网格人员（需要管理员或网格长）', 'error'); return; }
    say('无法读取角色表：' + explain(e), 'error');
  }
  if (normCell($('cell').value)) await loadTeam().catch((err) => showError($('filters'), err));
  else $('cell').focus();
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  $('token-error').textContent = '';
  if (!t) { $('token-error').textContent = '请输入访问令牌'; return; }
  useToken(t);
  $('token').value = '';
  enter().catch((err) => { forget(); showLogin(explain(err)); });
});
$('pair-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('pair-error').textContent = '';
  pair($('code').value, $('device').value).then(enter).catch((err) => { $('pair-error').textContent = err.message; });
});
$('logout').addEventListener('click', () => {
  if (!confirm('退出后需要重新输入令牌或配对。确定退出？')) return;
  forget();
  location.reload();
});
$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  busy($('load'), $('filters'), loadTeam);
});

$('at').value = localDay();
$('period').value = currentHalf();
$('consent-on').max = localDay();

(token() ? enter() : Promise.resolve(showLogin()))
  .catch((e) => say(explain(e), 'error'))
  .finally(() => { window.staff.ready = true; });
