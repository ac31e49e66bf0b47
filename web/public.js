// The public grid diagram: cells from our own vector tiles, a card per grid. Everything comes
// from this server; nothing is fetched from the internet (no base map, no glyphs, no fonts).
import { client } from './lib/api.js';
import { $, el, area } from './lib/dom.js';
import { bounds } from './lib/geom.js';
import { createMap, addControls, fitGeometry, pointerOver } from './lib/map.js';

const { get } = client();

const [counties, villages, revision] = await Promise.all([
  get('/api/v1/cells?level=0'), get('/api/v1/cells?level=2'), get('/api/v1/revision'),
]);
const county = counties.features[0];
if (county) $('deployment').textContent = county.properties.name;
if (revision.date) $('revision').textContent = `第 ${revision.number} 版 · ${revision.date}`;

const map = createMap({
  style: '/styles/public.json',
  bounds: county ? bounds(county.geometry) : undefined,
  fitBoundsOptions: { padding: 20 },
});
addControls(map);
window.gridmap = { map };

const select = $('village');
for (const v of villages.features.sort((a, b) => a.properties.code.localeCompare(b.properties.code))) {
  select.append(el('option', { value: v.properties.code }, v.properties.name));
}
select.addEventListener('change', () => {
  const v = villages.features.find((f) => f.properties.code === select.value);
  fitGeometry(map, (v || county).geometry, { padding: 30, duration: 0 });
});

const card = $('card');
async function show(code) {
  const c = await get(`/api/v1/cells/${code}/card`);
  card.replaceChildren();
  card.hidden = false;
  card.append(el('h2', {}, c.name), el('div', { class: 'code' }, `编码 ${c.code} · ${c.kind}`));
  const dl = el('dl');
  const row = (k, v) => dl.append(el('dt', {}, k), el('dd', {}, v));
  row('所属', c.within.join(' / ') || '—');
  row('面积', area(c.area_m2));
  row('户数', c.households == null ? '不足10户，不公开' : `${c.households} 户 · ${c.people} 人`);
  const four = c.four_to;
  row('东至', four.east.join('、') || '辖区边界');
  row('南至', four.south.join('、') || '辖区边界');
  row('西至', four.west.join('、') || '辖区边界');
  row('北至', four.north.join('、') || '辖区边界');
  card.append(dl);
  card.append(el('h2', {}, '网格团队'));
  // Each item appears only under its own consent (name, photo, phone); else the role and the
  // office phone.
  for (const m of c.team) {
    const avatar = el('div', { class: 'avatar' });
    if (m.photo) avatar.append(el('img', { src: m.photo, alt: m.name || m.role }));
    else avatar.append((m.name || m.role).slice(0, 1));
    const who = m.name ? `${m.role} ${m.name}` : m.role;
    const phone = m.phone ? `电话 ${m.phone}` : `办公电话 ${m.office_phone || c.office_phone || ''}`;
    card.append(el('div', { class: 'member' }, avatar,
      el('div', {}, el('div', { class: 'role' }, who), el('div', {}, phone), el('div', { class: 'duties' }, m.duties.join(' · ')))));
  }
  const g = c.gongshi;
  if (g) {
    const counts = g.counts ? ['满意', '基本满意', '不满意'].map((k) => `${k} ${g.counts[k] ?? 0}`).join(' · ') : null;
    card.append(el('h2', {}, `公示 · ${g.period}`),
      el('div', { class: 'gongshi' },
        el('div', {}, `网格长 ${g.leader || '（未同意公开姓名）'}`),
        counts ? el('div', {}, `满意度测评：${counts}（共 ${g.cast} 票）${g.flagged ? ' · 应予调整' : ''}`) : '',
        g.score != null ? el('div', {}, `半年考核：${g.score} 分`) : ''));
  }
  if (c.supervision_phone) card.append(el('div', { class: 'supervision' }, `监督电话 ${c.supervision_phone}`));
  card.append(el('p', { class: 'note' }, c.note));
}
window.gridmap.show = show;
// A grid's stable public address, /g/{code} (the QR code on its 网格员证 and signs): its card.
const linked = /^\/g\/(\d{6,19})$/.exec(location.pathname);
if (linked) {
  show(linked[1]).catch(() => { card.hidden = false; card.replaceChildren(el('p', {}, `没有编码为 ${linked[1]} 的网格`)); });
  get(`/api/v1/cells/${linked[1]}`).then((f) => fitGeometry(map, f.geometry, { padding: 30, duration: 0 })).catch(() => {});
}
map.on('click', 'cells', (e) => { const f = e.features && e.features[0]; if (f) show(f.properties.code); });
pointerOver(map, 'cells');
