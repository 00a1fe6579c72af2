// The Accounts page's health strip and quota forecast and the Dashboard's best accounts per group:
// hourly cells from GET /api/stats/health, hour labels in local time, the run-out time from quota
// readings (a refill starts a new window; too few or too close readings say so), and the ranking.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { ForecastLine, HealthStrip, QuotaWindows } from './components/health';
import { setLang } from './i18n';
import { accountForecast, addReadings, bestByGroup, forecast, healthCells, hourLabel, MIN_SPAN_MS, type HealthAnswer } from './insight';
import type { Account } from './quota';

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
});

const H = 3600_000;
const health: HealthAnswer = {
  from_ms: 100 * H,
  hour_ms: H,
  hours: 24,
  accounts: [{ account: 'A@example.com', ok: [...Array(22).fill(0), 3, 0], errors: [...Array(21).fill(0), 2, 1, 0] }],
};

function acct(id: string, quota: Record<string, [number, number]>, extra: Partial<Account> = {}): Account {
  return {
    id,
    email: `${id}@example.com`,
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
    quota: Object.fromEntries(Object.entries(quota).map(([m, [r, reset]]) => [m, { remaining: r, reset_at: reset }])),
    quota_updated_at: 0,
    created_at: 0,
    last_used_at: 0,
    runtime: {},
    ...extra,
  };
}

describe('health strip', () => {
  it('has one cell per hour with its kind, matching the account case-insensitively', () => {
    const cells = healthCells(health, 'a@example.com');
    expect(cells).toHaveLength(24);
    expect(cells[0]).toEqual({ startMs: 100 * H, ok: 0, err: 0, kind: 'none' });
    expect(cells[21].kind).toBe('bad');
    expect(cells[22]).toMatchObject({ ok: 3, err: 1, kind: 'mixed', startMs: 122 * H });
    expect(cells[23].kind).toBe('none');
    expect(healthCells(health, 'nobody@example.com').every((c) => c.kind === 'none')).toBe(true);
  });

  it('labels hours in local time, with the day when it is not today', () => {
    const now = new Date(2026, 11, 5, 14, 30).getTime();
    expect(hourLabel(new Date(2026, 11, 5, 9).getTime(), now)).toBe('09:00');
    expect(hourLabel(new Date(2026, 11, 4, 23).getTime(), now)).toBe('12-04 23:00');
    // the first hour of a new year, seen late on New Year's Eve of the year before
    expect(hourLabel(new Date(2027, 0, 1, 0).getTime(), new Date(2026, 11, 31, 23, 59).getTime())).toBe('01-01 00:00');
  });

  it('renders the cells with their totals', () => {
    setLang('en');
    const el = mount(<HealthStrip cells={healthCells(health, 'a@example.com')} now={124 * H} />);
    expect(el.querySelectorAll('.hcell')).toHaveLength(24);
    expect(el.querySelectorAll('.hcell-bad')).toHaveLength(1);
    expect(el.querySelectorAll('.hcell-mixed')).toHaveLength(1);
    expect(el.querySelector('[role=img]')!.getAttribute('aria-label')).toBe('3 succeeded, 3 failed in the last 24 hours');
  });
});

