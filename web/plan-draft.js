// The planner's editor: the draft (start, restore, validate — the coverage report and the impact
// after every edit) and committing it as a new revision; the revision list.
import { $, el } from './lib/dom.js';
import { DRAFT_KEY, S, api, enqueue, get } from './plan-state.js';
import { renderAll, renderGrids, renderViolations } from './plan-map.js';
import { syncDraw } from './plan-draw.js';
import { rebuildView, selectVillage } from './plan-session.js';
import { renderImpact, renderReport, say, updateControls } from './plan-panel.js';

// ---------------------------------------------------------------- drafts
export function setDraft(d) {
  if (!S.draft || S.draft.id !== d.id) S.staleWarned = false;
  S.draft = { id: d.id, base_revision: d.base_revision };
  S.changes = new Map();
  for (const c of d.changes || []) S.changes.set(c.code, { deleted: !!c.deleted, feature: c.feature });
  sessionStorage.setItem(DRAFT_KEY, String(d.id));
  if (S.village) { rebuildView(); syncDraw(true); renderAll(); }
  refreshDraftInfo();
  $('draft-badge').textContent = `草稿 #${d.id}`;
  $('draft-badge').hidden = false;
  $('start-draft').textContent = '放弃并新建草稿';
  $('commit-section').hidden = false;
  updateControls();
}
export function clearDraft() {
  S.draft = null;
  S.changes = new Map();
  S.undo = [];
  S.redo = [];
  S.report = null;
  sessionStorage.removeItem(DRAFT_KEY);
  $('draft-badge').hidden = true;
  $('start-draft').textContent = '开始草稿';
  $('draft-info').textContent = '尚未开始草稿。开始草稿后才能修改网格边界。';
  $('validation-section').hidden = true;
  $('impact-section').hidden = true;
  updateControls();
}
export function refreshDraftInfo() {
  if (!S.draft) return;
  $('draft-info').replaceChildren(
    el('div', {}, el('strong', {}, `草稿 #${S.draft.id}`), `　基于第 ${S.draft.base_revision} 版`),
    el('div', { class: 'muted' }, S.changes.size ? `已修改 ${S.changes.size} 个网格` : '尚无修改'),
  );
}

export function startDraft() {
  return enqueue(async () => {
    const d = await api('POST', '/api/v1/drafts', {});
    S.undo = [];
    S.redo = [];
    setDraft({ id: d.id, base_revision: d.base_revision, changes: [] });
    $('commit-result').replaceChildren();
    say(`已开始草稿 #${d.id}（基于第 ${d.base_revision} 版）`);
    await validate();
    return d;
  });
}

export async function reloadDraft() {
  const d = await get(`/api/v1/drafts/${S.draft.id}`);
  setDraft(d);
  return d;
}

export async function validate() {
  if (!S.draft) return null;
  const report = await api('POST', `/api/v1/drafts/${S.draft.id}/validate`, {});
  showReport(report);
  return report;
}

export function showReport(report) {
  S.report = report;
  if (report.stale && !S.staleWarned) {
    S.staleWarned = true;
    say(`注意：别人已提交第 ${report.current_revision} 版，本草稿基于第 ${report.base_revision} 版，提交会被拒绝。`, 'error',
      el('button', { type: 'button', class: 'small', onclick: () => { $('message').hidden = true; startDraft().catch(() => {}); } }, '新建草稿'));
  }
  renderGrids();
  renderViolations();
  renderReport();
  renderImpact();
  updateControls();
}


export function commit(message) {
  return enqueue(async () => {
    if (!S.draft) throw new Error('没有草稿可以提交');
    message = (message == null ? $('commit-message').value : message).trim();
    if (!message) throw new Error('请填写修订说明');
    let r;
    try {
      r = await api('POST', `/api/v1/drafts/${S.draft.id}/commit`, { message });
    } catch (e) {
      if (e.status === 409 || e.code === 'stale_base') {
        const d = e.details || {};
        say(`提交失败：别人已经提交了第 ${d.current_revision ?? '?'} 版（本草稿基于第 ${d.base_revision ?? S.draft.base_revision} 版）。请新建草稿后重做调整。`, 'error',
          el('button', { type: 'button', class: 'small', onclick: () => { $('message').hidden = true; startDraft().catch(() => {}); } }, '新建草稿'));
        await Promise.all([loadRevision(), loadRevisions()]);
      } else if (e.status === 422 || e.code === 'coverage_violated') {
        if (e.details && e.details.violations) showReport(e.details);
        say('提交失败：草稿不满足覆盖要求，请先修正右侧列出的问题。', 'error');
      } else say('提交失败：' + e.message, 'error');
      e.reported = true;
      throw e;
    }
    const number = r.revision;
    const village = S.village && S.village.properties.code;
    clearDraft();
    $('commit-message').value = '';
    $('commit-result').replaceChildren(el('div', { class: 'success' }, `已提交修订 ${number}`));
    say(`已提交修订 ${number}`, 'success');
    await Promise.all([loadRevision(), loadRevisions()]);
    if (village) await selectVillage(village);
    return number;
  }).catch((e) => { if (!e.reported) say(e.message, 'error'); throw e; });
}

export async function loadRevision() {
  const r = await get('/api/v1/revision');
  S.revision = r;
  $('revision').textContent = `当前第 ${r.number} 版${r.date ? ' · ' + r.date : ''}`;
  $('revision').dataset.number = r.number;
  return r;
}
export async function loadRevisions() {
  let list;
  try { list = (await get('/api/v1/revisions')).revisions || []; } catch { return; }
  const ol = $('revisions');
  ol.replaceChildren();
  for (const r of list.slice(0, 12)) {
    const stats = [];
    if (r.added) stats.push(el('span', { class: 'add' }, `+${r.added}`));
    if (r.removed) stats.push(el('span', { class: 'del' }, `−${r.removed}`));
    if (r.changed) stats.push(el('span', { class: 'chg' }, `~${r.changed}`));
    const when = r.created_at ? String(r.created_at).replace('T', ' ').slice(0, 16) : '';
    ol.append(el('li', { 'data-number': r.number },
      el('div', { class: 'rev-head' }, el('strong', {}, `第 ${r.number} 版`), el('span', { class: 'muted' }, when)),
      el('div', { class: 'rev-msg' }, r.message || '（无说明）'),
      el('div', { class: 'rev-meta' }, el('span', { class: 'muted' }, r.author || ''), el('span', { class: 'stats' }, ...stats))));
  }
}
