// web/tests/ui.e2e.test.mjs: the admin UI in Debian's Chromium (playwright-core) against the real
// gateway and the mock upstream: sign in, add an account by refresh token and see its quota,
// disable and enable it, watch a curl request arrive live in the Monitor and open its details,
// switch the auth mode to strict and see clients refused without the key, find the request in
// Token Stats, and deny an address on the IP Rules page: curl from it is refused at accept and
// the address appears among the refused. Exits 77 (ctest: skipped) when Chromium is not
// installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Env } from '../../tests/e2e/lib.mjs';
import { haveChromium, launch, login } from './browser.mjs';

if (!haveChromium()) {
  console.log('skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)');
  process.exit(77);
}

const KEY = 'sk-ui-e2e-0123456789';
let env;
let browser;
let page;

function curl(url, ...args) {
  // -w prints the status after the body; the request goes through curl as a user would send it.
  const out = execFileSync('curl', ['-s', '-m', '10', '-w', '\n%{http_code}', ...args, url], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

function chat(headers = []) {
  return curl(`${env.url}/v1/chat/completions`, '-H', 'content-type: application/json', ...headers, '-d', JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello from the UI test' }] }));
}

async function api(path, init = {}) {
  const r = await fetch(`${env.url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...(init.headers || {}) } });
  return r.json();
}

describe('admin UI in Chromium', { timeout: 90000 }, () => {
  before(async () => {
    env = await new Env().start({ accounts: [], env: { AIGATE_API_KEY: KEY } });
    browser = await launch();
    ({ page } = await login(browser, env.url, KEY));
  });
  after(async () => {
    await browser?.close();
    // Both servers stop cleanly (under the sanitizers a leak or error would show here).
    const codes = await env?.stop();
    assert.deepEqual(codes, [0, 0], env?.gwLog);
  });

  test('a wrong password is refused, the right one signs in', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(env.url);
    await p.getByLabel('Password or API key').fill('wrong');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').filter({ hasText: 'Wrong password' }).waitFor();
    await ctx.close();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  test('add an account by refresh token and see it with quota', async () => {
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByText('No accounts yet').waitFor();
    await page.getByRole('button', { name: 'Add account' }).first().click();
    const dlg = page.getByRole('dialog', { name: 'Add account' });
    await dlg.getByRole('tab', { name: 'Refresh token' }).click();
    await dlg.getByLabel('Refresh tokens (one per line)').fill('rt-mock');
    await dlg.getByLabel('Label (optional)').fill('ui-test');
    await dlg.getByRole('button', { name: 'Add', exact: true }).click();
    await dlg.getByText('✓ mock@example.com').waitFor();
    await dlg.getByRole('button', { name: 'Close' }).click();
    const card = page.getByRole('article', { name: 'mock@example.com' });
    await card.waitFor();
    await card.getByText('ui-test').waitFor();
    const meters = card.getByRole('meter');
    assert.ok((await meters.count()) >= 1, 'quota bars shown');
    assert.equal(await meters.first().getAttribute('aria-valuenow'), '100');
    await card.getByText(/resets in/).first().waitFor();
  });

  test('toggle the account off and on', async () => {
    const card = page.getByRole('article', { name: 'mock@example.com' });
    const sw = card.getByRole('switch');
    assert.equal(await sw.isChecked(), true);
    await sw.click();
    const badge = card.locator('.badge', { hasText: /^Disabled/ });
    await badge.waitFor();
    let list = await api('/api/accounts');
    assert.equal(list.accounts[0].disabled, true);
    assert.equal(chat().status >= 400, true, 'no usable account while disabled');
    await card.getByRole('switch').click();
    await badge.waitFor({ state: 'detached' });
    list = await api('/api/accounts');
    assert.equal(list.accounts[0].disabled, false);
  });

  test('a request sent with curl appears live in the Monitor', async () => {
    await page.getByRole('link', { name: 'Monitor' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    // The stored log is loaded (the refused request of the toggle test), so the row of the next
    // request can only come from the live stream: the page does not poll.
    await page.locator('tbody tr').first().waitFor();
    const before = await page.locator('tbody tr').count();
    const r = chat();
    assert.equal(r.status, 200, r.body);
    const row = page.locator('tbody tr', { hasText: 'gemini-2.5-flash' }).filter({ hasText: '200' }).first();
    await row.waitFor();
    assert.ok((await page.locator('tbody tr').count()) > before);
    await row.click();
    const drawer = page.getByRole('dialog', { name: /Request \d+/ });
    // The account is named in the details and again in the attempts timeline.
    await drawer.getByText('mock@example.com').first().waitFor();
    await drawer.getByText('POST /v1/chat/completions').waitFor();
    await drawer.getByRole('button', { name: 'Close' }).click();
  });

  test('switching the auth mode to strict is enforced', async () => {
    assert.equal(chat().status, 200);
    await page.getByRole('link', { name: 'API Proxy' }).click();
    await page.getByLabel('Auth mode').selectOption('strict');
    await page.getByRole('region', { name: 'Service' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Saved \(1 changed\)/).waitFor();
    assert.equal(chat().status, 401);
    assert.equal(chat(['-H', `Authorization: Bearer ${KEY}`]).status, 200);
    assert.equal(curl(`${env.url}/healthz`).status, 401, 'strict covers /healthz');
    // The UI itself stays reachable: it is public, its API calls carry the session token.
    assert.equal(curl(`${env.url}/`).status, 200);
    await page.reload();
    await page.getByRole('heading', { name: 'API Proxy' }).waitFor();
  });

  test('Token Stats show the requests', async () => {
    await page.getByRole('link', { name: 'Token Stats' }).click();
    const req = page.locator('.stat', { hasText: 'Requests' }).locator('.stat-value');
    await req.waitFor();
    await page.waitForFunction(() => Number(document.querySelectorAll('.stat .stat-value')[3]?.textContent) >= 3);
    const model = page.getByRole('region', { name: 'By model' });
    await model.getByRole('cell', { name: 'gemini-2.5-flash' }).waitFor();
    await page.locator('.chart canvas').first().waitFor();
  });

  test('IP Rules: a denied address is refused at accept and listed', async () => {
    // curl from a chosen loopback source address; a connection reset is status 0
    const from = (src) => {
      try {
        return curl(`${env.url}/healthz`, '--interface', src, '-H', `Authorization: Bearer ${KEY}`).status;
      } catch {
        return 0;
      }
    };
    assert.equal(from('127.0.0.2'), 200);
    await page.getByRole('link', { name: 'IP Rules' }).click();
    await page.getByRole('heading', { level: 1, name: 'IP Rules' }).waitFor();
    await page.getByText('No connection has been refused.').waitFor();
    await page.getByLabel('Deny (security.ip_deny)').fill('127.0.0.2');
    await page.getByRole('region', { name: 'Client address rules' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Saved \(2 changed\)/).waitFor();
    assert.equal(from('127.0.0.2'), 0, 'refused at accept');
    assert.equal(from('127.0.0.1'), 200);
    const rules = await api('/api/security/ip');
    assert.deepEqual(rules.deny, ['127.0.0.2']);
    await page.reload();
    await page.getByRole('region', { name: 'Recently refused addresses' }).getByRole('cell', { name: '127.0.0.2' }).waitFor();
    await page.getByLabel('Deny (security.ip_deny)').fill('');
    await page.getByRole('region', { name: 'Client address rules' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Saved \(2 changed\)/).first().waitFor();
    assert.equal(from('127.0.0.2'), 200);
  });
});
