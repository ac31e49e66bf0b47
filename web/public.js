// The public grid diagram: cells from our own vector tiles, a card per grid. Everything comes
// from this server; nothing is fetched from the internet (no base map, no glyphs, no fonts).
// Phone first: on a narrow screen the panel (#panel: the card and the legend) is a bottom sheet
// over the map, collapsed to its handle bar until a card is shown; on a wide one it is the side
// panel. The card is server-rendered HTML (one template, on the server): `/g/{code}` arrives with
// it already in #card, and a grid picked here is fetched from `/g/{code}/card` and adopted.
import { client, request, ApiError } from './lib/api.js';
import { $, el } from './lib/dom.js';
import { bounds } from './lib/geom.js';
import { createMap, addControls, fitGeometry, pointerOver, whenLoaded, geojsonSource, setFeatures } from './lib/map.js';

const { get } = client();
/** The phone layout (public.css switches at the same width). */
const phone = matchMedia('(max-width: 700px)');
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

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
const loaded = whenLoaded(map);
addControls(map);
window.gridmap = { map };

// Our own layers: the grid whose card is shown, and the visitor's position (我在哪个网格).
loaded.then(() => {
  map.addLayer({
    id: 'selected', type: 'line', source: 'cells', 'source-layer': 'cells', filter: ['==', ['get', 'code'], ''],
    paint: { 'line-color': '#1a5fb4', 'line-width': 3.5 },
  });
  map.addSource('me', geojsonSource());
  map.addLayer({
    id: 'me', type: 'circle', source: 'me',
    paint: { 'circle-radius': 8, 'circle-color': '#1a5fb4', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 },
  });
});
const highlight = (code) => loaded.then(() => map.setFilter('selected', ['==', ['get', 'code'], code]));
const putMarker = (lon, lat) => loaded.then(() => setFeatures(map, 'me', [
  { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [lon, lat] } },
]));

// ---- The sheet -------------------------------------------------------------------------------
const panel = $('panel');
const handle = $('sheet-handle');
const isOpen = () => panel.classList.contains('open');
function setSheet(open) {
  panel.classList.toggle('open', open);
  handle.setAttribute('aria-expanded', String(open));
  $('sheet-hint').textContent = open ? '收起' : '展开';
}
handle.addEventListener('click', () => setSheet(!isOpen()));
panel.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !phone.matches || !isOpen()) return;
  setSheet(false);
  handle.focus();
});

/**
 * Padding for fitting the view: on a phone the open sheet covers the lower 70 % of the map, so
 * the grid is fitted into the strip above it (never a padding the map cannot honour).
 */
function padding() {
  if (!phone.matches) return 30;
  const height = map.getContainer().clientHeight;
  const sheet = panel.getBoundingClientRect().height;
  const bottom = Math.max(16, Math.min(sheet + 16, height - 16 - 80));
  return { top: 16, left: 16, right: 60, bottom };
}
const duration = () => (reducedMotion.matches ? 0 : 600);
async function fitGrid(code, animate = true) {
  const f = await get(`/api/v1/cells/${encodeURIComponent(code)}`);
  fitGeometry(map, f.geometry, { padding: padding(), duration: animate ? duration() : 0 });
}

const select = $('village');
for (const v of villages.features.sort((a, b) => a.properties.code.localeCompare(b.properties.code))) {
  select.append(el('option', { value: v.properties.code }, v.properties.name));
}
select.addEventListener('change', () => {
  const v = villages.features.find((f) => f.properties.code === select.value);
  const g = v || county;
  if (g) fitGeometry(map, g.geometry, { padding: padding(), duration: 0 });
});

// ---- The card --------------------------------------------------------------------------------
const card = $('card');
let latest = 0;
/** Shows the card of grid `code`; resolves once it is in the DOM (rejects if there is none). */
async function show(code) {
  const ticket = ++latest;
  const r = await fetch(`/g/${encodeURIComponent(code)}/card`, { headers: { Accept: 'text/html' } });
  const text = await r.text();
  if (ticket !== latest) return; // a later pick won; its card is the one to show
  if (!r.ok) {
    card.replaceChildren(el('p', { class: 'empty' }, r.status === 404 ? `没有编码为 ${code} 的网格` : `网格信息卡暂时无法打开（HTTP ${r.status}），请稍后重试。`));
    card.hidden = false;
    setSheet(true);
    throw new ApiError(`GET /g/${code}/card: HTTP ${r.status}`, { status: r.status });
  }
  // No innerHTML, and still safe: the server escapes every value it writes into the template; a
  // document made by DOMParser is inert (its scripts never run, and adopting a parsed <script>
  // does not run it either); and the page's CSP (script-src 'self', no 'unsafe-inline') refuses
  // any inline handler attribute that could ever slip through. Only the one article is adopted.
  const doc = new DOMParser().parseFromString(text, 'text/html');
  const article = doc.querySelector('article.grid-card');
  if (!article) throw new Error(`GET /g/${code}/card: no article.grid-card in the answer`);
  card.replaceChildren(document.adoptNode(article));
  card.hidden = false;
  cardShown(article, code);
  if (location.pathname !== `/g/${code}`) history.replaceState(null, '', `/g/${code}`);
}
window.gridmap.show = show;

