// Codex CLI (the real CLI from npm) over the Responses API's WebSocket transport: a custom model
// provider with supports_websockets = true makes Codex open GET /v1/responses with
// Upgrade: websocket and send its turns as response.create messages (a generate: false warm-up
// first, then turns continued by previous_response_id on the same socket). The gateway's request
// log shows the socket (101) and its turns (GET /v1/responses 200), and no POST.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliBin, codexEnv, codexExec, hasPart, upstreamBodies } from './cli.mjs';
import { Env } from './lib.mjs';

const BIN = cliBin('codex');
const skip = BIN ? false : 'Codex CLI is not installed (npm install in tests/e2e)';

describe('Codex CLI through aigate over a WebSocket', { skip }, () => {
  const env = new Env();
  let dir;
  let cli;

  before(async () => {
    await env.start({ env: { AIGATE_AUTH_MODE: 'strict', AIGATE_API_KEY: 'sk-aigate-ws' } });
    dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-codex-ws-'));
    // The WebSocket transport; no retries, so a turn that fails over the socket fails the test.
    cli = await codexEnv(dir, env.url, 'sk-aigate-ws',
      'supports_websockets = true\nrequest_max_retries = 0\nstream_max_retries = 0\n');
  });
  after(async () => {
    const codes = await env.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  const codex = (prompt) => codexExec(BIN, cli, prompt, () => `gateway:\n${env.gwLog}`);

  const messages = (events) => events
    .filter((e) => e.type === 'item.completed' && e.item.type === 'agent_message')
    .map((e) => e.item.text);
  const logLines = (re) => env.gwLog.split('\n').filter((l) => re.test(l));
  // a line is logged just after its answer (a socket's, after it closes): wait for n of them (5 s)
  const awaitLines = async (re, n) => {
    const end = Date.now() + 5000;
    while (logLines(re).length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };

  test('exec: the answer comes back over the socket', async () => {
    await env.clearRequests();
    const events = await codex('hello over a websocket');
    const text = messages(events).join('\n');
    assert.match(text, /^echo: /);
    assert.match(text, /hello over a websocket/);
    assert.ok(events.some((e) => e.type === 'turn.completed' && e.usage.input_tokens > 0), 'usage reported');
    await awaitLines(/GET \/v1\/responses 101 /, 1);
    await awaitLines(/GET \/v1\/responses 200 /, 1);
    assert.ok(logLines(/GET \/v1\/responses 101 /).length >= 1, `no WebSocket opened:\n${env.gwLog}`);
    assert.ok(logLines(/GET \/v1\/responses 200 /).length >= 1, `no turn on the socket:\n${env.gwLog}`);
    assert.equal(logLines(/POST \/v1\/responses /).length, 0, 'Codex fell back to HTTP');
    assert.ok((await upstreamBodies(env)).length >= 1);
  });

  test('tool loop: the turns after the call continue on the socket by previous_response_id', async () => {
    await env.clearRequests();
    const before = logLines(/GET \/v1\/responses 101 /).length;
    const events = await codex('please call exec_command now');
    assert.match(messages(events).join('\n'), /^echo: /);
    assert.ok(events.some((e) => e.type === 'turn.completed'));
    const bodies = await upstreamBodies(env);
    assert.ok(bodies.length >= 2, `upstream calls: ${bodies.length}`);
    // the gateway rebuilt the whole history from the socket's memory of the previous response
    assert.ok(hasPart(bodies.at(-1), 'functionCall'), 'the history carries the call');
    assert.ok(hasPart(bodies.at(-1), 'functionResponse'), 'and its output');
    await awaitLines(/GET \/v1\/responses 101 /, before + 1);
    assert.equal(logLines(/GET \/v1\/responses 101 /).length - before, 1, `one socket for the whole exec:\n${env.gwLog}`);
    // no turn was refused (a continuation the gateway could not resolve answers 400 and makes
    // Codex resend everything)
    assert.equal(logLines(/GET \/v1\/responses 4\d\d /).length, 0, `a refused turn:\n${env.gwLog}`);
    assert.equal(logLines(/POST \/v1\/responses /).length, 0, 'Codex fell back to HTTP');
  });
});
