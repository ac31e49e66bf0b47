// The department's task page (/dept), phone first: 吹哨报到 as a 站所, 派出所 or county department
// sees it. The department's token is pasted once (kept in sessionStorage under
// 'gridmap.dept.token', so it is gone with the tab); `GET /api/v1/me` must say role department.
// `GET /api/v1/incidents` then lists the incidents the department was dispatched to, each with
// its own part(s) only: the page shows, part by part, the category, the grid and village, the
// description and address, the part's state, its 报到 and 处置 deadlines in local time, the
// warning (黄灯/红灯, in words as well as colour) and whether the department leads (牵头) or
// assists (协办). 报到 (`POST /api/v1/parts/{id}/report`) is offered while 待报到; 办结
// (`POST /api/v1/parts/{id}/done {"result"}`) with a required result while 已报到. A refusal
// (the lead before the others, a part already moved on) shows the server's message at the part;
// after every step the list is fetched again. Built with el() only, under the strict CSP.
import { ApiError, client } from './lib/api.js';
import { $, el } from './lib/dom.js';
import { human } from './lib/time.js';

const TOKEN_KEY = 'gridmap.dept.token';
const REFRESH_MS = 60 * 1000;
const OPEN = new Set(['待报到', '已报到']);
const STATE_CLASS = { '待报到': 'waiting', '已报到': 'reported', '已办结': 'done' };

const S = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  me: null,
  parts: [], // flattened: the part with its incident's fields
  drafts: new Map(), // part id → the result typed so far
  errors: new Map(), // part id → the last refusal shown at the part
  busy: new Set(), // part ids with a step on the way
  names: new Map(), // department code → name (GET /api/v1/departments), to explain refusals
  loads: 0,
};
const api = client(() => S.token);

window.dept = {
  ready: false,
  parts: () => S.parts.map((p) => ({ ...p })),
  me: () => S.me,
  get loads() { return S.loads; },
};

// ------------------------------------------------------------------ helpers
function notice(text, kind = 'info') {
  const box = $('notice');
  box.textContent = text || '';
  box.className = `notice ${kind}`;
  box.hidden = !text;
}

/** How far a deadline is, in words: 还剩约… / 已超时. */
function relative(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return '';
  const mins = Math.round(Math.abs(ms) / 60000);
  const span = mins < 60 ? `${mins} 分钟` : mins < 48 * 60 ? `${Math.floor(mins / 60)} 小时${mins % 60 ? ` ${mins % 60} 分` : ''}` : `${Math.round(mins / 1440)} 天`;
  return ms < 0 ? `已超时 ${span}` : `还剩约 ${span}`;
}

function when(iso) {
  return el('time', { datetime: iso }, human(iso));
}

/** The warning of a part in words (never by colour alone). */
function warningOf(p) {
  if (p.state === '已办结') {
    if (p.overdue) return { level: 'red', text: '超期办结' };
    if (p.report_late) return { level: 'yellow', text: '报到超时' };
    return null;
  }
  if (p.warning === 'red') return { level: 'red', text: '红灯：处置已超期' };
  if (p.warning === 'yellow') {
    return { level: 'yellow', text: p.report_late ? '黄灯：报到已超时' : '黄灯：处置时限将到' };
  }
  return null;
}

function flatten(incidents) {
  const out = [];
  for (const i of incidents) {
    for (const part of i.parts || []) {
      out.push({
        ...part,
        incident: i.id,
        incident_state: i.state,
        category: i.category,
        description: i.description,
        address: i.address,
        cell: i.cell,
        village: i.village,
        suspended: !!i.suspended,
      });
    }
  }
  const rank = { '待报到': 0, '已报到': 1, '已办结': 2 };
  const urgency = { red: 0, yellow: 1, normal: 2 };
  return out.sort((a, b) => (rank[a.state] ?? 3) - (rank[b.state] ?? 3)
    || (OPEN.has(a.state) ? (urgency[a.warning] ?? 3) - (urgency[b.warning] ?? 3) : 0)
    || (OPEN.has(a.state)
      ? Date.parse(a.state === '待报到' ? a.report_due : a.deadline_at) - Date.parse(b.state === '待报到' ? b.report_due : b.deadline_at)
      : Date.parse(b.done_at || 0) - Date.parse(a.done_at || 0)));
}

// ------------------------------------------------------------------ rendering
function field(label, ...value) {
  return [el('dt', {}, label), el('dd', {}, ...value)];
}

