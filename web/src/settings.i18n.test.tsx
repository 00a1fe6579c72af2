// The Settings page in German against a fake admin API: the gateway's phrases for allowed values
// ("an integer from 1 to 300", from the config schema, in English) are shown in the UI's language
// under each field of the gateway settings form.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setLang } from './i18n';
import { allowedText, Settings } from './pages/settings';

let root: HTMLElement | null = null;

afterEach(async () => {
  if (root) {
    render(null, root);
    root.remove();
    root = null;
  }
  vi.restoreAllMocks();
  await setLang('en');
  localStorage.removeItem('aigate.lang');
});

describe('allowed values in the UI language', () => {
  it('translates each shape the config schema writes, and leaves others as they are', async () => {
    await setLang('de');
    expect(allowedText('an integer from 1 to 300')).toBe('eine ganze Zahl von 1 bis 300');
    expect(allowedText('an integer of at least 16')).toBe('eine ganze Zahl, mindestens 16');
    expect(allowedText('one of debug, info, warn')).toBe('einer von: debug, info, warn');
    expect(allowedText('true or false')).toBe('an oder aus');
    expect(allowedText('an array of strings')).toBe('eine Liste von Texten');
    expect(allowedText('http(s)/socks5 URL or empty')).toBe('http(s)/socks5 URL or empty');
    await setLang('ar');
    expect(allowedText('an integer from 1 to 300')).toBe('عدد صحيح من 1 إلى 300');
  });

  it('shows them under the fields of the gateway settings form', async () => {
    await setLang('de');
    const key = (name: string, allowed: string) => ({ name, allowed, secret: false, restart: false, env: null, help: '' });
    const answer = {
      config: { log: { level: 'info', max_disk_mb: 1024 }, monitor: { capture_bodies: false, retention_days: 30 }, quota: { refresh_interval_s: 600 }, upstream: { proxy_url: '', connect_timeout_s: 10, first_byte_timeout_s: 60, idle_timeout_s: 60, total_timeout_s: 600 }, warmup: { enabled: false, times: [] } },
      keys: [key('quota.refresh_interval_s', 'an integer from 60 to 86400'), key('upstream.proxy_url', 'a string'), key('upstream.connect_timeout_s', 'an integer from 1 to 300'), key('upstream.first_byte_timeout_s', 'an integer from 1 to 3600'), key('upstream.idle_timeout_s', 'an integer from 1 to 3600'), key('upstream.total_timeout_s', 'an integer from 1 to 86400'), key('monitor.retention_days', 'an integer from 1 to 3650'), key('log.max_disk_mb', 'an integer of at least 16'), key('warmup.enabled', 'true or false'), key('warmup.times', 'an array of strings')],
    };
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: any) => {
      const path = new URL(String(input), 'http://aigate.test').pathname;
      const body = path === '/api/config' ? answer : path === '/healthz' ? { status: 'ok', version: '0.1.0' } : { error: { type: 'not_found', message: path } };
      return new Response(JSON.stringify(body), { status: body === answer || path === '/healthz' ? 200 : 404 });
    });
    root = document.createElement('div');
    document.body.appendChild(root);
    act(() => render(<Settings />, root!));
    let help: Element | null = null;
    for (let i = 0; i < 100 && !help; i++) {
      await act(async () => {
        await new Promise((r) => setTimeout(r, 10));
      });
      help = root.querySelector('#set-upstream-connect-timeout-s-help');
    }
    expect(help?.textContent).toContain('eine ganze Zahl von 1 bis 300');
    expect(root.querySelector('#set-log-max-disk-mb-help')?.textContent).toContain('eine ganze Zahl, mindestens 16');
    expect(root.querySelector('form')?.textContent).not.toContain('an integer');
  });
});
