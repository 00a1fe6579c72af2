// `aigate clients setup` end to end: for Claude Code, Codex CLI and Gemini CLI (the real CLIs from
// npm), aigate writes the client's own config files in a temporary HOME that already holds other
// settings; the CLI then completes a prompt through the gateway (auth.mode strict, so the key
// written must be the gateway's) and the mock upstream with nothing but those files: no base URL
// or key in its environment. `clients status` then shows all three pointing here, and a second
// set-up changes nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliBin, isolatedEnv, runCli, upstreamBodies } from './cli.mjs';
import { Env } from './lib.mjs';

const CLAUDE = cliBin('claude');
const CODEX = cliBin('codex');
const GEMINI = cliBin('gemini');

describe('aigate clients setup, then the real CLIs', () => {
  const env = new Env();
  let dir;
  let cli;

  before(async () => {
    await env.start({ aigateArgs: ['--auth-mode', 'strict'] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-clients-'));
    cli = await isolatedEnv(dir);
    for (const k of Object.keys(cli.env)) {
      assert.ok(!/^(ANTHROPIC_|OPENAI_|GEMINI_API|GOOGLE_GEMINI|AIGATE_API)/.test(k), `${k} set`);
    }
  });
  after(async () => {
    const codes = await env.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  // `aigate --port P clients ARGS` on the gateway's data dir, with the CLI's HOME.
  function aigate(...args) {
    const r = spawnSync(process.env.AIGATE_BIN, ['--port', String(env.port), 'clients', ...args], {
      env: { ...env.env, HOME: cli.home, XDG_CONFIG_HOME: cli.env.XDG_CONFIG_HOME },
      timeout: 30000,
      encoding: 'utf8',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  function setup(name) {
    const r = aigate('setup', name);
    assert.equal(r.code, 0, `setup ${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`now uses ${env.url.replace(/\./g, '\\.')}`));
    const again = aigate('setup', name);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing changed/);
  }

  const home = (...p) => path.join(cli.home, ...p);
  const backups = (d) => readdirSync(home(d)).filter((f) => f.includes('.aigate-'));

  test('Claude Code: settings.json env block written, a prompt goes through', { skip: !CLAUDE && 'Claude Code is not installed' }, async () => {
    mkdirSync(home('.claude'), { recursive: true });
    // the user's own settings: kept as they are
    writeFileSync(home('.claude', 'settings.json'), JSON.stringify({
      permissions: { allow: ['Bash(ls:*)'] },
      env: { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' },
    }, null, 2));
    setup('claude-code');
    const s = JSON.parse(readFileSync(home('.claude', 'settings.json'), 'utf8'));
    assert.deepEqual(s.permissions, { allow: ['Bash(ls:*)'] });
    assert.equal(s.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, '1');
    assert.equal(s.env.ANTHROPIC_BASE_URL, env.url);
    assert.equal(statSync(home('.claude', 'settings.json')).mode & 0o777, 0o600);
    assert.equal(backups('.claude').length, 1);

    await env.clearRequests();
    const r = await runCli(CLAUDE, ['-p', 'hello via clients setup', '--model', 'claude-sonnet-4-5', '--output-format', 'json'],
      { env: cli.env, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.timedOut, false, `claude timed out; stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `claude exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    const out = JSON.parse(r.stdout);
    assert.equal(out.is_error, false);
    assert.match(out.result, /hello via clients setup\s*$/);
    assert.ok((await upstreamBodies(env)).length >= 1, 'the prompt reached the mock through aigate');
  });

  test('Codex CLI: config.toml provider written, comments kept, a prompt goes through', { skip: !CODEX && 'Codex CLI is not installed' }, async () => {
    mkdirSync(home('.codex'), { recursive: true });
    const before = `# my Codex settings
model = "gemini-2.5-flash" # the model I use
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
`;
    writeFileSync(home('.codex', 'config.toml'), before);
    setup('codex');
    const text = readFileSync(home('.codex', 'config.toml'), 'utf8');
    assert.ok(text.startsWith('# my Codex settings\nmodel = "gemini-2.5-flash" # the model I use\n'), text);
    assert.ok(text.includes('[feedback]\nenabled = false\n'), text);
    assert.match(text, /^model_provider = "aigate"$/m);
    assert.ok(text.includes(`base_url = "${env.url}/v1"`), text);
    assert.equal(statSync(home('.codex', 'config.toml')).mode & 0o777, 0o600);

    await env.clearRequests();
    const r = await runCli(CODEX, ['exec', '--skip-git-repo-check', '--json', 'hello codex via clients setup'],
      { env: cli.env, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.timedOut, false, `codex timed out; stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `codex exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const text2 = events.filter((e) => e.type === 'item.completed' && e.item.type === 'agent_message')
      .map((e) => e.item.text).join('\n');
    assert.match(text2, /hello codex via clients setup/);
    assert.ok(await env.logHas('POST /v1/responses'));
  });

  test('Gemini CLI: settings.json and .env written, a prompt goes through', { skip: !GEMINI && 'Gemini CLI is not installed' }, async () => {
    mkdirSync(home('.gemini'), { recursive: true });
    writeFileSync(home('.gemini', 'settings.json'), JSON.stringify({
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { disableAutoUpdate: true, disableUpdateNag: true },
    }, null, 2));
    setup('gemini-cli');
    const s = JSON.parse(readFileSync(home('.gemini', 'settings.json'), 'utf8'));
    assert.equal(s.security.auth.selectedType, 'gemini-api-key');
    assert.equal(s.telemetry.enabled, false);
    assert.match(readFileSync(home('.gemini', '.env'), 'utf8'), new RegExp(`^GOOGLE_GEMINI_BASE_URL=${env.url.replace(/\./g, '\\.')}$`, 'm'));
    assert.equal(statSync(home('.gemini', '.env')).mode & 0o777, 0o600);

    await env.clearRequests();
    // trusting the folder is what makes Gemini CLI read ~/.gemini/.env (not a base URL or key)
    const r = await runCli(GEMINI, ['-p', 'hello gemini via clients setup', '-m', 'gemini-2.5-flash', '-o', 'json'],
      { env: { ...cli.env, GEMINI_CLI_TRUST_WORKSPACE: 'true' }, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.timedOut, false, `gemini timed out; stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `gemini exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    assert.match(out.response, /hello gemini via clients setup\s*$/);
    assert.ok(await env.logHas(/POST \/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent/));
  });

  test('status shows the set-up clients pointing here with the gateway key', () => {
    const r = aigate('status', '--json');
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assert.equal(st.base_url, env.url);
    const by = Object.fromEntries(st.clients.map((c) => [c.name, c]));
    for (const [name, bin] of [['claude-code', CLAUDE], ['codex', CODEX], ['gemini-cli', GEMINI]]) {
      if (!bin) continue;
      assert.equal(by[name].points_here, true, `${name}: ${JSON.stringify(by[name])}`);
      assert.equal(by[name].key_matches, true, name);
    }
    assert.equal(by.opencode.configured, false);
  });
});
