// The pages' one way to this server's API: JSON in and out, the bearer token in the
// Authorization header, and errors in the server's contract — `{"error": {"code", "message",
// "details"}}` — thrown as ApiError (status, code, details; the parsed body too). The live stream
// (Server-Sent Events) takes its token in the query, since EventSource cannot send headers.

/** A non-2xx answer. `message` is the server's message (else its code, else method, URL and status). */
export class ApiError extends Error {
  constructor(message, { status, code, details, body } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.body = body;
  }
}

/**
 * One request. `body` (if given) is sent as JSON; `token` (if any) as `Authorization: Bearer …`;
 * anything else in `init` goes to fetch as it is (e.g. `cache`). Resolves to the parsed JSON (or
 * the text if it is not JSON; null if empty); rejects with an ApiError unless the status is 2xx.
 */
export async function request(url, init) {
  return (await exchange(url, init)).data;
}

/**
 * `request`, resolving to `{data, response}`: the parsed body and the Response itself, for a
 * caller that reads headers too (the field app's service worker marks answers from its cache).
 */
export async function exchange(url, { method = 'GET', body, token, headers, ...init } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = 'Bearer ' + token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(url, { ...init, method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    const e = data && typeof data === 'object' ? data.error : null;
    throw new ApiError((e && (e.message || e.code)) || `${method} ${url}: HTTP ${r.status}`,
      { status: r.status, code: e && e.code, details: e && e.details, body: data });
  }
  return { data, response: r };
}

/**
 * A client whose requests carry the token `token()` returns at the time of the call (the pages
 * change it on login): `call(method, url, body)` and shorthands per method.
 */
export function client(token = () => null) {
  const call = (method, url, body) => request(url, { method, body, token: token() });
  return {
    call,
    get: (url) => call('GET', url),
    post: (url, body = {}) => call('POST', url, body),
    put: (url, body) => call('PUT', url, body),
    patch: (url, body) => call('PATCH', url, body),
    del: (url) => call('DELETE', url),
  };
}

/**
 * Opens `/api/v1/live` with the token as `access_token`. `on` maps event names to listeners;
 * `open` and `error` are the connection's own events. EventSource reconnects by itself and sends
 * Last-Event-ID, so the server replays what was missed.
 */
export function live(token, on = {}) {
  const source = new EventSource(`/api/v1/live?access_token=${encodeURIComponent(token)}`);
  for (const [name, listener] of Object.entries(on)) {
    if (name === 'open') source.onopen = listener;
    else if (name === 'error') source.onerror = listener;
    else source.addEventListener(name, listener);
  }
  return source;
}
