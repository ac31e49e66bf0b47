// 满意度测评与公示, the year-end section of /admin/staff (staff.js sets it up with its helpers):
// - the electorate of the grids of the cell loaded (`GET /api/v1/electors?cell=`, per grid for a
//   leader on its own village: the server lets a leader manage only below its cells): counts per
//   grid and kind, the names folded away; one elector added by hand (`POST /api/v1/electors`) or a
//   file imported as raw bytes (`POST /api/v1/import/electors`, the report shown row by row).
//   Admins and leaders.
// - the votes (admin): opening one on the grids of the cell (`POST /api/v1/votes`); its codes are
//   credentials, so they are never put on the page: only kept in memory for 下载测评码 CSV, built
//   here, and printed as slips (`GET /api/v1/votes/{id}/slips.pdf`, fetched with the token); the
//   list (`GET /api/v1/votes`) and per vote the tally per leader (`…/tally`, 应予调整 when 不满意
//   is over a third of the ballots cast), 刷新, 结束测评 (`…/close`, confirmed first).
// - 公示 (admin): publishing the results under a village (`POST /api/v1/publications`), what was
//   published (`GET /api/v1/publications?under=`) and the public sheet `/gongshi/{code}.pdf` (a
//   plain link: it needs no token).
import { ApiError } from './lib/api.js';
import { $, el } from './lib/dom.js';
import { human } from './lib/time.js';

const KINDS = ['党员', '村民代表', '居民代表'];
const CHOICES = ['满意', '基本满意', '不满意'];
const REPORT_STATUS = { added: '新增', unchanged: '已有', rejected: '拒绝' };
/** Elector lists longer than this are counted in full but listed only this far. */
const LIST_LIMIT = 2000;

/** The grid (15 digits) a cell code lies in, or null above the grids. */
const gridOf = (code) => (code && code.length >= 15 ? code.slice(0, 15) : null);

