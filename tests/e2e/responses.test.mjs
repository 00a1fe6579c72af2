// The official `openai` SDK's Responses API against aigate's /v1/responses (→ Cloud Code mock).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Env } from './lib.mjs';

const MODEL = 'gemini-2.5-flash';

describe('openai SDK Responses API through aigate', () => {
  const env = new Env();
  let client;

  before(async () => {
    await env.start();
    client = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('create, continue with previous_response_id, retrieve, delete', async () => {
    const first = await client.responses.create({ model: MODEL, instructions: 'be brief', input: 'remember the word cobalt' });
    assert.equal(first.status, 'completed');
    assert.match(first.output_text, /remember the word cobalt/);
    assert.ok(first.usage.input_tokens > 0);

    const second = await client.responses.create({ model: MODEL, input: 'what was the word?', previous_response_id: first.id });
    assert.equal(second.status, 'completed');
    // The upstream saw the whole conversation: the first turn's question and answer before the new one.
    const reqs = await env.requests(':streamGenerateContent');
    const contents = JSON.parse(reqs.at(-1).body).request.contents;
    const texts = contents.flatMap((c) => c.parts.map((p) => p.text ?? ''));
    assert.ok(texts.some((t) => t.includes('remember the word cobalt')), JSON.stringify(texts));
    assert.ok(texts.some((t) => t.includes('echo: remember the word cobalt')));
    assert.ok(texts.at(-1).includes('what was the word?'));

    const got = await client.responses.retrieve(first.id);
    assert.equal(got.id, first.id);
    assert.equal(got.output_text, first.output_text);
    const del = await client.responses.delete(first.id);
    assert.ok(del === undefined || del === null || del.deleted === true || typeof del === 'object');
    await assert.rejects(client.responses.retrieve(first.id), (e) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(
      client.responses.create({ model: MODEL, input: 'x', previous_response_id: 'resp_missing' }),
      (e) => e instanceof OpenAI.BadRequestError && /resp_missing/.test(e.message),
    );
  });

  test('stream with events in order', async () => {
    const stream = await client.responses.create({ model: MODEL, input: 'stream a response please', stream: true });
    const types = [];
    let seq = -1;
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      assert.ok(ev.sequence_number > seq, 'sequence numbers increase');
      seq = ev.sequence_number;
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.includes('response.output_item.added'));
    assert.ok(types.includes('response.output_text.done'));
    assert.match(text, /stream a response please/);
  });

  test('responses.stream helper and structured output', async () => {
    const runner = client.responses.stream({ model: MODEL, input: 'a helper streamed answer' });
    const deltas = [];
    runner.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await runner.finalResponse();
    assert.equal(final.status, 'completed');
    // (the SDK computes output_text for create() only; the streamed snapshot carries the items)
    const msg = final.output.find((o) => o.type === 'message');
    assert.match(msg.content[0].text, /a helper streamed answer/);
    assert.ok(deltas.length >= 1);

    const r = await client.responses.create({
      model: MODEL,
      input: 'describe a city',
      text: {
        format: {
          type: 'json_schema',
          name: 'city',
          strict: true,
          schema: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } }, required: ['name'] },
        },
      },
    });
    assert.equal(r.status, 'completed');
    assert.equal(r.text.format.type, 'json_schema');
    const reqs = await env.requests(':streamGenerateContent');
    const gc = JSON.parse(reqs.at(-1).body).request.generationConfig;
    assert.equal(gc.responseMimeType, 'application/json');
    assert.ok(gc.responseSchema || gc.responseJsonSchema);
  });

  test('function call round trip', async () => {
    const tools = [{ type: 'function', name: 'lookup', description: 'look a thing up', parameters: { type: 'object', properties: { q: { type: 'string' } } } }];
    const first = await client.responses.create({ model: MODEL, input: 'please call lookup for me', tools, reasoning: { effort: 'low' } });
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call, JSON.stringify(first.output));
    assert.equal(call.name, 'lookup');
    const second = await client.responses.create({
      model: MODEL,
      tools,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"found":true}' }],
    });
    assert.equal(second.status, 'completed');
    const reqs = await env.requests(':streamGenerateContent');
    const parts = JSON.parse(reqs.at(-1).body).request.contents.flatMap((c) => c.parts);
    assert.equal(parts.find((p) => p.functionResponse)?.functionResponse.name, 'lookup');
    assert.match(parts.find((p) => p.functionCall)?.thoughtSignature ?? '', /^mocksig_/);
  });
});
