// The planner's editor: the side panel (the coverage report, the impact, the selection), the
// toolbar's state, and feedback (messages, the hint over the map).
import { $, area, el, fmt } from './lib/dom.js';
import { S, get, shortName } from './plan-state.js';
import { zoomTo } from './plan-map.js';
import { draw } from './plan-draw.js';
import { merge } from './plan-edit.js';

const KIND_ZH = {
  overlap: '重叠', gap: '空隙', outside_parent: '超出上级', edge_mismatch: '边界不吻合',
  invalid_geometry: '几何无效', duplicate_code: '编码重复', bad_code: '编码不规范',
  unknown_parent: '上级不存在', level_mismatch: '层级不符', multipart: '多块网格', size_band: '规模超出标准',
};
const STATUS_ZH = { ok: '适中', low: '偏少', high: '偏多' };
const DIRS = [['east', '东至'], ['south', '南至'], ['west', '西至'], ['north', '北至']];

// ---------------------------------------------------------------- feedback
let messageTimer = null;
/** A message at the top of the panel; plain info messages go away after 6 s. */
export function say(text, kind = 'info', ...extra) {
  const box = $('message');
  box.replaceChildren(el('span', {}, text), ...extra);
  box.className = 'message ' + kind;
  box.hidden = false;
  clearTimeout(messageTimer);
  if (kind === 'info' && !extra.length) messageTimer = setTimeout(() => { box.hidden = true; }, 6000);
}
/** The hint over the map (hidden when empty). */
export function hint(text) {
  $('hint').textContent = text || '';
  $('hint').hidden = !text;
}
/** For an edit's `.catch`: says what went wrong, and still rejects. */
export function failed(e) {
  say(e.message || String(e), 'error');
  throw e;
}

// ---------------------------------------------------------------- side panel
export function nameOf(code) {
  if (code == null) return '（无）';
  const f = S.view.get(code) || S.base.get(code);
  const impact = S.report && S.report.impact && (S.report.impact.cells || []).find((c) => c.code === code);
  const name = (f && f.properties.name) || (impact && impact.name) || S.names.get(code);
  if (!name) lookUpName(code);
  if (S.village && code === S.village.properties.code) return `${name}（网格外）`;
  return name ? shortName(name) : code;
}
// Names of codes outside the view (neighbouring villages' grids in 四至): fetched once, then
// the impact is drawn again.
const asked = new Set();
let renameTimer = null;
function lookUpName(code) {
  if (asked.has(code) || !/^\d+$/.test(code)) return;
  asked.add(code);
  get(`/api/v1/cells/${code}`).then((f) => {
    S.names.set(code, f.properties.name);
    clearTimeout(renameTimer);
    renameTimer = setTimeout(() => { renderImpact(); renderReport(); }, 50);
  }).catch(() => {});
}

export function renderReport() {
  const section = $('validation-section');
  const list = $('violations');
  list.replaceChildren();
  const report = S.report;
  section.hidden = !report;
  if (!report) return;
  const errors = report.violations.filter((v) => v.severity !== 'warning');
  $('valid-badge').textContent = report.valid ? '通过' : `${errors.length} 个问题`;
  $('valid-badge').className = 'badge ' + (report.valid ? 'ok' : 'bad');
  if (!report.violations.length) list.append(el('li', { class: 'none' }, '无重叠、无空隙，网格完整覆盖村/社区。'));
  for (const v of report.violations) {
    const li = el('li', { class: `violation ${v.kind} ${v.severity}`, 'data-kind': v.kind, title: v.message || '' },
      el('span', { class: 'kind' }, KIND_ZH[v.kind] || v.kind),
      el('span', { class: 'cells' }, (v.cells || []).map(nameOf).join('、')),
      v.area_m2 != null ? el('span', { class: 'area' }, area(v.area_m2)) : null,
      el('div', { class: 'msg' }, v.message || ''));
    li.addEventListener('click', () => zoomTo(v.geometry || unionOf(v.cells)));
    list.append(li);
  }
}
function unionOf(codes) {
  const gs = (codes || []).map((c) => S.view.get(c)).filter(Boolean).map((f) => f.geometry);
  return gs.length ? { type: 'GeometryCollection', geometries: gs } : null;
}

