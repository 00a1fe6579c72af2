// Gemini CLI (the real CLI from npm) in headless mode (`gemini -p`) against aigate's /v1beta
// routes (→ Cloud Code mock) with GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY: an answer comes
// through, and a tool loop (the mock calls list_directory) runs to its end.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliBin, hasPart, isolatedEnv, runCli, upstreamBodies } from './cli.mjs';
import { Env } from './lib.mjs';

const BIN = cliBin('gemini');
const skip = BIN ? false : 'Gemini CLI is not installed (npm install in tests/e2e)';

describe('Gemini CLI through aigate', { skip }, () => {
  const env = new Env();
  let dir;
  let cli;

  before(async () => {
    await env.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'aigate-gemini-'));
    cli = await isolatedEnv(dir);
    const gdir = path.join(cli.home, '.gemini');
    mkdirSync(gdir, { recursive: true });
    // API-key auth, and nothing sent anywhere but the model endpoint
    writeFileSync(path.join(gdir, 'settings.json'), JSON.stringify({
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { disableAutoUpdate: true, disableUpdateNag: true },
    }, null, 2));
    Object.assign(cli.env, {
      GOOGLE_GEMINI_BASE_URL: env.url,
      GEMINI_API_KEY: 'sk-aigate-test',
      GEMINI_CLI_TRUST_WORKSPACE: 'true', // headless runs refuse untrusted folders otherwise
    });
  });
  after(async () => {
    const codes = await env.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    assert.equal(codes[0], 0, `aigate exit code; log:\n${env.gwLog}`);
  });

  async function gemini(prompt) {
    const r = await runCli(BIN, ['-p', prompt, '-m', 'gemini-2.5-flash', '-o', 'json'],
      { env: cli.env, cwd: cli.work, timeoutMs: 45000 });
    assert.equal(r.timedOut, false, `gemini timed out; stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, `gemini exit ${r.code}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    return JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  }

  test('headless: the answer comes back from the mock through /v1beta', async () => {
    await env.clearRequests();
    const out = await gemini('hello from gemini cli');
    assert.match(out.response, /^echo: /);
    assert.match(out.response, /hello from gemini cli\s*$/);
    assert.ok(await env.logHas(/POST \/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent/),
      'Gemini CLI spoke the Gemini protocol to aigate');
    assert.ok((await upstreamBodies(env)).length >= 1);
  });

  test('tool loop: the model calls list_directory, the CLI returns the result, the loop ends', async () => {
    await env.clearRequests();
    const out = await gemini('please call list_directory now');
    assert.match(out.response, /^echo: /);
    assert.equal(out.stats.tools.byName.list_directory.count, 1);
    const bodies = await upstreamBodies(env);
    assert.ok(bodies.length >= 2, `upstream calls: ${bodies.length}`);
    assert.ok(hasPart(bodies.at(-1), 'functionCall'), 'the history carries the call');
    assert.ok(hasPart(bodies.at(-1), 'functionResponse'), 'and its result');
  });
});
