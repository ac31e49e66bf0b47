// Small UI pieces of the field app: the message line, the tabs, photo pickers and the names of
// things. Built from elements (lib/dom.js), never innerHTML: the page runs under a strict CSP.
import { $, el } from './lib/dom.js';
import { photoDataUrl } from './lib/photo.js';

export const MAX_PHOTOS = 4;

/** What each kind of action is called on the screen. */
export const KIND_LABELS = {
  'patrol.start': '开始巡查',
  'patrol.points': '巡查轨迹',
  'patrol.end': '结束巡查',
  visit: '入户走访',
  incident: '事件上报',
  'incident.action': '事件处置',
  log: '工作日志',
  meeting: '网格例会',
};

let sayTimer = null;
/** A message at the top of the screen (`kind`: info, ok, error); it fades after a while. */
export function say(text, kind = 'info') {
  const box = $('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
  clearTimeout(sayTimer);
  if (text) sayTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

// ---------------------------------------------------------------- tabs
const tabListeners = [];
let current = null;
export const currentTab = () => current;
/** Calls `fn(name)` whenever a tab is shown. */
export const onTab = (fn) => tabListeners.push(fn);

/** Shows the tab `name` (home, patrol, visit, report, log), remembered in the URL's hash. */
export function showTab(name) {
  const sections = document.querySelectorAll('main > section[data-tab]');
  if (![...sections].some((s) => s.dataset.tab === name)) name = 'home';
  for (const s of sections) s.hidden = s.dataset.tab !== name;
  for (const b of document.querySelectorAll('nav.tabs button[data-tab]')) {
    const on = b.dataset.tab === name;
    b.classList.toggle('on', on);
    if (on) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  current = name;
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  for (const fn of tabListeners) fn(name);
}

export function initTabs() {
  for (const b of document.querySelectorAll('nav.tabs button[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  addEventListener('hashchange', () => showTab(location.hash.slice(1)));
}

// ---------------------------------------------------------------- photos
/**
 * Wires a file input (`accept="image/*" capture="environment"`) to a preview list: each photo is
 * resized and re-encoded on the phone (lib/photo.js) and shown with a remove button; at most
 * four. Returns {photos(): dataURL[], reset(), busy(): Promise} — `busy` settles when the photos
 * being encoded are done, so a submit never loses one.
 */
export function photoPicker(input, list) {
  let photos = [];
  let work = Promise.resolve();
  const render = () => {
    list.replaceChildren(...photos.map((p, i) => {
      const remove = el('button', { type: 'button', class: 'remove', 'aria-label': '删除照片' }, '×');
      remove.addEventListener('click', () => { photos.splice(i, 1); render(); });
      return el('li', {}, el('img', { src: p, alt: `照片 ${i + 1}` }), remove);
    }));
    input.disabled = photos.length >= MAX_PHOTOS;
  };
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    work = work.then(async () => {
      for (const f of files) {
        if (photos.length >= MAX_PHOTOS) { say(`每条记录最多 ${MAX_PHOTOS} 张照片`, 'error'); break; }
        try {
          photos.push(await photoDataUrl(f));
        } catch (e) {
          say('无法读取照片：' + e.message, 'error');
        }
        render();
      }
    });
  });
  return {
    photos: () => photos.slice(),
    reset: () => { photos = []; render(); },
    busy: () => work,
  };
}

/** A select's options from [value, label] pairs, with an optional first empty option. */
export function fillSelect(select, pairs, placeholder) {
  const keep = select.value;
  select.replaceChildren(...(placeholder ? [el('option', { value: '' }, placeholder)] : []),
    ...pairs.map(([v, label]) => el('option', { value: v }, label)));
  if (pairs.some(([v]) => String(v) === keep)) select.value = keep;
}

/** Sets a button busy (disabled, with a label) while `promise` runs. */
export async function busy(button, promise, label = '保存中…') {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await promise;
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}
