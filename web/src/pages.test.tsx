// Page tests in happy-dom against a fake admin API (fetch and EventSource replaced): unsaved
// edits on the API Proxy page survive saving another card and leaving asks first; a gateway
// that cannot be reached gives one translated banner and the same word in the header and on the
// Dashboard; a session that stops being accepted says so on the login page; the Accounts page
// has an empty state for a search that matches nothing, shows the age of the last error and says
// "already present" for a known account; the Monitor keeps what arrived while paused and gives
// the focus back to the row after closing its drawer.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { offline, session, sessionExpired, setToken } from './api';
import { App } from './app';
import { confirmReq, ConfirmHost, Toasts, toasts } from './components/ui';
import { hasUnsaved } from './dirty';
import { setLang } from './i18n';
import { Accounts } from './pages/accounts';
import { Monitor } from './pages/monitor';
import { Proxy } from './pages/proxy';
import { Settings } from './pages/settings';
import { navigate, route } from './router';
import { gatewayStatus } from './status';

type Handler = (body: any, url: URL) => unknown;
let routes: Record<string, Handler>;
let root: HTMLElement;

function mount(vnode: any) {
  root = document.createElement('div');
  document.body.appendChild(root);
  act(() => render(vnode, root));
  return root;
}

async function tick(ms = 10) {
  await act(async () => {
    await new Promise((r) => setTimeout(r, ms));
  });
}

/** Waits (bounded) until fn returns something truthy. */
async function until<T>(fn: () => T | null | undefined | false, what: string, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = fn();
    if (v) return v as T;
    await tick();
  }
  throw new Error(`never happened: ${what}`);
}

function fakeFetch() {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: any, init?: RequestInit) => {
    const url = new URL(String(input), 'http://aigate.test');
    const key = `${init?.method || 'GET'} ${url.pathname}`;
    const h = routes[key];
    if (!h) return new Response(JSON.stringify({ error: { type: 'not_found', message: `no ${key}` } }), { status: 404 });
    const out = h(init?.body ? JSON.parse(String(init.body)) : undefined, url);
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200 });
  });
}

function input(el: Element, value: string, ev = 'input') {
  (el as HTMLInputElement).value = value;
  el.dispatchEvent(new Event(ev, { bubbles: true }));
}

function button(el: HTMLElement, text: string): HTMLButtonElement | undefined {
  return [...el.querySelectorAll('button')].find((b) => b.textContent?.trim() === text);
}

beforeEach(() => {
  setLang('en');
  routes = {};
  toasts.value = [];
  confirmReq.value = null;
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  setToken(null);
  sessionExpired.value = false;
  offline.value = false;
  gatewayStatus.value = null;
});

const ACCT = {
  id: 'id-1',
  email: 'mock@example.com',
  name: null,
  label: null,
  tier: 'pro',
  current: false,
  disabled: false,
  disabled_reason: null,
  forbidden: false,
  forbidden_reason: null,
  forbidden_until: 0,
  validation_url: null,
  proxy_url: null,
  quota: {},
  quota_updated_at: 0,
  created_at: 0,
  last_used_at: 0,
  runtime: {},
};