function card(p) {
  const w = warningOf(p);
  const id = p.id;
  const titleId = `part-${id}-title`;
  const items = [
    ...field('网格', p.cell ? p.cell.name : '未定位', p.village ? el('span', { class: 'muted' }, ` · ${p.village.name}`) : null),
    ...(p.address ? field('地址', p.address) : []),
    ...field('情况', p.description || '—'),
    ...field('报到时限', when(p.report_due),
      p.state === '待报到' ? el('span', { class: 'rel' }, `（${relative(p.report_due)}）`)
        : p.reported_at ? el('span', { class: 'muted' }, `（${human(p.reported_at)} 已报到${p.report_late ? '，超时' : ''}）`) : null),
    ...field('处置时限', when(p.deadline_at),
      OPEN.has(p.state) ? el('span', { class: 'rel' }, `（${relative(p.deadline_at)}）`)
        : p.done_at ? el('span', { class: 'muted' }, `（${human(p.done_at)} 已办结）`) : null),
    ...(p.result ? field('办结结果', p.result) : []),
  ];
  const error = S.errors.get(id) || '';
  const busy = S.busy.has(id);
  const errorBox = el('p', { id: `part-${id}-error`, class: 'error', role: 'alert' }, error);
  let actions = null;
  if (p.suspended && OPEN.has(p.state)) {
    actions = el('p', { class: 'hint' }, '事件已挂账，待解除后继续报到、办结。');
  } else if (p.state === '待报到') {
    actions = el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'primary', 'data-action': 'report', 'data-part': id, 'aria-describedby': titleId, disabled: busy,
        onclick: () => report(p) }, busy ? '正在报到…' : '报到'));
  } else if (p.state === '已报到') {
    const areaId = `part-${id}-result`;
    const area = el('textarea', { id: areaId, name: 'result', rows: '3', maxlength: '2000', required: true, 'aria-required': 'true',
      'aria-invalid': error && S.errors.get(`${id}:field`) === 'result' ? 'true' : null,
      'aria-describedby': `part-${id}-error`, placeholder: '如：已现场处置，占道摊点已清理' });
    area.value = S.drafts.get(id) || '';
    area.addEventListener('input', () => {
      S.drafts.set(id, area.value);
      if (area.getAttribute('aria-invalid')) area.removeAttribute('aria-invalid');
    });
    actions = el('form', { class: 'actions', 'data-part': id, novalidate: true },
      el('label', { for: areaId }, '办结结果（必填）'),
      area,
      el('button', { type: 'submit', class: 'primary', 'data-action': 'done', 'data-part': id, 'aria-describedby': titleId, disabled: busy },
        busy ? '正在提交…' : '办结'));
    actions.addEventListener('submit', (e) => { e.preventDefault(); done(p, area); });
  }
  return el('li', { class: `part state-${STATE_CLASS[p.state] || 'other'} warn-${w ? w.level : 'none'}`, 'data-part': id, 'data-incident': p.incident, 'data-state': p.state },
    el('article', { 'aria-labelledby': titleId },
      el('div', { class: 'part-head' },
        el('h3', { id: titleId, tabindex: '-1' }, p.category || '事件'),
        el('span', { class: `role ${p.lead ? 'lead' : 'assist'}` }, p.lead ? '牵头' : '协办'),
        el('span', { class: 'state' }, p.state)),
      w ? el('p', { class: `warning ${w.level}` }, el('span', { class: 'icon', 'aria-hidden': 'true' }, w.level === 'red' ? '●' : '▲'), w.text) : null,
      el('dl', {}, ...items),
      el('p', { class: 'meta' }, `事件 #${p.incident} · ${p.incident_state}`),
      actions,
      errorBox));
}

function render() {
  const open = S.parts.filter((p) => OPEN.has(p.state));
  const finished = S.parts.filter((p) => !OPEN.has(p.state));
  const count = (s) => S.parts.filter((p) => p.state === s).length;
  $('summary').textContent = `待报到 ${count('待报到')} 件 · 已报到待办结 ${count('已报到')} 件 · 已办结 ${count('已办结')} 件`;
  $('parts').replaceChildren(...open.map(card));
  $('empty').hidden = open.length > 0;
  $('done-parts').replaceChildren(...finished.map(card));
  $('done-title').textContent = `已办结（${finished.length}）`;
  $('done-box').hidden = finished.length === 0;
  const names = [...new Set(S.parts.map((p) => p.department_name).filter(Boolean))];
  $('who').textContent = names.length ? names.join('、') : S.me ? `部门账号 ${S.me.name}` : '';
  $('who').hidden = !$('who').textContent;
}

// ------------------------------------------------------------------ loading
async function load({ quiet = false } = {}) {
  if (!quiet) $('refresh').disabled = true;
  try {
    const { incidents } = await api.get('/api/v1/incidents?limit=500');
    S.parts = flatten(incidents || []);
    S.loads += 1;
    $('updated').textContent = `更新于 ${human(new Date().toISOString())}`;
    render();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { logout('登录已失效，请重新输入令牌'); return; }
    notice(`任务列表读取失败：${e.message}`, 'error');
  } finally {
    $('refresh').disabled = false;
  }
}

/** After a step: the list again, and the focus back on the part. */
async function after(p, text) {
  await load({ quiet: true });
  notice(text, 'ok');
  const heading = $(`part-${p.id}-title`);
  if (heading) heading.focus();
}

/** The department codes a message names, with their names: `（pcs-520328004：湄江街道派出所）`. */
function namesIn(message) {
  const named = [...S.names].filter(([code]) => message.includes(code)).map(([code, name]) => `${code}：${name}`);
  return named.length ? `（${named.join('；')}）` : '';
}

