// Unit tests of the UI's pure logic: quota states and the recommended account, mapping rules,
// formatting, snippets, stats axes, monitor filtering, and the locale files.
import { describe, expect, it } from 'vitest';
import en from './locales/en.json';
import zh from './locales/zh.json';
import { errorFix } from './errorfix';
import { countdown, fmtMs, fmtNum, fmtSpan, prettyJson } from './format';
import { detectLang, loadLang, translate } from './i18n';
import { fromRules, resolve, toRules, wildcardMatch } from './mapping';
import { curlOf, matches, mergeEntries, percentile, type Filter } from './pages/monitor';
import { rates } from './pages/dashboard';
import { accountState, averageByGroup, bestAccount, countByState, groupOf, type Account } from './quota';
import { snippets } from './snippets';
import { axis, keyedOn, rangeAxis, totalsOn } from './statsdata';
import type { LogEntry } from './types';

const NOW = 1_800_000_000_000;

function acct(p: Partial<Account>): Account {
  return {
    id: p.email || 'x',
    email: 'a@x',
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
    ...p,
  };
}

function entry(p: Partial<LogEntry>): LogEntry {
  return {
    id: 1,
    ts_ms: NOW,
    method: 'POST',
    path: '/v1/chat/completions',
    protocol: 'openai-chat',
    model: 'gemini-2.5-flash',
    served_model: 'gemini-2.5-flash',
    account: 'a@x',
    status: 200,
    error_class: null,
    error_message: null,
    attempts: 1,
    ttfb_ms: 5,
    total_ms: 10,
    input_tokens: 1,
    output_tokens: 2,
    cached_tokens: 0,
    reasoning_tokens: 0,
    client_ip: '127.0.0.1',
    user_agent: 'curl',
    stream: false,
    ...p,
  };
}

describe('accounts', () => {
  it('states: disabled beats forbidden beats cooling', () => {
    expect(accountState(acct({ disabled: true, forbidden: true }), NOW)).toBe('disabled');
    expect(accountState(acct({ forbidden: true }), NOW)).toBe('forbidden');
    expect(accountState(acct({ runtime: { cooldowns: [{ group: '*', until_ms: NOW + 5000, strikes: 1, probing: false }] } }), NOW)).toBe('cooling');
    expect(accountState(acct({ runtime: { cooldowns: [{ group: '*', until_ms: NOW - 1, strikes: 1, probing: false }] } }), NOW)).toBe('available');
  });
  it('groups models like Antigravity Manager', () => {
    expect(groupOf('gemini-3-pro-high')).toBe('gemini-pro');
    expect(groupOf('gemini-2.5-flash')).toBe('gemini-flash');
    expect(groupOf('gemini-3.1-flash-image')).toBe('gemini-image');
    expect(groupOf('claude-opus-4-5-thinking')).toBe('claude');
    expect(groupOf('gpt-oss-120b')).toBe('other');
  });
  it('averages per group over usable accounts, a group as good as its worst model', () => {
    const a = acct({ email: 'a', quota: { 'gemini-2.5-pro': { remaining: 0.2, reset_at: 0 }, 'gemini-3-pro-high': { remaining: 0.6, reset_at: 0 } } });
    const b = acct({ email: 'b', quota: { 'gemini-2.5-pro': { remaining: 1, reset_at: 0 } } });
    const off = acct({ email: 'c', disabled: true, quota: { 'gemini-2.5-pro': { remaining: 0, reset_at: 0 } } });
    expect(averageByGroup([a, b, off])['gemini-pro']).toBeCloseTo(0.6);
  });
  it('recommends the available account with the best score', () => {
    const low = acct({ email: 'low', quota: { 'gemini-2.5-pro': { remaining: 0.1, reset_at: 0 }, 'claude-sonnet-4-5': { remaining: 0.1, reset_at: 0 } } });
    const high = acct({ email: 'high', quota: { 'gemini-2.5-pro': { remaining: 0.9, reset_at: 0 }, 'claude-sonnet-4-5': { remaining: 0.8, reset_at: 0 } } });
    const cool = acct({ email: 'cool', quota: { 'gemini-2.5-pro': { remaining: 1, reset_at: 0 } }, runtime: { cooldowns: [{ group: '*', until_ms: NOW + 1000, strikes: 1, probing: false }] } });
    const best = bestAccount([low, high, cool], NOW);
    expect(best?.account.email).toBe('high');
    expect(best?.score).toBeCloseTo(0.85);
    expect(bestAccount([cool], NOW)).toBeNull();
    expect(countByState([low, high, cool], NOW)).toEqual({ available: 2, cooling: 1, disabled: 0, forbidden: 0 });
  });
});

