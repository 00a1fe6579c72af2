// tests/e2e/lib.mjs: starts the mock upstream and a real aigate on loopback ports chosen at run
// time, with a temporary data dir and one account, for the SDK tests. Every process is stopped by
// its own PID; every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const AIGATE = process.env.AIGATE_BIN;
const MOCK = process.env.AIGATE_MOCK_BIN;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waitFor(child, text, ms, stream = 'stderr') {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}"; output:\n${out}`)), ms);
    const on = (d) => {
      out += d.toString();
      const m = out.match(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${text}"; output:\n${out}`));
    });
  });
}

function stop(child, ms = 10000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

export class Env {
  async start({ mockArgs = [], mockAccounts = null, accounts = ['rt-mock'], aigateArgs = [], env = {} } = {}) {
    if (!AIGATE || !MOCK) throw new Error('AIGATE_BIN and AIGATE_MOCK_BIN must be set (run through ctest)');
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-e2e-'));
    this.mock = spawn(MOCK, ['--port', '0', '--accept-any-token', ...mockArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const m = await waitFor(this.mock, /listening on 127\.0\.0\.1:(\d+)/, 10000);
    this.mockPort = Number(m[1]);
    this.mockUrl = `http://127.0.0.1:${this.mockPort}`;
    if (mockAccounts) await this.mockCall('PUT', '/__mock/accounts', mockAccounts);
    this.env = {
      ...process.env,
      AIGATE_DATA_DIR: path.join(this.dir, 'data'),
      AIGATE_CLOUDCODE_ENDPOINTS: `${this.mockUrl}/v1internal`,
      AIGATE_OAUTH_TOKEN_URL: `${this.mockUrl}/token`,
      AIGATE_USERINFO_URL: `${this.mockUrl}/userinfo`,
      AIGATE_OAUTH_CLIENT_ID: 'e2e-client',
      AIGATE_OAUTH_CLIENT_SECRET: 'e2e-secret',
      AIGATE_LOG_LEVEL: 'warn',
      ...env,
    };
    for (const rt of accounts) {
      const r = spawnSync(AIGATE, ['accounts', 'add', '--refresh-token', rt], { env: this.env, timeout: 30000 });
      if (r.status !== 0) throw new Error(`accounts add failed: ${r.stderr}`);
    }
    // The port is free when chosen, but anything may bind it before aigate does (another
    // test's port 0 included): then another one, at most twice.
    for (let attempt = 0; ; attempt++) {
      this.port = await freePort();
      this.gw = spawn(AIGATE, ['--port', String(this.port), ...aigateArgs], {
        env: { ...this.env, AIGATE_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.gwLog = '';
      this.gw.stderr.on('data', (d) => { this.gwLog += d.toString(); });
      try {
        await waitFor(this.gw, /listening on/, 10000);
        break;
      } catch (e) {
        if (attempt >= 2 || !/address already in use/.test(e.message)) throw e;
      }
    }
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async mockCall(method, p, body) {
    const r = await fetch(`${this.mockUrl}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await r.text();
    return text ? JSON.parse(text) : null;
  }

  fault(f) { return this.mockCall('POST', '/__mock/faults', f); }
  clearFaults() { return this.mockCall('DELETE', '/__mock/faults'); }
  requests(filter = "") { return this.mockCall("GET", `/__mock/requests${filter ? `?path=${filter}` : ""}`); }
  clearRequests() { return this.mockCall('DELETE', '/__mock/requests'); }

  // Stops aigate (SIGTERM, by its PID) and starts it again on the same port and data dir;
  // returns the exit code of the stopped one.
  async restartGateway() {
    const code = await stop(this.gw);
    this.gw = spawn(AIGATE, ['--port', String(this.port)], {
      env: { ...this.env, AIGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.gw.stderr.on('data', (d) => { this.gwLog += d.toString(); });
    await waitFor(this.gw, /listening on/, 10000);
    return code;
  }

  // True once the gateway's log holds what (a string or a RegExp), waiting at most ms: a request's
  // log line is written just after its answer, so a client can be done before the line arrives.
  async logHas(what, ms = 5000) {
    const has = () => (typeof what === 'string' ? this.gwLog.includes(what) : what.test(this.gwLog));
    const end = Date.now() + ms;
    while (!has() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return has();
  }

  async stop() {
    const codes = [];
    if (this.gw) codes.push(await stop(this.gw));
    if (this.mock) codes.push(await stop(this.mock));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    return codes;
  }
}
