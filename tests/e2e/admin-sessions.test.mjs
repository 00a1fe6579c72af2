// tests/e2e/admin-sessions.test.mjs: admin login sessions across gateway restarts (real aigate and
// mock upstream): a session stays valid after a restart, a logged-out one does not come back, a
// changed admin secret ends the stored sessions, and the database holds no token.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Env } from './lib.mjs';

const KEY = 'sk-sessions-0123456789';

describe('admin sessions survive a restart', () => {
  const env = new Env();
  const status = async (tok) => (await fetch(`${env.url}/api/proxy/status`, { headers: { authorization: `Bearer ${tok}` }, signal: AbortSignal.timeout(10000) })).status;
  const login = async (pw) => {
    const r = await fetch(`${env.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: pw }), signal: AbortSignal.timeout(10000) });
    assert.equal(r.status, 200);
    return (await r.json()).token;
  };

  before(async () => {
    await env.start({ accounts: [], env: { AIGATE_API_KEY: KEY } });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, env.gwLog);
  });

  test('kept across a restart; a logout is not undone by one', async () => {
    const kept = await login(KEY);
    const gone = await login(KEY);
    assert.equal(await status(kept), 200);
    const out = await fetch(`${env.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${gone}` } });
    assert.equal(out.status, 200);
    assert.equal(await env.restartGateway(), 0);
    assert.equal(await status(kept), 200, env.gwLog);
    assert.equal(await status(gone), 401);
    // only hashes are stored
    const db = readFileSync(path.join(env.env.AIGATE_DATA_DIR, 'aigate.db'));
    const wal = (() => {
      try {
        return readFileSync(path.join(env.env.AIGATE_DATA_DIR, 'aigate.db-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    for (const t of [kept, gone]) {
      assert.equal(db.includes(t.slice(4)), false, 'token in the database');
      assert.equal(wal.includes(t.slice(4)), false, 'token in the WAL');
    }
  });

  test('a changed admin secret ends the stored sessions', async () => {
    const tok = await login(KEY);
    env.env.AIGATE_API_KEY = `${KEY}-new`;
    assert.equal(await env.restartGateway(), 0);
    assert.equal(await status(tok), 401);
    const fresh = await login(`${KEY}-new`);
    assert.equal(await status(fresh), 200);
  });
});
