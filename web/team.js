// The leader's page (/field/team, phone and desktop): how each grid worker stands against the
// rules over a period — `GET /api/v1/compliance?from=&to=&cell=` (default: this week, Monday to
// today) as a table with the figures behind a rule in red, a CSV export (`&format=csv`, fetched
// with the token and saved from a blob URL: a plain link could not carry it), and per worker
// their daily logs (`GET /api/v1/logs?worker=`), with comments (`POST /api/v1/logs/{id}/comments`),
// and their patrols (`GET /api/v1/patrols?worker=`). The token is the field app's (same pairing,
// same localStorage) or one pasted in.
import { ApiError, client } from './lib/api.js';
import { $, el, fmt } from './lib/dom.js';
import { human, localDay, mondayOf } from './lib/time.js';
import { deviceName, forget, pair, token, useToken, user } from './field-auth.js';

const api = client(token);
const S = { answer: null, worker: null, me: null };

window.team = {
  ready: false,
  load: () => load(),
  answer: () => S.answer,
  showWorker: (name) => showWorker(name),
};

let sayTimer = null;
function say(text, kind = 'info') {
  const box = $('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
  clearTimeout(sayTimer);
  if (text) sayTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

const pct = (v) => (v == null ? '—' : `${(Number(v) <= 1 ? Number(v) * 100 : Number(v)).toFixed(0)}%`);
const num = (v, d = 1) => (v == null ? '—' : Number(v).toFixed(d).replace(/\.0+$/, ''));
const pair2 = (a, b) => `${a ?? '—'}/${b ?? '—'}`;
const hours = (s) => (s == null ? '—' : s >= 3600 ? `${(s / 3600).toFixed(1)} 小时` : `${Math.round(s / 60)} 分钟`);

/** The worker table's columns: the figure, its due (if any), how it is shown. */
const COLUMNS = [
  { key: 'worker', label: '网格员', show: (r) => r.worker },
  { key: 'cells', label: '网格', show: (r) => (r.cells || []).join('、') },
  { key: 'patrol_days', due: 'patrol_days_due', label: '巡查天数', show: (r) => pair2(r.patrol_days, r.patrol_days_due) },
  { key: 'patrol_hours', label: '巡查时长', show: (r) => `${num(r.patrol_hours)} 时` },
  { key: 'coverage', label: '覆盖率', show: (r) => pct(r.coverage) },
  { key: 'logs_written', due: 'logs_due', label: '日志', show: (r) => pair2(r.logs_written, r.logs_due) },
  { key: 'visits_done', due: 'visits_due', label: '走访', show: (r) => pair2(r.visits_done, r.visits_due) },
  { key: 'meetings_held', due: 'meetings_due', label: '例会', show: (r) => pair2(r.meetings_held, r.meetings_due) },
  { key: 'ok', label: '达标', show: (r) => (r.ok ? '达标' : '未达标') },
];

/** The judgements (of `row.judged`) that concern a column. */
function judgedFor(row, col) {
  return (row.judged || []).filter((j) => j.figure === col.key || (col.due && j.figure === col.due));
}

function behind(row, col) {
  if (col.key === 'ok') return !row.ok;
  const js = judgedFor(row, col);
  if (js.length) return js.some((j) => !j.ok);
  return col.due != null && row[col.due] != null && row[col.key] != null && Number(row[col.key]) < Number(row[col.due]);
}

function ruleText(row, col, rules) {
  return judgedFor(row, col).map((j) => {
    const rule = rules.find((r) => r.key === j.rule);
    return `${rule ? rule.description : j.rule}：${j.value ?? '—'} / 应 ${j.due ?? '—'}${j.ok ? '（达标）' : '（未达标）'}`;
  }).join('\n');
}

// ---------------------------------------------------------------- the period
function query(extra = {}) {
  const p = new URLSearchParams({ from: $('from').value, to: $('to').value });
  if ($('cell').value) p.set('cell', $('cell').value);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

async function load() {
  if (!$('from').value || !$('to').value) throw new Error('请选择日期');
  if ($('from').value > $('to').value) throw new Error('开始日期不能晚于结束日期');
  const answer = await api.get(`/api/v1/compliance?${query()}`);
  S.answer = answer;
  render(answer);
  if (S.worker) showWorker(S.worker).catch((e) => say(e.message, 'error'));
  return answer;
}

function render(a) {
  const rules = a.rules || [];
  $('period').textContent = `${human(a.from)} 至 ${human(a.to)}`;
  $('row-count').textContent = String((a.rows || []).length);
  $('compliance').querySelector('thead tr').replaceChildren(...COLUMNS.map((c) => el('th', { scope: 'col' }, c.label)));
  $('compliance').querySelector('tbody').replaceChildren(...(a.rows || []).map((r) => {
    const tr = el('tr', { class: r.ok ? 'ok' : 'behind', tabindex: '0', 'data-worker': r.worker });
    for (const c of COLUMNS) {
      const bad = behind(r, c);
      const td = el(c.key === 'worker' ? 'th' : 'td', { class: bad ? 'bad' : null, title: ruleText(r, c, rules) || null, scope: c.key === 'worker' ? 'row' : null }, c.show(r));
      if (c.key === 'worker') td.prepend(el('button', { type: 'button', class: 'link' }, '›'));
      tr.append(td);
    }
    tr.addEventListener('click', () => showWorker(r.worker).catch((e) => say(e.message, 'error')));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') showWorker(r.worker).catch((err) => say(err.message, 'error')); });
    return tr;
  }));
  const gridRows = a.grids || [];
  $('grids').querySelector('tbody').replaceChildren(...(gridRows.length ? [] : [el('tr', {}, el('td', { colspan: '4', class: 'muted' }, '无数据'))]), ...gridRows.map((g) => el('tr', {},
    el('th', { scope: 'row' }, g.name ? `${g.name}` : g.code, el('div', { class: 'muted' }, g.code)),
    el('td', {}, fmt(g.patrol_days)),
    el('td', {}, pct(g.coverage)),
    el('td', { class: g.visits_due != null && Number(g.visits_done) < Number(g.visits_due) ? 'bad' : null }, pair2(g.visits_done, g.visits_due)),
  )));
  $('rules').replaceChildren(...rules.map((r) => el('li', {}, el('b', {}, r.description || r.key), ` ${r.value ?? ''}`, el('span', { class: 'muted' }, ` （${r.key}）`))));
  // The grid filter: the grids the answer knows, keeping the choice.
  const keep = $('cell').value;
  const codes = new Map((a.grids || []).map((g) => [g.code, g.name || g.code]));
  for (const r of a.rows || []) for (const c of r.cells || []) if (!codes.has(c)) codes.set(c, c);
  if (keep && !codes.has(keep)) codes.set(keep, keep);
  $('cell').replaceChildren(el('option', { value: '' }, '全部网格'), ...[...codes].map(([code, name]) => el('option', { value: code }, name === code ? code : `${name}（${code}）`)));
  $('cell').value = keep;
}

// ---------------------------------------------------------------- one worker
async function showWorker(name) {
  S.worker = name;
  $('worker').hidden = false;
  $('worker-name').textContent = name;
  const p = query({ worker: name });
  const [logs, patrols] = await Promise.all([
    api.get(`/api/v1/logs?${p}`).catch((e) => ({ error: e })),
    api.get(`/api/v1/patrols?${p}`).catch((e) => ({ error: e })),
  ]);
  if (S.worker !== name) return;
  renderLogs(logs);
  renderPatrols(patrols);
  $('pairing-out').hidden = true;
  $('worker').scrollIntoView({ block: 'start', behavior: 'smooth' });
}

// A leader (or an admin) issues a one-time pairing code for the shown worker's phone:
// `POST /api/v1/devices/pairings {"user"}` → the code, its expiry and a QR code of the link that
// opens /field with the code filled in.
$('pairing-issue').addEventListener('click', async () => {
  if (!S.worker) return;
  try {
    const p = await api.post('/api/v1/devices/pairings', { user: S.worker });
    $('pairing-qr').src = p.qr;
    $('pairing-code').textContent = p.code;
    $('pairing-expires').textContent = human(p.expires_at);
    $('pairing-out').hidden = false;
  } catch (e) {
    say('无法生成配对码：' + e.message, 'error');
  }
});

function renderLogs(answer) {
  const list = $('logs');
  if (answer.error) { list.replaceChildren(el('li', { class: 'empty' }, '无法读取日志：' + answer.error.message)); return; }
  const logs = answer.logs || [];
  if (!logs.length) { list.replaceChildren(el('li', { class: 'empty' }, '该时段没有日志')); return; }
  list.replaceChildren(...logs.map((l) => {
    const text = el('textarea', { rows: '2', placeholder: '写下点评或要求', 'aria-label': `点评 ${l.day} 的日志` });
    const send = el('button', { type: 'button', class: 'small primary' }, '点评');
    send.addEventListener('click', async () => {
      const comment = text.value.trim();
      if (!comment) { say('请填写点评内容', 'error'); return; }
      send.disabled = true;
      try {
        await api.post(`/api/v1/logs/${encodeURIComponent(l.id)}/comments`, { comment });
        say('点评已发送', 'ok');
        await showWorker(S.worker);
      } catch (e) {
        say(e.message, 'error');
      } finally {
        send.disabled = false;
      }
    });
    return el('li', { class: 'item log', 'data-log': l.id },
      el('div', { class: 'strong' }, `${human(l.day)} · 第 ${l.version ?? 1} 版`),
      el('div', { class: 'muted' }, `提交于 ${human(l.submitted_at)}`),
      l.summary ? el('p', { class: 'summary' }, l.summary) : null,
      el('p', { class: 'notes' }, l.notes || '（无补充说明）'),
      el('ul', { class: 'comments' }, ...(l.comments || []).map((c) => el('li', {},
        el('b', {}, c.author), ` ${human(c.at)}：`, c.comment))),
      el('div', { class: 'comment-box' }, text, send));
  }));
}

function renderPatrols(answer) {
  const list = $('patrols');
  if (answer.error) { list.replaceChildren(el('li', { class: 'empty' }, '无法读取巡查记录：' + answer.error.message)); return; }
  const patrols = answer.patrols || [];
  if (!patrols.length) { list.replaceChildren(el('li', { class: 'empty' }, '该时段没有巡查记录')); return; }
  list.replaceChildren(...patrols.map((p) => el('li', { class: 'item' },
    el('div', { class: 'strong' }, `${human(p.started_at)} – ${p.ended_at ? human(p.ended_at).split(' ').pop() : '未结束'}`),
    el('div', {}, `里程 ${(Number(p.length_m || 0) / 1000).toFixed(2)} 公里${p.dropped_points ? ` · 剔除 ${p.dropped_points} 个异常点` : ''}`),
    el('ul', { class: 'patrol-grids' }, ...(p.grids || []).map((g) => el('li', {}, `${g.code} · ${hours(g.seconds)} · 覆盖 ${pct(g.coverage)}`))))));
}

// ---------------------------------------------------------------- CSV
$('csv').addEventListener('click', async (e) => {
  e.preventDefault();
  try {
    const r = await fetch(`/api/v1/compliance?${query({ format: 'csv' })}`, { headers: { Authorization: `Bearer ${token()}`, Accept: 'text/csv' } });
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      throw new ApiError((body && body.error && body.error.message) || `HTTP ${r.status}`, { status: r.status });
    }
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `网格考核_${$('from').value}_${$('to').value}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    say('导出失败：' + err.message, 'error');
  }
});

// ---------------------------------------------------------------- login
function showLogin(message = '') {
  $('team').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('pair-error').textContent = message;
  if (!$('device').value) $('device').value = deviceName();
}

async function enter() {
  let me;
  try {
    me = await api.get('/api/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { forget(); showLogin('令牌无效或已失效，请重新配对'); return; }
    const u = user();
    if (!u) throw e;
    me = u; // offline: the name we know
  }
  S.me = me;
  $('who').textContent = me.name || '';
  $('login').hidden = true;
  $('team').hidden = false;
  $('logout').hidden = false;
  await load().catch((e) => {
    say(e instanceof ApiError && e.status === 403 ? '此账号无权查看考核（需要网格长或管理员）' : '无法读取考核：' + e.message, 'error');
  });
}

$('pair-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('pair-error').textContent = '';
  pair($('code').value, $('device').value).then(enter).catch((err) => { $('pair-error').textContent = err.message; });
});
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  $('token-error').textContent = '';
  if (!t) { $('token-error').textContent = '请输入访问令牌'; return; }
  useToken(t);
  $('token').value = '';
  enter().catch((err) => { forget(); $('token-error').textContent = err.message; showLogin(); });
});
$('logout').addEventListener('click', () => {
  if (!confirm('退出后需要重新配对或输入令牌。确定退出？')) return;
  forget();
  location.reload();
});
$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  load().catch((err) => say(err.message, 'error'));
});
$('worker-close').addEventListener('click', () => { S.worker = null; $('worker').hidden = true; });

$('from').value = mondayOf();
$('to').value = localDay();
$('to').max = localDay();

(token() ? enter() : Promise.resolve(showLogin()))
  .catch((e) => say(e.message, 'error'))
  .finally(() => { window.team.ready = true; });
