// A Claude thinking model in a tool loop through the OpenAI chat route, with the official `openai`
// SDK, against a mock upstream as strict as Claude is: with thinking on, the assistant turn that
// made the latest tool calls must open with its signed thinking block, text unchanged, or the
// upstream answers 400 ("Expected `thinking` or `redacted_thinking`, but found `tool_use`"). The
// `@anthropic-ai/sdk` runs the same loop through /v1/messages for comparison. Clients that drop
// the reasoning get it back from the gateway's thinking store, also after a restart (the store is
// kept in the database); once the store is cleared, such a turn goes without thinking instead of
// failing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Env } from './lib.mjs';

const MODEL = 'claude-sonnet-4-6-thinking';
const KEY = 'sk-thinkingtest0123456789abcdef0123';
const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

// The contents of the latest Cloud Code request, and the last model turn in it.
async function lastUpstream(env) {
  const reqs = await env.requests(':streamGenerateContent');
  const body = JSON.parse(reqs.at(-1).body);
  const turns = body.request.contents.filter((c) => c.role === 'model');
  return { body, count: reqs.length, model: turns.at(-1) };
}

describe('Claude thinking tool loop through the OpenAI route', () => {
  const env = new Env();
  let openai;
  let anthropic;

  before(async () => {
    await env.start({ env: { AIGATE_API_KEY: KEY } });
    openai = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
    anthropic = new Anthropic({ baseURL: env.url, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('the strict mock refuses a bare function call with thinking on', async () => {
    // what aigate used to send: the model turn without its thinking
    const r = await fetch(`${env.mockUrl}/v1internal:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer at-any' },
      body: JSON.stringify({
        project: 'p', model: MODEL,
        request: {
          generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } },
          contents: [
            { role: 'user', parts: [{ text: 'please call get_weather for Paris' }] },
            { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: 'toolu_1' } }] },
            { role: 'user', parts: [{ functionResponse: { name: 'get_weather', id: 'toolu_1', response: { result: '21C' } } }] },
          ],
        },
      }),
    });
    assert.equal(r.status, 400);
    const e = await r.json();
    assert.equal(e.error.status, 'INVALID_ARGUMENT');
    assert.match(e.error.message, /Expected `thinking` or `redacted_thinking`, but found `tool_use`/);
  });

  test('non-stream: the message the SDK returned goes back as is, thinking replayed first', async () => {
    const messages = [{ role: 'user', content: 'please call get_weather for Paris' }];
    const first = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    const msg = first.choices[0].message;
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.match(msg.reasoning_content, /^Thinking about: /);
    assert.equal(msg.tool_calls[0].function.name, 'get_weather');
    messages.push(msg);
    messages.push({ role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '21C, cloudy' });
    const before = (await env.requests(':streamGenerateContent')).length;
    const second = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.match(second.choices[0].message.content, /21C, cloudy/);
    const up = await lastUpstream(env);
    assert.equal(up.count, before + 1, 'one upstream request: no 400 and no retry');
    assert.ok(up.body.request.generationConfig.thinkingConfig.thinkingBudget > 0, 'thinking stayed on');
    const [thought, call] = up.model.parts;
    assert.equal(thought.thought, true);
    assert.equal(thought.text, msg.reasoning_content);
    assert.match(thought.thoughtSignature, /^mocksig_/);
    assert.equal(call.functionCall.name, 'get_weather');
    assert.equal(call.thoughtSignature, undefined);
  });

  test('stream: reasoning and tool calls gathered from the deltas go back and are accepted', async () => {
    const messages = [{ role: 'user', content: 'please call get_weather for Berlin' }];
    const stream = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages, stream: true });
    let reasoning = '';
    const calls = [];
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta ?? {};
      if (d.reasoning_content) reasoning += d.reasoning_content;
      for (const tc of d.tool_calls ?? []) {
        calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
        if (tc.id) calls[tc.index].id = tc.id;
        if (tc.function?.name) calls[tc.index].function.name += tc.function.name;
        if (tc.function?.arguments) calls[tc.index].function.arguments += tc.function.arguments;
      }
    }
    assert.equal(calls.length, 1);
    messages.push({ role: 'assistant', content: null, reasoning_content: reasoning, tool_calls: calls });
    messages.push({ role: 'tool', tool_call_id: calls[0].id, content: '15C, rain' });
    const second = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    assert.match(second.choices[0].message.content, /15C, rain/);
    const up = await lastUpstream(env);
    assert.equal(up.model.parts[0].thought, true);
    assert.equal(up.model.parts[0].text, reasoning);
  });

  // A chat app that keeps only content and tool calls (and rewrites the ids, so no signature
  // comes back either).
  async function droppedTurn(city, result) {
    const messages = [{ role: 'user', content: `please call get_weather for ${city}` }];
    const first = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    const { tool_calls: calls, reasoning_content: reasoning } = first.choices[0].message;
    const id = calls[0].id.split('__thsig')[0];
    messages.push({ role: 'assistant', content: null, tool_calls: [{ ...calls[0], id }] });
    messages.push({ role: 'tool', tool_call_id: id, content: result });
    const second = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    assert.match(second.choices[0].message.content, new RegExp(result));
    return { up: await lastUpstream(env), reasoning };
  }

  test('a client that drops reasoning and signature: the thinking store puts them back', async () => {
    const { up, reasoning } = await droppedTurn('Rome', '25C, sunny');
    assert.ok(up.body.request.generationConfig.thinkingConfig.thinkingBudget > 0, 'thinking stayed on');
    assert.equal(up.model.parts[0].thought, true);
    assert.equal(up.model.parts[0].text, reasoning);
    assert.match(up.model.parts[0].thoughtSignature, /^mocksig_/);
  });

  test('after a gateway restart the kept thinking is still put back (it is kept in the database)', async () => {
    const messages = [{ role: 'user', content: 'please call get_weather for Tallinn' }];
    const first = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    const { tool_calls: calls, reasoning_content: reasoning } = first.choices[0].message;
    assert.match(reasoning, /^Thinking about: /);
    assert.equal(await env.restartGateway(), 0, `aigate exit code; log:\n${env.gwLog}`);
    const id = calls[0].id.split('__thsig')[0];
    messages.push({ role: 'assistant', content: null, tool_calls: [{ ...calls[0], id }] });
    messages.push({ role: 'tool', tool_call_id: id, content: '4C, wind' });
    const before = (await env.requests(':streamGenerateContent')).length;
    const second = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    assert.match(second.choices[0].message.content, /4C, wind/);
    const up = await lastUpstream(env);
    assert.equal(up.count, before + 1, 'one upstream request: no 400 and no retry');
    assert.ok(up.body.request.generationConfig.thinkingConfig.thinkingBudget > 0, 'thinking stayed on');
    assert.equal(up.model.parts[0].thought, true);
    assert.equal(up.model.parts[0].text, reasoning);
    assert.match(up.model.parts[0].thoughtSignature, /^mocksig_/);
  });

  test('after the store is cleared (admin API): thinking is off for that turn, no 400', async () => {
    const messages = [{ role: 'user', content: 'please call get_weather for Lima' }];
    const first = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    const r = await fetch(`${env.url}/api/proxy/thinking/clear`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(r.status, 200);
    assert.ok((await r.json()).cleared >= 1);
    // the database copy went too: a restart does not bring the turn back
    assert.equal(await env.restartGateway(), 0, `aigate exit code; log:\n${env.gwLog}`);
    const { tool_calls: calls } = first.choices[0].message;
    messages.push({ role: 'assistant', content: null, tool_calls: calls });
    messages.push({ role: 'tool', tool_call_id: calls[0].id, content: '18C, fog' });
    const second = await openai.chat.completions.create({ model: MODEL, reasoning_effort: 'low', tools: TOOLS, messages });
    assert.match(second.choices[0].message.content, /18C, fog/);
    const up = await lastUpstream(env);
    assert.equal(up.body.request.generationConfig.thinkingConfig.includeThoughts, false);
    assert.equal(up.body.request.generationConfig.thinkingConfig.thinkingBudget, undefined);
    assert.ok(up.model.parts.every((p) => !p.thought), JSON.stringify(up.model.parts));
  });

  test('Gemini native, thought parts dropped from the history (as Gemini CLI does): restored', async () => {
    const gen = (contents) => fetch(`${env.url}/v1beta/models/${MODEL}:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'sk-anything' },
      body: JSON.stringify({
        contents,
        tools: [{ functionDeclarations: [TOOLS[0].function] }],
        generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 4096 } },
      }),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const user = { role: 'user', parts: [{ text: 'please call get_weather for Kyiv' }] };
    const first = await gen([user]);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const parts = first.json.candidates[0].content.parts;
    const thought = parts.find((p) => p.thought);
    const call = parts.find((p) => p.functionCall);
    assert.ok(thought && call, JSON.stringify(parts));
    const second = await gen([user, { role: 'model', parts: [call] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', id: call.functionCall.id, response: { result: '2C' } } }] }]);
    assert.equal(second.status, 200, JSON.stringify(second.json));
    const up = await lastUpstream(env);
    assert.ok(up.body.request.generationConfig.thinkingConfig.thinkingBudget > 0);
    assert.equal(up.model.parts[0].thought, true);
    assert.equal(up.model.parts[0].text, thought.text);
  });

  test('Responses API: a function_call sent back without its reasoning item, store cleared: accepted', async () => {
    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: TOOLS[0].function.parameters }];
    const input = [{ role: 'user', content: 'please call get_weather for Madrid' }];
    const first = await openai.responses.create({ model: MODEL, reasoning: { effort: 'low' }, tools, input });
    const fc = first.output.find((o) => o.type === 'function_call');
    assert.ok(fc, JSON.stringify(first.output));
    await fetch(`${env.url}/api/proxy/thinking/clear`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    const before = (await env.requests(':streamGenerateContent')).length;
    const second = await openai.responses.create({
      model: MODEL, reasoning: { effort: 'low' }, tools,
      input: [...input, { type: 'function_call', call_id: fc.call_id, name: fc.name, arguments: fc.arguments },
        { type: 'function_call_output', call_id: fc.call_id, output: '30C, clear' }],
    });
    assert.match(second.output_text, /30C, clear/);
    const up = await lastUpstream(env);
    assert.equal(up.count, before + 1, 'one upstream request: no 400 and no retry');
    assert.equal(up.body.request.generationConfig.thinkingConfig.includeThoughts, false);
    assert.ok(up.model.parts.every((p) => !p.thought), JSON.stringify(up.model.parts));
  });

  test('for comparison, the Anthropic SDK over /v1/messages', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather for a city', input_schema: TOOLS[0].function.parameters }];
    const messages = [{ role: 'user', content: 'please call get_weather for Oslo' }];
    const first = await anthropic.messages.create({ model: MODEL, max_tokens: 16384, tools, messages, thinking: { type: 'enabled', budget_tokens: 2048 } });
    assert.equal(first.stop_reason, 'tool_use');
    assert.equal(first.content[0].type, 'thinking');
    assert.match(first.content[0].signature, /^mocksig_/);
    const use = first.content.find((b) => b.type === 'tool_use');
    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '-3C, snow' }] });
    const second = await anthropic.messages.create({ model: MODEL, max_tokens: 16384, tools, messages, thinking: { type: 'enabled', budget_tokens: 2048 } });
    assert.equal(second.stop_reason, 'end_turn');
    const up = await lastUpstream(env);
    assert.equal(up.model.parts[0].thought, true);
    assert.equal(up.model.parts[0].thoughtSignature, first.content[0].signature);
  });
});
