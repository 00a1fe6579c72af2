// The official `openai` SDK against aigate (OpenAI chat completions → Cloud Code mock), unmodified
// but for its base URL and key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Env } from './lib.mjs';

const MODEL = 'gemini-2.5-flash';
// A 1x1 transparent PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('openai SDK through aigate', () => {
  const env = new Env();
  let client;

  before(async () => {
    await env.start({
      mockAccounts: [{
        email: 'mock@example.com', refresh_token: 'rt-mock', access_token: 'at-mock', project: 'mock-project-123', tier: 'PRO',
        quotas: { 'gemini-2.5-flash': { remainingFraction: 0.9, resetTime: '2030-01-01T00:00:00Z' }, 'gemini-9-ultra-preview': { remainingFraction: 0.5, resetTime: '2030-01-01T00:00:00Z' } },
      }],
    });
    client = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('chat completion, non-stream', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.choices[0].message.content, /hello there/);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.prompt_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const reqs = await env.requests(':streamGenerateContent');
    const last = JSON.parse(reqs.at(-1).body);
    assert.equal(last.model, MODEL);
    assert.equal(last.request.systemInstruction.parts[0].text, 'Be brief.');
  });

  test('chat completion, stream with the SDK helpers', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me a reply please' }],
    });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        text += ch.delta?.content ?? '';
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    assert.ok(chunks >= 3, `chunks: ${chunks}`);
    assert.match(text, /stream me a reply please/);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0);

    const runner = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'helper run' }] });
    const final = await runner.finalChatCompletion();
    assert.match(final.choices[0].message.content, /helper run/);
  });

  test('tool-call loop', async () => {
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const messages = [{ role: 'user', content: 'Please call get_weather for Paris' }];
    const first = await client.chat.completions.create({ model: MODEL, messages, tools, reasoning_effort: 'low' });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const call = first.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.doesNotThrow(() => JSON.parse(call.function.arguments));
    messages.push(first.choices[0].message);
    messages.push({ role: 'tool', tool_call_id: call.id, content: '{"temp":21}' });
    const second = await client.chat.completions.create({ model: MODEL, messages, tools, reasoning_effort: 'low' });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.ok(second.choices[0].message.content.length > 0);
    // The tool result reached the upstream as a functionResponse for the same function.
    const reqs = await env.requests(':streamGenerateContent');
    const body = JSON.parse(reqs.at(-1).body);
    const parts = body.request.contents.flatMap((c) => c.parts);
    const fr = parts.find((p) => p.functionResponse);
    assert.equal(fr.functionResponse.name, 'get_weather');
    // The upstream's thought signature rode in the tool call id and came back on the same call.
    const fc = parts.find((p) => p.functionCall);
    assert.match(fc.thoughtSignature ?? '', /^mocksig_[0-9a-f]{40,}$/, JSON.stringify(fc));
  });

  test('image input', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'what is in this image' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      ] }],
    });
    assert.match(r.choices[0].message.content, /what is in this image/);
    const reqs = await env.requests(':streamGenerateContent');
    const parts = JSON.parse(reqs.at(-1).body).request.contents.at(-1).parts;
    const img = parts.find((p) => p.inlineData);
    assert.equal(img.inlineData.mimeType, 'image/png');
    assert.equal(img.inlineData.data, PNG);
  });

  test('structured output', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'give me a person' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          strict: true,
          schema: {
            type: 'object',
            additionalProperties: false,
            properties: { name: { type: 'string' }, age: { type: 'integer' } },
            required: ['name', 'age'],
          },
        },
      },
    });
    assert.ok(r.choices[0].message.content !== undefined);
    const reqs = await env.requests(':streamGenerateContent');
    const gc = JSON.parse(reqs.at(-1).body).request.generationConfig;
    assert.equal(gc.responseMimeType, 'application/json');
    assert.ok(gc.responseSchema || gc.responseJsonSchema, 'a schema reached the upstream');
    const schema = gc.responseSchema || gc.responseJsonSchema;
    assert.equal(JSON.stringify(schema).includes('additionalProperties'), false, 'cleaned for Gemini');
  });

  test('models list', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes(MODEL), `ids: ${ids.slice(0, 10)}`);
    // A model only the account's quota list knows is served too.
    assert.ok(ids.includes('gemini-9-ultra-preview'), 'models from the accounts\' quota lists are listed');
    const one = await client.models.retrieve(MODEL);
    assert.equal(one.id, MODEL);
  });

  test('errors surface as the SDK error classes with the message', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model-xyz', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.NotFoundError && /no-such-model-xyz/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: 'not a list' }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400,
    );
    await env.fault({ status: 400, count: 1, body: '{"error":{"code":400,"message":"Request contains an invalid argument: special upstream words","status":"INVALID_ARGUMENT"}}' });
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.BadRequestError && /special upstream words/.test(e.message),
    );
    await env.fault({ status: 429, permanent: true, retry_delay: '30s', reason: 'RATE_LIMIT_EXCEEDED' });
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.RateLimitError,
    );
    await env.clearFaults();
  });
});
