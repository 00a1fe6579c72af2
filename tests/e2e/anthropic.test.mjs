// The official `@anthropic-ai/sdk` against aigate's /v1/messages (→ Cloud Code mock), unmodified
// but for its base URL and key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Env } from './lib.mjs';

const MODEL = 'claude-sonnet-4-5';

describe('@anthropic-ai/sdk through aigate', () => {
  const env = new Env();
  let client;

  before(async () => {
    await env.start();
    client = new Anthropic({ baseURL: env.url, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('message, non-stream', async () => {
    const r = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hello anthropic' }],
    });
    assert.equal(r.type, 'message');
    assert.equal(r.role, 'assistant');
    assert.match(r.content[0].text, /hello anthropic/);
    assert.equal(r.stop_reason, 'end_turn');
    assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
  });

  test('message stream with the SDK helper: events and final message', async () => {
    const types = [];
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'stream this anthropic reply' }],
    });
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    assert.match(final.content[0].text, /stream this anthropic reply/);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('content_block_delta'));
    assert.ok(types.includes('message_delta'));
  });

  test('tool use loop with thinking signatures kept across turns', async () => {
    const tools = [{
      name: 'get_time',
      description: 'current time in a zone',
      input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
    }];
    const messages = [{ role: 'user', content: 'please call get_time for UTC' }];
    const first = await client.messages.create({
      model: MODEL, max_tokens: 4096, tools, messages,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    assert.equal(first.stop_reason, 'tool_use');
    const thinking = first.content.find((b) => b.type === 'thinking');
    assert.ok(thinking && thinking.thinking.length > 0, JSON.stringify(first.content));
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.equal(use.name, 'get_time');
    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12:00' }] });
    const second = await client.messages.create({
      model: MODEL, max_tokens: 4096, tools, messages,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    assert.equal(second.stop_reason, 'end_turn');
    // The mock signs the thinking (as Claude does); the thinking block went back upstream
    // byte-exact on the second turn, as the first part of the model turn before its call.
    const reqs = await env.requests(':streamGenerateContent');
    const firstSse = reqs.at(-2);
    const body = JSON.parse(reqs.at(-1).body);
    const model = body.request.contents.filter((c) => c.role === 'model').at(-1);
    assert.equal(model.parts[0].thought, true, JSON.stringify(model.parts));
    assert.equal(model.parts[0].text, thinking.thinking);
    assert.match(model.parts[0].thoughtSignature ?? '', /^mocksig_[0-9a-f]{40,}$/);
    assert.ok(model.parts.some((p) => p.functionCall && p.functionCall.name === 'get_time'));
    assert.ok(firstSse, 'first turn recorded');
  });

  test('count_tokens is a real count', async () => {
    const r = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'count me please, these are words' }] });
    assert.ok(r.input_tokens > 0);
  });

  test('errors surface as the SDK error classes', async () => {
    await assert.rejects(
      client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message),
    );
    await env.fault({ status: 529, count: 1 });
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status >= 500,
    );
    await env.clearFaults();
  });
});
