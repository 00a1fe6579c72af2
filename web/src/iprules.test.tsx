// The IP Rules page in happy-dom against a fake admin API: the rules in force and the refused
// addresses are shown, saving sends the edited lists (one item per line, blanks dropped) as
// security.ip_allow / security.ip_deny, a bad block comes back as the gateway's own message, and
// the last webhook deliveries are listed with the test button calling POST /api/alerts/test.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from './api';
import { Toasts, toasts } from './components/ui';
import { setLang } from './i18n';
import { IpRulesPage, linesOf } from './pages/iprules';

type Handler = (body: any) => unknown;
let routes: Record<string, Handler>;
let calls: { key: string; body: any }[];
let root: HTMLElement;

async function tick(ms = 10) {
  await act(async () => {
    await new Promise((r) => setTimeout(r, ms));
  });
}

async function until<T>(fn: () => T | null | undefined | false, what: string, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = fn();
    if (v) return v as T;
    await tick();
  }
  throw new Error(`never happened: ${what}`);
}

beforeEach(() => {
  setLang('en');
  setToken('tok');
  toasts.value = [];
  calls = [];
  routes = {};
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: any, init?: RequestInit) => {
    const url = new URL(String(input), 'http://aigate.test');
    const key = `${init?.method || 'GET'} ${url.pathname}`;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ key, body });
    const h = routes[key];
    if (!h) return new Response(JSON.stringify({ error: { type: 'not_found', message: `no ${key}` } }), { status: 404 });
    const out = h(body);
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200 });
  });
  root = document.createElement('div');
  document.body.appendChild(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.restoreAllMocks();
  setToken(null);
});

const RULES = {
  allow: ['127.0.0.1', '::1'],
  deny: ['10.9.0.0/16'],
  refused_total: 7,
  refused: [{ address: '192.0.2.7', count: 5, first_ms: 1760000000000, last_ms: 1760000100000 }],
};
const ALERTS = {
  running: true,
  webhooks: [{ host: 'hooks.example.com', events: ['*'], signed: true }],
  stats: { emitted: 2, suppressed: 0, delivered: 1, failed: 1, dropped: 0, retries: 3, pending: 0 },
  deliveries: [
    { time_ms: 1760000200000, event: 'pool.all_limited', subject: 'claude', host: 'hooks.example.com', status: 500, attempts: 5, delivered: false, error: 'HTTP 500' },
    { time_ms: 1760000100000, event: 'account.disabled', subject: 'a@example.com', host: 'hooks.example.com', status: 200, attempts: 1, delivered: true, error: '' },
  ],
};

describe('IP Rules page', () => {
  it('lines of a text area become a list', () => {
    expect(linesOf(' 10.0.0.0/8 \n\n::1\n   \n')).toEqual(['10.0.0.0/8', '::1']);
    expect(linesOf('')).toEqual([]);
  });

  it('shows the rules, the refused addresses and the deliveries; saves the edited lists', async () => {
    routes = {
      'GET /api/security/ip': () => structuredClone(RULES),
      'GET /api/alerts': () => structuredClone(ALERTS),
      'PUT /api/config': (b) => ({ changed: Object.keys(b), restart_required: [], overridden_by_environment: [] }),
      'POST /api/alerts/test': () => ({ queued: 1 }),
    };
    act(() =>
      render(
        <>
          <IpRulesPage />
          <Toasts />
        </>,
        root,
      ),
    );
    const allow = await until(() => root.querySelector<HTMLTextAreaElement>('#ip-allow')?.value === '127.0.0.1\n::1' && root.querySelector<HTMLTextAreaElement>('#ip-allow'), 'allow list shown');
    expect(root.querySelector<HTMLTextAreaElement>('#ip-deny')!.value).toBe('10.9.0.0/16');
    await until(() => root.textContent?.includes('192.0.2.7'), 'refused address shown');
    expect(root.textContent).toContain('7 refused in all');
    await until(() => root.textContent?.includes('pool.all_limited'), 'deliveries shown');
    expect(root.textContent).toContain('a@example.com');
    expect(root.querySelectorAll('section[aria-labelledby="ip-alerts-h"] tbody tr.row-err').length).toBe(1);

    act(() => {
      allow.value = '127.0.0.1\n\n 192.168.1.0/24 \n';
      allow.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const save = [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Save')!;
    act(() => save.click());
    const put = await until(() => calls.find((c) => c.key === 'PUT /api/config'), 'config saved');
    expect(put.body).toEqual({ 'security.ip_allow': ['127.0.0.1', '192.168.1.0/24'], 'security.ip_deny': ['10.9.0.0/16'] });

    const test = [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Send a test alert')!;
    act(() => test.click());
    await until(() => calls.find((c) => c.key === 'POST /api/alerts/test'), 'test alert sent');
    await until(() => toasts.value.some((t) => t.text.includes('queued for 1')), 'test toast');
  });

  it('a bad block is answered with the gateway message', async () => {
    routes = {
      'GET /api/security/ip': () => ({ ...structuredClone(RULES), allow: [], deny: [] }),
      'GET /api/alerts': () => ({ ...structuredClone(ALERTS), webhooks: [], deliveries: [] }),
      'PUT /api/config': () =>
        new Response(JSON.stringify({ error: { type: 'invalid_request', field: 'security.ip_deny', message: 'security.ip_deny: item 0 ("10.0.0.0/33") is an IPv4 prefix length is at most 32' } }), { status: 400 }),
    };
    act(() =>
      render(
        <>
          <IpRulesPage />
          <Toasts />
        </>,
        root,
      ),
    );
    await until(() => root.textContent?.includes('No webhook is configured'), 'no webhook note');
    expect(root.textContent).toContain('No alert has been delivered yet.');
    const deny = root.querySelector<HTMLTextAreaElement>('#ip-deny')!;
    act(() => {
      deny.value = '10.0.0.0/33';
      deny.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const save = [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Save')!;
    await until(() => !save.disabled, 'save enabled');
    act(() => save.click());
    await until(() => toasts.value.some((t) => t.kind === 'error' && t.text.includes('IPv4 prefix length is at most 32')), 'error toast');
  });
});
