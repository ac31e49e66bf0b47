// The daily log (工作日志) and grid meetings (网格例会). The log of a day is prefilled from
// `GET /api/v1/field/day?date=` (the day's patrols, visits and incidents as the server counted
// them, and its summary); the worker adds notes and sends `{"kind": "log", "day", "notes"}`.
// Once sent it is shown read-only as 已提交; 修改 sends a new `log` for the same day (the server
// keeps every version). A meeting is `{"kind": "meeting", "level": 3, "cell", "day",
// "attendees": [names], "minutes", "photos"}`.
import { $, el } from './lib/dom.js';
import { human, localDay } from './lib/time.js';
import * as store from './field-store.js';
import * as data from './field-data.js';
import { action, queue } from './field-sync.js';
import { busy, fillSelect, photoPicker, say } from './field-ui.js';

let sent = {};          // day → {notes, at}: logs sent from this phone
let serverLog = null;   // today's `log` from /field/today: {date, due, written}
let editing = false;
let meetingPhotos = null;

export async function initLog() {
  sent = (await store.get('logs')) || {};
  $('log-date').value = localDay();
  $('log-date').max = localDay();
  $('log-date').addEventListener('change', () => {
    editing = false;
    $('log-notes').value = sent[day()] ? sent[day()].notes : '';
    loadDay();
  });
  $('log-edit').addEventListener('click', () => { editing = true; render(); $('log-notes').focus(); });
  $('log-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('log-submit'), submitLog(), '提交中…').catch((err) => say(err.message, 'error'));
  });
  meetingPhotos = photoPicker($('meeting-photo'), $('meeting-photos'));
  $('meeting-day').value = localDay();
  $('meeting-day').max = localDay();
  $('meeting-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('meeting-submit'), submitMeeting(), '保存中…').catch((err) => say(err.message, 'error'));
  });
}

/** Today's log status from /field/today, and my grids for the meeting form. */
export function setToday(today) {
  serverLog = today && today.log ? today.log : null;
  const grids = (today && today.grids) || [];
  fillSelect($('meeting-cell'), grids.map((g) => [g.code, g.name ? `${g.name}（${g.code}）` : g.code]), grids.length ? null : '暂无网格');
  render();
}

const day = () => $('log-date').value || localDay();
const isSent = (d) => !!sent[d] || (serverLog && serverLog.date === d && serverLog.written);

/** Loads the day's summary (or its copy when offline). */
export async function loadDay() {
  const d = day();
  $('log-summary').textContent = '加载中…';
  $('log-facts').replaceChildren();
  let answer;
  try {
    answer = await data.day(d);
  } catch (e) {
    answer = { data: null, error: e };
  }
  if (d !== day()) return; // the date changed meanwhile
  const info = answer.data;
  if (!info) {
    $('log-summary').textContent = answer.error && answer.error.status ? answer.error.message : '离线：暂无当日汇总，联网后自动生成';
  } else {
    $('log-summary').textContent = info.summary || '（当日暂无工作记录）';
    const patrols = info.patrols || [];
    const km = patrols.reduce((s, p) => s + (Number(p.length_m) || 0), 0) / 1000;
    $('log-facts').replaceChildren(
      el('li', {}, `巡查 ${patrols.length} 次 · ${km.toFixed(2)} 公里`),
      el('li', {}, `走访 ${info.visits ?? 0} 户`),
      el('li', {}, `事件 ${info.incidents ?? 0} 件`),
      ...patrols.map((p) => el('li', { class: 'muted' }, `${human(p.started_at)} – ${p.ended_at ? human(p.ended_at).split(' ').pop() : '进行中'} · ${Math.round(Number(p.length_m) || 0)} 米`)),
    );
    if (answer.offline) $('log-summary').append(el('span', { class: 'muted' }, '（离线数据）'));
  }
  render();
}

function render() {
  const d = day();
  const done = isSent(d) && !editing;
  const mine = sent[d];
  const notes = $('log-notes');
  notes.readOnly = done;
  if (done) notes.value = mine ? mine.notes : notes.value;
  $('log-state').hidden = !done;
  $('log-state').textContent = done ? `已提交${mine ? ` · ${human(new Date(mine.at).toISOString())}` : '（其他设备）'}` : '';
  $('log-submit').hidden = done;
  $('log-edit').hidden = !done;
  $('log-submit').textContent = sent[d] || isSent(d) ? '提交修改' : '提交日志';
}

async function submitLog() {
  const d = day();
  const notes = $('log-notes').value.trim();
  const log = action('log', { day: d, notes });
  sent = { ...sent, [d]: { notes, at: Date.now() } };
  await queue([log], { logs: sent });
  editing = false;
  render();
  say(`${human(d)}工作日志已提交`, 'ok');
  return log;
}

async function submitMeeting() {
  const cell = $('meeting-cell').value;
  if (!cell) throw new Error('请选择网格');
  const minutes = $('meeting-minutes').value.trim();
  if (!minutes) throw new Error('请填写会议纪要');
  const attendees = $('meeting-attendees').value.split(/[,，、;；\s]+/).map((s) => s.trim()).filter(Boolean);
  if (!attendees.length) throw new Error('请填写参会人员');
  await meetingPhotos.busy();
  const meeting = action('meeting', { level: 3, cell, day: $('meeting-day').value || localDay(), attendees, minutes, photos: meetingPhotos.photos() });
  await queue([meeting]);
  $('meeting-minutes').value = '';
  $('meeting-attendees').value = '';
  meetingPhotos.reset();
  say('例会记录已保存', 'ok');
  return meeting;
}
