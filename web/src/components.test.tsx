// Component tests in happy-dom: quota bar semantics, the "missing route" note, the login form's
// wrong-password message, the keyboard behaviour of tabs, and the proxy page's clear-thinking button.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiMissing } from './api';
import { ErrorNote, QuotaBar, Tabs, Toasts } from './components/ui';
import { setLang } from './i18n';
import { Login } from './pages/login';
import { ProtocolCell } from './pages/monitor';
import { Proxy } from './pages/proxy';

let root: HTMLElement;
function mount(vnode: any) {
  root = document.createElement('div');
  document.body.appendChild(root);
  act(() => render(vnode, root));
  return root;
}
afterEach(() => {
  render(null, root);
  root.remove();
  vi.restoreAllMocks();
});

describe('QuotaBar', () => {
  it('is a meter with the percentage and the reset countdown', () => {
    setLang('en');
    const el = mount(<QuotaBar label="gemini-2.5-pro" remaining={0.15} resetMs={1_000_000 + 3_600_000} now={1_000_000} />);
    const m = el.querySelector('[role=meter]')!;
    expect(m.getAttribute('aria-valuenow')).toBe('15');
    expect(m.getAttribute('aria-label')).toBe('gemini-2.5-pro');
    expect(el.querySelector('.qbar-fill')!.className).toContain('qbar-low');
    expect(el.textContent).toContain('resets in 1h 00m');
  });
});

describe('ErrorNote', () => {
  it('names the missing route', () => {
    const el = mount(<ErrorNote error={new ApiMissing('GET /api/mapping')} />);
    expect(el.textContent).toContain('GET /api/mapping');
    expect(el.querySelector('[role=note]')).not.toBeNull();
  });
});

describe('Login', () => {
  it('shows "wrong password" on a 401 naming the password field', async () => {
    setLang('en');
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ error: { message: 'wrong password', type: 'authentication_error', field: 'password' } }), { status: 401 }));
    const el = mount(<Login />);
    const input = el.querySelector('input[type=password]') as HTMLInputElement;
    await act(async () => {
      input.value = 'nope';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(el.querySelector('[role=alert]')?.textContent).toContain('Wrong password or key');
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });
});

describe('Tabs', () => {
  it('moves with the arrow keys and marks the selected tab', () => {
    let v = 'a';
    const onChange = (x: string) => (v = x);
    const el = mount(<Tabs label="t" value="a" onChange={onChange} tabs={[{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }]} />);
    const tabs = el.querySelectorAll('[role=tab]');
    expect(tabs[0].getAttribute('aria-selected')).toBe('true');
    expect(tabs[1].getAttribute('tabindex')).toBe('-1');
    act(() => {
      tabs[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    });
    expect(v).toBe('b');
  });
  it('follows the reading direction: in Arabic the next tab is on the left', () => {
    const three = [{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }, { id: 'c', label: 'C' }];
    const seen: string[] = [];
    document.documentElement.dir = 'rtl';
    try {
      const el = mount(<Tabs label="t" value="a" onChange={(x: string) => seen.push(x)} tabs={three} />);
      const first = el.querySelector('[role=tab]')!;
      act(() => {
        first.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
        first.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
      });
      expect(seen).toEqual(['b', 'c']);
    } finally {
      document.documentElement.dir = 'ltr';
    }
  });
});

describe('ProtocolCell', () => {
  it('labels warm-up requests and shows other protocols as they are', () => {
    setLang('en');
    const el = mount(<ProtocolCell protocol="warmup" />);
    const badge = el.querySelector('.badge')!;
    expect(badge.textContent).toBe('warm-up');
    expect(badge.className).toContain('badge-info');
    render(null, root);
    root.remove();
    const plain = mount(<ProtocolCell protocol="openai-chat" />);
    expect(plain.querySelector('.badge')).toBeNull();
    expect(plain.textContent).toBe('openai-chat');
  });
});

describe('Proxy page', () => {
  it('clears the stored thinking and shows how many entries went', async () => {
    setLang('en');
    const answers: Record<string, unknown> = {
      '/api/config': { config: { server: { port: 8045, allow_lan_access: false }, auth: { mode: 'auto' }, scheduling: { mode: 'balance', max_wait_s: 60, max_attempts: 3 }, quota: { protection_threshold: 0 }, mapping: { custom: {} } }, keys: [] },
      '/api/proxy/status': { running: true, base_url: 'http://127.0.0.1:8045' },
      '/api/accounts': { accounts: [] },
      '/api/mapping': { builtin: [] },
      '/api/proxy/thinking/clear': { ok: true, cleared: 7 },
    };
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: any) => {
      const path = String(input).split('?')[0];
      return path in answers ? new Response(JSON.stringify(answers[path]), { status: 200 }) : new Response('', { status: 404 });
    });
    const el = mount(
      <div>
        <Proxy />
        <Toasts />
      </div>,
    );
    let btn: HTMLButtonElement | undefined;
    for (let i = 0; i < 50 && !btn; i++) {
      await act(async () => {
        await new Promise((r) => setTimeout(r, 10));
      });
      btn = [...el.querySelectorAll('button')].find((b) => b.textContent === 'Clear stored thinking');
    }
    expect(btn).toBeDefined();
    await act(async () => {
      btn!.click();
      await new Promise((r) => setTimeout(r, 10));
    });
    const posts = fetchMock.mock.calls.filter(([u, init]) => String(u) === '/api/proxy/thinking/clear' && (init as RequestInit)?.method === 'POST');
    expect(posts.length).toBe(1);
    expect(el.querySelector('[role=status]')?.textContent).toContain('Stored thinking cleared: 7 entries');
  });
});
