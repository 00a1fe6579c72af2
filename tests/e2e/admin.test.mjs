// The admin API, the request monitor, token statistics and /metrics against a real aigate and
// the mock upstream: every route's contract (happy path, validation errors naming the field,
// unknown ids, auth required), monitor and statistics after a scripted mix of successes, retries
// and failures (also after a restart), retention that deletes, a kill -9 during heavy logging,
// and /metrics read by a real Prometheus text parser.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Env } from './lib.mjs';

const KEY = 'sk-admintest0123456789abcdef012345';
const MODEL = 'gemini-2.5-flash';

async function call(env, method, path, { body, key = KEY, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(`${env.url}${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20000),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

const chat = (env, content, extra = {}) => call(env, 'POST', '/v1/chat/completions', {
  body: { model: MODEL, messages: [{ role: 'user', content }], ...extra },
});

async function waitUntil(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Everything the monitor recorded is on disk.
const settled = (env) => waitUntil('the writer to drain', async () => {
  const m = (await call(env, 'GET', '/api/monitor')).json;
  return m.writer.queued === 0 && m.writer.written >= m.recorded - m.not_persisted ? m : null;
});

function waitOutput(child, re, ms) {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${out}`)), ms);
    const on = (d) => { out += d; if (re.test(out)) { clearTimeout(t); resolve(); } };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
  });
}

function stopGw(env, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    const gw = env.gw;
    if (gw.exitCode !== null || gw.signalCode !== null) return resolve(gw.exitCode);
    const t = setTimeout(() => gw.kill('SIGKILL'), 10000);
    gw.once('exit', (code, sig) => { clearTimeout(t); resolve(code ?? sig); });
    gw.kill(signal);
  });
}

