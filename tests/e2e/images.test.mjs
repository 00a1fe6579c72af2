// The official `openai` SDK's images API (generate, edit with files) against aigate's
// /v1/images/* (→ Cloud Code mock, which answers image_gen requests with a 1x1 PNG).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { Env } from './lib.mjs';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);

function isPng(b64) {
  return Buffer.from(b64, 'base64').subarray(0, 8).equals(PNG.subarray(0, 8));
}

async function lastUpstream(env) {
  const reqs = await env.requests(':generateContent');
  assert.ok(reqs.length > 0, 'the upstream saw a generateContent call');
  return JSON.parse(reqs.at(-1).body);
}

describe('openai SDK images API through aigate', () => {
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

  test('generate: b64_json, n, size and quality mapped to imageConfig', async () => {
    const res = await client.images.generate({
      model: 'dall-e-3', prompt: 'a red fox in snow', n: 2, size: '1792x1024', quality: 'hd',
    });
    assert.ok(Math.abs(res.created - Date.now() / 1000) < 60);
    assert.equal(res.data.length, 2);
    for (const d of res.data) {
      assert.ok(isPng(d.b64_json), 'a PNG came back');
      assert.equal(d.revised_prompt, 'echo: a red fox in snow');
    }
    const up = await lastUpstream(env);
    assert.equal(up.requestType, 'image_gen');
    assert.equal(up.model, 'gemini-3.1-flash-image', 'OpenAI model names go to the default image model');
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '16:9', imageSize: '4K' });
    assert.equal(up.request.generationConfig.candidateCount, 2);
    assert.equal(up.request.contents[0].parts[0].text, 'a red fox in snow');
  });

  test('generate: url answers are data URLs; model suffixes fill ratio and size', async () => {
    const res = await client.images.generate({
      model: 'gemini-3-pro-image-2k-21x9', prompt: 'a lighthouse', response_format: 'url',
    });
    assert.equal(res.data.length, 1);
    assert.match(res.data[0].url, /^data:image\/png;base64,iVBOR/);
    const up = await lastUpstream(env);
    assert.equal(up.model, 'gemini-3-pro-image');
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '21:9', imageSize: '2K' });
    // no size at all: OpenAI's default square
    await client.images.generate({ model: 'gemini-3-pro-image', prompt: 'a square' });
    assert.deepEqual((await lastUpstream(env)).request.generationConfig.imageConfig, { aspectRatio: '1:1' });
  });

  test('edit: image files and a mask go upstream as inline data', async () => {
    const res = await client.images.edit({
      model: 'gpt-image-1',
      image: [await toFile(PNG, 'a.png', { type: 'image/png' }), await toFile(PNG, 'b.png')],
      mask: await toFile(PNG, 'mask.png', { type: 'image/png' }),
      prompt: 'put a hat on the cat',
      size: '1024x1536',
    });
    assert.equal(res.data.length, 1);
    assert.ok(isPng(res.data[0].b64_json));
    const up = await lastUpstream(env);
    assert.equal(up.requestType, 'image_gen');
    const parts = up.request.contents[0].parts;
    assert.equal(parts[0].text, 'put a hat on the cat');
    const media = parts.filter((p) => p.inlineData);
    assert.equal(media.length, 3, 'two images and the mask');
    for (const m of media) {
      assert.equal(m.inlineData.mimeType, 'image/png');
      assert.equal(m.inlineData.data, PNG.toString('base64'));
    }
    assert.deepEqual(up.request.generationConfig.imageConfig, { aspectRatio: '2:3' });

    // a single file, no size: the input's own ratio (no aspectRatio sent)
    const one = await client.images.edit({ image: await toFile(PNG, 'x.png'), prompt: 'brighter' });
    assert.equal(one.data.length, 1);
    assert.equal((await lastUpstream(env)).request.generationConfig?.imageConfig, undefined);
  });

  test('errors come back in OpenAI shape', async () => {
    await assert.rejects(client.images.generate({ prompt: '' }), (e) =>
      e instanceof OpenAI.BadRequestError && e.param === 'prompt' && e.code === 'missing_required_parameter');
    await assert.rejects(client.images.generate({ prompt: 'x', size: 'huge' }), (e) =>
      e instanceof OpenAI.BadRequestError && e.param === 'size');
    await assert.rejects(client.images.generate({ prompt: 'please refuse this' }), (e) =>
      e instanceof OpenAI.BadRequestError && e.code === 'content_policy_violation');
    await assert.rejects(client.images.edit({ image: await toFile(Buffer.from('not an image'), 'x.txt', { type: 'text/plain' }), prompt: 'x' }),
      (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_image_format');
    // a JSON body on the edits route
    const r = await fetch(`${env.url}/v1/images/edits`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"x"}',
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, 'invalid_content_type');
  });
});
