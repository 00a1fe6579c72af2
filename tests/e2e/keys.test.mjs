// User keys through the official SDKs: keys made with `aigate keys create`, then the OpenAI,
// Anthropic and Google SDKs raise their own error classes for each refusal — a revoked key
// (AuthenticationError / 401), an address outside the key's CIDRs and a model outside its patterns
// (PermissionDeniedError / 403), rpm and budget (RateLimitError / 429, Retry-After on rpm) — while
// an active key works.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { Env } from './lib.mjs';

const AIGATE = process.env.AIGATE_BIN;

function createKey(env, name, ...opts) {
  const r = spawnSync(AIGATE, ['keys', 'create', name, ...opts], { env: env.env, timeout: 30000 });
  assert.equal(r.status, 0, `keys create ${name}: ${r.stderr}`);
  const m = r.stdout.toString().match(/\b(sk-[0-9a-f]{32})\b/);
  assert.ok(m, `no key printed: ${r.stdout}`);
  return m[1];
}

function keyAction(env, action, name) {
  const r = spawnSync(AIGATE, ['keys', action, name], { env: env.env, timeout: 30000 });
  assert.equal(r.status, 0, `keys ${action} ${name}: ${r.stderr}`);
}

const openai = (env, key) => new OpenAI({ baseURL: `${env.url}/v1`, apiKey: key, maxRetries: 0, timeout: 20000 });
const anthropic = (env, key) => new Anthropic({ baseURL: env.url, apiKey: key, maxRetries: 0, timeout: 20000 });
const google = (env, key) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: env.url, timeout: 20000 } });

const chat = (c, model = 'gemini-2.5-flash') =>
  c.chat.completions.create({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hello keys' }] });
const message = (c, model = 'claude-sonnet-4-5') =>
  c.messages.create({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hello keys' }] });
const generate = (c, model = 'gemini-2.5-flash') =>
  c.models.generateContent({ model, contents: 'hello keys', config: { maxOutputTokens: 32 } });

describe('user keys through the SDKs', () => {
  const env = new Env();
  const keys = {};

  before(async () => {
    await env.start();
    keys.ok = createKey(env, 'ok');
    keys.revoked = createKey(env, 'revoked');
    keyAction(env, 'revoke', 'revoked');
    keys.far = createKey(env, 'far', '--ips', '10.0.0.0/8');
    keys.narrow = createKey(env, 'narrow', '--models', 'nothing-*');
    keys.slow = createKey(env, 'slow', '--rpm', '1');
    keys.poor = createKey(env, 'poor', '--daily-tokens', '10');
    // The running gateway reads new keys within a second: wait (bounded) until one works.
    for (let i = 0; ; i++) {
      try {
        await chat(openai(env, keys.ok));
        break;
      } catch (e) {
        if (i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  test('an active key works in every SDK', async () => {
    const r = await chat(openai(env, keys.ok));
    assert.match(r.choices[0].message.content, /hello keys/);
    const m = await message(anthropic(env, keys.ok));
    assert.equal(m.type, 'message');
    const g = await generate(google(env, keys.ok));
    assert.match(g.text, /hello keys/);
  });

  test('a revoked key: AuthenticationError / 401', async () => {
    await assert.rejects(chat(openai(env, keys.revoked)),
      (e) => e instanceof OpenAI.AuthenticationError && /revoked/.test(e.message));
    await assert.rejects(message(anthropic(env, keys.revoked)),
      (e) => e instanceof Anthropic.AuthenticationError && /revoked/.test(e.message));
    await assert.rejects(generate(google(env, keys.revoked)), (e) => e.status === 401 && /revoked/.test(e.message));
  });

  test('outside the key\'s addresses: PermissionDeniedError / 403', async () => {
    await assert.rejects(chat(openai(env, keys.far)), (e) => e instanceof OpenAI.PermissionDeniedError);
    await assert.rejects(message(anthropic(env, keys.far)), (e) => e instanceof Anthropic.PermissionDeniedError);
    await assert.rejects(generate(google(env, keys.far)), (e) => e.status === 403);
  });

  test('a model outside the key\'s patterns: PermissionDeniedError / 403', async () => {
    await assert.rejects(chat(openai(env, keys.narrow)),
      (e) => e instanceof OpenAI.PermissionDeniedError && /not allowed/.test(e.message));
    await assert.rejects(message(anthropic(env, keys.narrow)),
      (e) => e instanceof Anthropic.PermissionDeniedError && /not allowed/.test(e.message));
    await assert.rejects(generate(google(env, keys.narrow)), (e) => e.status === 403 && /not allowed/.test(e.message));
  });

  test('over rpm: RateLimitError / 429 with Retry-After', async () => {
    await chat(openai(env, keys.slow));
    await assert.rejects(chat(openai(env, keys.slow)), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, String(e));
      assert.ok(Number(e.headers?.get?.('retry-after') ?? e.headers?.['retry-after']) >= 1);
      return /requests per minute/.test(e.message);
    });
    await assert.rejects(message(anthropic(env, keys.slow)), (e) => e instanceof Anthropic.RateLimitError);
    await assert.rejects(generate(google(env, keys.slow)), (e) => e.status === 429);
  });

  test('over the daily budget: RateLimitError / 429 saying so', async () => {
    await assert.rejects(chat(openai(env, keys.poor)),
      (e) => e instanceof OpenAI.RateLimitError && /daily budget/.test(e.message));
    await assert.rejects(message(anthropic(env, keys.poor)),
      (e) => e instanceof Anthropic.RateLimitError && /daily budget/.test(e.message));
    await assert.rejects(generate(google(env, keys.poor)), (e) => e.status === 429 && /daily budget/.test(e.message));
  });
});
