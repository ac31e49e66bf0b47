// The device token of the field app and its pairing, shared by /field and /field/team. A phone
// is paired once with an 8-digit code an administrator hands out (`gridmap user pair`): the
// server answers with a device token, kept in localStorage (it must outlive the browser session
// — a worker on patrol is not logged out by closing the app) until 退出.
import { ApiError, request } from './lib/api.js';

export const TOKEN_KEY = 'gridmap.field.token';
export const USER_KEY = 'gridmap.field.user';

export const token = () => localStorage.getItem(TOKEN_KEY) || '';

/** The paired user as the server last described it: {name, role, cells}, or null. */
export function user() {
  try { return JSON.parse(localStorage.getItem(USER_KEY) || 'null'); } catch { return null; }
}

export function setUser(u) {
  if (u) localStorage.setItem(USER_KEY, JSON.stringify(u));
}

/** Uses a token obtained some other way (a leader pasting one on /field/team). */
export function useToken(t, u = null) {
  localStorage.setItem(TOKEN_KEY, t);
  if (u) setUser(u);
  else localStorage.removeItem(USER_KEY);
}

export function forget() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  localStorage.removeItem('gridmap.field.box');
}

/**
 * `POST /api/v1/devices/pair {"code", "device"}` → 201 `{"token", "user"}`; stores both and
 * resolves with the user. A refusal rejects with the server's own message (404: a wrong or
 * expired code, 409: a code already used), a network failure with a sentence saying so.
 */
export async function pair(code, device) {
  const digits = String(code || '').replace(/\s+/g, '');
  if (!/^\d{8}$/.test(digits)) throw new Error('配对码为 8 位数字');
  let answer;
  try {
    answer = await request('/api/v1/devices/pair', { method: 'POST', body: { code: digits, device: (device || '').trim() || deviceName() } });
  } catch (e) {
    if (!(e instanceof ApiError)) throw new Error('无法连接服务器，请联网后再配对');
    if (e.code) throw e; // the server's message
    if (e.status === 404) throw new Error('配对码错误或已过期');
    if (e.status === 409) throw new Error('该配对码已被使用');
    throw e;
  }
  if (!answer || !answer.token) throw new Error('服务器未返回设备令牌');
  localStorage.setItem(TOKEN_KEY, answer.token);
  setUser(answer.user || null);
  return answer.user;
}

/**
 * A short name for this phone from its user agent, e.g. `Android 14 Pixel 7 · Chrome` or
 * `iPhone iOS 17.5 · Safari`, so an administrator can tell a worker's devices apart.
 */
export function deviceName(ua = globalThis.navigator ? navigator.userAgent : '') {
  const inner = (/\(([^)]*)\)/.exec(ua) || [])[1] || '';
  const parts = inner.split(';').map((s) => s.trim())
    .filter((s) => s && !/^(Linux|U|wv|K|X11|Mobile|rv:.*|[a-z]{2}([-_][A-Za-z]{2})?)$/.test(s));
  let os = '';
  const ios = /(iPhone|iPad)[^)]*OS (\d+[_\d]*)/.exec(ua);
  if (ios) os = `${ios[1]} iOS ${ios[2].replace(/_/g, '.')}`;
  else if (/Android/.test(inner)) {
    const i = parts.findIndex((p) => p.startsWith('Android'));
    os = parts.slice(i, i + 2).map((p) => p.replace(/\s*Build\/.*$/, '')).join(' ');
  } else os = parts.slice(0, 2).join(' ');
  const browser = /MicroMessenger/.test(ua) ? '微信'
    : /EdgA?\//.test(ua) ? 'Edge'
    : /(Firefox|FxiOS)\//.test(ua) ? 'Firefox'
    : /(CriOS|Chrome)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : '';
  const name = [os, browser].filter(Boolean).join(' · ') || '手机';
  return name.length > 48 ? name.slice(0, 48) : name;
}
