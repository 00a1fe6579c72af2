// tests/e2e/cli.mjs: runs a real CLI from node_modules/.bin headless against aigate, isolated:
// a temporary HOME (nothing of the user's own configuration is read or written), stdin closed,
// every proxy variable pointing at a closed loopback port (so a request the CLI makes to anywhere
// but aigate fails on this machine instead of leaving it) with loopback exempt, and a hard timeout
// after which the process group is killed by its own PID.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Path of an installed CLI, or null when npm did not install it. */
export function cliBin(name) {
  const p = path.join(here, 'node_modules', '.bin', name);
  return existsSync(p) ? p : null;
}

/** A minimal environment for a CLI: only what it needs, nothing inherited but PATH. */
export async function isolatedEnv(dir, extra = {}) {
  const home = path.join(dir, 'home');
  const work = path.join(dir, 'work');
  mkdirSync(home, { recursive: true });
  mkdirSync(work, { recursive: true });
  const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  const loop = '127.0.0.1,localhost,::1';
  return {
    home,
    work,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      USERPROFILE: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      TMPDIR: path.join(dir, 'tmp'),
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      NO_COLOR: '1',
      CI: '1',
      HTTP_PROXY: dead, HTTPS_PROXY: dead, ALL_PROXY: dead,
      http_proxy: dead, https_proxy: dead, all_proxy: dead,
      NO_PROXY: loop, no_proxy: loop,
      ...extra,
    },
  };
}

/** Runs bin with args; resolves {code, signal, stdout, stderr, timedOut}. */
export function runCli(bin, args, { env, cwd, timeoutMs = 45000 }) {
  mkdirSync(env.TMPDIR, { recursive: true });
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d.toString(); });
    child.stderr.on('data', (d) => { stderr += d.toString(); });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The Cloud Code requests the mock saw, parsed, in order. */
export async function upstreamBodies(env) {
  const reqs = await env.requests(':streamGenerateContent');
  return reqs.map((r) => JSON.parse(r.body));
}

/** True when some content of the upstream request has a part with key (functionCall, ...). */
export function hasPart(body, key) {
  return (body.request.contents || []).some((c) => (c.parts || []).some((p) => p[key]));
}

// Codex CLI: docs/clients.md's set-up (a custom model provider on aigate's /v1 with
// wire_api = "responses"), plus what keeps a test run on loopback: no update check, analytics,
// feedback uploads, plugin / app catalogues or remote model lists. providerExtra is appended to
// the provider's table (e.g. the WebSocket transport).
function codexConfig(url, providerExtra) {
  return `model = "gemini-2.5-flash"
model_provider = "aigate"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[features]
plugins = false
apps = false
remote_models = false

[analytics]
enabled = false

[feedback]
enabled = false

[model_providers.aigate]
name = "aigate"
base_url = "${url}/v1"
env_key = "AIGATE_API_KEY"
wire_api = "responses"
${providerExtra}`;
}

/**
 * An isolated environment for Codex CLI under dir, configured for the gateway at url with key;
 * returns isolatedEnv's object with CODEX_HOME and AIGATE_API_KEY set.
 */
export async function codexEnv(dir, url, key, providerExtra = '') {
  const cli = await isolatedEnv(dir);
  const codexHome = path.join(cli.home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  writeFileSync(path.join(codexHome, 'config.toml'), codexConfig(url, providerExtra));
  Object.assign(cli.env, { CODEX_HOME: codexHome, AIGATE_API_KEY: key });
  return cli;
}

/**
 * `codex exec --json prompt` in cli's environment: asserts it ended in time with 0 (showing
 * stderr, stdout and context() when not) and returns its JSON events.
 */
export async function codexExec(bin, cli, prompt, context = () => '') {
  const r = await runCli(bin, ['exec', '--skip-git-repo-check', '--json', prompt],
    { env: cli.env, cwd: cli.work, timeoutMs: 45000 });
  if (r.timedOut) throw new Error(`codex timed out; stderr:\n${r.stderr}`);
  if (r.code !== 0) {
    throw new Error(`codex exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}\n${context()}`);
  }
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}
