// The official `@google/genai` SDK against aigate's Gemini-native routes (→ Cloud Code mock),
// unmodified but for its base URL and key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GoogleGenAI } from '@google/genai';
import { Env } from './lib.mjs';

const MODEL = 'gemini-2.5-flash';

describe('@google/genai SDK through aigate', () => {
  const env = new Env();
  let ai;

  before(async () => {
    await env.start({ aigateArgs: ['--auth-mode', 'strict', '--set', 'auth.api_key=sk-e2e-gemini-key'] });
    ai = new GoogleGenAI({ apiKey: 'sk-e2e-gemini-key', httpOptions: { baseUrl: env.url, timeout: 20000 } });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('generateContent', async () => {
    const r = await ai.models.generateContent({ model: MODEL, contents: 'hello gemini', config: { systemInstruction: 'terse' } });
    assert.match(r.text, /hello gemini/);
    assert.ok(r.usageMetadata.promptTokenCount > 0);
    const reqs = await env.requests(':streamGenerateContent');
    const body = JSON.parse(reqs.at(-1).body);
    assert.equal(body.model, MODEL);
    assert.equal(body.request.contents[0].parts[0].text, 'hello gemini');
  });

  test('generateContentStream', async () => {
    const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'a streamed gemini answer' });
    let text = '';
    let n = 0;
    for await (const chunk of stream) {
      n++;
      text += chunk.text ?? '';
    }
    assert.ok(n >= 2, `chunks: ${n}`);
    assert.match(text, /a streamed gemini answer/);
  });

  test('function calling', async () => {
    const r = await ai.models.generateContent({
      model: MODEL,
      contents: 'please call lookup_order now',
      config: { tools: [{ functionDeclarations: [{ name: 'lookup_order', description: 'find an order', parameters: { type: 'OBJECT', properties: { id: { type: 'STRING' } } } }] }] },
    });
    assert.equal(r.functionCalls?.[0]?.name, 'lookup_order');
  });

  test('countTokens', async () => {
    const r = await ai.models.countTokens({ model: MODEL, contents: 'count these words please' });
    assert.ok(r.totalTokens > 0, JSON.stringify(r));
    const reqs = await env.requests(':countTokens');
    assert.ok(reqs.length >= 1);
  });

  test('models list and get', async () => {
    const pager = await ai.models.list();
    const names = [];
    for await (const m of pager) names.push(m.name);
    assert.ok(names.includes(`models/${MODEL}`), names.slice(0, 5).join(','));
    const m = await ai.models.get({ model: MODEL });
    assert.equal(m.name, `models/${MODEL}`);
  });

  test('errors surface with status and message', async () => {
    await assert.rejects(
      ai.models.generateContent({ model: 'no-such-model-xyz', contents: 'x' }),
      (e) => e.status === 404 && /no-such-model-xyz/.test(e.message),
    );
    const bad = new GoogleGenAI({ apiKey: 'wrong-key', httpOptions: { baseUrl: env.url, timeout: 20000 } });
    await assert.rejects(bad.models.generateContent({ model: MODEL, contents: 'x' }), (e) => e.status === 401);
    await env.fault({ status: 503, count: 1 });
    // One account: a 503 is retried on... no other account, so the client sees it.
    await assert.rejects(ai.models.generateContent({ model: MODEL, contents: 'x' }), (e) => e.status >= 500);
    await env.clearFaults();
  });
});
