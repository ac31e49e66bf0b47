// Shared by the browser tests: the pages must run under the server's Content-Security-Policy
// (no inline scripts, styles or handlers; no eval; nothing from other origins) and every page
// must carry the security headers. Not a test itself (make test runs the *.test.mjs files).
import assert from 'node:assert/strict';

/** Starts collecting CSP violations of `page`; call before the first `page.goto`. */
export async function watchCsp(page) {
  const seen = [];
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  // Chromium also logs every violation ("Refused to … because it violates the following Content
  // Security Policy directive …"), including those of documents replaced since.
  page.on('console', (m) => { if (m.text().includes('Content Security Policy')) seen.push('console: ' + m.text()); });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    if (f && /csp/i.test(f.errorText)) seen.push(`blocked request: ${r.url()} (${f.errorText})`);
  });
  // Under X-Content-Type-Options: nosniff a script or style sheet with the wrong type is refused.
  page.on('response', (r) => {
    const kind = r.request().resourceType();
    const type = (r.headers()['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (r.status() >= 300) return;
    if (kind === 'script' && !/^(text|application)\/(x-)?javascript$/.test(type)) seen.push(`script ${r.url()} served as ${type || '(no type)'}`);
    if (kind === 'stylesheet' && type !== 'text/css') seen.push(`style sheet ${r.url()} served as ${type || '(no type)'}`);
  });
  return {
    /** Asserts that no violation was reported so far (prints them if any). */
    async assertNone() {
      const inPage = await page.evaluate(() => (Array.isArray(window.__cspViolations) ? window.__cspViolations : null));
      assert.ok(inPage, 'the securitypolicyviolation listener was not installed in the page');
      const all = [...inPage.map((v) => 'securitypolicyviolation: ' + v), ...seen];
      if (all.length) console.error('CSP violations / refused resources:\n  ' + all.join('\n  '));
      assert.deepEqual(all, [], 'the page broke its Content-Security-Policy (or nosniff)');
    },
  };
}

/** Asserts the security headers of a page's main response (from `page.goto`). */
export function assertSecurityHeaders(response, { frameAncestorsNone = false } = {}) {
  assert.ok(response, 'no response for the page');
  const h = response.headers();
  const csp = h['content-security-policy'];
  assert.ok(csp, `no Content-Security-Policy on ${response.url()}`);
  assert.ok(csp.includes("default-src 'self'"), `CSP without default-src 'self': ${csp}`);
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k.toLowerCase(), v]));
  // The check would be hollow if the policy let inline code or eval through.
  for (const d of ['script-src', 'style-src']) {
    for (const bad of ["'unsafe-inline'", "'unsafe-eval'", '*']) {
      assert.ok(!(directives[d] || []).includes(bad), `${d} allows ${bad}: ${csp}`);
    }
  }
  if (frameAncestorsNone) assert.ok(csp.includes("frame-ancestors 'none'"), `CSP without frame-ancestors 'none': ${csp}`);
  assert.equal(h['x-content-type-options'], 'nosniff', `X-Content-Type-Options of ${response.url()}`);
  assert.equal(h['referrer-policy'], 'no-referrer', `Referrer-Policy of ${response.url()}`);
  return csp;
}
