// Shared helpers of the browser tests (ui.test.mjs) and screenshots.mjs:
// a real two-node federation (nodes.py), Debian's chromium through
// playwright-core, and pages that record console errors and CSP violations.
import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request as httpsRequest } from 'node:https';
import { chromium } from 'playwright-core';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Generous bounds for waits on conditions (never expected durations).
export const LIVE_TIMEOUT = 30_000; // federation sync + server-sent event
export const UI_TIMEOUT = 15_000;   // one screen to show what it should

// The environment nodes.py needs; run.sh sets it from BUILD_DIR, and a run
// by hand falls back to REPO/build.
function nodesEnv() {
  const build = process.env.BUILD_DIR || join(REPO, 'build');
  const env = { ...process.env };
  env.CIVNETD ||= join(build, 'daemon', 'civnetd');
  env.CIVNETCTL ||= join(build, 'tools', 'civnetctl');
  env.CAPNP ||= 'capnp';
  env.CIVNET_ENTRY_CAPNP ||= join(REPO, 'schemas', 'entry.capnp');
  return env;
}

// Starts nodes.py and resolves with what it printed, plus stop(). Its
// stdin is a pipe from this process: when this process ends, however it
// ends, nodes.py reads EOF and stops the nodes.
export function startNodes(args = []) {
  const proc = spawn('python3', [join(HERE, 'nodes.py'), ...args], {
    env: nodesEnv(), stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((res) => proc.once('exit', (code, sig) => res({ code, sig })));
  const info = new Promise((res, rej) => {
    const lines = createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      try { res(JSON.parse(line)); } catch (e) { rej(new Error('nodes.py printed no JSON: ' + line)); }
    });
    exited.then(({ code, sig }) => rej(new Error(`nodes.py exited (${code ?? sig}) before the nodes were up`)));
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.stdin.end();
    return exited;
  };
  return info.then((i) => ({ ...i, stop, proc }), async (e) => { await stop(); throw e; });
}

// The base64 SHA-256 of a certificate's public key, for chromium's
// --ignore-certificate-errors-spki-list: the browser trusts these nodes'
// self-signed certificates, and no other certificate error.
function spki(certPath) {
  const der = new X509Certificate(readFileSync(certPath)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

export async function launch(fed) {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt install chromium, or set CHROMIUM)`);
  const pins = Object.values(fed.nodes).map((n) => spki(n.cert)).join(',');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [`--ignore-certificate-errors-spki-list=${pins}`, '--disable-dev-shm-usage', '--no-first-run'],
  });
}

// A fresh browser context (its own cookies) and one page in it whose
// console errors, uncaught exceptions and CSP violations are recorded in
// page.problems. Answers the API gives by design (a 401 from /api/me before
// login, from a wrong password) are not problems; allow() adds others.
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || { width: 1280, height: 800 },
    locale: 'en-GB', timezoneId: 'UTC', colorScheme: opts.colorScheme || 'light',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(UI_TIMEOUT);
  // Init scripts run before the page's own and are not subject to its CSP.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  const allowed = [/^Failed to load resource: the server responded with a status of 401 .*\/api\/(me|login)$/];
  page.problems = [];
  page.allow = (re) => allowed.push(re);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const what = `${m.text()} ${m.location().url || ''}`.trim();
    if (!allowed.some((re) => re.test(what))) page.problems.push('console error: ' + what);
  });
  page.on('pageerror', (e) => page.problems.push('uncaught exception: ' + (e.stack || e.message)));
  page.on('dialog', (d) => d.accept());
  return page;
}

// The login screen's form, filled and sent with the mouse.
export async function logIn(page, node, acct, { goto = true } = {}) {
  if (goto) await page.goto(node.url + '/#/login');
  await page.getByLabel('Handle').fill(acct.handle);
  await page.getByLabel('Password', { exact: true }).fill(acct.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Log out' }).waitFor();
}

// One HTTPS request to a node's member API from Node.js, trusting only that
// node's certificate: { status, headers, body (parsed JSON or null) }.
export function https(node, method, path, { data, headers = {} } = {}) {
  const url = new URL(path, node.url);
  const payload = data === undefined ? null : Buffer.from(JSON.stringify(data));
  return new Promise((res, rej) => {
    const req = httpsRequest(url, {
      method, ca: readFileSync(node.cert), timeout: 30_000,
      headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}), ...headers },
    }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try { body = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
        res({ status: r.statusCode, headers: r.headers, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer`)));
    req.on('error', rej);
    req.end(payload);
  });
}

// A member's session outside the browser (for setting content up, or for
// ending a session the browser holds): its cookie and CSRF token.
export async function apiSession(node, acct, cookie = null) {
  let csrf;
  if (cookie) {
    const r = await https(node, 'GET', '/api/me', { headers: { Cookie: cookie } });
    if (r.status !== 200) throw new Error(`GET /api/me: ${r.status} ${JSON.stringify(r.body)}`);
    csrf = r.body.csrf;
  } else {
    const r = await https(node, 'POST', '/api/login', { data: { handle: acct.handle, password: acct.password } });
    if (r.status !== 200) throw new Error(`login of ${acct.handle} on ${node.url}: ${r.status} ${JSON.stringify(r.body)}`);
    cookie = String(r.headers['set-cookie']).split(';')[0];
    csrf = r.body.csrf;
  }
  const call = async (method, path, data) => {
    const r = await https(node, method, path, {
      data: method === 'POST' ? (data || {}) : undefined,
      headers: { Cookie: cookie, ...(method === 'POST' ? { 'X-CSRF-Token': csrf } : {}) },
    });
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    cookie, csrf, call,
    publish: (title, body, tags = [], language = 'en') => call('POST', '/api/entries', { title, body, tags, language }),
    comment: (id, body) => call('POST', `/api/entries/${id}/comments`, { body }),
    logout: () => call('POST', '/api/logout', {}),
  };
}

// A word no other test uses, of letters only (the search index stems words).
export function nonce(prefix = 'zx') {
  let s = prefix;
  for (let i = 0; i < 8; i++) s += String.fromCharCode(97 + Math.floor(Math.random() * 26));
  return s;
}
