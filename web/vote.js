// The voter's ballot page (/vote), phone first and without login: the year-end 网格长满意度测评 on
// one-time codes. A voter opens `/vote#code=ABCDEFGHJK` from the QR code on a paper slip (the code
// is read and at once removed from the address bar, so it stays out of the history and of
// anyone's shoulder view), or opens `/vote` and types the code (10 letters and digits; lower case
// and spaces accepted). `GET /api/v1/ballots/{code}` says which grid the code is for and whether
// it can still be used; `POST /api/v1/ballots/{code} {"choice"}` casts it (201; 409 when used or
// the vote closed; 404 unknown; 429 after too many wrong codes). Nothing about the voter is
// asked, stored or sent: no token, no cookie, only the code and the choice.
import { ApiError, request } from './lib/api.js';
import { $ } from './lib/dom.js';

/** The letters of a ballot code (as the server's BALLOT_ALPHABET: no 0/O, 1/I/L). */
const ALPHABET = /^[2-9A-HJKMNP-Z]{10}$/;
const S = { state: 'enter', code: null, ballot: null, choice: null };

window.vote = {
  ready: false,
  state: () => S.state,
  ballot: () => S.ballot,
};

/** A code as typed or scanned: spaces and dashes dropped, upper case. */
export function normalise(s) {
  return String(s || '').replace(/[\s\-_]+/g, '').toUpperCase();
}

function notice(text, kind = 'info') {
  const box = $('notice');
  box.textContent = text;
  box.className = `notice ${kind}`;
  box.hidden = !text;
}

function show(state) {
  S.state = state;
  $('enter').hidden = !['enter', 'used', 'closed', 'invalid', 'error'].includes(state);
  $('ballot').hidden = !['ballot', 'sending'].includes(state);
  $('done').hidden = state !== 'done';
  document.body.dataset.state = state;
}

function retryText(e) {
  const s = e && e.details && e.details.retry_after_s;
  return s ? `尝试次数过多，请 ${s} 秒后再试` : '尝试次数过多，请稍后再试';
}

/** What went wrong with a code, for the voter. */
function refusal(e) {
  if (!(e instanceof ApiError)) return { state: 'error', text: '无法连接服务器，请检查网络后重试' };
  switch (e.status) {
    case 404: return { state: 'invalid', text: '无效的测评码，请核对纸条上的 10 位测评码' };
    case 409: return e.code === 'vote_closed'
      ? { state: 'closed', text: '本次测评已结束，不再接受提交' }
      : { state: 'used', text: '该测评码已使用，每个测评码只能提交一次' };
    case 429: return { state: 'error', text: retryText(e) };
    default: return { state: 'error', text: `暂时无法测评（${e.message}），请稍后再试` };
  }
}

/** Reads the ballot of `code` and shows it, or why it cannot be used. */
async function open(code) {
  S.code = null;
  S.ballot = null;
  $('code-error').textContent = '';
  if (!ALPHABET.test(code)) {
    show('invalid');
    notice('无效的测评码：测评码为 10 位，由数字 2–9 和字母（不含 I、L、O）组成', 'error');
    $('code').focus();
    return;
  }
  S.state = 'loading';
  notice('正在读取测评码…');
  let b;
  try {
    b = await request(`/api/v1/ballots/${encodeURIComponent(code)}`);
  } catch (e) {
    const r = refusal(e);
    show(r.state);
    notice(r.text, 'error');
    return;
  }
  S.ballot = b;
  if (b.used) { show('used'); notice('该测评码已使用，每个测评码只能提交一次', 'error'); return; }
  if (b.closed || !b.usable) { show('closed'); notice('本次测评已结束，不再接受提交', 'error'); return; }
  S.code = code;
  $('ballot-title').textContent = `${b.grid || b.cell} 网格长满意度测评 ${b.period}`;
  for (const input of document.querySelectorAll('input[name="choice"]')) input.checked = false;
  choose(null);
  $('ballot-error').textContent = '';
  notice('');
  show('ballot');
  $('ballot-title').focus();
}

function choose(value) {
  S.choice = value;
  $('confirm').disabled = !value;
  $('chosen').textContent = value ? `您选择了：${value}。确认无误后请点“确认提交”。` : '';
}

for (const input of document.querySelectorAll('input[name="choice"]')) {
  input.addEventListener('change', () => { if (input.checked) choose(input.value); });
}

$('ballot-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!S.code || !S.choice || S.state === 'sending') return;
  const code = S.code;
  show('sending');
  $('confirm').disabled = true;
  $('confirm').textContent = '正在提交…';
  $('ballot-error').textContent = '';
  try {
    await request(`/api/v1/ballots/${encodeURIComponent(code)}`, { method: 'POST', body: { choice: S.choice } });
    S.code = null;
    notice('');
    show('done');
    $('done-title').focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      show('ballot');
      $('ballot-error').textContent = `提交未成功：${err.message}`;
      $('confirm').disabled = !S.choice;
    } else {
      const r = refusal(err);
      if (r.state === 'error') {
        // Not counted (the network, a limit): the same ballot may be sent again.
        show('ballot');
        $('ballot-error').textContent = r.text;
        $('confirm').disabled = !S.choice;
      } else {
        S.code = null;
        show(r.state);
        notice(r.text, 'error');
      }
    }
  } finally {
    $('confirm').textContent = '确认提交';
  }
});

$('code-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const code = normalise($('code').value);
  if (!code) { $('code-error').textContent = '请输入测评码'; $('code').focus(); return; }
  $('code').value = '';
  open(code);
});

/** A code in the address (`#code=…`, or `?code=`): read, then removed from the address bar. */
function codeFromAddress() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  const query = new URLSearchParams(location.search);
  const code = hash.get('code') || query.get('code');
  if (hash.has('code') || query.has('code')) history.replaceState(null, '', location.pathname);
  return code ? normalise(code) : null;
}

window.addEventListener('hashchange', () => {
  const code = codeFromAddress();
  if (code) open(code);
});

const first = codeFromAddress();
(first ? open(first) : Promise.resolve(show('enter')))
  .catch(() => { show('error'); notice('页面出错，请刷新后重试', 'error'); })
  .finally(() => { window.vote.ready = true; });
