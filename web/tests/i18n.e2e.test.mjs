// web/tests/i18n.e2e.test.mjs: the admin UI in German, Japanese and Arabic in Debian's Chromium
// (playwright-core) against the real gateway and the mock upstream, with accounts, traffic, errors
// and a user key. The browser's language picks the UI language on first start; every page at
// phone width (390×844) is no wider than the window, logs no console error, and shows no text
// (nor aria-label, placeholder or title) that is the English text of a key the language
// translates; Arabic is laid out right to left (the navigation on the right, the text starting
// on the right). A language chosen in the picker is saved and wins over the browser's language
// after a reload; every language is listed in its own name. Exits 77 (ctest: skipped) when
// Chromium is not installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Env } from '../../tests/e2e/lib.mjs';
import { haveChromium, launch } from './browser.mjs';

if (!haveChromium()) {
  console.log('skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)');
  process.exit(77);
}

const LOCALES = new URL('../src/locales/', import.meta.url);
const table = (l) => JSON.parse(readFileSync(new URL(`${l}.json`, LOCALES), 'utf8'));
const EN = table('en');
const KEY = 'sk-ui-i18n-0123456789';
const LONG = 'a-really-quite-long-mailbox-name.for-testing@some-subdomain.example-organisation.com';
const PAGES = [
  ['dashboard', '/'],
  ['accounts', '/accounts'],
  ['proxy', '/proxy'],
  ['monitor', '/monitor'],
  ['stats', '/stats'],
  ['keys', '/keys'],
  ['ip-rules', '/ip-rules'],
  ['settings', '/settings'],
];
// browser locale -> UI language it must start in, and its direction; AIGATE_I18N_RUNS (e.g.
// "ru-RU:ru:ltr,zh-CN:zh:ltr") runs other languages the same way
const RUNS = (process.env.AIGATE_I18N_RUNS || 'de-DE:de:ltr,ja-JP:ja:ltr,ar-EG:ar:rtl').split(',').map((r) => r.split(':'));
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

/** English texts the language translates differently, as whole-text patterns ({x} matches anything). */
function englishOf(l) {
  const tb = table(l);
  const own = new Set(Object.values(tb));
  const out = [];
  for (const [k, v] of Object.entries(EN)) {
    // the same word in this language (brand names, units; "Client" is German too)
    if (tb[k] === v || own.has(v)) continue;
    const re = v.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+');
    out.push({ key: k, text: v, re: `^${re}$` });
  }
  return out;
}

/** A page of the UI in a browser whose language is locale, signed in; records console errors. */
async function open(locale, { width = 390, height = 844 } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, locale, colorScheme: 'light' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.url);
  await page.locator('#login-pw').fill(KEY);
  await page.locator('button[type=submit]').click();
  await page.locator('.shell').waitFor();
  return { ctx, page, errors };
}

async function goto(page, path, heading) {
  await page.goto(`${env.url}${path}`);
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  await page.waitForLoadState('networkidle').catch(() => {});
}

/** Visible texts, and aria-label / placeholder / title values, that are English texts of keys. */
function untranslated(page, patterns) {
  return page.evaluate((pats) => {
    const res = pats.map((p) => ({ ...p, rx: new RegExp(p.re, 's') }));
    const hit = (s) => {
      const v = s.replace(/\s+/g, ' ').trim();
      if (!v) return null;
      const p = res.find((x) => x.rx.test(v));
      return p ? `${p.key}: "${v}"` : null;
    };
    const found = [];
    const skip = (el) => el.closest('code, pre, .mono, script, style, option[lang]');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || skip(el) || !el.getClientRects().length) continue;
      const h = hit(n.textContent || '');
      if (h) found.push(h);
    }
    // whole elements too: a text split over several nodes
    for (const el of document.body.querySelectorAll('h1, h2, h3, label, button, a, th, legend, p, li, span, div')) {
      if (skip(el) || !el.getClientRects().length || el.children.length > 3) continue;
      const h = hit(el.textContent || '');
      if (h && !found.includes(h)) found.push(h);
    }
    for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (skip(el)) continue;
      for (const a of ['aria-label', 'placeholder', 'title']) {
        const v = el.getAttribute(a);
        const h = v && hit(v);
        if (h) found.push(`[${a}] ${h}`);
      }
    }
    const ht = hit(document.title.replace(/ · aigate$/, ''));
    if (ht) found.push(`<title> ${ht}`);
    return [...new Set(found)];
  }, patterns.map(({ key, re }) => ({ key, re })));
}

