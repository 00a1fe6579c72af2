// The Monitor drawer's attempt timeline and replay: stages placed on the request's time axis,
// the reason a rotated attempt moved on, the dropped-attempts note, and the replay button posting
// to the admin API (the answer shown; no key ever in the browser's request).
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttemptTimeline, splitAttempts, timelineRows, type Attempt } from './components/timeline';
import { setLang } from './i18n';
import { Replay } from './pages/monitor';
import type { LogEntry } from './types';

let root: HTMLElement | null = null;
function mount(vnode: any) {
  root = document.createElement('div');
  document.body.appendChild(root);
  act(() => render(vnode, root!));
  return root;
}
afterEach(() => {
  if (root) {
    render(null, root);
    root.remove();
    root = null;
  }
  vi.restoreAllMocks();
});

const limited: Attempt = {
  account: 'a@example.com',
  model: 'gemini-2.5-flash',
  status: 429,
  outcome: 'rate_limited',
  reason: 'Resource has been exhausted (e.g. check quota).',
  start_ms: 0,
  acquire_ms: 10,
  upstream_ms: 40,
  first_token_ms: null,
  stream_ms: 0,
};
const served: Attempt = {
  account: 'b@example.com',
  model: 'gemini-2.5-flash',
  status: 200,
  outcome: 'ok',
  reason: '',
  start_ms: 50,
  acquire_ms: 0,
  upstream_ms: 100,
  first_token_ms: 150,
  stream_ms: 50,
};

describe('timelineRows', () => {
  it('puts each stage where it happened on the request axis', () => {
    const rows = timelineRows([limited, served], 200);
    expect(rows).toHaveLength(2);
    expect(rows[0].segs.map((s) => s.stage)).toEqual(['acquire', 'upstream', 'stream']);
    expect(rows[0].segs[0]).toMatchObject({ left: 0, width: 5 });
    expect(rows[0].segs[1]).toMatchObject({ left: 5, width: 20 });
    // a 0 ms stage keeps a sliver
    expect(rows[0].segs[2].width).toBe(0.5);
    expect(rows[0].tokenAt).toBeNull();
    // the second attempt starts where the first ended; its first token 150 ms after sending
    expect(rows[1].segs[1]).toMatchObject({ left: 25, width: 50 });
    expect(rows[1].tokenAt).toBe(100);
    expect(rows[1].ms).toBe(150);
  });

  it('stretches the axis when the stages outlast the recorded total', () => {
    const rows = timelineRows([{ ...served, start_ms: 0 }], 50);
    expect(rows[0].segs[2].left + rows[0].segs[2].width).toBeCloseTo(100);
  });

  it('leaves out stages the attempt never reached', () => {
    const rows = timelineRows([{ ...limited, acquire_ms: 3, upstream_ms: null, stream_ms: null, status: 0, outcome: 'no_account' }], 3);
    expect(rows[0].segs.map((s) => s.stage)).toEqual(['acquire']);
  });

  it('separates the dropped marker from the attempts', () => {
    expect(splitAttempts([limited, served, { dropped: 2 }])).toEqual({ attempts: [limited, served], dropped: 2 });
    expect(splitAttempts(null)).toEqual({ attempts: [], dropped: 0 });
  });
});

describe('AttemptTimeline', () => {
  it('shows both attempts, the reason of the rotated one and the stage times', () => {
    setLang('en');
    const el = mount(<AttemptTimeline items={[limited, served, { dropped: 1 }]} totalMs={200} />);
    const rows = el.querySelectorAll('.tl-row');
    expect(rows).toHaveLength(2);
    expect(rows[0].className).toContain('tl-fail');
    expect(rows[0].textContent).toContain('a@example.com');
    expect(rows[0].textContent).toContain('429');
    expect(rows[0].textContent).toContain('rate limited');
    expect(rows[0].querySelector('.tl-reason')!.textContent).toContain('Resource has been exhausted');
    expect(rows[1].className).not.toContain('tl-fail');
    expect(rows[1].querySelector('.tl-reason')).toBeNull();
    expect(rows[1].querySelector('.tl-token')).not.toBeNull();
    expect(rows[1].querySelector('[role=img]')!.getAttribute('aria-label')).toContain('first token 150 ms');
    expect(el.textContent).toContain('1 more attempt');
  });

  it('renders nothing for a request without attempts', () => {
    const el = mount(<AttemptTimeline items={[]} totalMs={5} />);
    expect(el.innerHTML).toBe('');
  });
});

describe('Replay', () => {
  const entry = { id: 42, request_body: '{"model":"m"}' } as LogEntry;

  it('posts to the replay route and shows the answer', async () => {
    setLang('en');
    const f = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ status: 200, request_id: 'abc123', body: '{"ok":true}', truncated: false }), { status: 200 }));
    const el = mount(<Replay e={entry} />);
    await act(async () => {
      (el.querySelector('button') as HTMLButtonElement).click();
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(f).toHaveBeenCalledTimes(1);
    const [url, init] = f.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/logs/42/replay');
    expect(init.method).toBe('POST');
    expect(el.textContent).toContain('abc123');
    expect(el.textContent).toContain('"ok": true');
  });

  it('says why when the gateway refuses', async () => {
    setLang('en');
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ error: { message: 'request 42 has no captured body to send again', type: 'conflict' } }), { status: 409 }));
    const el = mount(<Replay e={entry} />);
    await act(async () => {
      (el.querySelector('button') as HTMLButtonElement).click();
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(el.querySelector('[role=alert]')!.textContent).toContain('no captured body');
  });

  it('is not offered without a captured body', () => {
    const el = mount(<Replay e={{ id: 1 } as LogEntry} />);
    expect(el.innerHTML).toBe('');
  });
});