describe('mapping', () => {
  it('matches wildcards anywhere, several stars, empty runs', () => {
    expect(wildcardMatch('gpt-4*', 'gpt-4o')).toBe(true);
    expect(wildcardMatch('gpt-4*', 'gpt-4')).toBe(true);
    expect(wildcardMatch('*-thinking', 'claude-opus-4-5-thinking')).toBe(true);
    expect(wildcardMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(wildcardMatch('a*b*c', 'axxcyyb')).toBe(false);
    expect(wildcardMatch('exact', 'exactly')).toBe(false);
  });
  it('exact beats wildcard; the most specific wildcard wins, ties to the first', () => {
    const rules = toRules({ 'gpt-*': 'a', 'gpt-4*': 'b', 'gpt-4o': 'c', 'gpt-4?': 'd', '*-4*': 'e' });
    expect(resolve(rules, 'gpt-4o')?.to).toBe('c');
    expect(resolve(rules, 'gpt-4-turbo')?.to).toBe('b');
    expect(resolve(rules, 'gpt-3.5')?.to).toBe('a');
    expect(resolve(rules, 'claude')).toBeNull();
    expect(resolve(toRules({ 'x*': '1', '*x': '2' }), 'xx')?.to).toBe('1');
  });
  it('reports empty and duplicate rows', () => {
    expect(fromRules([{ from: 'a', to: 'b' }, { from: 'a ', to: 'c' }, { from: '', to: 'x' }]).errors).toHaveLength(2);
    expect(fromRules([{ from: ' a ', to: ' b ' }]).custom).toEqual({ a: 'b' });
  });
});

describe('format', () => {
  it('numbers, spans and countdowns', () => {
    expect(fmtNum(999)).toBe('999');
    expect(fmtNum(12_345)).toBe('12.3K');
    expect(fmtNum(2_500_000)).toBe('2.5M');
    expect(fmtNum(undefined)).toBe('–');
    expect(fmtSpan(3 * 3600_000 + 5 * 60_000)).toBe('3h 05m');
    expect(fmtSpan(2 * 86400_000 + 3600_000)).toBe('2d 1h');
    expect(countdown(NOW + 65_000, NOW)).toBe('1m 05s');
    expect(countdown(NOW - 1, NOW)).toBe('');
    expect(fmtMs(850)).toBe('850 ms');
    expect(fmtMs(1500)).toBe('1.50 s');
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('not json')).toBe('not json');
  });
});

describe('snippets', () => {
  it('use the base URL and key for every client', () => {
    const s = snippets('http://127.0.0.1:9000/', 'sk-test');
    expect(s.map((x) => x.id)).toEqual(['curl', 'openai', 'openai-node', 'anthropic', 'google', 'claude-code', 'codex', 'gemini-cli']);
    for (const x of s) expect(x.code).toContain('sk-test');
    expect(s.find((x) => x.id === 'openai')!.code).toContain('base_url="http://127.0.0.1:9000/v1"');
    expect(s.find((x) => x.id === 'claude-code')!.code).toContain('ANTHROPIC_BASE_URL="http://127.0.0.1:9000"');
    expect(s.find((x) => x.id === 'gemini-cli')!.code).toContain('GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9000"');
    expect(s.find((x) => x.id === 'codex')!.code).toContain('base_url = "http://127.0.0.1:9000/v1"');
  });
});