/** A CSV field, quoted when it must be. */
const csvField = (v) => {
  const s = String(v == null ? '' : v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function setupVote(ctx) {
  const { api, busy, showError, localError, say, explain, saveBlob, openPdf, cellLabel, normCell, isCode, uploadFile } = ctx;
  const V = {
    cell: null, // the cell whose grids are shown
    electors: null, // its electorate, null until read (or when refused)
    grids: [], // [{code, name, leader}]
    votes: [],
    voteId: null, // the vote whose tally is shown
    tally: null,
    opened: null, // the answer of the vote opened last (its codes), until 完成
    report: null,
    publications: [],
    underTouched: false,
    seq: 0,
    tallySeq: 0,
    pubSeq: 0,
  };
  const isAdmin = () => Boolean(ctx.me() && ctx.me().role === 'admin');
  const year = () => String(new Date().getFullYear());

  /** The server names `electors[0].name`; the form has `name`. */
  function renamed(err, map) {
    const f = err && err.details && err.details.field;
    if (typeof f === 'string') {
      for (const [re, to] of map) {
        if (re.test(f)) { err.details = { ...err.details, field: to }; break; }
      }
    }
    return err;
  }

  // -------------------------------------------------------------- the grids of the cell
  function computeGrids() {
    const t = ctx.team();
    const cell = V.cell;
    const grids = new Map();
    const add = (code) => {
      const g = gridOf(code);
      if (!g || !cell || !g.startsWith(cell.slice(0, Math.min(cell.length, 15)))) return;
      if (!grids.has(g)) grids.set(g, { code: g, name: ctx.names.get(g) || '', leader: null });
    };
    if (cell && cell.length >= 15) add(cell);
    if (t && t.cell === cell) {
      for (const m of t.members || []) add(m.cell);
      for (const v of t.violations || []) add(v.cell);
      for (const m of t.members || []) {
        const g = grids.get(m.cell);
        if (g && m.role === '网格长' && !g.leader) g.leader = m.name;
      }
    }
    for (const e of V.electors || []) add(e.cell);
    V.grids = [...grids.values()].sort((a, b) => a.code.localeCompare(b.code));
    for (const g of V.grids) if (!g.name) g.name = ctx.names.get(g.code) || '';
  }

  const gridLabel = (code) => cellLabel(code);

  // -------------------------------------------------------------- the electorate
  /** Whether the viewer manages (not only reads) `cell`: an admin everywhere, a leader strictly
   *  below its own cells (the server's rule for the electorate). */
  function manages(cell) {
    const me = ctx.me();
    if (!me) return false;
    if (me.role === 'admin') return true;
    return me.role === 'worker' && (me.cells || []).some((o) => o && o.length < cell.length && cell.startsWith(o));
  }

  async function loadElectors() {
    const cell = V.cell;
    if (!cell) return;
    const seq = ++V.seq;
    // The cell at once when the viewer manages it; else (a village leader on its own village)
    // each grid of it the viewer manages.
    const asked = manages(cell) ? [cell] : V.grids.map((g) => g.code).filter(manages);
    let list = null;
    let problem = '';
    if (!asked.length) {
      problem = '无权查看该单元的测评人名单（需要管理员或上级网格长）';
    } else {
      try {
        const answers = await Promise.all(asked.map((c) => api.get(`/api/v1/electors?cell=${encodeURIComponent(c)}`)));
        list = answers.flatMap((a) => (Array.isArray(a) ? a : []));
      } catch (err) {
        problem = err instanceof ApiError && err.status === 403 ? '无权查看该单元的测评人名单（需要管理员或上级网格长）' : `无法读取测评人名单：${explain(err)}`;
      }
    }
    if (seq !== V.seq) return;
    V.electors = list;
    computeGrids();
    renderElectorate(problem);
    renderVoteCells();
  }

  function countsByCell() {
    const counts = new Map();
    for (const e of V.electors || []) {
      if (!counts.has(e.cell)) counts.set(e.cell, Object.fromEntries(KINDS.map((k) => [k, 0])));
      const c = counts.get(e.cell);
      c[e.kind] = (c[e.kind] || 0) + 1;
    }
    return counts;
  }

  /** The electors entered for a grid itself (what a vote without ballots_per_cell counts). */
  function electorateOf(grid) {
    return (V.electors || []).filter((e) => e.cell === grid).length;
  }

  function renderElectorate(problem = '') {
    const list = V.electors || [];
    $('electorate-count').textContent = String(list.length);
    const counts = countsByCell();
    const rows = [...new Set([...V.grids.map((g) => g.code), ...counts.keys()])].sort();
    $('electorate-meta').textContent = problem
      || (V.cell ? `${gridLabel(V.cell)}：${rows.length} 个网格，共 ${list.length} 名测评人` : '查询团队后显示各网格的测评人。');
    $('electorate-meta').classList.toggle('bad-text', Boolean(problem));
    const total = Object.fromEntries(KINDS.map((k) => [k, 0]));
    $('electorate-summary').tBodies[0].replaceChildren(...(rows.length ? rows.map((code) => {
      const c = counts.get(code) || {};
      const n = KINDS.reduce((sum, k) => sum + (c[k] || 0), 0);
      for (const k of KINDS) total[k] += c[k] || 0;
      return el('tr', { 'data-cell': code, class: n ? null : 'empty' },
        el('th', { scope: 'row' }, gridLabel(code)),
        ...KINDS.map((k) => el('td', { class: 'count', 'data-kind': k }, String(c[k] || 0))),
        el('td', { class: 'count total' }, n ? String(n) : '0（未录入）'));
    }) : [el('tr', {}, el('td', { colspan: '5', class: 'muted' }, problem ? '—' : '该单元下没有网格。'))]));
    if (rows.length > 1) {
      $('electorate-summary').tBodies[0].append(el('tr', { class: 'sum' },
        el('th', { scope: 'row' }, '合计'),
        ...KINDS.map((k) => el('td', { class: 'count' }, String(total[k]))),
        el('td', { class: 'count total' }, String(list.length))));
    }
    const shown = list.slice(0, LIST_LIMIT);
    $('electorate-list').tBodies[0].replaceChildren(...(shown.length ? shown.map((e) => el('tr', { 'data-elector': String(e.id), 'data-cell': e.cell },
      el('td', {}, gridLabel(e.cell)), el('td', {}, e.kind), el('th', { scope: 'row' }, e.name))) : [el('tr', {}, el('td', { colspan: '3', class: 'muted' }, '尚未录入测评人。'))]));
    if (list.length > shown.length) {
      $('electorate-list').tBodies[0].append(el('tr', {}, el('td', { colspan: '3', class: 'muted' }, `仅列出前 ${LIST_LIMIT} 名，共 ${list.length} 名。`)));
    }
    $('electorate-details').querySelector('summary').textContent = `查看名单（${list.length} 名）`;
    // The grid select of the form.
    const keep = $('elector-cell').value;
    $('elector-cell').replaceChildren(...(V.grids.length
      ? V.grids.map((g) => el('option', { value: g.code }, gridLabel(g.code)))
      : [el('option', { value: '' }, '先查询团队')]));
    if (V.grids.some((g) => g.code === keep)) $('elector-cell').value = keep;
  }

  $('elector-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = $('elector-form');
    const cell = $('elector-cell').value;
    if (!cell) { showError(form, localError('cell', '请先查询团队，再选择网格')); return; }
    const name = $('elector-name').value.trim();
    if (!name) { showError(form, localError('name', '请填写测评人姓名')); return; }
    const kind = $('elector-kind').value;
    const done = await busy($('elector-submit'), form, async () => {
      try {
        return await api.post('/api/v1/electors', { cell, electors: [{ name, kind }] });
      } catch (err) {
        throw renamed(err, [[/^electors\[\d+\]\.name$/, 'name'], [/^electors\[\d+\]\.kind$/, 'kind'], [/^electors$/, 'name']]);
      }
    });
    if (!done) return;
    $('elector-name').value = '';
    say(done.added ? `已添加测评人 ${name}（${kind}）：${gridLabel(cell)}` : `${name}（${kind}）已在 ${gridLabel(cell)} 的名单中`, 'ok');
    await loadElectors();
    $('elector-name').focus();
  });

  $('elector-import-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const report = await uploadFile('elector-import-form', 'elector-file', 'elector-import-submit', '/api/v1/import/electors');
    if (!report) return;
    V.report = report;
    renderImport(report);
    say(`测评人导入完成：新增 ${report.added}，已有 ${report.unchanged}，拒绝 ${report.rejected}`, report.rejected ? 'error' : 'ok');
    if (report.added) await loadElectors();
  });

  function renderImport(r) {
    $('elector-import-result').hidden = false;
    $('elector-import-format').textContent = `格式 ${r.format}`;
    $('elector-import-rows').textContent = String(r.rows);
    $('elector-import-added').textContent = String(r.added);
    $('elector-import-unchanged').textContent = String(r.unchanged);
    $('elector-import-rejected').textContent = String(r.rejected);
    $('elector-import-report').tBodies[0].replaceChildren(...(r.report || []).map((row) => el('tr', { class: row.status, 'data-line': String(row.line) },
      el('th', { scope: 'row', class: 'line' }, String(row.line)),
      el('td', { class: 'status' }, REPORT_STATUS[row.status] || row.status),
      el('td', { class: 'why' }, row.status === 'rejected' ? row.reason || '' : row.status === 'added' ? '已写入名单' : '名单中已有，未重复写入'))));
  }

  // -------------------------------------------------------------- opening a vote
  function renderVoteCells() {
    if (!isAdmin()) return;
    const box = $('vote-cell-list');
    const before = new Map([...box.querySelectorAll('input[name="cells"]')].map((n) => [n.value, n.checked]));
    if (!V.grids.length) {
      box.replaceChildren(el('p', { class: 'muted' }, V.cell ? '该单元下没有网格。' : '先查询团队。'));
      return;
    }
    box.replaceChildren(...V.grids.map((g) => {
      const id = `vote-cell-${g.code}`;
      const n = V.electors ? electorateOf(g.code) : null;
      const notes = [g.leader ? `网格长 ${g.leader}` : '无网格长', n == null ? null : `测评人 ${n} 名`].filter(Boolean).join(' · ');
      const checked = before.has(g.code) ? before.get(g.code) : Boolean(g.leader);
      // Labelled by nesting (no `for`), so that an error on `cells` is named by the legend.
      return el('label', { class: `cell-choice${g.leader ? '' : ' no-leader'}` },
        el('input', { type: 'checkbox', id, name: 'cells', value: g.code, checked, 'aria-describedby': 'vote-error' }),
        el('span', { class: 'cell-name' }, gridLabel(g.code)),
        el('span', { class: 'muted' }, notes));
    }));
  }

  const setAll = (on) => { for (const n of $('vote-cell-list').querySelectorAll('input[name="cells"]')) n.checked = on; };
  $('vote-all').addEventListener('click', () => setAll(true));
  $('vote-none').addEventListener('click', () => setAll(false));

  $('vote-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = $('vote-form');
    const period = $('vote-period').value.trim();
    if (!period) { showError(form, localError('period', '请填写测评年度，如 2026')); return; }
    const cells = [...$('vote-cell-list').querySelectorAll('input[name="cells"]:checked')].map((n) => n.value);
    if (!cells.length) { showError(form, localError('cells', '请至少选择一个网格')); return; }
    const body = { period, cells };
    const ballotsText = $('vote-ballots').value.trim();
    if (ballotsText) {
      const n = Number(ballotsText);
      if (!Number.isInteger(n) || n < 1 || n > 5000) { showError(form, localError('ballots_per_cell', '每个网格的票数为 1 至 5000 的整数')); return; }
      body.ballots_per_cell = n;
    } else if (V.electors) {
      const empty = cells.filter((c) => !electorateOf(c));
      if (empty.length) {
        showError(form, localError('ballots_per_cell', `${empty.map(gridLabel).join('、')} 尚未录入测评人：请先录入名单，或填写每个网格的票数`));
        return;
      }
    }
    const opened = await busy($('vote-submit'), form, () => api.post('/api/v1/votes', body));
    if (!opened) return;
    V.opened = opened;
    const byCell = new Set(opened.ballots.map((b) => b.cell));
    $('vote-opened-title').textContent = `测评 #${opened.id}（${opened.period}）已开启：${byCell.size} 个网格，共 ${opened.ballots.length} 张测评码`;
    $('vote-opened').hidden = false;
    $('vote-opened-title').focus();
    say(`已开启测评 #${opened.id}：${opened.ballots.length} 张测评码，请打印测评票或下载测评码`, 'ok');
    await loadVotes();
    await selectVote(opened.id, { focus: false });
  });

  $('opened-slips').addEventListener('click', () => {
    if (V.opened) openPdf(`/api/v1/votes/${encodeURIComponent(V.opened.id)}/slips.pdf`, `测评票_${V.opened.id}.pdf`, $('opened-slips'), $('vote-opened'), '测评票');
  });

  $('opened-csv').addEventListener('click', () => {
    const o = V.opened;
    if (!o) return;
    const lines = [['测评编号', '年度', '网格编码', '网格名称', '测评码', '测评链接'].join(',')];
    for (const b of o.ballots) {
      lines.push([o.id, o.period, b.cell, ctx.names.get(b.cell) || '', b.code, `${location.origin}/vote#code=${b.code}`].map(csvField).join(','));
    }
    // With a BOM, so that Excel reads the Chinese.
    const blob = new Blob(['\ufeff', lines.join('\r\n'), '\r\n'], { type: 'text/csv;charset=utf-8' });
    saveBlob(blob, `测评码_${o.period}_${o.id}.csv`);
    say(`已下载 ${o.ballots.length} 个测评码，请妥善保管`, 'ok');
  });

  $('opened-forget').addEventListener('click', () => {
    V.opened = null;
    $('vote-opened').hidden = true;
    say('测评码已从本页清除；仍可在测评结果处打印未使用的测评票', 'ok');
  });

  // -------------------------------------------------------------- the votes and a tally
  async function loadVotes() {
    if (!isAdmin()) return;
    try {
      V.votes = (await api.get('/api/v1/votes')) || [];
    } catch (err) {
      say(`无法读取测评记录：${explain(err)}`, 'error');
      return;
    }
    renderVotes();
  }

  const voteState = (v) => (v.closed_at ? '已结束' : '进行中');

  function renderVotes() {
    $('votes').tBodies[0].replaceChildren(...(V.votes.length ? V.votes.map((v) => el('tr', { 'data-vote': String(v.id), class: [v.id === V.voteId ? 'selected' : '', v.closed_at ? 'closed' : 'open'].filter(Boolean).join(' ') },
      el('th', { scope: 'row' }, `#${v.id}`),
      el('td', {}, v.period),
      el('td', { class: 'when' }, human(v.opened_at), el('span', { class: 'by' }, v.opened_by)),
      el('td', { class: 'state', title: v.closed_at ? `${human(v.closed_at)} 结束` : null }, voteState(v)),
      el('td', {}, String(v.cells)),
      el('td', { class: 'count' }, `${v.used}/${v.issued}`),
      el('td', {}, el('button', { type: 'button', class: 'small', 'data-action': 'tally', 'aria-pressed': v.id === V.voteId ? 'true' : 'false', 'aria-label': `查看测评 #${v.id} 的结果` }, '查看结果')))) : [el('tr', {}, el('td', { colspan: '7', class: 'muted' }, '尚无测评。'))]));
    // The vote select of the 公示 form.
    const select = $('pub-vote');
    const keep = select.value;
    select.replaceChildren(el('option', { value: '' }, '不含测评（仅公示得分）'),
      ...V.votes.map((v) => el('option', { value: String(v.id) }, `#${v.id} ${v.period}（${v.closed_at ? '已结束' : '进行中'}）`)));
    const fallback = V.voteId != null ? String(V.voteId) : V.votes[0] ? String(V.votes[0].id) : '';
    select.value = keep && V.votes.some((v) => String(v.id) === keep) ? keep : fallback;
  }

  $('votes').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action="tally"]');
    if (!b) return;
    selectVote(Number(b.closest('tr').dataset.vote));
  });

  async function selectVote(id, { focus = true } = {}) {
    V.voteId = id;
    V.tally = null;
    renderVotes();
    $('tally').hidden = false;
    $('tally-title').textContent = `测评 #${id}`;
    $('tally-meta').textContent = '正在读取…';
    $('tally-table').tBodies[0].replaceChildren();
    if ($('pub-vote').querySelector(`option[value="${id}"]`)) $('pub-vote').value = String(id);
    await loadTally();
    if (focus) $('tally-title').focus();
  }

  async function loadTally(button = null) {
    const id = V.voteId;
    if (id == null) return null;
    const seq = ++V.tallySeq;
    const t = await busy(button, $('tally'), () => api.get(`/api/v1/votes/${encodeURIComponent(id)}/tally`), '无法读取测评结果：');
    if (seq !== V.tallySeq || !t) return t;
    V.tally = t;
    for (const l of t.leaders || []) if (l.grid) ctx.names.set(l.cell, l.grid);
    renderTally(t);
    return t;
  }

  function renderTally(t) {
    const leaders = t.leaders || [];
    const cast = leaders.reduce((s, l) => s + l.cast, 0);
    const issued = leaders.reduce((s, l) => s + l.issued, 0);
    $('tally-title').textContent = `测评 #${t.id} · ${t.period} · ${t.closed_at ? '已结束' : '进行中'}`;
    $('tally-meta').textContent = `${human(t.opened_at)} 开启${t.closed_at ? `，${human(t.closed_at)} 结束` : ''} · ${leaders.length} 名网格长 · 已投 ${cast}/${issued} 票 · 应予调整 ${t.flagged} 名`;
    $('tally-close').disabled = Boolean(t.closed_at);
    $('tally-close').textContent = t.closed_at ? '测评已结束' : '结束测评';
    $('tally-table').tBodies[0].replaceChildren(...(leaders.length ? leaders.map((l) => el('tr', { 'data-cell': l.cell, class: l.flagged ? 'flagged' : null },
      el('th', { scope: 'row' }, l.grid || l.cell, l.grid ? el('span', { class: 'code' }, l.cell) : null),
      el('td', { class: 'leader' }, l.leader),
      ...CHOICES.map((c) => el('td', { class: 'count choice', 'data-choice': c }, String((l.counts || {})[c] || 0))),
      el('td', { class: 'count cast' }, `${l.cast}/${l.issued}`),
      el('td', { class: 'verdict' }, l.flagged
        ? el('span', { class: 'badge flag', title: '不满意票超过已投票数的三分之一' }, '应予调整')
        : el('span', { class: 'muted' }, l.cast ? '不满意未超过三分之一' : '尚无投票')))) : [el('tr', {}, el('td', { colspan: '7', class: 'muted' }, '该测评没有网格。'))]));
  }

  $('tally-refresh').addEventListener('click', async () => {
    const t = await loadTally($('tally-refresh'));
    await loadVotes();
    if (t) say(`测评 #${t.id} 已刷新：应予调整 ${t.flagged} 名`, t.flagged ? 'error' : 'ok');
  });

  $('tally-close').addEventListener('click', async () => {
    const id = V.voteId;
    if (id == null) return;
    if (!confirm(`结束测评 #${id} 后，未使用的测评码不能再投票，结果不再变化。确定结束？`)) return;
    const done = await busy($('tally-close'), $('tally'), async () => {
      try {
        return await api.post(`/api/v1/votes/${encodeURIComponent(id)}/close`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return { already: true };
        throw err;
      }
    }, '无法结束测评：');
    if (!done) return;
    say(done.already ? `测评 #${id} 此前已经结束` : `测评 #${id} 已结束`, 'ok');
    await loadVotes();
    await loadTally();
  });

  $('tally-slips').addEventListener('click', () => {
    const id = V.voteId;
    if (id != null) openPdf(`/api/v1/votes/${encodeURIComponent(id)}/slips.pdf`, `测评票_${id}.pdf`, $('tally-slips'), $('tally'), '测评票');
  });

  // -------------------------------------------------------------- 公示
  function pubUnder() {
    return normCell($('pub-under').value);
  }

  function syncGongshiLink() {
    const under = pubUnder();
    const has = isCode(under) && V.publications.some((p) => p.under === under);
    const link = $('gongshi-link');
    link.hidden = !has;
    $('gongshi-none').hidden = has;
    if (has) {
      link.href = `/gongshi/${encodeURIComponent(under)}.pdf`;
      link.textContent = `打印公示表：${gridLabel(under)}（PDF，新窗口）`;
    }
    $('gongshi-none').textContent = isCode(under) ? `${gridLabel(under)} 尚无公示。` : '填写村/社区编码后显示其公示。';
  }

  async function loadPublications() {
    if (!isAdmin()) return;
    const under = pubUnder();
    if (!isCode(under)) { V.publications = []; renderPublications(); return; }
    const seq = ++V.pubSeq;
    let list;
    try {
      list = await api.get(`/api/v1/publications?under=${encodeURIComponent(under)}`);
    } catch (err) {
      if (seq === V.pubSeq) showError($('publish-form'), err, '无法读取公示：');
      return;
    }
    if (seq !== V.pubSeq) return;
    V.publications = list || [];
    renderPublications();
  }

  function renderPublications() {
    const seen = new Set();
    $('publications').tBodies[0].replaceChildren(...(V.publications.length ? V.publications.map((p) => {
      const rows = (p.results && Array.isArray(p.results.rows)) ? p.results.rows : [];
      const flagged = rows.filter((r) => r.flagged).length;
      const latest = !seen.has(p.under) && seen.add(p.under);
      return el('tr', { 'data-publication': String(p.id), 'data-under': p.under },
        el('th', { scope: 'row' }, `#${p.id}`),
        el('td', {}, p.period),
        el('td', {}, gridLabel(p.under)),
        el('td', {}, p.vote_id != null ? `#${p.vote_id}` : '—'),
        el('td', {}, `${rows.length}${flagged ? `（应予调整 ${flagged}）` : ''}`),
        el('td', {}, `${human(p.published_at)} · ${p.published_by}`),
        el('td', {}, latest
          ? el('a', { href: `/gongshi/${encodeURIComponent(p.under)}.pdf`, target: '_blank', rel: 'noopener', 'aria-label': `${gridLabel(p.under)} 的公示表（PDF，新窗口）` }, '公示表')
          : el('span', { class: 'muted' }, '已被更新的公示取代')));
    }) : [el('tr', {}, el('td', { colspan: '7', class: 'muted' }, '尚无公示。'))]));
    syncGongshiLink();
  }

  $('pub-under').addEventListener('input', () => { V.underTouched = true; });
  $('pub-under').addEventListener('change', () => { loadPublications(); });

  $('publish-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = $('publish-form');
    const period = $('pub-period').value.trim().toUpperCase();
    if (!/^\d{4}(H[12])?$/.test(period)) { showError(form, localError('period', '公示期间写作 2026（年度）或 2026H1、2026H2（半年）')); return; }
    $('pub-period').value = period;
    const under = pubUnder();
    if (!isCode(under)) { showError(form, localError('under', '请填写村/社区编码')); return; }
    const body = { period, under };
    if ($('pub-vote').value) body.vote = Number($('pub-vote').value);
    const what = body.vote ? `测评 #${body.vote} 的结果与得分` : '得分';
    if (!confirm(`将向公众公示 ${gridLabel(under)} 各网格长 ${period} 的${what}（姓名仅在本人同意时显示）。确定发布？`)) return;
    const done = await busy($('publish-submit'), form, () => api.post('/api/v1/publications', body));
    if (!done) return;
    say(`已发布公示 #${done.id}：${gridLabel(under)} ${period}`, 'ok');
    await loadPublications();
  });

  // -------------------------------------------------------------- entry points
  /** After login: the section for admins (all of it) and leaders (the electorate). */
  function enter(me) {
    const admin = me && me.role === 'admin';
    $('vote-section').hidden = !(admin || (me && me.role === 'worker'));
    $('votes-part').hidden = !admin;
    $('publish-part').hidden = !admin;
    $('vote-title').textContent = admin ? '满意度测评与公示' : '满意度测评：测评人名单';
    if (!$('vote-period').value) $('vote-period').value = year();
    if (!$('pub-period').value) $('pub-period').value = year();
    if (admin) loadVotes();
  }

  /** After the team of a cell is read: its grids' electorate, and where to publish. */
  function teamLoaded(team) {
    if ($('vote-section').hidden) return;
    if (V.cell !== team.cell) {
      V.cell = team.cell;
      V.electors = null;
    }
    computeGrids();
    renderElectorate();
    renderVoteCells();
    loadElectors();
    if (isAdmin()) {
      if (!V.underTouched || !pubUnder()) $('pub-under').value = team.cell.length >= 12 ? team.cell.slice(0, 12) : team.cell;
      loadPublications();
    }
  }

  return {
    enter,
    teamLoaded,
    /** For the tests: what the section shows (never the codes). */
    state: () => ({
      cell: V.cell,
      electors: V.electors ? V.electors.length : null,
      grids: V.grids.map((g) => g.code),
      votes: V.votes,
      voteId: V.voteId,
      tally: V.tally,
      opened: V.opened ? { id: V.opened.id, period: V.opened.period, ballots: V.opened.ballots.length } : null,
      report: V.report,
      publications: V.publications,
    }),
  };
}
