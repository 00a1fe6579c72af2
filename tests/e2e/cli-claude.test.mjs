// Claude Code (the real CLI from npm) in print mode against aigate's /v1/messages (→ Cloud Code
// mock): an answer comes through, a tool loop (the mock calls Bash) runs to its end, and two
// sub-agents started in one turn each get an upstream session of their own.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliBin, hasPart, isolatedEnv, runCli, upstreamBodies } from './cli.mjs';
import { Env } from './lib.mjs';

const BIN = cliBin('claude');
const skip = BIN ? false : 'Claude Code is not installed (npm install in tests/e2e)';

describe('Claude Code through aigate', { skip }, () => {
  const env = new Env();
  let dir;
  let cli;

  before(async () => {
    await env.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-claude-'));
    cli = await isolatedEnv(dir);
    Object.assign(cli.env, {
      CLAUDE_CONFIG_DIR: path.join(cli.home, '.claude'),
      ANTHROPIC_BASE_URL: env.url,
      ANTHROPIC_API_KEY: 'sk-aigate-test',
      // nothing but the model calls: no telemetry, error reports, update checks or other traffic
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_BUG_COMMAND: '1',
      CLAUDE_CODE_ENABLE_TELEMETRY: '0',
    });
  });
  after(async () => {
    const codes = await env.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  async function claude(prompt, extra = []) {
    const r = await runCli(BIN, ['-p', prompt, '--model', 'claude-sonnet-4-5', '--output-format', 'json', ...extra],
      { env: cli.env, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.timedOut, false, `claude timed out; stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `claude exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    return JSON.parse(r.stdout);
  }

  test('print mode: the answer comes back from the mock through /v1/messages', async () => {
    await env.clearRequests();
    const out = await claude('hello from claude code');
    assert.equal(out.is_error, false);
    // the mock echoes the whole last user turn (Claude Code's reminders, then the prompt)
    assert.match(out.result, /hello from claude code\s*$/);
    assert.ok(await env.logHas('POST /v1/messages'), 'Claude Code spoke the Anthropic protocol to aigate');
    const bodies = await upstreamBodies(env);
    assert.ok(bodies.length >= 1);
    assert.ok(bodies.every((b) => b.project), 'every upstream call went through the account pool');
  });

  test('tool loop: the model calls Bash, Claude Code answers with a tool result, the loop ends', async () => {
    await env.clearRequests();
    const out = await claude('please call Bash now', ['--max-turns', '4']);
    assert.equal(out.is_error, false);
    assert.ok(out.num_turns >= 2, `turns: ${out.num_turns}`);
    // the mock's arguments are not valid Bash input: the CLI reports that as the tool result,
    // which the mock then echoes as the final answer
    assert.match(out.result, /^echo: /);
    assert.match(out.result, /command/);
    const bodies = await upstreamBodies(env);
    assert.ok(bodies.length >= 2, `upstream calls: ${bodies.length}`);
    const last = bodies.at(-1);
    assert.ok(hasPart(last, 'functionCall'), 'the history carries the Bash call');
    assert.ok(hasPart(last, 'functionResponse'), 'and its result');
  });

  test('two sub-agents in one turn: each gets an upstream session of its own', async () => {
    await env.clearRequests();
    // the mock answers with both Agent calls in one model turn; each sub-agent's own model call
    // gets the echo of its prompt, which ends that sub-agent
    const call = (word) => `call Agent with ${JSON.stringify({
      description: `helper ${word}`, prompt: `say ${word}`, subagent_type: 'general-purpose' })}`;
    const out = await claude(`${call('alpha')} ${call('beta')}`,
      ['--max-turns', '4', '--allowedTools', 'Agent']);
    assert.equal(out.is_error, false, JSON.stringify(out));
    const bodies = await upstreamBodies(env);
    const text = (b) => JSON.stringify(b.request.contents);
    const main = bodies.filter((b) => text(b).includes('call Agent with'));
    const sub = (word) => bodies.filter((b) => !text(b).includes('call Agent with') && text(b).includes(`say ${word}`));
    const alpha = sub('alpha');
    const beta = sub('beta');
    const ids = (list) => [...new Set(list.map((b) => b.request.sessionId))];
    assert.ok(main.length >= 2, `main conversation calls: ${main.length}`);
    assert.ok(hasPart(main.at(-1), 'functionResponse'), 'the sub-agents answered the main conversation');
    assert.ok(alpha.length >= 1 && beta.length >= 1, `sub-agent calls: ${alpha.length}, ${beta.length}`);
    assert.deepEqual(ids(main).length, 1, `main sessionIds: ${ids(main)}`);
    assert.deepEqual(ids(alpha).length, 1, `first sub-agent sessionIds: ${ids(alpha)}`);
    assert.deepEqual(ids(beta).length, 1, `second sub-agent sessionIds: ${ids(beta)}`);
    const all = [ids(main)[0], ids(alpha)[0], ids(beta)[0]];
    assert.ok(all.every((id) => typeof id === 'string' && id.length > 0), `sessionIds: ${all}`);
    assert.equal(new Set(all).size, 3, `main, first and second sub-agent sessionIds: ${all}`);
  });

  test('settings.json env block: the documented set-up without environment variables', async () => {
    // docs/clients.md: ~/.claude/settings.json carries ANTHROPIC_BASE_URL and the key
    const cfg = path.join(cli.home, 'settings-only');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(path.join(cfg, 'settings.json'), JSON.stringify({
      env: { ANTHROPIC_BASE_URL: env.url, ANTHROPIC_AUTH_TOKEN: 'sk-aigate-test' },
    }));
    const e = { ...cli.env, CLAUDE_CONFIG_DIR: cfg };
    delete e.ANTHROPIC_BASE_URL;
    delete e.ANTHROPIC_API_KEY;
    const r = await runCli(BIN, ['-p', 'configured by settings', '--model', 'claude-sonnet-4-5'],
      { env: e, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.code, 0, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    assert.match(r.stdout, /configured by settings/);
  });
});