/** What follows a card reaching the DOM, whether the server put it there or `show` did. */
function cardShown(article, code) {
  const name = (article.querySelector('h2') || {}).textContent || code;
  $('sheet-title').textContent = name;
  document.title = `${name} · 网格示意图`;
  wireForm(article.querySelector('form#suggest'));
  // A results table too wide for the phone scrolls; a scrolling region must be reachable by keyboard.
  const results = article.querySelector('section.results');
  if (results && results.scrollWidth > results.clientWidth + 1) results.tabIndex = 0;
  highlight(code);
  setSheet(true);
}

// ---- 我在哪个网格 ----------------------------------------------------------------------------
const status = $('locate-status');
const say = (text, kind = 'info') => { status.dataset.kind = kind; status.textContent = text; };

/** The device's position (WGS84, as every browser gives it). */
const position = () => new Promise((resolve, reject) => {
  if (!navigator.geolocation) reject(Object.assign(new Error('unsupported'), { code: 0 }));
  else navigator.geolocation.getCurrentPosition(resolve, reject, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
});
/** A polite sentence for a GeolocationPositionError (or the lack of geolocation). */
function positionProblem(e) {
  switch (e && e.code) {
    case 1: return '未获得定位权限。可在浏览器设置中允许本站使用位置后重试，也可以直接在地图上点击您所在的网格。';
    case 2: return '暂时无法确定您的位置，请到开阔处重试，或在地图上点击您所在的网格。';
    case 3: return '定位超时，请重试，或在地图上点击您所在的网格。';
    default: return '此浏览器不支持定位，请在地图上点击您所在的网格。';
  }
}

const whereami = $('whereami');
whereami.addEventListener('click', async () => {
  if (whereami.getAttribute('aria-busy') === 'true') return;
  whereami.setAttribute('aria-busy', 'true');
  try {
    say('正在获取您的位置…');
    let fix;
    try { fix = await position(); } catch (e) { say(positionProblem(e), 'error'); return; }
    const { longitude: lon, latitude: lat } = fix.coords;
    putMarker(lon, lat);
    let at;
    try {
      at = await get(`/api/v1/locate?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}&crs=wgs84`);
    } catch (e) {
      say(`查询所在网格失败（${e.message}），请稍后重试。`, 'error');
      return;
    }
    // The chain runs from the county down; its last (deepest) cell is the grid.
    const grid = (at.cells || []).reduce((a, c) => (!a || c.level > a.level ? c : a), null);
    if (!at.found || !grid || grid.level < 3) {
      const where = county ? county.properties.name : '本地';
      say(`您现在的位置不在${where}的任何网格内。可以在地图上点击网格查看网格信息。`, 'error');
      map.easeTo({ center: [lon, lat], duration: duration() });
      return;
    }
    const near = at.near_boundary_m != null ? `（您靠近网格边界，约 ${at.near_boundary_m} 米，结果仅供参考）` : '';
    say(`您在${grid.name}${near}。`, 'ok');
    await show(grid.code);
    await fitGrid(grid.code);
  } catch (e) {
    say(`出错了：${e.message}`, 'error');
  } finally {
    whereami.removeAttribute('aria-busy');
  }
});

// ---- 居民之声: the suggestion form on the card ----------------------------------------------
const TEXT_MAX = 1000;
const PHOTO_MAX = 4 * 1024 * 1024;
function wireForm(form) {
  if (!form || form.dataset.wired) return;
  form.dataset.wired = 'true';
  const result = form.querySelector('#suggest-result');
  const tell = (kind, ...content) => { if (result) { result.dataset.kind = kind; result.replaceChildren(...content); } };
  const field = (name) => form.elements.namedItem(name);
  const clearInvalid = () => { for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid'); };
  const invalid = (name, message) => {
    const f = field(['lon', 'lat'].includes(name) ? 'where' : name);
    if (f && f.setAttribute) { f.setAttribute('aria-invalid', 'true'); f.focus(); }
    tell('error', message);
  };
  form.addEventListener('input', (e) => { if (e.target.removeAttribute) e.target.removeAttribute('aria-invalid'); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    clearInvalid();
    const category = field('category') ? field('category').value : '';
    const text = field('text').value.trim();
    const contact = field('contact') ? field('contact').value.trim() : '';
    if (field('category') && !category) return invalid('category', '请选择类别。');
    if (!text) return invalid('text', '请写下您的意见建议。');
    if ([...text].length > TEXT_MAX) return invalid('text', `意见建议最多 ${TEXT_MAX} 字，现在是 ${[...text].length} 字。`);
    const body = { cell: form.dataset.cell, category, text };
    if (contact) body.contact = contact;
    const file = field('photo') && field('photo').files ? field('photo').files[0] : null;
    if (file && file.size > PHOTO_MAX) return invalid('photo', '照片最大 4 MB，请换一张或压缩后再试。');
    if (file && !/^image\/(jpeg|png|webp)$/.test(file.type)) return invalid('photo', '照片需为 JPEG、PNG 或 WebP 格式。');
    form.setAttribute('aria-busy', 'true');
    try {
      if (field('where') && field('where').checked) {
        tell('info', '正在获取您的位置…');
        try {
          const { coords } = await position();
          body.lon = Math.round(coords.longitude * 1e7) / 1e7;
          body.lat = Math.round(coords.latitude * 1e7) / 1e7;
        } catch (err) {
          return invalid('where', `${positionProblem(err)}（也可取消勾选“附上我现在的位置”后提交。）`);
        }
      }
      if (file) {
        tell('info', '正在读取照片…');
        body.photo = await new Promise((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve(reader.result);
          reader.onerror = () => reject(reader.error);
          reader.readAsDataURL(file);
        });
      }
      tell('info', '正在提交…');
      const answer = await request('/api/v1/public/suggestions', { method: 'POST', body });
      form.reset();
      tell('ok', '已提交。查询码 ', el('strong', { class: 'tracking' }, answer.tracking_code), ' ',
        el('a', { href: answer.track_url }, '查看办理进度'), el('span', { class: 'hint' }, '（请记下查询码，凭它查询办理进度）'));
    } catch (err) {
      if (err instanceof ApiError) {
        const name = err.details && err.details.field;
        // The API speaks to programs (English, naming the field); residents read Chinese.
        const said = {
          text: '意见建议不能为空，且最多 1000 字。',
          contact: '联系电话请填写数字（可含空格、+、-），5–20 位；也可不填。',
          category: '请从列表中选择类别。',
          photo: '照片需为 JPEG、PNG 或 WebP 格式，最大 4 MB。',
          cell: '这个网格暂不接收意见建议，请从地图上选择您所在的网格。',
          lon: '您的位置不在本辖区任何网格内，请取消勾选“附上我现在的位置”后提交。',
          lat: '您的位置不在本辖区任何网格内，请取消勾选“附上我现在的位置”后提交。',
        };
        const wait = err.details && err.details.retry_after_s;
        if (name) invalid(name, said[name] || `提交未成功（${err.message}）`);
        else if (err.status === 429) tell('error', `提交过于频繁，请${wait ? ` ${wait} 秒后` : '稍后'}再试。`);
        else tell('error', `提交未成功，请稍后重试。（${err.message}）`);
      } else {
        tell('error', '网络连接失败，请稍后重试。');
      }
    } finally {
      form.removeAttribute('aria-busy');
    }
  });
}

// ---- A grid's stable public address, /g/{code} (the QR code on its 网格员证 and signs) --------
const given = document.body.dataset.grid;
const linked = /^\/g\/(\d{6,19})$/.exec(location.pathname);
if (given) {
  const article = card.querySelector('article.grid-card');
  if (article) cardShown(article, given);
  fitGrid(given, false).catch(() => {});
} else if (linked) {
  // Not rendered by the server (an unknown code, say): ask for the card here.
  show(linked[1]).then(() => fitGrid(linked[1], false)).catch(() => {});
}

map.on('click', 'cells', (e) => {
  const f = e.features && e.features[0];
  if (!f) return;
  const code = f.properties.code;
  show(code).then(() => { if (phone.matches) return fitGrid(code); }).catch(() => {});
});
pointerOver(map, 'cells');