describe('quota forecast', () => {
  const t0 = 1_000_000_000_000;
  const reset = t0 + 10 * H;

  it('needs two readings far enough apart', () => {
    expect(forecast(undefined, t0).kind).toBe('no_data');
    expect(forecast([{ t: t0, r: 0.9, reset }], t0).kind).toBe('no_data');
    expect(forecast([{ t: t0, r: 0.9, reset }, { t: t0 + MIN_SPAN_MS - 1, r: 0.8, reset }], t0).kind).toBe('no_data');
  });

  it('runs out at the rate between the readings, before the reset', () => {
    // 10 % per hour, 50 % left at t0+1h: out at t0+6h, before the reset at t0+10h
    const f = forecast([{ t: t0, r: 0.6, reset }, { t: t0 + H / 2, r: 0.55, reset }, { t: t0 + H, r: 0.5, reset }], t0 + H);
    expect(f).toEqual({ kind: 'runs_out', atMs: t0 + 6 * H });
  });

  it('lasts when the run-out is after the reset, and is idle without use', () => {
    expect(forecast([{ t: t0, r: 0.9, reset }, { t: t0 + H, r: 0.89, reset }], t0 + H)).toEqual({ kind: 'lasts', resetMs: reset });
    expect(forecast([{ t: t0, r: 0.9, reset }, { t: t0 + H, r: 0.9, reset }], t0 + H).kind).toBe('idle');
  });

  it('starts over after a refill', () => {
    const s = [
      { t: t0, r: 0.2, reset: t0 + H / 2 },
      { t: t0 + H, r: 1, reset: t0 + 6 * H },
      { t: t0 + H + 5 * 60_000, r: 0.9, reset: t0 + 6 * H },
    ];
    expect(forecast(s, t0 + 2 * H).kind).toBe('no_data');
  });

  it('keeps one reading per quota fetch and reports the soonest model', () => {
    let h = addReadings({}, [acct('a', { 'gemini-2.5-pro': [0.6, 0], 'gemini-2.5-flash': [0.9, 0] }, { quota_updated_at: t0 / 1000 })], t0);
    h = addReadings(h, [acct('a', { 'gemini-2.5-pro': [0.6, 0], 'gemini-2.5-flash': [0.9, 0] }, { quota_updated_at: t0 / 1000 })], t0 + 60_000);
    expect(h['a|gemini-2.5-pro']).toHaveLength(1);
    const later = acct('a', { 'gemini-2.5-pro': [0.5, 0], 'gemini-2.5-flash': [0.85, 0] }, { quota_updated_at: (t0 + H) / 1000 });
    h = addReadings(h, [later], t0 + H);
    const f = accountForecast(h, later, t0 + H);
    expect(f.model).toBe('gemini-2.5-pro');
    expect(f.f).toEqual({ kind: 'runs_out', atMs: t0 + 6 * H });
    // readings older than a day go
    expect(addReadings(h, [], t0 + 26 * H)).toEqual({});
  });

  it('says when there is not enough data', () => {
    setLang('en');
    const el = mount(<ForecastLine model="" f={{ kind: 'no_data' }} now={0} />);
    expect(el.textContent).toContain('not enough data yet');
    const el2 = mount(<ForecastLine model="gemini-2.5-pro" f={{ kind: 'runs_out', atMs: 3 * H }} now={0} />);
    expect(el2.textContent).toContain('gemini-2.5-pro runs out in about 3h 00m');
  });
});

describe('best accounts per group', () => {
  it('ranks available accounts by what is left in each group', () => {
    const now = 5_000;
    const list = [
      acct('a', { 'gemini-2.5-pro': [0.4, 0], 'claude-sonnet-4-5': [0.9, 0] }),
      acct('b', { 'gemini-2.5-pro': [0.8, 0] }, { last_used_at: 10 }),
      acct('c', { 'gemini-2.5-pro': [0.8, 0] }, { last_used_at: 5 }),
      acct('d', { 'gemini-2.5-pro': [1, 0] }, { disabled: true }),
      acct('e', { 'claude-sonnet-4-5': [1, 0] }, { runtime: { cooldowns: [{ group: 'claude', until_ms: now + 1000, strikes: 1, probing: false }] } }),
    ];
    const best = bestByGroup(list, now, 2);
    expect(best['gemini-pro']!.map((x) => x.account.id)).toEqual(['c', 'b']);
    expect(best.claude!.map((x) => x.account.id)).toEqual(['a']);
    expect(best['gemini-flash']).toBeUndefined();
  });
});

describe('quota windows', () => {
  it('shows each bucket the upstream reports, the 5-hour and weekly ones by name, with resets', () => {
    setLang('en');
    const now = 1_000_000_000_000;
    const el = mount(
      <QuotaWindows
        now={now}
        groups={[
          {
            group: 'Gemini Models',
            buckets: [
              { id: 'gemini-5h', window: '5h', name: '5-hour', remaining: 0.4, reset_at: now / 1000 + 2 * 3600 },
              { id: 'gemini-weekly', window: 'weekly', name: 'Weekly', remaining: 1 },
              { id: 'gemini-daily', window: 'daily', name: 'Daily', remaining: 0.05 },
            ],
          },
        ]}
      />,
    );
    const meters = [...el.querySelectorAll('[role=meter]')].map((m) => [m.getAttribute('aria-label'), m.getAttribute('aria-valuenow')]);
    expect(meters).toEqual([
      ['Gemini Models · 5-hour window', '40'],
      ['Gemini Models · weekly window', '100'],
      ['Gemini Models · Daily', '5'],
    ]);
    expect(el.textContent).toContain('resets in 2h 00m');
  });

  it('renders nothing when the upstream reports no windows', () => {
    expect(mount(<QuotaWindows groups={null} now={0} />).innerHTML).toBe('');
  });
});
