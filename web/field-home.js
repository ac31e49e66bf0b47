// The home tab (今日工作): this week's patrol days, today's log, the households due for a visit,
// my open incidents with their deadlines (each with 处置 / 反馈, queued as `{"kind":
// "incident.action", "incident", "action", "note", "photos"}`), and the actions the server
// refused. Everything is drawn from the last answer of /api/v1/field/today, which is kept on the
// phone, so the tab reads the same offline (with the time of that answer).
import { $, el } from './lib/dom.js';
import { human, localDay } from './lib/time.js';
import * as store from './field-store.js';
import { action, queue } from './field-sync.js';
import { pick, visitedToday } from './field-visit.js';
import { KIND_LABELS, busy, photoPicker, say, showTab } from './field-ui.js';

let actionPhotos = null;
let actionFor = null; // the incident the dialog acts on
let acted = {};       // incident id → [{action, at}] queued from this phone
let shown = null;     // the answer drawn last
const categoryNames = new Map(); // service code → 大类/小类

/** The incident categories ([{group, services}]), to show a category code by its name. */
export function setCategories(groups) {
  for (const g of groups) for (const s of g.services) categoryNames.set(String(s.code), `${g.group}/${s.name}`);
  if (shown) renderToday(shown);
}
const categoryName = (c) => categoryNames.get(String(c)) || c;

export async function initHome() {
  acted = (await store.get('acted')) || {};
  actionPhotos = photoPicker($('action-photo'), $('action-photos'));
  $('action-cancel').addEventListener('click', () => $('action-dialog').close());
  $('action-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('action-submit'), submitAction(), '保存中…')
      .then(() => $('action-dialog').close())
      .catch((err) => say(err.message, 'error'));
  });
}

/** Draws today's answer ({data, at, offline} from field-data.js). */
export function renderToday(answer) {
  shown = answer;
  const t = answer && answer.data;
  $('today-age').textContent = !t ? '暂无数据：请联网后刷新'
    : answer.offline ? `离线数据 · ${answer.at ? human(new Date(answer.at).toISOString()) : ''}` : `更新于 ${human(new Date(answer.at).toISOString())}`;
  $('today-age').classList.toggle('stale', !!(answer && answer.offline));
  if (!t) return;
  if (t.user && t.user.name) $('who').textContent = t.user.name;
  const pd = t.patrol_days || {};
  $('patrol-days').textContent = `本周巡查 ${pd.done ?? 0}/${pd.required ?? 0} 天`;
  $('patrol-days').classList.toggle('behind', (pd.done ?? 0) < (pd.required ?? 0));
  const log = t.log || {};
  $('log-status').textContent = log.written ? '今日日志：已提交' : log.due ? '今日日志：未提交' : '今日无需提交日志';
  $('log-status').classList.toggle('behind', !!log.due && !log.written);
  $('grid-names').textContent = (t.grids || []).map((g) => g.name || g.code).join('、') || '—';
  renderDue(t.due_visits || []);
  renderIncidents(t.open_incidents || []);
}

function renderDue(list) {
  $('due-count').textContent = String(list.length);
  const today = localDay();
  $('due-list').replaceChildren(...(list.length ? list.map((d) => {
    const late = d.due_by && d.due_by < today;
    const done = visitedToday(d.household);
    const li = el('li', { class: `item${late ? ' late' : ''}${done ? ' done' : ''}` },
      el('div', { class: 'strong' }, d.address || '—'),
      el('div', {}, `${d.head || ''}${Array.isArray(d.categories) && d.categories.length ? ' · ' + d.categories.join('、') : ''}`),
      el('div', { class: 'muted' }, done ? '今日已走访（本机记录）'
        : `上次 ${d.last_visit ? human(d.last_visit) : '无记录'} · ${late ? '已逾期，' : ''}应于 ${human(d.due_by)} 前`),
    );
    const go = el('button', { type: 'button', class: 'small' }, '走访');
    go.addEventListener('click', () => { showTab('visit'); pick(d.household); });
    li.append(el('div', { class: 'actions' }, go));
    return li;
  }) : [el('li', { class: 'empty' }, '暂无应走访住户')]));
}

function renderIncidents(list) {
  $('incident-count').textContent = String(list.length);
  $('incident-list').replaceChildren(...(list.length ? list.map((i) => {
    const mine = acted[String(i.id)] || [];
    const li = el('li', { class: `item${i.overdue ? ' late' : ''}` },
      el('div', { class: 'strong' }, `${categoryName(i.category)} · ${i.state}`),
      el('div', { class: i.overdue ? 'late-text' : 'muted' }, `${i.overdue ? '已超期 · ' : ''}期限 ${human(i.deadline_at)}`),
      mine.length ? el('div', { class: 'muted' }, '本机已记录：' + mine.map((m) => `${m.action} ${human(new Date(m.at).toISOString())}`).join('、')) : null,
      el('div', { class: 'muted' }, `编号 ${i.id}`),
    );
    const buttons = ['处置', '反馈'].map((a) => {
      const b = el('button', { type: 'button', class: 'small' }, a);
      b.addEventListener('click', () => openAction(i, a));
      return b;
    });
    li.append(el('div', { class: 'actions' }, ...buttons));
    return li;
  }) : [el('li', { class: 'empty' }, '暂无办理中的事件')]));
}

function openAction(incident, kind) {
  actionFor = incident;
  $('action-title').textContent = `${categoryName(incident.category)} · 编号 ${incident.id}`;
  $('action-kind').value = kind;
  $('action-note').value = '';
  actionPhotos.reset();
  $('action-dialog').showModal();
}

async function submitAction() {
  if (!actionFor) throw new Error('未选择事件');
  const note = $('action-note').value.trim();
  if (!note) throw new Error('请填写处置或反馈情况');
  await actionPhotos.busy();
  const kind = $('action-kind').value;
  const a = action('incident.action', { incident: actionFor.id, action: kind, note, photos: actionPhotos.photos() });
  const id = String(actionFor.id);
  acted = { ...acted, [id]: [...(acted[id] || []), { action: kind, at: Date.now() }] };
  await queue([a], { acted });
  say(`已记录${kind}：${categoryName(actionFor.category)}`, 'ok');
  if (shown) renderToday(shown);
  return a;
}

/** The actions the server refused, each with its error and a button to dismiss it. */
export async function renderRejected() {
  const list = await store.rejected();
  $('rejected').hidden = !list.length;
  $('rejected-list').replaceChildren(...list.map((r) => {
    const dismiss = el('button', { type: 'button', class: 'small' }, '知道了');
    dismiss.addEventListener('click', async () => { await store.dismissRejected(r.id); renderRejected(); });
    return el('li', { class: 'item late' },
      el('div', { class: 'strong' }, `${KIND_LABELS[r.action.kind] || r.action.kind} · ${human(r.action.at)}`),
      el('div', { class: 'late-text' }, r.error),
      el('div', { class: 'actions' }, dismiss));
  }));
}