describe('admin UI in three languages in Chromium', { timeout: 300000 }, () => {
  before(async () => {
    env = await new Env().start({ mockAccounts: ACCOUNTS, accounts: ['rt-mock', 'rt-long'], env: { AIGATE_API_KEY: KEY } });
    for (let i = 0; i < 3; i++) chat();
    await env.fault({ status: 429, model: 'gemini-2.5-flash', retry_delay: '600s', permanent: true });
    for (let i = 0; i < 3; i++) chat();
    await env.clearFaults();
    chat('no-such-model-xyz');
    const r = await fetch(`${env.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'team-a', rpm: 60, daily_tokens: 100000, models: 'gemini-*' }) });
    assert.equal(r.status, 201, await r.text());
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    const codes = await env?.stop();
    assert.deepEqual(codes, [0, 0], env?.gwLog);
  });

  for (const [locale, l, dir] of RUNS) {
    test(`${l}: chosen from the browser (${locale}); every page translated, ${dir}, no error, not wider than 390 px`, async () => {
      const tb = table(l);
      const s = await open(locale);
      const { page } = s;
      // first start: the browser's language, not yet saved as a choice
      assert.equal(await page.evaluate(() => document.documentElement.lang), l === 'zh' ? 'zh-CN' : l);
      assert.equal(await page.evaluate(() => document.documentElement.dir), dir);
      assert.equal(await page.evaluate(() => localStorage.getItem('aigate.lang')), null);
      const patterns = englishOf(l);
      const wide = [];
      const english = [];
      for (const [name, path] of PAGES) {
        await goto(page, path, tb[`nav.${name}`]);
        const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
        if (w.scroll > w.inner) wide.push(`${name}: ${w.scroll}px`);
        for (const u of await untranslated(page, patterns)) english.push(`${name}: ${u}`);
      }
      // the menu, the drawer of a request and a dialog are part of the pages too
      await goto(page, '/monitor', tb['nav.monitor']);
      await page.locator('tbody tr').first().click();
      await page.locator('.drawer').waitFor();
      for (const u of await untranslated(page, patterns)) english.push(`monitor drawer: ${u}`);
      await page.keyboard.press('Escape');
      await goto(page, '/accounts', tb['nav.accounts']);
      await page.getByRole('button', { name: tb['accounts.add'], exact: true }).first().click();
      await page.getByRole('dialog').waitFor();
      for (const u of await untranslated(page, patterns)) english.push(`add account dialog: ${u}`);
      await page.keyboard.press('Escape');
      await page.locator('.menu-btn').click();
      for (const u of await untranslated(page, patterns)) english.push(`menu: ${u}`);
      assert.deepEqual(wide, [], 'pages wider than 390 px');
      assert.deepEqual(english, [], 'English texts on a translated page');
      if (dir === 'rtl') {
        // right to left for real: a heading starts at the right edge of its box, the desktop
        // navigation sits on the right of the content
        await page.setViewportSize({ width: 1280, height: 860 });
        await goto(page, '/', tb['nav.dashboard']);
        const geo = await page.evaluate(() => {
          const nav = document.querySelector('.sidenav').getBoundingClientRect();
          const main = document.querySelector('#main').getBoundingClientRect();
          return { navLeft: nav.left, mainLeft: main.left, align: getComputedStyle(document.querySelector('h1')).direction };
        });
        assert.equal(geo.align, 'rtl');
        assert.ok(geo.navLeft > geo.mainLeft, `navigation on the right (nav at ${geo.navLeft}px, content at ${geo.mainLeft}px)`);
      }
      assert.deepEqual(s.errors, []);
      await s.ctx.close();
    });
  }

  test('a language chosen in the picker is saved and wins over the browser after a reload', async () => {
    const s = await open('ja-JP', { width: 1280, height: 860 });
    const { page } = s;
    const names = await page.locator('#lang-pick option').allTextContents();
    const files = readdirSync(LOCALES).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    assert.equal(names.length, files.length, 'every language in the picker');
    for (const n of ['English', '简体中文', '繁體中文', 'Русский', '日本語', '한국어', 'Español', 'Português (Brasil)', 'Deutsch', 'Français', 'Türkçe', 'Tiếng Việt', 'العربية']) assert.ok(names.includes(n), `${n} in the picker`);
    await page.locator('#lang-pick').selectOption('zh-TW');
    const tw = table('zh-TW');
    await page.getByRole('heading', { level: 1, name: tw['nav.dashboard'], exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-TW');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: tw['nav.dashboard'], exact: true }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('aigate.lang')), 'zh-TW');
    // and back to left to right after Arabic
    await page.locator('#lang-pick').selectOption('ar');
    await page.waitForFunction(() => document.documentElement.dir === 'rtl');
    await page.locator('#lang-pick').selectOption('en');
    await page.waitForFunction(() => document.documentElement.dir === 'ltr');
    await page.getByRole('heading', { level: 1, name: 'Dashboard', exact: true }).waitFor();
    assert.deepEqual(s.errors, []);
    await s.ctx.close();
  });
});
