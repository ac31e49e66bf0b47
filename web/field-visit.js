// Household visits (入户走访): pick a household — those due first (today's `due_visits`), then
// every household of my grids (`GET /api/v1/field/households`, kept for offline) — record the
// outcome, the problems found (incident category names), a note and photos; the phone's
// position is taken at check-in (the submit), so the server can flag a visit far from the
// building. Queued as `{"kind": "visit", "household", "outcome", "problems", "note", "photos",
// "position": [lon, lat, accuracy_m] | null}`.
import { $, el } from './lib/dom.js';
import { human, localDay } from './lib/time.js';
import * as store from './field-store.js';
import { action, queue } from './field-sync.js';
import { here } from './field-patrol.js';
import { busy, photoPicker, say } from './field-ui.js';

let households = []; // [{id, address, head, categories, building, cell, last_visit}]
let due = [];        // today's due_visits
let visited = {};    // household id → day visited from this phone
const byKey = new Map(); // option value → household (ids keep their JSON type)
let photos = null;

const key = (id) => String(id);
const cats = (h) => (Array.isArray(h.categories) ? h.categories.join('、') : h.categories || '');

export async function initVisit() {
  photos = photoPicker($('visit-photo'), $('visit-photos'));
  visited = (await store.get('visited')) || {};
  $('visit-search').addEventListener('input', renderSelect);
  $('visit-household').addEventListener('change', renderDetail);
  $('visit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('visit-submit'), submit()).catch((err) => say(err.message, 'error'));
  });
}

/** New data: the households of my grids and today's due visits. */
export function setHouseholds(list, dueVisits) {
  if (list) households = list;
  if (dueVisits) due = dueVisits;
  byKey.clear();
  for (const h of households) byKey.set(key(h.id), h);
  for (const d of due) {
    if (!byKey.has(key(d.household))) {
      byKey.set(key(d.household), { id: d.household, address: d.address, head: d.head, categories: d.categories, last_visit: d.last_visit });
    }
  }
  renderSelect();
}

/** Whether this phone recorded a visit to the household today. */
export const visitedToday = (id) => visited[key(id)] === localDay();

function renderSelect() {
  const select = $('visit-household');
  const keep = select.value;
  const q = $('visit-search').value.trim();
  const match = (h) => !q || [h.address, h.head, cats(h)].some((s) => s && String(s).includes(q));
  const dueKeys = new Set(due.map((d) => key(d.household)));
  const label = (h) => `${h.address || '（无地址）'} · ${h.head || ''}${visitedToday(h.id) ? ' ✓' : ''}`;
  const dueOptions = due.map((d) => byKey.get(key(d.household))).filter((h) => h && match(h))
    .map((h) => el('option', { value: key(h.id) }, label(h)));
  const others = households.filter((h) => !dueKeys.has(key(h.id)) && match(h))
    .map((h) => el('option', { value: key(h.id) }, label(h)));
  select.replaceChildren(el('option', { value: '' }, byKey.size ? '请选择住户' : '暂无住户数据（联网后自动下载）'));
  if (dueOptions.length) select.append(el('optgroup', { label: `应走访（${dueOptions.length}）` }, ...dueOptions));
  if (others.length) select.append(el('optgroup', { label: '其他住户' }, ...others));
  if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep;
  renderDetail();
}

function renderDetail() {
  const h = byKey.get($('visit-household').value);
  const box = $('visit-detail');
  if (!h) { box.replaceChildren(); box.hidden = true; return; }
  const d = due.find((x) => key(x.household) === key(h.id));
  box.hidden = false;
  box.replaceChildren(
    el('div', { class: 'strong' }, h.address || '—'),
    el('div', {}, `户主 ${h.head || '—'}${cats(h) ? ' · ' + cats(h) : ''}`),
    el('div', { class: 'muted' }, `上次走访 ${h.last_visit ? human(h.last_visit) : '无记录'}${d ? ` · 应于 ${human(d.due_by)} 前走访` : ''}`),
  );
}

/** Opens the visit form on a household (from the due list on the home tab). */
export function pick(id) {
  $('visit-search').value = '';
  renderSelect();
  $('visit-household').value = key(id);
  renderDetail();
}

/** The problem checkboxes: the incident categories, grouped (names are what is sent). */
export function setProblems(groups) {
  const box = $('visit-problems');
  const checked = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
  box.replaceChildren(...groups.map((g) => el('details', {},
    el('summary', {}, g.group),
    el('div', { class: 'chips' }, ...g.services.map((s) => el('label', { class: 'chip' },
      el('input', { type: 'checkbox', name: 'problem', value: s.name, checked: checked.has(s.name) }), s.name))))));
}

async function submit() {
  const h = byKey.get($('visit-household').value);
  if (!h) throw new Error('请选择住户');
  await photos.busy();
  const fix = await here();
  const problems = [...$('visit-problems').querySelectorAll('input:checked')].map((i) => i.value);
  const visit = action('visit', {
    household: h.id,
    outcome: $('visit-outcome').value,
    problems,
    note: $('visit-note').value.trim(),
    photos: photos.photos(),
    position: fix ? [round(fix.lon, 7), round(fix.lat, 7), round(fix.accuracy || 0, 1)] : null,
  });
  visited = { ...visited, [key(h.id)]: localDay() };
  await queue([visit], { visited });
  $('visit-note').value = '';
  for (const i of $('visit-problems').querySelectorAll('input:checked')) i.checked = false;
  photos.reset();
  renderSelect();
  say(`已记录走访：${h.address || h.head}${fix ? '' : '（未取得定位）'}`, 'ok');
  document.dispatchEvent(new CustomEvent('field:visited', { detail: { household: h.id } }));
  return visit;
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
