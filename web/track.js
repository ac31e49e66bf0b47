// A suggestion's progress page (/track/{code}, rendered by the server): it reads in full without
// this script. On top, where the browser lets a page write the clipboard, a button that copies
// the tracking code (查询码), so a resident can keep it with a tap.
import { el } from './lib/dom.js';

const line = document.querySelector('#track .code');
const found = line && /[A-Z0-9]{4,}/.exec(line.textContent);
if (found && navigator.clipboard && window.isSecureContext) {
  const code = found[0];
  const said = el('span', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const button = el('button', { type: 'button', class: 'copy' }, '复制查询码');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code);
      said.textContent = `已复制 ${code}`;
    } catch {
      said.textContent = '未能复制，请手动记下查询码';
    }
  });
  line.after(el('p', { class: 'copy-line' }, button, ' ', said));
}
