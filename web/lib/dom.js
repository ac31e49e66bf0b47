// Small DOM and display helpers shared by the pages. Everything is built with elements and text
// nodes (never innerHTML), and no inline handler or style attribute is written: the pages run
// under a strict Content-Security-Policy.

export const $ = (id) => document.getElementById(id);

/**
 * `el('div', {class: 'x', onclick: fn}, child, …)`: attributes (false/null skipped, true → empty
 * value, `onclick` → a click listener) and children (strings or nodes; null/false skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c != null && c !== false) node.append(c);
  return node;
}

/** A count in Chinese notation, or — when unknown. */
export const fmt = (n) => (n == null ? '—' : Number(n).toLocaleString('zh-CN'));
/** An area in square metres, as 平方米 or (from 1 km²) 平方公里. */
export const area = (m2) => (m2 == null ? '' : m2 >= 1e6 ? `${(m2 / 1e6).toFixed(2)} 平方公里` : `${Math.round(m2).toLocaleString('zh-CN')} 平方米`);
