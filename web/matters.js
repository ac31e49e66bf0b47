// The public 网格事项准入清单 (/matters): the matters in force (approved through the approval
// record), what the grid does about each and which department reports for duty on it. No token,
// no names of who proposed or approved: `GET /api/v1/public/matters` carries none.
import { request } from './lib/api.js';
import { $, el } from './lib/dom.js';

window.matters = { ready: false, count: 0 };

async function load() {
  const status = $('status');
  try {
    const { matters } = await request('/api/v1/public/matters');
    const body = $('matters').querySelector('tbody');
    body.replaceChildren(
      ...matters.map((m) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, m.name),
          el('td', {}, m.grid_duty),
          el('td', {}, m.department_name),
          el('td', {}, m.basis || '—'),
          el('td', {}, m.approved_at ? m.approved_at.slice(0, 10) : '—'),
        ),
      ),
    );
    $('matters').hidden = matters.length === 0;
    status.textContent = matters.length ? `共 ${matters.length} 项` : '暂无准入事项';
    window.matters.count = matters.length;
  } catch (err) {
    status.textContent = `载入失败：${err.message}`;
  }
  window.matters.ready = true;
}

load();