describe('API Proxy page: unsaved edits', () => {
  it('keeps the scheduling edits when the mapping is saved, and leaving asks first', async () => {
    const cfg = { server: { port: 8045, allow_lan_access: false }, auth: { mode: 'auto' }, scheduling: { mode: 'balance', max_wait_s: 60, max_attempts: 3, fixed_account: '' }, quota: { protection_threshold: 0 }, mapping: { custom: {} as Record<string, string>, background_model: '' } };
    routes = {
      'GET /api/config': () => ({ config: structuredClone(cfg), keys: [] }),
      'PUT /api/config': (b) => {
        if (b['mapping.custom']) cfg.mapping.custom = b['mapping.custom'];
        return { changed: Object.keys(b), restart_required: [], overridden_by_environment: [] };
      },
      'GET /api/proxy/status': () => ({ running: true, base_url: 'http://127.0.0.1:8045', accounts: 1, usable_accounts: 1 }),
      'GET /api/accounts': () => ({ accounts: [ACCT] }),
      'GET /api/mapping': () => ({ builtin: [] }),
    };
    const f = fakeFetch();
    navigate('proxy');
    const el = mount(
      <div>
        <Proxy />
        <ConfirmHost />
        <Toasts />
      </div>,
    );
    const mode = await until(() => el.querySelector<HTMLSelectElement>('#sc-mode'), 'scheduling card');
    await act(async () => {
      input(mode, 'performance_first', 'change');
      input(el.querySelector('#sc-att')!, '5');
    });
    expect(hasUnsaved()).toBe(true);
    await act(async () => button(el, 'Add rule')!.click());
    await act(async () => input(el.querySelector('[aria-label="Requested model, rule 1"]')!, 'gpt-4*'));
    await act(async () => input(el.querySelector('[aria-label="Upstream model, rule 1"]')!, 'gemini-2.5-flash'));
    const mapSave = [...el.querySelectorAll('section')].find((s) => s.querySelector('h2')?.textContent === 'Model mapping')!.querySelector<HTMLButtonElement>('.btn-primary')!;
    await act(async () => mapSave.click());
    await until(() => f.mock.calls.filter(([u]) => String(u) === '/api/config').length >= 2, 'config reloaded after the save');
    await tick(50);
    expect(cfg.mapping.custom).toEqual({ 'gpt-4*': 'gemini-2.5-flash' });
    // the other card still holds its edits
    expect(el.querySelector<HTMLSelectElement>('#sc-mode')!.value).toBe('performance_first');
    expect(el.querySelector<HTMLInputElement>('#sc-att')!.value).toBe('5');
    // leaving asks; staying keeps the page and the edits
    await act(async () => navigate('monitor'));
    expect(route.value).toBe('proxy');
    expect(el.querySelector('dialog h2')?.textContent).toBe('Leave without saving?');
    await act(async () => button(el.querySelector('dialog')!, 'Stay')!.click());
    expect(route.value).toBe('proxy');
    expect(el.querySelector<HTMLInputElement>('#sc-att')!.value).toBe('5');
    // the browser's own question on reload or close
    const ev = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(ev);
    expect(ev.defaultPrevented).toBe(true);
    // leaving for good
    await act(async () => navigate('monitor'));
    await act(async () => button(el.querySelector('dialog')!, 'Leave')!.click());
    expect(route.value).toBe('monitor');
  });
});

describe('gateway status', () => {
  it('is new everywhere right after a stop, without waiting for the next poll', async () => {
    let running = true;
    routes = {
      'GET /api/config': () => ({ config: { server: { port: 8045, allow_lan_access: false }, auth: { mode: 'auto' }, scheduling: { mode: 'balance', max_wait_s: 60, max_attempts: 3 }, quota: { protection_threshold: 0 }, mapping: { custom: {} } }, keys: [] }),
      'GET /api/proxy/status': () => ({ running, base_url: 'http://127.0.0.1:8045', accounts: 0, usable_accounts: 0 }),
      'POST /api/proxy/stop': () => {
        running = false;
        return { ok: true };
      },
      'GET /api/accounts': () => ({ accounts: [] }),
      'GET /api/mapping': () => ({ builtin: [] }),
    };
    fakeFetch();
    const stop = (await import('./status')).pollStatus();
    const el = mount(<Proxy />);
    const btn = await until(() => button(el, 'Stop'), 'Stop button');
    expect(gatewayStatus.value?.running).toBe(true);
    await act(async () => btn.click());
    await until(() => gatewayStatus.value?.running === false, 'status refreshed after the stop', 20);
    expect(button(el, 'Start')).toBeDefined();
    stop();
  });
});

describe('shell: gateway out of reach, session ended', () => {
  it('shows one translated banner, and header and Dashboard agree', async () => {
    setToken('ags_' + 'a'.repeat(48), Date.now() + 3600_000);
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Failed to fetch'));
    vi.stubGlobal('EventSource', class { close() {} addEventListener() {} });
    navigate('dashboard');
    const el = mount(<App />);
    await until(() => el.querySelector('.conn-banner'), 'banner');
    await tick(50);
    const banners = [...el.querySelectorAll('[role=alert]')];
    expect(banners.length).toBe(1);
    expect(banners[0].textContent).toContain("Can't reach aigate — retrying");
    expect(el.textContent).not.toContain('Failed to fetch');
    expect(el.querySelector('.status-text')?.textContent).toBe('Unreachable');
    const card = [...el.querySelectorAll('.stat')].find((s) => s.querySelector('.stat-label')?.textContent === 'Gateway');
    expect(card?.querySelector('.stat-value')?.textContent).toBe('Unreachable');
  });

  it('says the session expired when the gateway stops accepting it', async () => {
    setToken('ags_' + 'b'.repeat(48), Date.now() + 3600_000);
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(JSON.stringify({ error: { type: 'authentication_error', message: 'admin secret or session token required' } }), { status: 401 }));
    vi.stubGlobal('EventSource', class { close() {} addEventListener() {} });
    const el = mount(<App />);
    await until(() => session.value === null && el.querySelector('#login-pw'), 'login page');
    expect(el.textContent).toContain('Your session has expired');
  });
});