describe('stats', () => {
  it('fills empty buckets with zeros and sums rows onto the axis', () => {
    const x = axis(3600, 4 * 3600, 3600);
    expect(x).toEqual([3600, 7200, 10800, 14400]);
    const tot = totalsOn(x, [
      { period_s: 7200, requests: 2, errors: 1, input_tokens: 10, output_tokens: 5, cached_tokens: 0, reasoning_tokens: 0, total_tokens: 15 },
      { period_s: 7200, requests: 1, errors: 0, input_tokens: 1, output_tokens: 1, cached_tokens: 0, reasoning_tokens: 0, total_tokens: 2 },
    ]);
    expect(tot.requests).toEqual([0, 3, 0, 0]);
    expect(tot.input).toEqual([0, 11, 0, 0]);
  });
  it('keeps the largest keys and sums the rest as other', () => {
    const row = (k: string, n: number) => ({ period_s: 0, key: k, requests: 1, errors: 0, input_tokens: n, output_tokens: 0, cached_tokens: 0, reasoning_tokens: 0, total_tokens: n });
    const out = keyedOn([0], [row('a', 5), row('b', 3), row('c', 1), row('d', 1)], 2, 'other');
    expect(out).toEqual([
      { key: 'a', values: [5] },
      { key: 'b', values: [3] },
      { key: 'other', values: [2] },
    ]);
  });
  it('groups days into weeks ending today, each shown on its last day', () => {
    const day = 86400;
    const from = 100 * day;
    const today = from + 27 * day;
    const ax = rangeAxis('week', from, [], today + 100);
    expect(ax.length).toBe(4);
    // the last point is today, not the first day of today's week
    expect(ax[3]).toBe(today);
    expect(ax).toEqual([from + 6 * day, from + 13 * day, from + 20 * day, today]);
    // a day's row lands in the week that holds it: today and 6 days ago in the last week,
    // 7 days ago in the one before, the first day of the range in the first
    const row = (p: number, n: number) => ({ period_s: p, requests: n, errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, reasoning_tokens: 0, total_tokens: n });
    const tot = totalsOn(ax, [row(today, 1), row(today - 6 * day, 2), row(today - 7 * day, 4), row(from, 8)], true);
    expect(tot.requests).toEqual([8, 0, 4, 3]);
    const keyed = keyedOn(ax, [{ ...row(today, 5), key: 'm' }], 6, 'other', true);
    expect(keyed[0].values).toEqual([0, 0, 0, 5]);
  });
  it('keeps the week axis on today when rows stop before it', () => {
    const day = 86400;
    const from = 200 * day;
    const today = from + 27 * day;
    const ax = rangeAxis('week', from, [{ period_s: from + 3 * day, requests: 1, errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, reasoning_tokens: 0, total_tokens: 1 }], today + 3600);
    expect(ax.at(-1)).toBe(today);
  });
});

