// web/tests/keyboard.e2e.test.mjs: the admin UI by keyboard alone in Debian's Chromium
// (playwright-core) against the real gateway and the mock upstream. On every page Tab starts at
// the skip link, goes through the navigation before the page's content, never falls back to the
// page body, and every element it reaches shows a focus ring; at phone width the menu opens from
// the keyboard and Escape closes it. Escape closes the Monitor drawer (focus back on its row) and
// the dialogs (focus back on what opened them). The drawer shows the attempts of a request that
// moved from a rate-limited account as a timeline, also at 390 px without sideways scrolling.
// Each list says so when it cannot load, and when a search matches nothing. Exits 77 (ctest:
// skipped) when Chromium is not installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Env } from '../../tests/e2e/lib.mjs';
import { haveChromium, launch, login } from './browser.mjs';

if (!haveChromium()) {
  console.log('skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)');
  process.exit(77);
}

const KEY = 'sk-ui-keyboard-0123456789';
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
const NAV = PAGES.map((p) => p[2]);
const quotas = { 'gemini-2.5-flash': { remainingFraction: 0.9, resetTime: '2030-01-01T00:00:00Z' } };
const ACCOUNTS = [
  { email: 'a@example.com', refresh_token: 'rt-a', access_token: 'at-a', project: 'p-a', tier: 'PRO', quotas },
  { email: 'b@example.com', refresh_token: 'rt-b', access_token: 'at-b', project: 'p-b', tier: 'PRO', quotas },
];

let env;
let browser;
let rotatedId = 0;

function chat(n) {
  return execFileSync('curl', ['-s', '-m', '10', '-D', '-', '-o', '/dev/null', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${KEY}`, '-d', JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: `keyboard ${n}` }] }), `${env.url}/v1/chat/completions`], { encoding: 'utf8' });
}

async function admin(path, init = {}) {
  const r = await fetch(`${env.url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } });
  return r.json();
}

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
  await page.waitForLoadState('networkidle').catch(() => {});
}

/** What has the focus: its text or label, whether it is in the nav or the main area, its ring. */
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return { body: true };
    const cs = getComputedStyle(e);
    const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow && cs.boxShadow !== 'none');
    return {
      body: false,
      name: (e.getAttribute('aria-label') || e.textContent || e.getAttribute('name') || e.id || e.tagName).trim().slice(0, 60),
      tag: e.tagName,
      inNav: !!e.closest('nav'),
      inMain: !!e.closest('main'),
      skip: e.classList.contains('skip'),
      ring,
      visible: e.getBoundingClientRect().width > 0,
    };
  });
}

