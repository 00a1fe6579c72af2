// Codex CLI (the real CLI from npm; a Rust binary inside the package) in `codex exec` against
// aigate's /v1/responses (→ Cloud Code mock) through a custom model provider with
// wire_api = "responses": an answer comes through, and a tool loop (the mock calls
// exec_command) runs to its end.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliBin, codexEnv, codexExec, hasPart, upstreamBodies } from './cli.mjs';
import { Env } from './lib.mjs';

const BIN = cliBin('codex');
const skip = BIN ? false : 'Codex CLI is not installed (npm install in tests/e2e)';

describe('Codex CLI through aigate', { skip }, () => {
  const env = new Env();
  let dir;
  let cli;

  before(async () => {
    await env.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-codex-'));
    cli = await codexEnv(dir, env.url, 'sk-aigate-test');
  });
  after(async () => {
    const codes = await env.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  const codex = (prompt) => codexExec(BIN, cli, prompt);

  const messages = (events) => events
    .filter((e) => e.type === 'item.completed' && e.item.type === 'agent_message')
    .map((e) => e.item.text);

  test('exec: the answer comes back from the mock through /v1/responses', async () => {
    await env.clearRequests();
    const events = await codex('hello from codex');
    const text = messages(events).join('\n');
    assert.match(text, /^echo: /);
    assert.match(text, /hello from codex/);
    assert.ok(events.some((e) => e.type === 'turn.completed' && e.usage.input_tokens > 0), 'usage reported');
    assert.ok(await env.logHas('POST /v1/responses'), 'Codex spoke the Responses API to aigate');
    assert.ok((await upstreamBodies(env)).length >= 1);
  });

  test('tool loop: the model calls exec_command, Codex returns the result, the turn ends', async () => {
    await env.clearRequests();
    const events = await codex('please call exec_command now');
    // the mock's arguments are not what exec_command takes: Codex reports that as the call's
    // output, which the mock echoes as the final message
    const text = messages(events).join('\n');
    assert.match(text, /^echo: /);
    assert.ok(events.some((e) => e.type === 'turn.completed'));
    const bodies = await upstreamBodies(env);
    assert.ok(bodies.length >= 2, `upstream calls: ${bodies.length}`);
    assert.ok(hasPart(bodies.at(-1), 'functionCall'), 'the history carries the call');
    assert.ok(hasPart(bodies.at(-1), 'functionResponse'), 'and its output');
  });
});