export function renderImpact() {
  const box = $('impact');
  box.replaceChildren();
  const impact = S.report && S.report.impact;
  $('impact-section').hidden = !impact;
  if (!impact) return;

  for (const c of impact.cells || []) if (c.name) S.names.set(c.code, c.name);
  // The village itself shows up when buildings fall into a gap: not a grid, no band to meet.
  const cellsList = (impact.cells || []).filter((c) => S.view.has(c.code) || (S.village && c.code.startsWith(S.village.properties.code) && c.code !== S.village.properties.code));
  if (cellsList.length) {
    box.append(el('h3', {}, '户数与规模标准'));
    const max = Math.max(1, ...cellsList.map((c) => Math.max(c.households || 0, (c.band_households || [0, 0])[1] || 0))) * 1.15;
    const table = el('div', { class: 'bands' });
    for (const c of cellsList) {
      const [lo, hi] = c.band_households || [null, null];
      const bar = el('div', { class: 'bar' });
      if (lo != null && hi != null) {
        const band = el('div', { class: 'band' });
        band.style.left = `${(lo / max) * 100}%`;
        band.style.width = `${((hi - lo) / max) * 100}%`;
        bar.append(band);
      }
      const fill = el('div', { class: `fill ${c.status}` });
      fill.style.width = `${Math.min(100, ((c.households || 0) / max) * 100)}%`;
      bar.append(fill);
      const dev = c.deviation_pct == null ? '' : `${c.deviation_pct > 0 ? '+' : ''}${Math.round(c.deviation_pct)}%`;
      table.append(el('div', { class: `band-row ${c.status}`, title: `标准 ${lo ?? '?'}–${hi ?? '?'} 户；人口 ${fmt(c.population)}` },
        el('span', { class: 'name' }, nameOf(c.code)),
        bar,
        el('span', { class: 'num' }, `${fmt(c.households)} 户`),
        el('span', { class: `status ${c.status}` }, `${STATUS_ZH[c.status] || c.status}${dev && c.status !== 'ok' ? ' ' + dev : ''}`)));
    }
    box.append(table);
  }

  const moves = (impact.moves || []).filter((m) => m.buildings || m.households);
  box.append(el('h3', {}, '改属的户'));
  if (!moves.length) box.append(el('p', { class: 'muted' }, '没有建筑或住户改变所属网格。'));
  else {
    const ul = el('ul', { class: 'moves' });
    for (const m of moves) ul.append(el('li', {}, el('span', {}, nameOf(m.from)), el('span', { class: 'arrow' }, '→'), el('span', {}, nameOf(m.to)),
      el('span', { class: 'num' }, `${fmt(m.buildings)} 栋 · ${fmt(m.households)} 户`)));
    box.append(ul);
  }
  if ((impact.incidents || []).length) box.append(el('p', { class: 'muted' }, `${impact.incidents.length} 件未结事项将改由新网格处理。`));

  if ((impact.multipart || []).length) {
    box.append(el('h3', {}, '多块网格'));
    box.append(el('p', { class: 'warn' }, `以下网格由不相连的几块组成，请确认：${impact.multipart.map(nameOf).join('、')}`));
  }

  // 四至 of grids that stay (retired grids are left out; new grids show only their new 四至).
  const retired = (code) => (S.changes.get(code) || {}).deleted;
  const list = (x, k) => ((x || {})[k] || []).map(shortName).join('、');
  const four = (impact.four_to || []).filter((f) => !retired(f.code) && DIRS.some(([k]) => list(f.before, k) !== list(f.after, k)));
  if (four.length) {
    const details = el('details', { class: 'four-list' }, el('summary', {}, `四至变化（${four.length} 个网格）`));
    if (four.length <= 4) details.open = true;
    for (const f of four) {
      const fresh = DIRS.every(([k]) => !list(f.before, k));
      const dl = el('dl', { class: 'four' });
      for (const [k, zh] of DIRS) {
        const b = list(f.before, k) || '辖区边界';
        const a = list(f.after, k) || '辖区边界';
        if (fresh) dl.append(el('dt', {}, zh), el('dd', {}, a));
        else if (a !== b) dl.append(el('dt', {}, zh), el('dd', {}, el('del', {}, b), ' → ', el('ins', {}, a)));
      }
      details.append(el('div', { class: 'four-cell' }, el('strong', {}, nameOf(f.code)), fresh ? el('span', { class: 'muted' }, '（新网格）') : null, dl));
    }
    box.append(details);
  }
}

export function renderSelection() {
  const section = $('selection-section');
  const box = $('selection');
  box.replaceChildren();
  const codes = S.picked.filter((c) => S.view.has(c));
  section.hidden = !codes.length;
  if (!codes.length) return;
  for (const c of codes) {
    const f = S.view.get(c);
    const impact = S.report && S.report.impact && (S.report.impact.cells || []).find((x) => x.code === c);
    box.append(el('div', { class: 'picked' }, el('strong', {}, f.properties.name), el('span', { class: 'muted' }, ` ${c} · ${f.properties.kind || ''}`),
      impact ? el('div', { class: 'muted' }, `${fmt(impact.households)} 户 · ${fmt(impact.population)} 人`) : null));
  }
  if (codes.length >= 2) {
    const input = el('input', { id: 'merge-name', type: 'text', placeholder: '合并后名称（可选）' });
    box.append(el('div', { class: 'row' }, input,
      el('button', { type: 'button', class: 'primary', disabled: !S.draft, onclick: () => merge(codes, input.value.trim() || undefined).catch(() => {}) }, `合并 ${codes.length} 个网格`)));
  } else box.append(el('p', { class: 'muted small' }, 'Shift+点击再选相邻网格以合并；“画线拆分”把所选网格一分为二。'));
}

export function updateControls() {
  const editing = !!S.draft && !!S.village;
  const idle = S.pending === 0;
  $('tool-select').disabled = !S.village;
  $('tool-split').disabled = !editing;
  $('tool-merge').disabled = !editing || S.picked.length < 2;
  $('undo').disabled = !editing || !S.undo.length || !idle;
  $('redo').disabled = !editing || !S.redo.length || !idle;
  $('undo').title = S.undo.length ? `撤销：${S.undo[S.undo.length - 1].label}（Ctrl+Z）` : '撤销（Ctrl+Z）';
  $('start-draft').disabled = !S.me || !idle;
  const message = $('commit-message').value.trim();
  const valid = !!(S.report && S.report.valid);
  $('commit').disabled = !S.draft || !message || !valid || !idle;
  $('commit-hint').textContent = !S.draft ? '' : !valid ? '草稿未通过校验，不能提交' : !message ? '请填写修订说明' : '';
}

export function setMode(mode) {
  S.mode = mode;
  $('tool-select').classList.toggle('active', mode === 'select');
  $('tool-split').classList.toggle('active', mode === 'split');
  if (!draw) return;
  if (mode === 'split') {
    draw.setMode('splitline');
    hint('依次点击画拆分线，线的两端落在网格边界上（自动吸附节点）；点击末点结束，Esc 取消。');
  } else {
    draw.setMode('select');
    hint('');
  }
}