describe('admin UI by keyboard', { timeout: 300000 }, () => {
  before(async () => {
    env = await new Env().start({ mockAccounts: ACCOUNTS, accounts: ['rt-a', 'rt-b'], env: { AIGATE_API_KEY: KEY } });
    await admin('/api/config', { method: 'PUT', body: JSON.stringify({ 'monitor.capture_bodies': true }) });
    // a is rate limited: the first request that tries it moves to b (two attempts)
    await env.fault({ status: 429, token: 'at-a', permanent: true, retry_delay: '600s', reason: 'RATE_LIMIT_EXCEEDED' });
    for (let i = 0; i < 6 && !rotatedId; i++) {
      chat(i);
      const items = (await admin('/api/logs/recent?limit=20')).items;
      rotatedId = items.find((e) => e.attempts === 2)?.id || 0;
    }
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    const codes = await env?.stop();
    assert.deepEqual(codes, [0, 0], env?.gwLog);
  });

  test('Tab: skip link, then the navigation, then the page; every stop shows its focus', async () => {
    assert.ok(rotatedId > 0, 'a request moved from the rate-limited account');
    const s = await open();
    const problems = [];
    for (const [name, path, heading] of PAGES) {
      await goto(s.page, path, heading);
      await s.page.evaluate(() => document.activeElement?.blur());
      const stops = [];
      for (let i = 0; i < 40; i++) {
        await s.page.keyboard.press('Tab');
        const f = await focused(s.page);
        stops.push(f);
        if (f.inMain) break;
      }
      if (!stops[0]?.skip) problems.push(`${name}: the first Tab stop is ${stops[0]?.name}, not the skip link`);
      const navNames = stops.filter((f) => f.inNav).map((f) => f.name);
      if (JSON.stringify(navNames) !== JSON.stringify(NAV)) problems.push(`${name}: nav by Tab ${JSON.stringify(navNames)}`);
      if (!stops.some((f) => f.inMain)) problems.push(`${name}: Tab never reached the page content`);
      for (const f of stops) {
        if (f.body) problems.push(`${name}: focus fell back to the page body`);
        else if (!f.ring || !f.visible) problems.push(`${name}: no visible focus on ${f.tag} ${f.name}`);
      }
      // the skip link jumps straight to the content (a fresh load: Tab starts from the top again)
      await goto(s.page, path, heading);
      await s.page.keyboard.press('Tab');
      await s.page.keyboard.press('Enter');
      await s.page.keyboard.press('Tab');
      const after = await focused(s.page);
      if (!after.inMain) problems.push(`${name}: after the skip link, Tab went to ${after.name}`);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(s.errors, []);
    await s.ctx.close();
  });

  test('phone width: the menu opens from the keyboard and Escape closes it', async () => {
    const s = await open({ width: 390, height: 844 });
    const { page } = s;
    await goto(page, '/', 'Dashboard');
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.focus();
    await page.keyboard.press('Enter');
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Tab');
    const f = await focused(page);
    assert.ok(f.inNav || f.tag === 'SELECT' || f.tag === 'BUTTON', `after the menu button: ${f.name}`);
    // Tab reaches the Monitor link, Enter follows it
    for (let i = 0; i < 15 && (await focused(page)).name !== 'Monitor'; i++) await page.keyboard.press('Tab');
    assert.equal((await focused(page)).name, 'Monitor');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Monitor' }).waitFor();
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    // opened again, Escape closes it and gives the focus back to the button
    await menu.focus();
    await page.keyboard.press('Enter');
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Escape');
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal((await focused(page)).name, 'Menu');
    assert.deepEqual(s.errors, []);
    await s.ctx.close();
  });

  for (const [label, size] of [['desktop', { width: 1280, height: 860 }], ['390 px', { width: 390, height: 844 }]]) {
    test(`Monitor drawer by keyboard shows the attempts timeline; Escape closes it (${label})`, async () => {
      const s = await open(size);
      const { page } = s;
      await goto(page, '/monitor', 'Monitor');
      const row = page.locator(`tr[data-id="${rotatedId}"]`);
      await row.focus();
      await page.keyboard.press('Enter');
      const drawer = page.getByRole('dialog', { name: `Request ${rotatedId}` });
      await drawer.waitFor();
      const tl = drawer.getByRole('region', { name: 'Attempts' });
      await tl.waitFor();
      const items = tl.locator('.tl-row');
      assert.equal(await items.count(), 2);
      assert.match(await items.nth(0).innerText(), /a@example\.com[\s\S]*429[\s\S]*rate limited/);
      assert.match(await items.nth(1).innerText(), /b@example\.com[\s\S]*200/);
      assert.ok(await drawer.getByRole('button', { name: 'Send again' }).isVisible());
      const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      assert.ok(w.scroll <= w.inner, `page ${w.scroll}px wide at ${w.inner}px with the drawer open`);
      // the drawer's controls are reachable by Tab from the drawer
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => !!document.activeElement?.closest('.drawer')), true, 'Tab left the drawer');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached' });
      assert.equal(await page.evaluate((id) => document.activeElement?.getAttribute('data-id'), rotatedId), String(rotatedId));
      assert.deepEqual(s.errors, []);
      await s.ctx.close();
    });
  }

  test('Escape closes dialogs and gives the focus back', async () => {
    const s = await open();
    const { page } = s;
    await goto(page, '/accounts', 'Accounts');
    const add = page.getByRole('button', { name: 'Add account' });
    await add.focus();
    await page.keyboard.press('Enter');
    const dlg = page.getByRole('dialog', { name: 'Add account' });
    await dlg.waitFor();
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => !document.querySelector('dialog[open]'), null, { timeout: 5000 });
    assert.equal((await focused(page)).name, 'Add account');
    // a confirmation: Escape keeps things as they are
    await goto(page, '/monitor', 'Monitor');
    const clear = page.getByRole('button', { name: 'Clear log', exact: true });
    await clear.focus();
    await page.keyboard.press('Enter');
    const c = page.getByRole('dialog');
    await c.waitFor();
    await page.keyboard.press('Escape');
    await c.waitFor({ state: 'hidden' });
    await page.waitForFunction(() => !document.querySelector('dialog[open]'), null, { timeout: 5000 });
    assert.equal((await focused(page)).name, 'Clear log');
    assert.ok((await admin('/api/logs?limit=1')).total > 0, 'Escape cleared the log');
    assert.deepEqual(s.errors, []);
    await s.ctx.close();
  });

  test('every list says when it cannot load, and when nothing matches', async () => {
    const s = await open();
    const { page } = s;
    const lists = [
      ['/accounts', 'Accounts', '**/api/accounts'],
      ['/monitor', 'Monitor', '**/api/logs?*'],
      ['/stats', 'Token Stats', '**/api/stats/breakdown?*'],
      ['/keys', 'User Keys', '**/api/keys'],
      ['/ip-rules', 'IP Rules', '**/api/security/ip'],
      ['/', 'Dashboard', '**/api/logs?*'],
    ];
    const missing = [];
    for (const [path, heading, glob] of lists) {
      await page.route(glob, (r) => r.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { message: 'database is locked', type: 'server_error' } }) }));
      await goto(page, path, heading);
      const shown = await page.getByRole('alert').filter({ hasText: 'database is locked' }).first().isVisible().catch(() => false);
      if (!shown) missing.push(`${heading}: no error shown`);
      await page.unroute(glob);
    }
    assert.deepEqual(missing, []);
    // a search that matches nothing says so, with a way back
    await goto(page, '/monitor', 'Monitor');
    await page.getByPlaceholder('Search path, model, status, error').fill('zzz-nothing-matches');
    await page.getByText('No request matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator(`tr[data-id="${rotatedId}"]`).waitFor();
    await goto(page, '/accounts', 'Accounts');
    await page.getByPlaceholder('Search e-mail or label').fill('zzz-nothing-matches');
    await page.getByText('No account matches the search or tier filter.').waitFor();
    await s.ctx.close();
  });
});
