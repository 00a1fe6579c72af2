// One upstream session per conversation: the session headers agent clients send
// (X-Claude-Code-Session-Id and a sub-agent's x-claude-code-agent-id from Claude Code; thread-id
// from Codex) give each conversation its own upstream sessionId and keep it on one account, and
// the prompt-cache hits the upstream reports for a session come back to the client as cached
// tokens (the mock caches per sessionId). Three accounts, so a conversation has accounts to
// stray to.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Env } from './lib.mjs';

const ACCOUNTS = ['a', 'b', 'c'].map((x) => ({
  email: `${x}@example.com`, refresh_token: `rt-${x}`, access_token: `at-${x}`, project: `proj-${x}`, tier: 'PRO',
}));

// The sessionId and account (bearer token) of each Cloud Code generate call since the last clear.
async function upstreamCalls(env) {
  const reqs = await env.requests(':streamGenerateContent');
  return reqs.map((r) => ({ session: JSON.parse(r.body).request.sessionId, token: r.headers.authorization }));
}

describe('one upstream session per conversation', () => {
  const env = new Env();
  const clients = {};

  before(async () => {
    await env.start({ mockAccounts: ACCOUNTS, accounts: ['rt-a', 'rt-b', 'rt-c'] });
    for (const s of ['sess-A', 'sess-B']) {
      clients[s] = new Anthropic({
        baseURL: env.url, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000,
        defaultHeaders: { 'X-Claude-Code-Session-Id': s },
      });
    }
    // sub-agents as Claude Code sends them: their own id after their parent's
    for (const id of ['agent-7', 'agent-8']) {
      clients[id] = new Anthropic({
        baseURL: env.url, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000,
        defaultHeaders: { 'X-Claude-Code-Session-Id': 'sess-A', 'x-claude-code-parent-agent-id': 'main', 'x-claude-code-agent-id': id },
      });
    }
  });
  after(async () => {
    const codes = await env.stop();
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  // Every conversation starts with the same words, as agent sessions in one project often do.
  const ask = (client, extra = []) => client.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 256,
    messages: [{ role: 'user', content: 'Look at this repository and tell me what it does.' }, ...extra],
  });

  test('two sessions, two upstream sessionIds; a session keeps its account and its cache', async () => {
    await env.clearRequests();
    const a1 = await ask(clients['sess-A']);
    const b1 = await ask(clients['sess-B']);
    const turn = [{ role: 'assistant', content: a1.content[0].text }, { role: 'user', content: 'And the tests?' }];
    const a2 = await ask(clients['sess-A'], turn);
    const b2 = await ask(clients['sess-B'], turn);
    const [ca1, cb1, ca2, cb2] = await upstreamCalls(env);
    assert.notEqual(ca1.session, cb1.session, 'each conversation has its own upstream session');
    assert.equal(ca2.session, ca1.session);
    assert.equal(cb2.session, cb1.session);
    assert.equal(ca2.token, ca1.token, 'session A stays on its account');
    assert.equal(cb2.token, cb1.token, 'session B stays on its account');
    // the second turn of each session found the first one's prompt in the upstream's cache
    assert.equal(a1.usage.cache_read_input_tokens ?? 0, 0);
    assert.equal(b1.usage.cache_read_input_tokens ?? 0, 0);
    assert.ok(a2.usage.cache_read_input_tokens > 0, JSON.stringify(a2.usage));
    assert.ok(b2.usage.cache_read_input_tokens > 0, JSON.stringify(b2.usage));
    assert.ok(a2.usage.input_tokens > 0);
  });

  test('each sub-agent of a session is a conversation of its own', async () => {
    await env.clearRequests();
    await ask(clients['sess-A']);
    await ask(clients['agent-7']);
    await ask(clients['agent-8']);
    const [main, sub7, sub8] = await upstreamCalls(env);
    assert.notEqual(sub7.session, main.session);
    assert.notEqual(sub8.session, main.session);
    assert.notEqual(sub8.session, sub7.session);
  });

  test('Codex thread-id over the OpenAI route; cached_tokens in the usage', async () => {
    const oa = (thread) => new OpenAI({
      baseURL: `${env.url}/v1`, apiKey: 'sk-anything', maxRetries: 0, timeout: 20000,
      defaultHeaders: { 'thread-id': thread, 'session-id': 'codex-session-1' },
    });
    const messages = [{ role: 'user', content: 'Summarise the build system of this project.' }];
    await env.clearRequests();
    await oa('thread-1').chat.completions.create({ model: 'gemini-2.5-flash', messages });
    await oa('thread-2').chat.completions.create({ model: 'gemini-2.5-flash', messages });
    const again = await oa('thread-1').chat.completions.create({ model: 'gemini-2.5-flash', messages });
    const [t1, t2, t1b] = await upstreamCalls(env);
    assert.notEqual(t1.session, t2.session);
    assert.equal(t1b.session, t1.session);
    assert.equal(t1b.token, t1.token);
    assert.ok(again.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(again.usage));
  });
});