async function restartGw(env, args = []) {
  env.gw = spawn(process.env.AIGATE_BIN, ['--port', String(env.port), ...args], {
    env: { ...env.env, AIGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  env.gw.stderr.on('data', (d) => { env.gwLog += d.toString(); });
  await waitOutput(env.gw, /listening on/, 10000);
}

// Every admin route, with a body that is valid where one is needed.
const ROUTES = [
  ['GET', '/api/accounts'], ['POST', '/api/accounts', {}], ['POST', '/api/accounts/import', []],
  ['POST', '/api/accounts/export', {}], ['POST', '/api/accounts/current', { account_id: null }],
  ['GET', '/api/accounts/x'], ['DELETE', '/api/accounts/x'], ['POST', '/api/accounts/x/enable'],
  ['POST', '/api/accounts/x/disable'], ['POST', '/api/accounts/x/forbid'],
  ['POST', '/api/accounts/x/unforbid'], ['PUT', '/api/accounts/x/label', { label: 'a' }],
  ['POST', '/api/accounts/x/refresh-quota'], ['POST', '/api/accounts/oauth/start'],
  ['GET', '/api/config'], ['PUT', '/api/config', {}], ['POST', '/api/config', {}],
  ['GET', '/api/proxy/status'], ['POST', '/api/proxy/start'], ['POST', '/api/proxy/stop'],
  ['POST', '/api/proxy/api-key/regenerate'], ['POST', '/api/proxy/cooldowns/clear'],
  ['POST', '/api/proxy/session-bindings/clear'], ['POST', '/api/proxy/thinking/clear'], ['GET', '/api/logs'], ['GET', '/api/logs/recent'],
  ['GET', '/api/logs/1'], ['POST', '/api/logs/clear'], ['GET', '/api/monitor'], ['GET', '/api/events'],
  ['GET', '/api/stats/summary'], ['GET', '/api/stats/series'], ['GET', '/api/stats/breakdown'],
  ['POST', '/api/stats/clear'], ['POST', '/api/auth/logout'], ['GET', '/api/auth/session'],
  ['GET', '/metrics'],
];

describe('admin API', () => {
  const env = new Env();
  let accountId;

  before(async () => {
    await env.start({ env: { AIGATE_API_KEY: KEY } });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('every admin route needs the secret, even with auth.mode off', async () => {
    for (const [m, p, b] of ROUTES) {
      const none = await call(env, m, p, { body: b, key: null });
      assert.equal(none.status, 401, `${m} ${p} without a key`);
      assert.equal(none.json.error.type, 'authentication_error');
      const wrong = await call(env, m, p, { body: b, key: 'sk-wrong' });
      assert.equal(wrong.status, 401, `${m} ${p} with a wrong key`);
      // A success clears the failure count (five wrong guesses a minute lock an address out).
      assert.equal((await call(env, 'GET', '/api/auth/session')).status, 200);
    }
    // The AI routes stay open in auth.mode=off.
    assert.equal((await chat(env, 'open')).status, 200);
  });

  test('accounts: list, get, unknown ids, validation', async () => {
    const l = await call(env, 'GET', '/api/accounts');
    assert.equal(l.status, 200);
    assert.equal(l.json.accounts.length, 1);
    const a = l.json.accounts[0];
    accountId = a.id;
    assert.equal(a.email, 'mock@example.com');
    assert.equal(a.tier, 'pro');
    assert.ok(a.quota && typeof a.quota === 'object');
    assert.ok(Array.isArray(a.runtime.cooldowns));
    assert.equal(a.refresh_token, undefined, 'no secrets in the list');
    assert.equal((await call(env, 'GET', `/api/accounts/${a.id}`)).json.email, a.email);
    for (const [m, p, b] of [['GET', '/api/accounts/nope'], ['DELETE', '/api/accounts/nope'],
      ['POST', '/api/accounts/nope/enable'], ['POST', '/api/accounts/nope/disable'],
      ['POST', '/api/accounts/nope/forbid'], ['POST', '/api/accounts/nope/unforbid'],
      ['PUT', '/api/accounts/nope/label', { label: 'x' }], ['POST', '/api/accounts/nope/refresh-quota'],
      ['POST', '/api/accounts/current', { account_id: 'nope' }], ['POST', '/api/accounts/export', { ids: ['nope'] }],
      ['POST', '/api/proxy/cooldowns/clear', { account_id: 'nope' }], ['GET', '/api/logs/999999']]) {
      const r = await call(env, m, p, { body: b });
      assert.equal(r.status, 404, `${m} ${p}`);
    }
    const bad = [
      ['POST', '/api/accounts', {}, 'refresh_token'],
      ['POST', '/api/accounts', { refresh_token: 5 }, 'refresh_token'],
      ['POST', '/api/accounts', { refresh_token: 'x', label: 'l'.repeat(65) }, 'label'],
      ['PUT', `/api/accounts/${a.id}/label`, { label: 'l'.repeat(65) }, 'label'],
      ['PUT', `/api/accounts/${a.id}/label`, {}, 'label'],
      ['POST', `/api/accounts/${a.id}/forbid`, { until_s: 'soon' }, 'until_s'],
      ['POST', `/api/accounts/${a.id}/disable`, { reason: 7 }, 'reason'],
      ['POST', '/api/accounts/current', {}, 'account_id'],
      ['POST', '/api/accounts/export', { ids: 'all' }, 'ids'],
      ['POST', '/api/accounts/import', { nothing: true }, 'body'],
      ['PUT', '/api/config', { 'no.such.key': 1 }, 'no.such.key'],
      ['PUT', '/api/config', { server: { port: 70000 } }, 'server.port'],
      ['PUT', '/api/config', { changes: 3 }, 'changes'],
      ['GET', '/api/logs?status=7xx', undefined, 'status'],
      ['GET', '/api/logs?limit=0', undefined, 'limit'],
      ['GET', '/api/logs?from_ms=10&to_ms=5', undefined, 'to_ms'],
      ['GET', '/api/stats/series?bucket=week', undefined, 'bucket'],
      ['GET', '/api/stats/breakdown', undefined, 'group'],
      ['GET', '/api/stats/summary?hours=abc', undefined, 'hours'],
      ['POST', '/api/auth/login', {}, 'password'],
    ];
    for (const [m, p, b, field] of bad) {
      const r = await call(env, m, p, { body: b });
      assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(b)}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${m} ${p}: ${r.text}`);
    }
    const nojson = await call(env, 'POST', '/api/accounts', { body: '{nope', raw: true });
    assert.equal(nojson.status, 400);
    assert.equal(nojson.json.error.field, 'body');
  });

  test('accounts: add, label, disable/enable, forbid/unforbid, quota, current, export, import, delete', async () => {
    await env.mockCall('POST', '/__mock/accounts', { email: 'b@example.com' });
    const add = await call(env, 'POST', '/api/accounts', { body: { refresh_token: 'rt-b@example.com', label: 'second' } });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.json.email, 'b@example.com');
    const id = add.json.id;
    const again = await call(env, 'POST', '/api/accounts', { body: { refresh_token: 'rt-b@example.com' } });
    assert.equal(again.status, 200);
    assert.equal(again.json.created, false);
    const refused = await call(env, 'POST', '/api/accounts', { body: { refresh_token: 'rt-unknown' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.field, 'refresh_token');

    let r = await call(env, 'PUT', `/api/accounts/${id}/label`, { body: { label: 'work' } });
    assert.equal(r.json.label, 'work');
    r = await call(env, 'POST', `/api/accounts/${id}/disable`, { body: { reason: 'paused' } });
    assert.equal(r.json.disabled, true);
    assert.equal(r.json.disabled_reason, 'paused');
    r = await call(env, 'POST', `/api/accounts/${id}/enable`);
    assert.equal(r.json.disabled, false);
    r = await call(env, 'POST', `/api/accounts/${id}/forbid`, { body: { reason: 'test', until_s: 4102444800 } });
    assert.equal(r.json.forbidden, true);
    assert.equal(r.json.forbidden_until, 4102444800);
    r = await call(env, 'POST', `/api/accounts/${id}/unforbid`);
    assert.equal(r.json.forbidden, false);
    r = await call(env, 'POST', `/api/accounts/${id}/refresh-quota`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.models > 0);

    r = await call(env, 'POST', '/api/accounts/current', { body: { account_id: 'b@example.com' } });
    assert.equal(r.status, 200, r.text);
    r = await call(env, 'GET', '/api/accounts');
    assert.equal(r.json.fixed_account, id);
    assert.ok(r.json.accounts.find((x) => x.id === id).current);
    assert.equal((await call(env, 'GET', '/api/proxy/status')).json.fixed_account, id);
    const served = await chat(env, 'fixed');
    assert.equal(served.status, 200);
    r = await call(env, 'POST', '/api/accounts/current', { body: { account_id: null } });
    assert.equal(r.status, 200);

    const ex = await call(env, 'POST', '/api/accounts/export', { body: { ids: [id] } });
    assert.equal(ex.status, 200);
    assert.equal(ex.json.accounts.length, 1);
    assert.equal(ex.json.accounts[0].refresh_token, 'rt-b@example.com');
    assert.equal((await call(env, 'POST', '/api/accounts/export', { body: {} })).json.accounts.length, 2);

    assert.equal((await call(env, 'DELETE', `/api/accounts/${id}`)).status, 200);
    assert.equal((await call(env, 'GET', `/api/accounts/${id}`)).status, 404);
    const imp = await call(env, 'POST', '/api/accounts/import', {
      body: [{ refresh_token: 'rt-b@example.com', label: 'imported' }, { email: 'no-token@example.com' }],
    });
    assert.equal(imp.status, 200, imp.text);
    assert.equal(imp.json.imported, 1);
    assert.equal(imp.json.failed, 1);
    const list = (await call(env, 'GET', '/api/accounts')).json.accounts;
    assert.equal(list.length, 2);
    assert.equal(list.find((x) => x.email === 'b@example.com').label, 'imported');
  });

  test('OAuth login: URL, state checked, code exchanged, account onboarded', async () => {
    const s = await call(env, 'POST', '/api/accounts/oauth/start');
    assert.equal(s.status, 200);
    const u = new URL(s.json.url);
    assert.equal(u.searchParams.get('client_id'), 'e2e-client');
    assert.equal(u.searchParams.get('redirect_uri'), `http://127.0.0.1:${env.port}/auth/callback`);
    assert.equal(u.searchParams.get('access_type'), 'offline');
    assert.match(u.searchParams.get('scope'), /cloud-platform/);
    assert.equal(u.searchParams.get('state'), s.json.state);
    const forged = await call(env, 'GET', '/auth/callback?code=code-mock&state=forged', { key: null });
    assert.equal(forged.status, 400);
    const ok = await call(env, 'GET', `/auth/callback?code=code-mock&state=${s.json.state}`, { key: null });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /mock@example\.com/);
    const replay = await call(env, 'GET', `/auth/callback?code=code-mock&state=${s.json.state}`, { key: null });
    assert.equal(replay.status, 400, 'a state is good for one callback');

    // A pasted redirect URL (or bare code) completes a login from the UI as JSON.
    const s2 = await call(env, 'POST', '/api/accounts/oauth/start');
    const pasted = `http://127.0.0.1:${env.port}/auth/callback?state=${s2.json.state}&code=code-mock`;
    const done = await call(env, 'POST', '/api/accounts/oauth/complete', { body: { url: pasted } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.email, 'mock@example.com');
    assert.equal(done.json.created, false);
    const again = await call(env, 'POST', '/api/accounts/oauth/complete', { body: { code: 'code-mock', state: s2.json.state } });
    assert.equal(again.status, 400);
    assert.equal(again.json.error.field, 'state');
    const nothing = await call(env, 'POST', '/api/accounts/oauth/complete', { body: {} });
    assert.equal(nothing.status, 400);
    assert.equal(nothing.json.error.field, 'code');
  });

  test('proxy: API key shown in full, the mapping in force, the data dir, sessions cleared', async () => {
    const k = await call(env, 'GET', '/api/proxy/api-key');
    assert.equal(k.status, 200);
    assert.equal(k.json.api_key, KEY);
    assert.equal((await call(env, 'GET', '/api/proxy/api-key', { key: null })).status, 401);
    const m = await call(env, 'GET', '/api/mapping');
    assert.equal(m.status, 200, m.text);
    assert.ok(m.json.builtin.length > 5);
    assert.ok(m.json.builtin.every((b) => typeof b.from === 'string' && typeof b.to === 'string'));
    assert.equal(typeof m.json.background_model, 'string');
    const c = await call(env, 'GET', '/api/config');
    assert.ok(c.json.data_dir.endsWith('data'), c.json.data_dir);
    assert.ok(c.json.config_path.endsWith('config.json'));
    assert.equal((await chat(env, 'one sticky conversation')).status, 200);
    const cleared = await call(env, 'POST', '/api/proxy/session-bindings/clear');
    assert.equal(cleared.status, 200);
    assert.ok(cleared.json.cleared >= 1, cleared.text);
  });

  test('config: masked read, validated hot update, restart-only keys named', async () => {
    const g = await call(env, 'GET', '/api/config');
    assert.equal(g.status, 200);
    assert.notEqual(g.json.config.auth.api_key, KEY);
    assert.ok(g.json.keys.find((k) => k.name === 'server.port').restart);
    // Sending the masked value back changes nothing.
    const same = await call(env, 'PUT', '/api/config', { body: { auth: { api_key: g.json.config.auth.api_key }, log: { level: 'info' } } });
    assert.equal(same.status, 200, same.text);
    assert.deepEqual(same.json.changed, ['log.level']);

    let r = await call(env, 'PUT', '/api/config', { body: { auth: { mode: 'strict' }, 'server.port': 9, mapping: { custom: { 'my-alias': MODEL } } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.restart_required, ['server.port']);
    assert.equal(r.json.config.auth.mode, 'strict');
    // Applied without restart: strict auth and the new mapping.
    const noKey = await call(env, 'POST', '/v1/chat/completions', { key: null, body: { model: MODEL, messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(noKey.status, 401);
    const mapped = await call(env, 'POST', '/v1/chat/completions', { body: { model: 'my-alias', messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(mapped.status, 200, mapped.text);
    r = await call(env, 'PUT', '/api/config', { body: { changes: { 'auth.mode': 'off', 'server.port': 8045, 'mapping.custom': {} } } });
    assert.equal(r.status, 200, r.text);

    // Upstream settings are hot too: the next upstream call carries the new User-Agent.
    r = await call(env, 'PUT', '/api/config', { body: { 'upstream.user_agent': 'aigate-hot-ua/1' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.restart_required, []);
    await env.clearRequests();
    assert.equal((await chat(env, 'after the user agent changed')).status, 200);
    const reqs = await env.requests(':streamGenerateContent');
    assert.equal(reqs.at(-1).headers['user-agent'], 'aigate-hot-ua/1');
  });

  test('proxy: status, stop answers 503 in each protocol, start, key regeneration, cooldowns', async () => {
    let r = await call(env, 'GET', '/api/proxy/status');
    assert.equal(r.json.running, true);
    assert.equal(r.json.port, env.port);
    r = await call(env, 'POST', '/api/proxy/stop');
    assert.equal(r.json.running, false);
    const o = await chat(env, 'stopped');
    assert.equal(o.status, 503);
    assert.ok(o.json.error.message.includes('stopped'));
    assert.ok('param' in o.json.error, 'OpenAI error shape');
    const gm = await call(env, 'POST', `/v1beta/models/${MODEL}:generateContent`, { body: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] } });
    assert.equal(gm.status, 503);
    assert.equal(gm.json.error.code, 503, 'Gemini error shape');
    assert.equal((await call(env, 'GET', '/healthz')).status, 200);
    assert.equal((await call(env, 'GET', '/api/accounts')).status, 200);
    r = await call(env, 'POST', '/api/proxy/start');
    assert.equal(r.json.running, true);
    assert.equal((await chat(env, 'started')).status, 200);

    assert.equal((await call(env, 'POST', '/api/proxy/cooldowns/clear', { body: {} })).status, 200);
    assert.equal((await call(env, 'POST', '/api/proxy/cooldowns/clear', { body: { account_id: accountId } })).status, 200);
    assert.equal((await call(env, 'POST', '/api/proxy/session-bindings/clear')).status, 200);

    r = await call(env, 'POST', '/api/proxy/api-key/regenerate');
    assert.equal(r.status, 200, r.text);
    const fresh = r.json.api_key;
    assert.match(fresh, /^sk-[0-9a-f]{32}$/);
    assert.equal((await call(env, 'GET', '/api/accounts')).status, 401, 'the old key is gone');
    assert.equal((await call(env, 'GET', '/api/accounts', { key: fresh })).status, 200);
    r = await call(env, 'PUT', '/api/config', { key: fresh, body: { 'auth.api_key': KEY } });
    assert.equal(r.status, 200, r.text);
  });
});

describe('login sessions', () => {
  const env = new Env();
  before(async () => { await env.start({ env: { AIGATE_API_KEY: KEY } }); });
  after(async () => { await env.stop(); });

  test('login gives an expiring token; logout revokes it; failed logins are rate-limited', async () => {
    const ok = await call(env, 'POST', '/api/auth/login', { key: null, body: { password: KEY } });
    assert.equal(ok.status, 200);
    assert.match(ok.json.token, /^ags_[0-9a-f]{48}$/);
    assert.ok(ok.json.expires_at_ms > Date.now());
    assert.equal((await call(env, 'GET', '/api/accounts', { key: ok.json.token })).status, 200);
    assert.equal((await call(env, 'GET', '/api/auth/session', { key: ok.json.token })).status, 200);
    assert.equal((await call(env, 'POST', '/api/auth/logout', { key: ok.json.token })).status, 200);
    assert.equal((await call(env, 'GET', '/api/accounts', { key: ok.json.token })).status, 401);
  });

  test('an admin password replaces the API key on admin routes', async () => {
    const r = await call(env, 'PUT', '/api/config', { body: { 'auth.admin_password': 'correct horse' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await call(env, 'GET', '/api/accounts')).status, 401);
    assert.equal((await call(env, 'GET', '/api/accounts', { key: 'correct horse' })).status, 200);
  });
});

describe('failed admin authentication', () => {
  const env = new Env();
  before(async () => { await env.start({ env: { AIGATE_API_KEY: KEY } }); });
  after(async () => { await env.stop(); });

  test('guesses lock the address out; pages and stale sessions do not count', async () => {
    const url = `${env.url}/api/auth/login`;
    // A web page's attempts (foreign origin, or a form-like body) are refused before counting.
    for (let i = 0; i < 10; i++) {
      const page = await fetch(url, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ password: 'guess' }) });
      assert.equal(page.status, 403);
      const simple = await fetch(url, { method: 'POST', headers: { origin: `${env.url}`, 'content-type': 'text/plain' }, body: JSON.stringify({ password: 'guess' }) });
      assert.equal(simple.status, 415);
      const stale = await call(env, 'GET', '/api/accounts', { key: `ags_${'0'.repeat(48)}` });
      assert.equal(stale.status, 401);
    }
    assert.equal((await call(env, 'GET', '/api/accounts')).status, 200);
    // Five wrong passwords, then even the right secret waits, on every admin route.
    for (let i = 0; i < 5; i++) {
      const bad = await call(env, 'POST', '/api/auth/login', { key: null, body: { password: 'guess' } });
      assert.equal(bad.status, 401);
      assert.equal(bad.json.error.field, 'password');
    }
    const limited = await call(env, 'POST', '/api/auth/login', { key: null, body: { password: KEY } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const route = await call(env, 'GET', '/api/accounts');
    assert.equal(route.status, 429);
    assert.ok(Number(route.headers.get('retry-after')) >= 50);
    // The AI routes are not the admin API: they stay usable.
    assert.notEqual((await chat(env, 'still open')).status, 429);
  });
});

describe('monitor, token statistics and metrics', () => {
  const env = new Env();
  before(async () => {
    await env.start({ env: { AIGATE_API_KEY: KEY } });
    await env.mockCall('POST', '/__mock/accounts', { email: 'b@example.com' });
    const add = await call(env, 'POST', '/api/accounts', { body: { refresh_token: 'rt-b@example.com' } });
    assert.equal(add.status, 201, add.text);
    const c = await call(env, 'PUT', '/api/config', { body: { 'monitor.capture_bodies': true } });
    assert.equal(c.status, 200, c.text);
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  let expected;
  test('a scripted mix is recorded once each, and statistics agree with the log', async () => {
    const events = [];
    const login = await call(env, 'POST', '/api/auth/login', { key: null, body: { password: KEY } });
    const ac = new AbortController();
    const sse = await fetch(`${env.url}/api/events?token=${login.json.token}`, { signal: ac.signal });
    assert.equal(sse.status, 200);
    const reader = sse.body.getReader();
    const pump = (async () => {
      const dec = new TextDecoder();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value);
          for (let i; (i = buf.indexOf('\n\n')) >= 0; buf = buf.slice(i + 2)) {
            const ev = buf.slice(0, i);
            if (ev.startsWith('event: request')) events.push(JSON.parse(ev.split('\ndata: ')[1]));
          }
        }
      } catch { /* aborted */ }
    })();

    for (let i = 0; i < 3; i++) assert.equal((await chat(env, `ok ${i} with sk-secretsecretsecret123`)).status, 200);
    const st = await chat(env, 'streamed', { stream: true, stream_options: { include_usage: true } });
    assert.equal(st.status, 200);
    await env.fault({ status: 429, count: 1, retry_delay: '0.1s', reason: 'RATE_LIMIT_EXCEEDED' });
    const retried = await chat(env, 'retried');
    assert.equal(retried.status, 200, retried.text);
    await env.fault({ status: 400, count: 1, body: '{"error":{"code":400,"message":"bad words","status":"INVALID_ARGUMENT"}}' });
    const failed = await chat(env, 'fails');
    assert.equal(failed.status, 400);
    const g = await call(env, 'POST', `/v1beta/models/${MODEL}:generateContent`, { body: { contents: [{ role: 'user', parts: [{ text: 'gemini' }] }] } });
    assert.equal(g.status, 200);
    expected = 7;

    await settled(env);
    const logs = (await call(env, 'GET', '/api/logs?limit=1000')).json;
    assert.equal(logs.total, expected);
    assert.equal(logs.items.length, expected);
    assert.ok(logs.items[0].id > logs.items[1].id, 'newest first');
    const retry = logs.items.find((x) => x.attempts === 2);
    assert.ok(retry, 'the retried request shows two attempts');
    assert.equal(retry.status, 200);
    const bad = logs.items.find((x) => x.status === 400);
    assert.ok(bad.error_class);
    assert.ok(logs.items.find((x) => x.stream && x.ttfb_ms !== null));
    assert.ok(logs.items.find((x) => x.protocol === 'gemini'));
    for (const x of logs.items) {
      assert.equal(x.client_ip, '127.0.0.1');
      assert.ok(x.total_ms >= 0);
      assert.ok(x.user_agent);
    }

    // Filters and paging.
    assert.equal((await call(env, 'GET', '/api/logs?status=error')).json.total, 1);
    assert.equal((await call(env, 'GET', '/api/logs?status=4xx')).json.total, 1);
    assert.equal((await call(env, 'GET', '/api/logs?status=ok')).json.total, expected - 1);
    assert.equal((await call(env, 'GET', '/api/logs?protocol=gemini')).json.total, 1);
    assert.equal((await call(env, 'GET', `/api/logs?model=${MODEL}`)).json.total, expected);
    assert.equal((await call(env, 'GET', '/api/logs?account=nobody@example.com')).json.total, 0);
    assert.equal((await call(env, 'GET', '/api/logs?q=GENERATECONTENT')).json.total, 1);
    assert.equal((await call(env, 'GET', `/api/logs?from_ms=${Date.now() + 60000}`)).json.total, 0);
    const p1 = (await call(env, 'GET', '/api/logs?limit=3')).json.items;
    const p2 = (await call(env, 'GET', '/api/logs?limit=3&offset=3')).json.items;
    const p3 = (await call(env, 'GET', `/api/logs?limit=3&before_id=${p1[2].id}`)).json.items;
    assert.equal(p1.length, 3);
    assert.deepEqual(p2.map((x) => x.id), p3.map((x) => x.id));
    assert.ok(p2[0].id < p1[2].id);

    // One entry with its bodies, secrets redacted.
    const first = logs.items.at(-1);
    const one = await call(env, 'GET', `/api/logs/${first.id}`);
    assert.equal(one.status, 200);
    assert.match(one.json.request_body, /ok 0/);
    assert.ok(!one.json.request_body.includes('sk-secretsecretsecret123'));
    assert.match(one.json.request_body, /sk-\[REDACTED\]/);
    assert.ok(one.json.response_body.length > 0);

    // Statistics from the same records.
    const sum = (await call(env, 'GET', '/api/stats/summary')).json;
    assert.equal(sum.requests, expected);
    assert.equal(sum.errors, 1);
    assert.equal(sum.input_tokens, logs.items.reduce((s, x) => s + x.input_tokens, 0));
    assert.equal(sum.output_tokens, logs.items.reduce((s, x) => s + x.output_tokens, 0));
    assert.equal(sum.models, 1);
    assert.equal(sum.protocols, 2);
    const byProto = (await call(env, 'GET', '/api/stats/breakdown?group=protocol')).json.items;
    assert.equal(byProto.find((x) => x.key === 'gemini').requests, 1);
    assert.equal(byProto.find((x) => x.key === 'openai-chat').requests, expected - 1);
    const byAcct = (await call(env, 'GET', '/api/stats/breakdown?group=account')).json.items;
    assert.equal(byAcct.reduce((s, x) => s + x.requests, 0), expected);
    const hourly = (await call(env, 'GET', '/api/stats/series?bucket=hour&hours=2')).json.items;
    assert.equal(hourly.reduce((s, x) => s + x.requests, 0), expected);
    assert.ok(hourly.every((x) => x.period_s % 3600 === 0));
    const daily = (await call(env, 'GET', '/api/stats/series?bucket=day&days=2&group=model')).json.items;
    assert.equal(daily.reduce((s, x) => s + x.total_tokens, 0), sum.total_tokens);
    assert.equal(daily[0].key, MODEL);

    // Live events: every record, once.
    await waitUntil('the live events', async () => events.length >= expected, 5000);
    assert.deepEqual(events.map((e) => e.id).sort(), logs.items.map((x) => x.id).sort());
    ac.abort();
    await pump;

    // In memory as well.
    const recent = (await call(env, 'GET', '/api/logs/recent')).json.items;
    assert.equal(recent.length, expected);
  });

  test('/metrics parses as Prometheus text and agrees with the log', async () => {
    assert.equal((await call(env, 'GET', '/metrics', { key: null })).status, 401);
    const r = await call(env, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheusTextFormat(r.text);
    const byName = Object.fromEntries(fams.map((f) => [f.name, f]));
    const reqs = byName.aigate_requests_total;
    assert.equal(reqs.type, 'COUNTER');
    assert.equal(reqs.metrics.reduce((s, m) => s + Number(m.value), 0), expected);
    assert.ok(reqs.metrics.find((m) => m.labels.status === '400'));
    assert.ok(reqs.metrics.find((m) => m.labels.route === '/v1beta/models/:model:generateContent'));
    const dur = byName.aigate_request_duration_seconds;
    assert.equal(dur.type, 'HISTOGRAM');
    assert.ok(dur.metrics[0].buckets['+Inf'] !== undefined);
    // This parser folds the label sets of a histogram into one; the per-route counts are summed
    // from the _count lines instead.
    const counts = r.text.split('\n').filter((l) => l.startsWith('aigate_request_duration_seconds_count{'));
    assert.equal(counts.reduce((s, l) => s + Number(l.split(' ').at(-1)), 0), expected);
    assert.equal(byName.aigate_upstream_retries_total.metrics.find((m) => m.labels.reason === 'ok').value, '1');
    assert.ok(Number(byName.aigate_upstream_attempts_total.metrics.reduce((s, m) => s + Number(m.value), 0)) >= expected);
    for (const n of ['aigate_tokens_total', 'aigate_active_requests', 'aigate_writer_queue_depth',
      'aigate_writer_dropped_total', 'aigate_accounts', 'aigate_account_cooldowns', 'aigate_time_to_first_byte_seconds']) {
      assert.ok(byName[n], `${n} present`);
    }
    assert.equal(byName.aigate_accounts.metrics.reduce((s, m) => s + Number(m.value), 0), 2);
    const pub = await call(env, 'PUT', '/api/config', { body: { 'metrics.public': true } });
    assert.equal(pub.status, 200);
    assert.equal((await call(env, 'GET', '/metrics', { key: null })).status, 200);
  });

  test('after a restart the log and the statistics are still there and ids go on', async () => {
    const before = (await call(env, 'GET', '/api/logs?limit=1000')).json;
    const sumBefore = (await call(env, 'GET', '/api/stats/summary')).json;
    assert.equal(await stopGw(env), 0);
    await restartGw(env);
    const afterLogs = (await call(env, 'GET', '/api/logs?limit=1000')).json;
    assert.deepEqual(afterLogs.items.map((x) => x.id), before.items.map((x) => x.id));
    const sumAfter = (await call(env, 'GET', '/api/stats/summary')).json;
    assert.deepEqual(sumAfter, sumBefore);
    assert.equal((await chat(env, 'after restart')).status, 200);
    await settled(env);
    const top = (await call(env, 'GET', '/api/logs?limit=1')).json.items[0];
    assert.ok(top.id > before.items[0].id);
    assert.equal((await call(env, 'GET', '/api/stats/summary')).json.requests, sumBefore.requests + 1);
  });

  test('POST /api/logs/clear and /api/stats/clear empty them', async () => {
    assert.ok((await call(env, 'POST', '/api/logs/clear')).json.deleted > 0);
    assert.equal((await call(env, 'GET', '/api/logs')).json.total, 0);
    assert.equal((await call(env, 'POST', '/api/stats/clear')).status, 200);
    assert.equal((await call(env, 'GET', '/api/stats/summary')).json.requests, 0);
  });
});

describe('retention and crashes', () => {
  const env = new Env();
  before(async () => { await env.start({ env: { AIGATE_API_KEY: KEY } }); });
  after(async () => { await env.stop(); });

  test('retention deletes: a row limit keeps only the newest rows', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await chat(env, `r${i}`)).status, 200);
    await settled(env);
    const all = (await call(env, 'GET', '/api/logs')).json.items;
    assert.equal(all.length, 6);
    assert.equal(await stopGw(env), 0);
    await restartGw(env, ['--set', 'monitor.retention_rows=3']);
    await waitUntil('retention', async () => (await call(env, 'GET', '/api/logs')).json.total === 3);
    const kept = (await call(env, 'GET', '/api/logs')).json.items.map((x) => x.id);
    assert.deepEqual(kept, all.slice(0, 3).map((x) => x.id));
    assert.ok((await call(env, 'GET', '/api/monitor')).json.writer.retention_deleted >= 3);
  });

  test('kill -9 during heavy logging leaves a readable log that lost at most the queued rows', async () => {
    assert.equal(await stopGw(env), 0);
    await restartGw(env);
    const base = (await call(env, 'GET', '/api/logs')).json.total;
    const statsBase = (await call(env, 'GET', '/api/stats/summary')).json.requests;
    let stop = false, answered = 0;
    const workers = Array.from({ length: 16 }, async () => {
      while (!stop) {
        try { if ((await chat(env, 'load')).status === 200) answered++; } catch { return; }
      }
    });
    await waitUntil('load', async () => (await call(env, 'GET', '/api/monitor')).json.recorded >= 200, 30000);
    const committed = (await call(env, 'GET', '/api/logs')).json.total - base;
    const qcap = (await call(env, 'GET', '/api/config')).json.config.monitor.queue_capacity;
    stop = true;
    assert.equal(await stopGw(env, 'SIGKILL'), 'SIGKILL');
    await Promise.all(workers);
    await restartGw(env);
    const total = (await call(env, 'GET', '/api/logs?limit=1000')).json.total - base;
    // Rows committed before the kill survived; what was lost fits in the writer's queue (plus the
    // requests in flight); nothing appeared that no client got an answer for.
    assert.ok(committed > 0);
    assert.ok(total >= committed, `${total} rows >= ${committed} committed before the kill`);
    assert.ok(answered - total <= qcap + 16, `lost ${answered - total} > queue capacity`);
    assert.ok(total <= answered + 16, `${total} rows <= ${answered} answered + in flight`);
    const sum = (await call(env, 'GET', '/api/stats/summary')).json;
    assert.equal(sum.requests - statsBase, total, 'the statistics lost exactly what the log lost');
    assert.equal((await chat(env, 'alive')).status, 200);
  });
});