describe('Accounts page', () => {
  it('has an empty state for a search without matches, ages the last error, and tells a known account apart', async () => {
    const now = Date.now();
    routes = {
      'GET /api/accounts': () => ({ accounts: [{ ...ACCT, runtime: { last_error: 'HTTP 503 for claude: overloaded', last_error_ms: now - 5 * 60_000 } }], fixed_account: '' }),
      'POST /api/accounts': () => ({ id: 'id-1', email: 'mock@example.com', created: false, tier: 'pro', models: 3 }),
    };
    fakeFetch();
    const el = mount(
      <div>
        <Accounts />
        <Toasts />
      </div>,
    );
    const err = await until(() => el.querySelector('.acct-err'), 'account card');
    expect(err.textContent).toContain('overloaded');
    expect(err.querySelector('time')?.textContent).toMatch(/^5m 0\ds ago$/);
    await act(async () => input(el.querySelector('#acc-q')!, 'nobody@nowhere'));
    expect(el.textContent).toContain('No account matches the search or tier filter.');
    await act(async () => button(el, 'Clear filters')!.click());
    expect(el.querySelector('article')).not.toBeNull();

    await act(async () => button(el, 'Add account')!.click());
    const dlg = el.querySelector('dialog')!;
    await act(async () => input(dlg.querySelector('#add-rt')!, 'rt-again'));
    await act(async () => {
      (dlg.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => dlg.querySelector('.result-list'), 'add result');
    expect(dlg.querySelector('.result-list')!.textContent).toContain('already present, updated');
    expect(el.querySelector('[role=status]')?.textContent).toContain('1 already present, updated');
    expect(el.querySelector('[role=status]')?.textContent).not.toContain('added');
  });
});

describe('Settings: gateway settings', () => {
  it('sends only what changed, typed, and shows the refusal of the gateway at its field', async () => {
    const puts: Record<string, unknown>[] = [];
    const key = (name: string, allowed: string) => ({ name, allowed, secret: false, restart: false, env: null, help: '' });
    routes = {
      'GET /api/config': () => ({
        config: { log: { level: 'info', max_disk_mb: 1024 }, monitor: { capture_bodies: false, retention_days: 30 }, quota: { refresh_interval_s: 600 }, upstream: { proxy_url: '', connect_timeout_s: 10, first_byte_timeout_s: 60, idle_timeout_s: 60, total_timeout_s: 600 }, warmup: { enabled: false, times: [] } },
        keys: [key('quota.refresh_interval_s', '60..86400'), key('upstream.proxy_url', 'http(s)/socks5 URL or empty'), key('upstream.connect_timeout_s', '1..300'), key('upstream.first_byte_timeout_s', '1..3600'), key('upstream.idle_timeout_s', '1..3600'), key('upstream.total_timeout_s', '1..86400'), key('monitor.retention_days', '1..3650'), key('log.max_disk_mb', '16..1048576'), key('warmup.enabled', 'true/false'), key('warmup.times', 'HH:MM list')],
      }),
      'GET /healthz': () => ({ status: 'ok', version: '0.1.0' }),
      'PUT /api/config': (b) => {
        puts.push(b);
        if ('upstream.proxy_url' in b) return new Response(JSON.stringify({ error: { type: 'invalid_request_error', message: 'upstream.proxy_url: not a URL', field: 'upstream.proxy_url' } }), { status: 400 });
        return { changed: Object.keys(b), restart_required: [], overridden_by_environment: [] };
      },
    };
    fakeFetch();
    const el = mount(<Settings />);
    const conn = await until(() => el.querySelector<HTMLInputElement>('#set-upstream-connect-timeout-s'), 'gateway settings form');
    expect(conn.value).toBe('10');
    const form = conn.closest('form')!;
    await act(async () => input(conn, 'ten'));
    await act(async () => {
      form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    expect(puts.length).toBe(0); // checked here first
    expect(form.textContent).toContain('A whole number is needed.');
    await act(async () => input(conn, '15'));
    await act(async () => input(el.querySelector('#set-warmup-times')!, '07:30\n13:00'));
    await act(async () => {
      form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => puts.length === 1, 'saved');
    await until(() => el.querySelector<HTMLInputElement>('#set-warmup-times')!.value === '', 'the form back to the saved config');
    expect(puts[0]).toEqual({ 'upstream.connect_timeout_s': 15, 'warmup.times': ['07:30', '13:00'] });
    await act(async () => input(el.querySelector('#set-upstream-proxy-url')!, 'not a url'));
    await act(async () => {
      form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => form.querySelector('[role=alert]'), 'the refusal');
    expect(puts[1]).toEqual({ 'upstream.proxy_url': 'not a url' });
    const field = el.querySelector('#set-upstream-proxy-url')!.closest('.field')!;
    expect(field.querySelector('[role=alert]')?.textContent).toBe('upstream.proxy_url: not a URL');
  });
});

describe('loading states', () => {
  it('say so while the first answer is on its way', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(() => new Promise(() => {}));
    vi.stubGlobal('EventSource', class { close() {} addEventListener() {} });
    const el = mount(
      <div>
        <Accounts />
        <Monitor />
      </div>,
    );
    await tick(300); // past the Monitor's filter debounce
    expect([...el.querySelectorAll('.empty')].map((e) => e.textContent)).toEqual(['Loading…', 'Loading…']);
    expect(el.textContent).not.toContain('No requests yet');
  });
});

describe('Accounts page: limits', () => {
  it('clears the cooldowns of one account', async () => {
    const cooling = { ...ACCT, runtime: { cooldowns: [{ group: 'claude', until_ms: Date.now() + 600_000, strikes: 1, probing: false }] } };
    let cleared: unknown = null;
    routes = {
      'GET /api/accounts': () => ({ accounts: [cleared ? ACCT : cooling], fixed_account: '' }),
      'POST /api/proxy/cooldowns/clear': (b) => {
        cleared = b;
        return { ok: true };
      },
    };
    fakeFetch();
    const el = mount(<Accounts />);
    const btn = await until(() => button(el, 'Clear limits'), 'clear button on the cooling account');
    expect(el.querySelector('.badge-warn')?.textContent).toContain('claude');
    await act(async () => btn.click());
    await until(() => cleared, 'the clear request');
    expect(cleared).toEqual({ account_id: 'id-1' });
    await until(() => !button(el, 'Clear limits'), 'cooldown gone after the reload');
  });
});

describe('Monitor page', () => {
  const row = (id: number) => ({ id, ts_ms: Date.now(), method: 'POST', path: '/v1/chat/completions', protocol: 'openai-chat', model: `model-${id}`, served_model: null, account: 'a@x', status: 200, error_class: null, error_message: null, attempts: 1, ttfb_ms: 5, total_ms: 10, input_tokens: 1, output_tokens: 2, cached_tokens: 0, reasoning_tokens: 0, client_ip: '127.0.0.1', user_agent: 'curl', stream: false });
  let sources: { listeners: Record<string, (e: MessageEvent) => void>; onopen?: () => void }[];

  beforeEach(() => {
    sources = [];
    vi.stubGlobal(
      'EventSource',
      class {
        listeners: Record<string, (e: MessageEvent) => void> = {};
        onopen?: () => void;
        onerror?: () => void;
        constructor() {
          sources.push(this);
        }
        addEventListener(name: string, fn: (e: MessageEvent) => void) {
          this.listeners[name] = fn;
        }
        close() {}
      },
    );
    routes = {
      'GET /api/monitor': () => ({ recorded: 1, capture_bodies: false }),
      'GET /api/logs': () => ({ items: [row(1)], total: 1 }),
      'GET /api/logs/1': () => row(1),
    };
    fakeFetch();
  });

  const send = (e: unknown) => act(async () => sources[0].listeners.request(new MessageEvent('request', { data: JSON.stringify(e) })));

  it('shows what arrived while paused after resuming', async () => {
    const el = mount(<Monitor />);
    await until(() => el.querySelector('tr[data-id="1"]'), 'stored row');
    await send(row(2));
    expect(el.querySelector('tr[data-id="2"]')).not.toBeNull();
    await act(async () => button(el, 'Pause')!.click());
    await send(row(3));
    await send(row(4));
    expect(el.querySelector('tr[data-id="3"]')).toBeNull(); // paused: the list holds still
    const resume = [...el.querySelectorAll('button')].find((b) => b.textContent?.includes('Resume'))!;
    await act(async () => resume.click());
    expect(el.querySelector('tr[data-id="3"]')).not.toBeNull();
    expect(el.querySelector('tr[data-id="4"]')).not.toBeNull();
    expect([...el.querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-id'))).toEqual(['4', '3', '2', '1']);
  });

  it('gives the focus back to the row after closing the drawer', async () => {
    const el = mount(<Monitor />);
    const tr = await until(() => el.querySelector<HTMLElement>('tr[data-id="1"]'), 'stored row');
    tr.focus();
    await act(async () => tr.click());
    const drawer = await until(() => el.querySelector<HTMLElement>('.drawer'), 'drawer');
    await until(() => drawer.textContent?.includes('POST /v1/chat/completions'), 'drawer content');
    await act(async () => drawer.querySelector<HTMLButtonElement>('button[aria-label="Close"]')!.click());
    await tick(20);
    expect(el.querySelector('.drawer')).toBeNull();
    expect(document.activeElement).toBe(el.querySelector('tr[data-id="1"]'));
  });
});
