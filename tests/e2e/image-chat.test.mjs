// Image models outside /v1/images: an OpenAI chat request for an image model (with the "-16x9" /
// "-4k" name suffixes) and a Gemini-native request with generationConfig.imageConfig become
// image_gen calls with the image config, and the image comes back in each protocol's own shape
// (OpenAI chat: a markdown data URL in the content; Gemini: an inlineData part). The mock refuses
// an image model called as an agent request, or with tools or a system instruction.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { Env } from './lib.mjs';

async function lastImageCall(env) {
  const reqs = await env.requests(':generateContent');
  return JSON.parse(reqs.at(-1).body);
}

describe('image models through chat and Gemini native', () => {
  const env = new Env();
  let openai;
  let ai;

  before(async () => {
    await env.start();
    openai = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000 });
    ai = new GoogleGenAI({ apiKey: 'sk-anything', httpOptions: { baseUrl: env.url, timeout: 20000 } });
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('the mock refuses an image model called as an agent request', async () => {
    const r = await fetch(`${env.mockUrl}/v1internal:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer at-any' },
      body: JSON.stringify({ project: 'p', model: 'gemini-3-pro-image', requestType: 'agent', request: { contents: [{ role: 'user', parts: [{ text: 'a fox' }] }] } }),
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.status, 'INVALID_ARGUMENT');
  });

  test('Gemini native through the SDK: an image model without imageConfig is square', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-3.1-flash-image', contents: 'a paper boat' });
    assert.ok(r.candidates[0].content.parts.some((p) => p.inlineData));
    const up = await lastImageCall(env);
    assert.equal(up.requestType, 'image_gen');
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '1:1' });
  });

  test('OpenAI chat, model with ratio and size suffixes: image_gen, markdown image', async () => {
    const r = await openai.chat.completions.create({
      model: 'gemini-3-pro-image-16x9-4k',
      messages: [{ role: 'system', content: 'You are an artist.' }, { role: 'user', content: 'a red fox in the snow' }],
    });
    const content = r.choices[0].message.content;
    assert.match(content, /!\[image\]\(data:image\/png;base64,[A-Za-z0-9+/=]+\)/);
    const up = await lastImageCall(env);
    assert.equal(up.requestType, 'image_gen');
    assert.equal(up.model, 'gemini-3-pro-image');
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '16:9', imageSize: '4K' });
    assert.equal(up.request.systemInstruction, undefined);
  });

  test('OpenAI chat, stream: the image arrives as a content delta', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gemini-3-pro-image-9x16', stream: true,
      messages: [{ role: 'user', content: 'a lighthouse at night' }],
    });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
    assert.match(content, /!\[image\]\(data:image\/png;base64,/);
    const up = await lastImageCall(env);
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '9:16' });
  });

  test('Gemini native with generationConfig.imageConfig: inlineData back', async () => {
    // @google/genai 1.8 has no imageConfig field yet: the JSON a Gemini client sends, by hand
    const res = await fetch(`${env.url}/v1beta/models/gemini-3.1-flash-image:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'sk-anything' },
      body: JSON.stringify({
        contents: [{ role: 'user', parts: [{ text: 'a paper boat on a pond' }] }],
        generationConfig: { responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '3:4', imageSize: '2K' } },
      }),
    });
    assert.equal(res.status, 200);
    const parts = (await res.json()).candidates[0].content.parts;
    const img = parts.find((p) => p.inlineData);
    assert.ok(img, JSON.stringify(parts));
    assert.equal(img.inlineData.mimeType, 'image/png');
    const up = await lastImageCall(env);
    assert.equal(up.requestType, 'image_gen');
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '3:4', imageSize: '2K' });
  });
});
