// The API Proxy page's client set-up card in happy-dom against a fake admin API: each client's
// state comes from GET /api/clients; Preview posts the chosen client and model and shows the diff
// (added and removed lines marked) without applying; Apply posts and reloads the states; a file
// the gateway refuses (422) shows its message; Restore asks first, then posts.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from './api';
import { ConfirmHost, Toasts, toasts } from './components/ui';
import { setLang } from './i18n';
import { ClientSetup, clientState, type ClientState } from './pages/clients';

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

function st(name: string, title: string, over: Partial<ClientState> = {}): ClientState {
  return { name, title, configured: false, points_here: false, key_matches: false, url: '', path: `/home/u/${name}`, error: '', ...over };
}

const button = (text: string) => [...document.body.querySelectorAll('button')].find((b) => b.textContent?.trim() === text);
const rowText = (name: string) => root.querySelector(`tr[data-client="${name}"]`)?.textContent || '';

function show() {
  act(() =>
    render(
      <>
        <ClientSetup />
        <Toasts />
        <ConfirmHost />
      </>,
      root,
    ),
  );
}

const DIFF = '--- /home/u/.codex/config.toml\n+++ /home/u/.codex/config.toml\n@@ -1,2 +1,3 @@\n # mine\n-model = "a"\n+model = "gemini-3-flash"\n+model_provider = "aigate"\n';

describe('client set-up card', () => {
  it('names each state', () => {
    expect(clientState(st('a', 'A', { error: 'bad' })).key).toBe('clients.state_error');
    expect(clientState(st('a', 'A')).key).toBe('clients.state_none');
    expect(clientState(st('a', 'A', { configured: true, url: 'http://x' })).key).toBe('clients.state_elsewhere');
    expect(clientState(st('a', 'A', { configured: true, points_here: true })).key).toBe('clients.state_other_key');
    expect(clientState(st('a', 'A', { configured: true, points_here: true, key_matches: true })).key).toBe('clients.state_here');
  });

  it('shows the states, previews a change, applies it and restores', async () => {
    let applied = false;
    const status = () => ({
      base_url: 'http://127.0.0.1:8045',
      clients: [
        st('claude-code', 'Claude Code', { configured: true, points_here: true, key_matches: true, url: 'http://127.0.0.1:8045' }),
        st('codex', 'Codex CLI', applied ? { configured: true, points_here: true, key_matches: true } : {}),
        st('gemini-cli', 'Gemini CLI', { error: '/home/u/.gemini/settings.json has comments' }),
        st('opencode', 'OpenCode', { configured: true, url: 'http://elsewhere:1' }),
      ],
    });
    const plan = (changes: boolean) => ({ client: 'codex', title: 'Codex CLI', base_url: 'http://127.0.0.1:8045', changes, diff: DIFF, files: [] });
    routes = {
      'GET /api/clients': status,
      'POST /api/clients/codex/preview': () => plan(true),
      'POST /api/clients/codex/apply': () => {
        applied = true;
        return { ...plan(true), backup: '20261205T000000Z' };
      },
      'POST /api/clients/codex/restore': () => ({ client: 'codex', report: 'restored' }),
      'POST /api/clients/gemini-cli/preview': () =>
        new Response(JSON.stringify({ error: { type: 'unparseable_config', message: '/home/u/.gemini/settings.json has comments or trailing commas; it was left untouched' } }), { status: 422 }),
    };
    show();
    await until(() => rowText('opencode'), 'the states');
    expect(rowText('claude-code')).toContain('Points here');
    expect(rowText('codex')).toContain('Not set up');
    expect(rowText('gemini-cli')).toContain('Unreadable');
    expect(rowText('gemini-cli')).toContain('has comments');
    expect(rowText('opencode')).toContain('Points elsewhere');

    const select = root.querySelector<HTMLSelectElement>('#clients-name')!;
    const model = root.querySelector<HTMLInputElement>('#clients-model')!;
    act(() => {
      select.value = 'codex';
      select.dispatchEvent(new Event('change', { bubbles: true }));
      model.value = ' gemini-3-flash ';
      model.dispatchEvent(new Event('input', { bubbles: true }));
    });
    act(() => button('Preview change')!.click());
    const pre = await until(() => root.querySelector('pre.diff'), 'the diff');
    expect(calls.find((c) => c.key === 'POST /api/clients/codex/preview')!.body).toEqual({ model: 'gemini-3-flash' });
    expect(calls.some((c) => c.key === 'POST /api/clients/codex/apply')).toBe(false);
    expect([...pre.querySelectorAll('.diff-add')].map((e) => e.textContent?.trim())).toEqual(['+model = "gemini-3-flash"', '+model_provider = "aigate"']);
    expect([...pre.querySelectorAll('.diff-del')].map((e) => e.textContent?.trim())).toEqual(['-model = "a"']);

    act(() => button('Apply')!.click());
    await until(() => calls.find((c) => c.key === 'POST /api/clients/codex/apply'), 'applied');
    await until(() => rowText('codex').includes('Points here'), 'the states reloaded');
    expect(toasts.value.map((t) => t.text)).toContain('Codex CLI now uses this gateway.');

    act(() => button('Restore backup')!.click());
    await until(() => document.body.textContent?.includes('Put back the files of Codex CLI from the newest backup?'), 'asked first');
    expect(calls.some((c) => c.key === 'POST /api/clients/codex/restore')).toBe(false);
    const confirmBtn = [...document.body.querySelectorAll('dialog button')].find((b) => b.textContent?.trim() === 'Restore backup') as HTMLButtonElement;
    act(() => confirmBtn.click());
    await until(() => calls.find((c) => c.key === 'POST /api/clients/codex/restore'), 'restored');
    await until(() => toasts.value.some((t) => t.text === 'Backup restored.'), 'restore toast');

    // a file the gateway refuses: its message, no diff
    act(() => {
      select.value = 'gemini-cli';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    act(() => button('Preview change')!.click());
    await until(() => root.textContent?.includes('it was left untouched'), 'the refusal shown');
    expect(root.querySelector('pre.diff')).toBeNull();
  });
});
