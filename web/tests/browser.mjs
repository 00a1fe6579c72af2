// web/tests/browser.mjs: starts Debian's Chromium through playwright-core (no browser download)
// with the flags this machine's closed network needs, and logs in to the admin UI.
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.AIGATE_CHROMIUM || '/usr/bin/chromium';

export function haveChromium() {
  return existsSync(CHROMIUM);
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Opens the UI at url in a new page of browser and signs in with secret. */
export async function login(browser, url, secret, { width = 1280, height = 860, colorScheme = 'light' } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme, locale: 'en-US' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  await page.goto(url);
  await page.getByLabel('Password or API key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.shell').waitFor();
  return { ctx, page };
}