describe('monitor', () => {
  const f: Filter = { status: '', protocol: '', model: '', account: '', q: '' };
  it('latency percentiles by nearest rank', () => {
    const v = [100, 10, 90, 20, 80, 30, 70, 40, 60, 50];
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 90)).toBe(90);
    expect(percentile(v, 99)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
  it('copies a request as curl with every credential masked', () => {
    const e = entry({
      request_headers: { host: '127.0.0.1:8045', authorization: 'Bearer sk-very-secret', 'x-goog-api-key': 'AIza-secret', cookie: 's=1', 'content-type': 'application/json', 'content-length': '12' },
      request_body: `{"content":"it's"}`,
    });
    const c = curlOf(e, 'http://127.0.0.1:8045');
    expect(c).not.toContain('sk-very-secret');
    expect(c).not.toContain('AIza-secret');
    expect(c).not.toContain('s=1');
    expect(c).not.toContain('content-length');
    expect(c).toContain(`curl -X POST 'http://127.0.0.1:8045/v1/chat/completions'`);
    expect(c).toContain('-H "authorization: Bearer $AIGATE_API_KEY"');
    expect(c).toContain('-H "x-goog-api-key: $AIGATE_API_KEY"');
    expect(c).toContain(`-H 'content-type: application/json'`);
    expect(c).toContain(`--data-raw '{"content":"it'\\''s"}'`);
    // without recorded headers the key still goes in the usual place
    expect(curlOf(entry({}), 'http://h')).toContain('authorization: Bearer $AIGATE_API_KEY');
  });
  it('filters live entries like the API', () => {
    expect(matches(entry({ status: 500 }), { ...f, status: 'error' })).toBe(true);
    expect(matches(entry({}), { ...f, status: 'error' })).toBe(false);
    expect(matches(entry({ status: 429 }), { ...f, status: 'ok' })).toBe(false);
    expect(matches(entry({}), { ...f, protocol: 'anthropic' })).toBe(false);
    expect(matches(entry({ served_model: 'claude-x' }), { ...f, model: 'CLAUDE' })).toBe(true);
    expect(matches(entry({ error_message: 'quota exhausted' }), { ...f, q: 'quota' })).toBe(true);
  });
  it('merges newest first without duplicates, capped', () => {
    const l = mergeEntries([entry({ id: 2 }), entry({ id: 1 })], [entry({ id: 3 }), entry({ id: 2 })], 2);
    expect(l.map((e) => e.id)).toEqual([3, 2]);
  });
  it('rates count the last minute only', () => {
    const r = rates([entry({ ts_ms: NOW - 1000 }), entry({ ts_ms: NOW - 2000, status: 502 }), entry({ ts_ms: NOW - 120_000 })], NOW);
    expect(r.perMin).toBe(2);
    expect(r.errorRate).toBe(0.5);
  });
});

describe('i18n', () => {
  it('every English text has a Chinese one and the same placeholders', () => {
    const ph = (s: string) => (s.match(/\{\w+\}/g) || []).sort().join();
    for (const [k, v] of Object.entries(en)) {
      expect(zh, k).toHaveProperty(k);
      expect(ph((zh as Record<string, string>)[k]), k).toBe(ph(v));
    }
    expect(Object.keys(zh).length).toBe(Object.keys(en).length);
  });
  it('fills placeholders and falls back to English, then to the key', async () => {
    await loadLang('zh');
    expect(translate('zh', 'add.added_n', { n: 2 })).toBe('已添加 2 个账号');
    expect(translate('en', 'no.such.key')).toBe('no.such.key');
    expect(detectLang(null, 'zh-CN')).toBe('zh');
    expect(detectLang('en', 'zh-CN')).toBe('en');
    expect(detectLang(null, 'nl-NL')).toBe('en');
  });
});

describe('locales', () => {
  const enT = en as Record<string, string>;
  const zhT = zh as Record<string, string>;
  // names that read the same in Chinese
  const SAME = new Set(['group.gemini-pro', 'group.gemini-flash', 'group.claude', 'settings.license']);
  const vars = (v: string) => [...v.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('every key is in both files, translated, with the same placeholders', () => {
    expect(Object.keys(zhT).filter((k) => !(k in enT))).toEqual([]);
    expect(Object.keys(enT).filter((k) => !(k in zhT))).toEqual([]);
    expect(Object.keys(enT).filter((k) => !SAME.has(k) && zhT[k] === enT[k])).toEqual([]);
    expect(Object.keys(zhT).filter((k) => !SAME.has(k) && !/[\u4e00-\u9fff]/.test(zhT[k]))).toEqual([]);
    expect(Object.keys(enT).filter((k) => vars(enT[k]).join() !== vars(zhT[k]).join())).toEqual([]);
  });

  it('every text key the pages use exists, and no page shows English words outside t()', () => {
    const files = Object.entries(import.meta.glob('./**/*.tsx', { query: '?raw', import: 'default', eager: true }) as Record<string, string>).filter(([f]) => !f.includes('.test.'));
    expect(files.length).toBeGreaterThan(5);
    const missing: string[] = [];
    const english: string[] = [];
    // brand and protocol names stay as they are in every language
    const KEEP = /^(aigate|OpenAI:|Anthropic:|Gemini:)$/;
    for (const [f, src] of files) {
      for (const m of src.matchAll(/\bt\(\s*'([^']+)'/g)) if (!(m[1] in enT)) missing.push(`${f}: ${m[1]}`);
      for (const m of src.matchAll(/>\s*([A-Za-z][A-Za-z ,.:'/-]*[A-Za-z:])\s*<\//g)) if (!KEEP.test(m[1].trim())) english.push(`${f}: ${m[1]}`);
      for (const m of src.matchAll(/\}\/(min|s|h)\b/g)) english.push(`${f}: /${m[1]}`);
    }
    expect(missing).toEqual([]);
    expect(english).toEqual([]);
  });
});

describe('error fixes', () => {
  const e = (status: number, error_class: string | null = null, error_message: string | null = null) => ({ status, error_class, error_message });
  it('names what to do and where', () => {
    expect(errorFix(e(401, 'authentication_error'))).toEqual({ key: 'fix.auth', page: 'proxy' });
    expect(errorFix(e(503, 'unavailable', 'no usable account: every account is cooling down for claude until 12:00'))).toEqual({ key: 'fix.no_account', page: 'accounts' });
    expect(errorFix(e(429, 'rate_limited'))?.page).toBe('accounts');
    expect(errorFix(e(403, 'forbidden'))?.key).toBe('fix.forbidden');
    expect(errorFix(e(404, 'not_found', 'model not found'))?.key).toBe('fix.model');
    expect(errorFix(e(504, 'timeout'))?.key).toBe('fix.network');
    expect(errorFix(e(502, 'upstream_error'))?.key).toBe('fix.upstream');
    expect(errorFix(e(400, 'bad_request'))?.key).toBe('fix.request');
    expect(errorFix(e(200))).toBeNull();
  });
  it('every advice has its text in both languages', () => {
    for (const k of ['auth', 'no_account', 'rate_limited', 'forbidden', 'model', 'network', 'upstream', 'request', 'go']) {
      expect(`fix.${k}` in en).toBe(true);
      expect((zh as Record<string, string>)[`fix.${k}`]).toBeTruthy();
      expect((en as Record<string, string>)[`fix.${k}`]).toBeTruthy();
    }
  });
});
