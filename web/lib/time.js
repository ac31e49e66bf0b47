// Dates and times as the phone sees them, shared by the pages and their tests: no DOM, no
// globals beyond Date — node imports this file as it is. The server takes times as RFC 3339
// *with the phone's offset* (what the worker saw on the clock) and days as YYYY-MM-DD.

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** `2026-12-01T09:30:05.120+08:00`: the local time with its UTC offset (never `Z`). */
export function rfc3339(date = new Date()) {
  const d = date instanceof Date ? date : new Date(date);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${localDay(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
    + `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The local calendar day, YYYY-MM-DD. */
export function localDay(date = new Date()) {
  const d = date instanceof Date ? date : new Date(date);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The Monday of the (local) week of `date`, YYYY-MM-DD. */
export function mondayOf(date = new Date()) {
  const d = date instanceof Date ? new Date(date.getTime()) : new Date(date);
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return localDay(d);
}

/** A duration in milliseconds as H:MM:SS. */
export function clockDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** A time or date for people: `12月1日 09:30` (the day alone for YYYY-MM-DD), or — when unknown. */
export function human(value) {
  if (value == null || value === '') return '—';
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [, m, d] = value.split('-').map(Number);
    return `${m}月${d}日`;
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
