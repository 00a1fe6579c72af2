// web/tests/screenshots.mjs: screenshots of every page at desktop (1280 px) and narrow (390 px)
// widths, light and dark, into docs/screenshots/, against a real gateway and the mock upstream
// with one account and a few requests. Run with AIGATE_BIN and AIGATE_MOCK_BIN set (npm run
// screenshots from web/, after the build).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Env } from '../../tests/e2e/lib.mjs';
import { launch, login } from './browser.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const KEY = 'sk-screenshots-0123456789';
const PAGES = ['dashboard', 'accounts', 'proxy', 'monitor', 'stats', 'settings'];

mkdirSync(OUT, { recursive: true });
const env = await new Env().start({ accounts: ['rt-mock'], env: { AIGATE_API_KEY: KEY } });
const browser = await launch();
try {
  const send = (model) =>
    execFileSync('curl', ['-s', '-m', '10', `${env.url}/v1/chat/completions`, '-H', 'content-type: application/json', '-d', JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] })]);
  for (const m of ['gemini-2.5-flash', 'gemini-2.5-flash', 'claude-sonnet-4-5', 'gemini-2.5-pro', 'no-such-model']) send(m);
  for (const [w, h, name] of [
    [1280, 860, 'desktop'],
    [390, 844, 'narrow'],
  ]) {
    for (const scheme of ['light', 'dark']) {
      const { ctx, page } = await login(browser, env.url, KEY, { width: w, height: h, colorScheme: scheme });
      for (const p of PAGES) {
        if (scheme === 'dark' && !['dashboard', 'accounts'].includes(p)) continue;
        await page.goto(`${env.url}/${p === 'dashboard' ? '' : p}`);
        await page.waitForLoadState('networkidle').catch(() => {});
        await page.waitForTimeout(600);
        const file = path.join(OUT, `${p}-${name}${scheme === 'dark' ? '-dark' : ''}.png`);
        await page.screenshot({ path: file, fullPage: name === 'desktop' });
        console.log(file);
      }
      await ctx.close();
    }
  }
  // The add-account dialog and the monitor's detail drawer.
  const { ctx, page } = await login(browser, env.url, KEY);
  await page.goto(`${env.url}/accounts`);
  await page.getByRole('button', { name: 'Add account' }).first().click();
  await page.getByRole('tab', { name: 'Refresh token' }).click();
  await page.screenshot({ path: path.join(OUT, 'accounts-add-desktop.png') });
  await page.goto(`${env.url}/monitor`);
  await page.locator('tbody tr').first().click();
  await page.getByRole('dialog').getByText('POST /v1/chat/completions').waitFor();
  await page.screenshot({ path: path.join(OUT, 'monitor-detail-desktop.png') });
  await ctx.close();
} finally {
  await browser.close();
  await env.stop();
}
