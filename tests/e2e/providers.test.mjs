// The official `openai` and `@anthropic-ai/sdk` SDKs and Claude Code (the real CLI from npm),
// unmodified but for base URL and key, pointed at a model that routing.rules sends to an
// OpenAI-compatible account (a local model server; here the mock's /v1/chat/completions): a chat
// and a stream complete through each, the upstream sees the account's key and the rule's model, and
// GET /v1/models names the routed model with its provider. The account is added through the admin
// API, its model list read from the endpoint's own GET /v1/models.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { cliBin, isolatedEnv, runCli } from './cli.mjs';
import { Env } from './lib.mjs';

const KEY = 'sk-providers-e2e-0123456789abcdef0';
const LOCAL_KEY = 'local-model-server-key-0123456789';
const MODEL = 'house-coder'; // routed by routing.rules
const UPSTREAM_MODEL = 'mock-chat-large';

async function admin(env, method, p, body) {
  const r = await fetch(`${env.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20000),
  });
  return { status: r.status, json: await r.json() };
}

/** The OpenAI-compatible requests the mock received since the last clear, parsed. */
async function localCalls(env) {
  const reqs = await env.requests('/v1/chat/completions');
  return reqs.map((r) => ({ auth: r.headers.authorization, body: JSON.parse(r.body) }));
}

describe('a model routed to an OpenAI-compatible account, through the official clients', () => {
  const env = new Env();

  before(async () => {
    await env.start({ env: { AIGATE_API_KEY: KEY } });
    const add = await admin(env, 'POST', '/api/accounts/provider', {
      provider: 'openai-compatible', api_key: LOCAL_KEY, base_url: `${env.mockUrl}/v1`, label: 'local',
    });
    assert.equal(add.status, 200, JSON.stringify(add.json));
    assert.ok(add.json.models.includes(UPSTREAM_MODEL), `listed models: ${add.json.models}`);
    const cfg = await admin(env, 'PUT', '/api/config', {
      'routing.rules': [{ pattern: MODEL, targets: [{ account: 'local', model: UPSTREAM_MODEL }] }],
    });
    assert.equal(cfg.status, 200, JSON.stringify(cfg.json));
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
    assert.ok(!env.gwLog.includes(LOCAL_KEY), 'the account key is in no log line');
  });

  test('GET /v1/models names the routed model and the endpoint\'s own with their provider', async () => {
    const client = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20000 });
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    const byId = Object.fromEntries(models.map((m) => [m.id, m]));
    assert.equal(byId[MODEL]?.provider, 'openai-compatible');
    assert.equal(byId[MODEL]?.owned_by, 'openai-compatible');
    assert.equal(byId[UPSTREAM_MODEL]?.provider, 'openai-compatible');
    assert.equal(byId['gemini-2.5-flash']?.owned_by, 'aigate');
  });

  test('openai SDK: a chat and a stream complete', async () => {
    const client = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20000 });
    await env.clearRequests();
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello local model' }] });
    assert.match(r.choices[0].message.content, /hello local model/);
    assert.equal(r.choices[0].finish_reason, 'stop');
    const stream = await client.chat.completions.create({
      model: MODEL, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream from the local model' }],
    });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        text += ch.delta?.content || '';
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    assert.match(text, /stream from the local model/);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0);
    const calls = await localCalls(env);
    assert.equal(calls.length, 2, 'both went to the OpenAI-compatible account');
    for (const c of calls) {
      assert.equal(c.auth, `Bearer ${LOCAL_KEY}`);
      assert.equal(c.body.model, UPSTREAM_MODEL);
    }
  });

  test('@anthropic-ai/sdk: a message and a stream complete (Anthropic in, OpenAI-compatible out)', async () => {
    const client = new Anthropic({ baseURL: env.url, apiKey: KEY, maxRetries: 0, timeout: 20000 });
    await env.clearRequests();
    const r = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'hello from anthropic' }] });
    assert.equal(r.type, 'message');
    assert.match(r.content[0].text, /hello from anthropic/);
    assert.equal(r.stop_reason, 'end_turn');
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'anthropic stream via local' }] });
    const types = new Set();
    stream.on('streamEvent', (e) => types.add(e.type));
    const final = await stream.finalMessage();
    assert.match(final.content.map((b) => b.text || '').join(''), /anthropic stream via local/);
    assert.equal(final.stop_reason, 'end_turn');
    for (const t of ['message_start', 'content_block_delta', 'message_stop']) assert.ok(types.has(t), `saw ${t}`);
    const calls = await localCalls(env);
    assert.equal(calls.length, 2);
    assert.ok(calls.every((c) => c.auth === `Bearer ${LOCAL_KEY}` && c.body.model === UPSTREAM_MODEL));
    assert.ok(calls.some((c) => c.body.stream === true));
  });

  const BIN = cliBin('claude');
  test('Claude Code: print mode answers through the OpenAI-compatible account', { skip: BIN ? false : 'Claude Code is not installed' }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-claude-prov-'));
    try {
      const cli = await isolatedEnv(dir);
      Object.assign(cli.env, {
        CLAUDE_CONFIG_DIR: path.join(cli.home, '.claude'),
        ANTHROPIC_BASE_URL: env.url,
        ANTHROPIC_API_KEY: KEY,
        ANTHROPIC_SMALL_FAST_MODEL: MODEL,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_BUG_COMMAND: '1',
        CLAUDE_CODE_ENABLE_TELEMETRY: '0',
      });
      await env.clearRequests();
      const r = await runCli(BIN, ['-p', 'hello from claude code via local', '--model', MODEL, '--output-format', 'json'],
        { env: cli.env, cwd: cli.work, timeoutMs: 60000 });
      assert.equal(r.timedOut, false, `claude timed out; stderr:\n${r.stderr}`);
      assert.equal(r.code, 0, `claude exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
      const out = JSON.parse(r.stdout);
      assert.equal(out.is_error, false);
      assert.match(out.result, /hello from claude code via local\s*$/);
      const calls = await localCalls(env);
      assert.ok(calls.length >= 1, 'Claude Code\'s call reached the OpenAI-compatible account');
      assert.ok(calls.every((c) => c.auth === `Bearer ${LOCAL_KEY}` && c.body.model === UPSTREAM_MODEL));
      assert.ok(calls.some((c) => c.body.stream === true), 'Claude Code streams');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
