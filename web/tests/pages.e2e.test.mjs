// web/tests/pages.e2e.test.mjs: every page of the admin UI in Debian's Chromium (playwright-core)
// against the real gateway and the mock upstream, with several accounts (one with a long e-mail)
// and some traffic: at phone width (390×844) no page is wider than the window and none logs a
// console error; axe-core finds no serious or critical violation on any page in light and dark;
// unsaved edits on the API Proxy page survive saving another card and leaving asks first; the
// gateway stopped and restarted under an open page gives one translated "can't reach" banner,
// header and Gateway card agree, the session survives the restart, and a revoked session says
// so with a way back. Exits 77 (ctest: skipped) when Chromium is not installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { Env } from '../../tests/e2e/lib.mjs';
import { haveChromium, launch, login } from './browser.mjs';

if (!haveChromium()) {
  console.log('skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)');
  process.exit(77);
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const KEY = 'sk-ui-pages-0123456789';
const LONG = 'a-really-quite-long-mailbox-name.for-testing@some-subdomain.example-organisation.com';
const PAGES = [
  ['dashboard', '/', 'Dashboard'],
  ['accounts', '/accounts', 'Accounts'],
  ['proxy', '/proxy', 'API Proxy'],
  ['monitor', '/monitor', 'Monitor'],
  ['stats', '/stats', 'Token Stats'],
  ['keys', '/keys', 'User Keys'],
  ['ip-rules', '/ip-rules', 'IP Rules'],
  ['settings', '/settings', 'Settings'],
];
const quotas = { 'gemini-2.5-flash': { remainingFraction: 0.9, resetTime: '2030-01-01T00:00:00Z' }, 'claude-sonnet-4-5': { remainingFraction: 0.15, resetTime: '2030-01-01T00:00:00Z' } };
const ACCOUNTS = [
  { email: 'mock@example.com', refresh_token: 'rt-mock', access_token: 'at-mock', project: 'p-1', tier: 'PRO', quotas },
  { email: LONG, refresh_token: 'rt-long', access_token: 'at-long', project: 'p-2', tier: 'FREE', quotas },
];

let env;
let browser;

function chat(model = 'gemini-2.5-flash') {
  return execFileSync('curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${KEY}`, '-d', JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }), `${env.url}/v1/chat/completions`], { encoding: 'utf8' });
}

/** A signed-in page that records console errors and uncaught exceptions. */
async function open(opts) {
  const s = await login(browser, env.url, KEY, opts);
  s.errors = [];
  s.page.on('console', (m) => m.type() === 'error' && s.errors.push(m.text()));
  s.page.on('pageerror', (e) => s.errors.push(String(e)));
  return s;
}

async function goto(page, path, heading) {
  await page.goto(`${env.url}${path}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  // data and charts arrive after the heading; settle the page before measuring it
  await page.waitForLoadState('networkidle').catch(() => {});
}

describe('admin UI pages in Chromium', { timeout: 240000 }, () => {
  before(async () => {
    env = await new Env().start({ mockAccounts: ACCOUNTS, accounts: ['rt-mock', 'rt-long'], env: { AIGATE_API_KEY: KEY } });
    for (let i = 0; i < 3; i++) chat();
    // accounts cooling down with a last error (warning badges and error lines on Accounts)
    await env.fault({ status: 429, model: 'gemini-2.5-flash', retry_delay: '600s', permanent: true });
    for (let i = 0; i < 3; i++) chat();
    await env.clearFaults();
    chat('no-such-model-xyz');
    // a request refused before it has a model or an account: "(none)" in the statistics
    execFileSync('curl', ['-s', '-m', '10', '-o', '/dev/null', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${KEY}`, '-d', '{"messages": "not a list"}', `${env.url}/v1/chat/completions`]);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    const codes = await env?.stop();
    assert.deepEqual(codes, [0, 0], env?.gwLog);
  });

  test('requests without an account or model are not counted as one', async () => {
    const get = async (p) => (await fetch(`${env.url}${p}`, { headers: { authorization: `Bearer ${KEY}` } })).json();
    const sum = await get('/api/stats/summary');
    const byAcct = (await get('/api/stats/breakdown?group=account')).items;
    const byModel = (await get('/api/stats/breakdown?group=model')).items;
    assert.ok(byAcct.some((r) => !r.key), 'a request without an account was counted');
    assert.equal(sum.accounts, byAcct.filter((r) => r.key).length);
    assert.equal(sum.models, byModel.filter((r) => r.key).length);
  });

  test('at 390×844 no page is wider than the window, and none logs an error', async () => {
    const s = await open({ width: 390, height: 844 });
    const wide = [];
    for (const [name, path, heading] of PAGES) {
      await goto(s.page, path, heading);
      if (name === 'proxy') await s.page.getByLabel('Fixed account').selectOption({ label: LONG });
      const w = await s.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      if (w.scroll > w.inner) wide.push(`${name}: ${w.scroll}px`);
    }
    assert.deepEqual(wide, [], 'pages wider than 390 px');
    // Long errors are readable without hovering (no tooltip on a touch screen): shown whole.
    await goto(s.page, '/accounts', 'Accounts');
    await s.page.locator('.acct-err').first().waitFor();
    const cut = await s.page.locator('.acct-err').evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).length);
    assert.equal(cut, 0, 'account errors cut off');
    await goto(s.page, '/', 'Dashboard');
    const msg = s.page.locator('.err-list .err-msg').first();
    await msg.waitFor({ state: 'attached' });
    assert.ok(await msg.isVisible(), 'the error message of a recent error is shown at phone width');
    assert.equal(await msg.evaluate((e) => e.scrollWidth <= e.clientWidth + 1), true, 'recent error cut off');
    // The snippet's copy button sits beside or above the code, not on it.
    await goto(s.page, '/proxy', 'API Proxy');
    const box = s.page.locator('.code-box');
    const pre = await box.locator('pre').boundingBox();
    const btn = await box.getByRole('button', { name: 'Copy' }).boundingBox();
    const overlap = btn.x < pre.x + pre.width && btn.x + btn.width > pre.x && btn.y < pre.y + pre.height && btn.y + btn.height > pre.y;
    assert.equal(overlap, false, 'copy button over the code');
    const tabs = await s.page.getByRole('tablist', { name: 'Client setup' }).boundingBox();
    assert.ok(tabs.height < 60, `snippet tabs in one row (${tabs.height}px high)`);
    assert.deepEqual(s.errors, []);
    await s.ctx.close();
  });

  for (const scheme of ['light', 'dark']) {
    test(`axe-core: no serious violations on any page (${scheme})`, async () => {
      const s = await open({ colorScheme: scheme });
      const found = [];
      for (const [name, path, heading] of PAGES) {
        await goto(s.page, path, heading);
        await s.page.evaluate(AXE); // through the debugger, not a script tag: the UI's CSP allows no inline script
        const v = await s.page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
        for (const x of v.filter((x) => x.impact === 'serious' || x.impact === 'critical'))
          found.push(`${name}: ${x.id} (${x.impact}) ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
      }
      assert.deepEqual(found, []);
      await s.ctx.close();
    });
  }

  test('unsaved edits survive saving another card, and leaving asks first', async () => {
    const s = await open();
    const { page } = s;
    await goto(page, '/proxy', 'API Proxy');
    const sched = page.getByRole('region', { name: 'Scheduling' });
    await sched.getByLabel('Mode', { exact: true }).selectOption('performance_first');
    await sched.getByLabel('Attempts per request').fill('5');
    const map = page.getByRole('region', { name: 'Model mapping' });
    await map.getByRole('button', { name: 'Add rule' }).click();
    await map.getByLabel('Requested model, rule 1').fill('gpt-4*');
    await map.getByLabel('Upstream model, rule 1').fill('gemini-2.5-flash');
    await map.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Saved \(\d+ changed\)/).first().waitFor();
    // the mapping is saved ...
    await page.waitForFunction(async (k) => {
      const r = await fetch('/api/config', { headers: { authorization: `Bearer ${k}` } });
      return JSON.stringify((await r.json()).config.mapping.custom).includes('gpt-4*');
    }, KEY);
    // ... and the scheduling card still holds its unsaved edits
    assert.equal(await sched.getByLabel('Mode', { exact: true }).inputValue(), 'performance_first');
    assert.equal(await sched.getByLabel('Attempts per request').inputValue(), '5');
    // leaving the page asks; "stay" keeps the edits
    await page.getByRole('link', { name: 'Monitor' }).click();
    const dlg = page.getByRole('dialog', { name: 'Leave without saving?' });
    await dlg.waitFor();
    await dlg.getByRole('button', { name: 'Stay' }).click();
    assert.equal(await sched.getByLabel('Attempts per request').inputValue(), '5');
    // a reload asks the browser's own question
    let asked = false;
    page.once('dialog', async (d) => {
      asked = d.type() === 'beforeunload';
      await d.dismiss();
    });
    await page.close({ runBeforeUnload: true });
    for (let i = 0; i < 50 && !asked; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(asked, true, 'beforeunload asked');
    await s.ctx.close();
  });

  test('gateway stopped and restarted under an open page', async () => {
    const s = await open();
    const { page } = s;
    await goto(page, '/', 'Dashboard');
    const header = page.locator('.status-pill');
    const card = page.locator('.stat', { hasText: 'Gateway' }).locator('.stat-value');
    await header.getByText('Running').waitFor();
    await card.getByText('Running').waitFor();

    env.gw.kill('SIGTERM');
    await new Promise((r) => env.gw.once('exit', r));
    const banner = page.getByRole('alert').filter({ hasText: "Can't reach aigate" });
    await banner.waitFor({ timeout: 20000 });
    await page.waitForTimeout(6000); // several polls fail meanwhile
    assert.equal(await page.getByRole('alert').filter({ hasText: "Can't reach aigate" }).count(), 1, 'one banner');
    assert.equal(await page.getByText('Failed to fetch').count(), 0, 'no raw fetch errors');
    await header.getByText('Unreachable').waitFor();
    await card.getByText('Unreachable').waitFor();

    await env.restartGateway();
    await banner.waitFor({ state: 'detached', timeout: 30000 });
    // the session outlived the restart: still signed in, both say Running
    await header.getByText('Running').waitFor();
    await card.getByText('Running').waitFor();
    assert.equal(await page.locator('.shell').count(), 1);

    // a session that ends (here: logged out elsewhere) says so and offers the way back
    const tok = await page.evaluate(() => JSON.parse(localStorage.getItem('aigate.token')).token);
    const r = await fetch(`${env.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 200);
    await page.getByText('Your session has expired').waitFor({ timeout: 20000 });
    await page.getByLabel('Password or API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    assert.deepEqual(s.errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|401/.test(e)), []);
    await s.ctx.close();
  });
});
