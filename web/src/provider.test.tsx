// API-key accounts on the Accounts page (components/provider.tsx) in happy-dom: the add form sends
// kind, key, base URL, models and label to POST /api/accounts/provider and shows a refusal; an
// account shows its kind, masked key, base URL, models and health, and reloads an OpenAI-compatible
// endpoint's model list.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isProvider, providerBody, ProviderForm, ProviderInfo, type ProviderFields } from './components/provider';
import { setLang } from './i18n';

let roots: HTMLElement[] = [];
function mount(vnode: any) {
  const root = document.createElement('div');
  document.body.appendChild(root);
  roots.push(root);
  act(() => render(vnode, root));
  return root;
}
afterEach(() => {
  for (const root of roots) {
    render(null, root);
    root.remove();
  }
  roots = [];
  vi.restoreAllMocks();
});

async function type(el: HTMLElement, sel: string, value: string) {
  const input = el.querySelector(sel) as HTMLInputElement | HTMLSelectElement;
  await act(async () => {
    input.value = value;
    input.dispatchEvent(new Event(input.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
  });
}

async function submit(el: HTMLElement) {
  await act(async () => {
    (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await new Promise((r) => setTimeout(r, 10));
  });
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('providerBody', () => {
  it('trims, joins the models with commas and leaves empty fields out', () => {
    expect(providerBody({ kind: 'anthropic', key: ' sk-ant-1 ', baseUrl: '', models: 'claude-a, claude-b\nclaude-c,', label: '' })).toEqual({ provider: 'anthropic', api_key: 'sk-ant-1', models: 'claude-a,claude-b,claude-c' });
    expect(providerBody({ kind: 'openai-compatible', key: 'k', baseUrl: ' http://127.0.0.1:11434/v1 ', models: ' ', label: ' local ' })).toEqual({ provider: 'openai-compatible', api_key: 'k', base_url: 'http://127.0.0.1:11434/v1', label: 'local' });
  });
  it('tells API-key accounts from Google ones', () => {
    expect(isProvider({ provider: 'openai-compatible' })).toBe(true);
    expect(isProvider({ provider: 'google' })).toBe(false);
    expect(isProvider({})).toBe(false);
  });
});

describe('ProviderForm', () => {
  it('adds an account with kind, key, base URL, models and label, then clears the key', async () => {
    setLang('en');
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ id: 'x', email: 'openai-compatible:local', provider: 'openai-compatible' }));
    const added = vi.fn();
    const el = mount(<ProviderForm onAdded={added} />);
    const button = el.querySelector('button[type=submit]') as HTMLButtonElement;
    expect(button.disabled).toBe(true); /* no key, and this kind needs a base URL */
    await type(el, '#prov-key', 'local-secret-key');
    expect(button.disabled).toBe(true);
    await type(el, '#prov-base', 'http://127.0.0.1:11434/v1');
    await type(el, '#prov-models', 'qwen3, llama3');
    await type(el, '#prov-label', 'local');
    expect(button.disabled).toBe(false);
    await submit(el);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/accounts/provider');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body as string)).toEqual({ provider: 'openai-compatible', api_key: 'local-secret-key', base_url: 'http://127.0.0.1:11434/v1', models: 'qwen3,llama3', label: 'local' });
    expect(added).toHaveBeenCalledTimes(1);
    expect((el.querySelector('#prov-key') as HTMLInputElement).value).toBe('');
    expect((el.querySelector('#prov-key') as HTMLInputElement).type).toBe('password');
  });

  it('does not need a base URL for a kind with a default one, and shows a refusal', async () => {
    setLang('en');
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ error: { message: 'cannot list the endpoint\'s models (GET http://x/v1/models answered 401)', type: 'upstream_error' } }, 502));
    const added = vi.fn();
    const el = mount(<ProviderForm onAdded={added} />);
    await type(el, '#prov-kind', 'openai');
    await type(el, '#prov-key', 'sk-1');
    expect((el.querySelector('button[type=submit]') as HTMLButtonElement).disabled).toBe(false);
    await submit(el);
    expect(added).not.toHaveBeenCalled();
    expect(el.textContent).toContain('answered 401');
  });
});

const account: ProviderFields = {
  id: 'a-1',
  email: 'openai-compatible:local',
  provider: 'openai-compatible',
  api_key_masked: 'loc…6789',
  base_url: 'http://127.0.0.1:11434/v1',
  models: ['qwen3', 'llama3'],
  runtime: { health: { state: 'unhealthy', checked_ms: 1_700_000_000_000, since_ms: 1_700_000_000_000, status: 503, failures: 2, error: 'GET http://127.0.0.1:11434/v1/models answered 503' } },
};

describe('ProviderInfo', () => {
  it('shows kind, masked key, base URL, models and health', () => {
    setLang('en');
    const el = mount(<ProviderInfo a={account} reload={() => {}} />);
    const text = el.textContent || '';
    expect(text).toContain('openai-compatible');
    expect(text).toContain('loc…6789');
    expect(text).toContain('http://127.0.0.1:11434/v1');
    expect(text).toContain('qwen3, llama3');
    expect(el.querySelector('.badge-bad')?.textContent).toContain('unhealthy: GET http://127.0.0.1:11434/v1/models answered 503');
    const healthy = mount(<ProviderInfo a={{ ...account, models: null, runtime: { health: { ...account.runtime!.health!, state: 'healthy', error: null } } }} reload={() => {}} />);
    expect(healthy.querySelector('.badge-ok')?.textContent).toBe('healthy');
    expect(healthy.textContent).toContain("any of the provider's");
  });

  it('reloads the model list of an endpoint that lists them, only there', async () => {
    setLang('en');
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(json({ id: 'a-1' }));
    const reload = vi.fn();
    const el = mount(<ProviderInfo a={account} reload={reload} />);
    const button = [...el.querySelectorAll('button')].find((b) => b.textContent?.includes('Reload models'))!;
    await act(async () => {
      button.click();
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(fetch.mock.calls[0][0]).toBe('/api/accounts/a-1/refresh-models');
    expect((fetch.mock.calls[0][1] as RequestInit).method).toBe('POST');
    expect(reload).toHaveBeenCalled();
    const anthropic = mount(<ProviderInfo a={{ ...account, provider: 'anthropic', runtime: {} }} reload={reload} />);
    expect(anthropic.textContent).not.toContain('Reload models');
    expect(anthropic.querySelector('.badge-bad')).toBeNull();
  });
});
