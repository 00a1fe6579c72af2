// The User Keys page in happy-dom against a fake admin API: keys are listed with their state,
// limits and usage against their budgets; creating one sends only the filled fields (numbers as
// numbers) and shows the secret once; rotate shows the new secret; disable calls its route; a
// field the gateway refuses comes back as its message.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from './api';
import { ConfirmHost, Toasts, toasts } from './components/ui';
import { setLang } from './i18n';
import { KeysPage, createBody, type UserKey } from './pages/keys';
import { keyRows } from './pages/stats';

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

function key(name: string, over: Partial<UserKey> = {}): UserKey {
  return {
    name,
    state: 'active',
    models: '',
    ips: '',
    note: '',
    expires_at: 0,
    expired: false,
    rpm: 0,
    tpm: 0,
    daily_tokens: 0,
    monthly_tokens: 0,
    max_concurrency: 0,
    created_at: 1760000000,
    last_used_at: 0,
    usage: { today: { requests: 0, tokens: 0 }, month: { requests: 0, tokens: 0 } },
    ...over,
  };
}

function show() {
  act(() =>
    render(
      <>
        <KeysPage />
        <Toasts />
        <ConfirmHost />
      </>,
      root,
    ),
  );
}

const button = (text: string) => [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === text);

describe('User Keys page', () => {
  it('the create body keeps only filled fields, numbers as numbers', () => {
    expect(createBody(' alice ', { rpm: '30', models: ' gemini-* ', note: '', expires: '30d' })).toEqual({ name: 'alice', rpm: 30, models: 'gemini-*', expires: '30d' });
  });

  it('lists keys with usage against budgets; creates one and shows its secret once', async () => {
    let keys = [
      key('alice', { models: 'gemini-*', rpm: 30, daily_tokens: 1000, usage: { today: { requests: 3, tokens: 250 }, month: { requests: 9, tokens: 900 } }, live: { in_flight: 2, reserved_tokens: 10, requests: 9, refused: 1 } }),
      key('old', { state: 'revoked' }),
    ];
    routes = {
      'GET /api/keys': () => ({ keys: structuredClone(keys) }),
      'POST /api/keys': (b) => {
        keys = [...keys, key(b.name, { tpm: b.tpm })];
        return { key: key(b.name, { tpm: b.tpm }), secret: 'sk-0123456789abcdef0123456789abcdef' };
      },
      'POST /api/keys/alice/disable': () => ({ key: key('alice', { state: 'disabled' }) }),
      'POST /api/keys/alice/rotate': () => ({ key: key('alice'), secret: 'sk-ffffffffffffffffffffffffffffffff' }),
    };
    show();
    await until(() => root.textContent?.includes('250 / 1,000') || root.textContent?.includes('250 / 1000'), 'usage against the budget');
    expect(root.textContent).toContain('gemini-*');
    expect(root.textContent).toContain('30 rpm');
    expect(root.textContent).toContain('2 in flight');
    expect(root.textContent).toContain('revoked');
    /* a revoked key has no actions */
    expect(root.querySelector('button[aria-label="Revoke old"]')).toBeNull();

    const name = root.querySelector<HTMLInputElement>('#key-name')!;
    const tpm = root.querySelector<HTMLInputElement>('#key-tpm')!;
    act(() => {
      name.value = 'bob';
      name.dispatchEvent(new Event('input', { bubbles: true }));
      tpm.value = '5000';
      tpm.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await until(() => !button('Create key')?.disabled && button('Create key'), 'create enabled');
    act(() => {
      root.querySelector<HTMLFormElement>('#keys-create form, section form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    const post = await until(() => calls.find((c) => c.key === 'POST /api/keys'), 'key created');
    expect(post.body).toEqual({ name: 'bob', tpm: 5000 });
    await until(() => document.body.textContent?.includes('sk-0123456789abcdef0123456789abcdef'), 'secret shown');
    await until(() => root.textContent?.includes('bob'), 'new key listed');

    act(() => root.querySelector<HTMLButtonElement>('button[aria-label="Disable alice"]')!.click());
    await until(() => calls.find((c) => c.key === 'POST /api/keys/alice/disable'), 'disable called');
    act(() => root.querySelector<HTMLButtonElement>('button[aria-label="Rotate the secret of alice"]')!.click());
    await until(() => document.body.textContent?.includes('sk-ffffffffffffffffffffffffffffffff'), 'rotated secret shown');
  });

  it('Token Stats by user key reads /api/stats/keys as series rows', async () => {
    routes = {
      'GET /api/stats/keys': () => ({ from_s: 1760000000, to_s: 1760090000, bucket_s: 3600, items: [{ bucket_s: 1760003600, key: 'alice', requests: 3, input_tokens: 100, output_tokens: 20, tokens: 120, errors: 1 }] }),
    };
    const r = await keyRows({ hours: 24, tz_offset_min: 60 }, 'hour');
    expect(r.from_s).toBe(1760000000);
    expect(r.items).toEqual([{ period_s: 1760003600, key: 'alice', requests: 3, errors: 1, input_tokens: 100, output_tokens: 20, cached_tokens: 0, reasoning_tokens: 0, total_tokens: 120 }]);
    expect(calls[0].key).toBe('GET /api/stats/keys');
  });

  it('a refused field comes back as the gateway message', async () => {
    routes = {
      'GET /api/keys': () => ({ keys: [] }),
      'POST /api/keys': () => new Response(JSON.stringify({ error: { type: 'invalid_request', field: 'ips', message: 'ips: "nowhere" is not an IPv4 or IPv6 address or CIDR' } }), { status: 400 }),
    };
    show();
    await until(() => root.textContent?.includes('No user keys yet'), 'empty list');
    const name = root.querySelector<HTMLInputElement>('#key-name')!;
    const ips = root.querySelector<HTMLInputElement>('#key-ips')!;
    act(() => {
      name.value = 'carol';
      name.dispatchEvent(new Event('input', { bubbles: true }));
      ips.value = 'nowhere';
      ips.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await until(() => !button('Create key')?.disabled, 'create enabled');
    act(() => {
      root.querySelector<HTMLFormElement>('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await until(() => toasts.value.some((t) => t.kind === 'error' && t.text.includes('not an IPv4 or IPv6 address')), 'error toast');
  });
});