function refusal(p, e, fieldName = null) {
  const message = e instanceof ApiError ? e.message : '无法连接服务器，请检查网络后重试';
  notice('');
  S.errors.set(p.id, `未能完成：${message}${namesIn(message)}`);
  if (e instanceof ApiError && e.details && e.details.field) S.errors.set(`${p.id}:field`, e.details.field);
  else if (fieldName) S.errors.set(`${p.id}:field`, fieldName);
  else S.errors.delete(`${p.id}:field`);
}

function clearError(p) {
  S.errors.delete(p.id);
  S.errors.delete(`${p.id}:field`);
}

async function report(p) {
  if (S.busy.has(p.id)) return;
  clearError(p);
  S.busy.add(p.id);
  render();
  try {
    await api.post(`/api/v1/parts/${p.id}/report`, {});
    S.busy.delete(p.id);
    await after(p, `已报到：${p.category}（事件 #${p.incident}）`);
  } catch (e) {
    S.busy.delete(p.id);
    refusal(p, e);
    if (e instanceof ApiError && e.status === 401) { logout('登录已失效，请重新输入令牌'); return; }
    // The part may have moved on meanwhile: show it as it is now, with the refusal.
    await load({ quiet: true });
    focusError(p);
  }
}

async function done(p, area) {
  if (S.busy.has(p.id)) return;
  const result = area.value.trim();
  clearError(p);
  if (!result) {
    S.errors.set(p.id, '请填写办结结果：说明处置了什么、结果如何');
    S.errors.set(`${p.id}:field`, 'result');
    render();
    const again = $(`part-${p.id}-result`);
    if (again) again.focus();
    return;
  }
  S.busy.add(p.id);
  render();
  try {
    await api.post(`/api/v1/parts/${p.id}/done`, { result });
    S.busy.delete(p.id);
    S.drafts.delete(p.id);
    await after(p, `已办结：${p.category}（事件 #${p.incident}）`);
  } catch (e) {
    S.busy.delete(p.id);
    refusal(p, e);
    if (e instanceof ApiError && e.status === 401) { logout('登录已失效，请重新输入令牌'); return; }
    await load({ quiet: true });
    focusError(p);
  }
}

function focusError(p) {
  const target = S.errors.get(`${p.id}:field`) === 'result' ? $(`part-${p.id}-result`) : $(`part-${p.id}-title`);
  if (target) target.focus();
}

// ------------------------------------------------------------------ login
function showLogin(message = '') {
  $('login').hidden = false;
  $('tasks').hidden = true;
  $('logout').hidden = true;
  $('who').hidden = true;
  $('token-error').textContent = message;
  $('token').setAttribute('aria-invalid', message ? 'true' : 'false');
}

function logout(message = '') {
  S.token = '';
  S.me = null;
  S.parts = [];
  S.errors.clear();
  S.drafts.clear();
  sessionStorage.removeItem(TOKEN_KEY);
  notice('');
  showLogin(message);
  $('token').focus();
}

async function login(token) {
  S.token = token.trim();
  let me;
  try {
    me = await api.get('/api/v1/me');
  } catch (e) {
    S.token = '';
    throw new Error(e instanceof ApiError && e.status === 401 ? '令牌无效或已停用' : `无法登录：${e.message}`);
  }
  if (me.role !== 'department') {
    S.token = '';
    throw new Error('此令牌不是部门账号（需要 department 角色）');
  }
  S.me = me;
  sessionStorage.setItem(TOKEN_KEY, S.token);
  // The registry only explains refusals that name other departments; the page works without it.
  api.get('/api/v1/departments')
    .then(({ departments }) => { for (const d of departments || []) S.names.set(d.code, d.name); })
    .catch(() => {});
  $('login').hidden = true;
  $('tasks').hidden = false;
  $('logout').hidden = false;
  await load();
  return me;
}

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const value = $('token').value;
  if (!value.trim()) { showLogin('请输入访问令牌'); $('token').focus(); return; }
  $('token-submit').disabled = true;
  $('token-error').textContent = '';
  try {
    await login(value);
    $('token').value = '';
    $('token').setAttribute('aria-invalid', 'false');
    $('tasks-title').setAttribute('tabindex', '-1');
    $('tasks-title').focus();
  } catch (err) {
    showLogin(err.message);
    $('token').focus();
  } finally {
    $('token-submit').disabled = false;
  }
});
$('logout').addEventListener('click', () => logout());
$('refresh').addEventListener('click', () => { notice(''); load(); });

// Fetched again every minute and when the page comes back, unless a result is being typed.
const typing = () => document.activeElement && document.activeElement.tagName === 'TEXTAREA';
setInterval(() => { if (S.me && !document.hidden && !typing() && !S.busy.size) load({ quiet: true }); }, REFRESH_MS);
document.addEventListener('visibilitychange', () => { if (S.me && !document.hidden && !typing()) load({ quiet: true }); });

(S.token ? login(S.token).catch((e) => { sessionStorage.removeItem(TOKEN_KEY); showLogin(e.message); }) : Promise.resolve(showLogin()))
  .finally(() => { window.dept.ready = true; });
