// web/src/insight.ts: what the Accounts page and the Dashboard read from history: the 24-hour
// health strip (hourly buckets from GET /api/stats/health), the quota forecast (when a model's
// quota runs out at the rate seen between quota readings, kept in this browser) and the best
// accounts of each model group.
import { accountState, GROUPS, groupRemaining, type Account, type Group } from './quota';

// ---- health strip ----

/** One account's hours as GET /api/stats/health gives them. */
export interface HealthRow {
  account: string;
  ok: number[];
  errors: number[];
}

export interface HealthAnswer {
  from_ms: number;
  hour_ms: number;
  hours: number;
  accounts: HealthRow[];
}

export type CellKind = 'none' | 'ok' | 'mixed' | 'bad';

export interface HealthCell {
  startMs: number; // the hour's start (epoch ms)
  ok: number;
  err: number;
  kind: CellKind;
}

/** The hours of one account, oldest first; an account without a row gets empty hours. */
export function healthCells(h: HealthAnswer, account: string): HealthCell[] {
  const row = h.accounts.find((r) => r.account.toLowerCase() === account.toLowerCase());
  const cells: HealthCell[] = [];
  for (let i = 0; i < h.hours; i++) {
    const ok = row?.ok[i] || 0;
    const err = row?.errors[i] || 0;
    const kind: CellKind = !ok && !err ? 'none' : !err ? 'ok' : !ok ? 'bad' : 'mixed';
    cells.push({ startMs: h.from_ms + i * h.hour_ms, ok, err, kind });
  }
  return cells;
}

/** Totals over the cells. */
export function healthTotals(cells: HealthCell[]): { ok: number; err: number } {
  return cells.reduce((s, c) => ({ ok: s.ok + c.ok, err: s.err + c.err }), { ok: 0, err: 0 });
}

/** An hour's start as the strip labels it: local "HH:00", with the day when it is not today. */
export function hourLabel(startMs: number, now = Date.now()): string {
  const d = new Date(startMs);
  const n = new Date(now);
  const hh = `${String(d.getHours()).padStart(2, '0')}:00`;
  const sameDay = d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate();
  return sameDay ? hh : `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${hh}`;
}

// ---- quota forecast ----

/** One quota reading of one model: when it was read (ms), the fraction left, its reset (ms, 0 = unknown). */
export interface QuotaSample {
  t: number;
  r: number;
  reset: number;
}

export type History = Record<string, QuotaSample[]>; // "<account id>|<model>" → oldest first

export const HISTORY_KEY = 'aigate.quota_history';
const KEEP_MS = 24 * 3600_000;
const KEEP_SAMPLES = 48;
/** Readings closer than this say nothing about a rate. */
export const MIN_SPAN_MS = 10 * 60_000;

/**
 * Adds each account's current quota reading (taken at quota_updated_at) to the history: a reading
 * already there (same time) is not added twice, readings older than a day and past the cap go.
 */
export function addReadings(hist: History, accounts: Account[], now = Date.now()): History {
  const out: History = {};
  for (const [k, v] of Object.entries(hist)) {
    const kept = v.filter((s) => now - s.t <= KEEP_MS);
    if (kept.length) out[k] = kept;
  }
  for (const a of accounts) {
    if (!a.quota || !a.quota_updated_at) continue;
    const t = a.quota_updated_at * 1000;
    for (const [model, q] of Object.entries(a.quota)) {
      if (typeof q?.remaining !== 'number') continue;
      const key = `${a.id}|${model}`;
      const list = out[key] || [];
      if (list.some((s) => s.t === t)) continue;
      list.push({ t, r: q.remaining, reset: (q.reset_at || 0) * 1000 });
      list.sort((x, y) => x.t - y.t);
      out[key] = list.slice(-KEEP_SAMPLES);
    }
  }
  return out;
}

export function loadHistory(): History {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) || '{}');
    return h && typeof h === 'object' ? h : {};
  } catch {
    return {};
  }
}

export function saveHistory(h: History) {
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
  } catch {
    /* storage full or off: the forecast says it has too little data */
  }
}

export type Forecast =
  | { kind: 'no_data' }
  | { kind: 'idle' } // nothing used between the readings
  | { kind: 'lasts'; resetMs: number } // runs out after the reset, if at all
  | { kind: 'runs_out'; atMs: number };

/**
 * When the quota of samples runs out at the rate between the first and the last reading of its
 * current window (the readings since the last reset; a reading with more quota than the one
 * before starts a new window). Needs two readings at least MIN_SPAN_MS apart.
 */
export function forecast(samples: QuotaSample[] | undefined, now = Date.now()): Forecast {
  if (!samples || samples.length < 2) return { kind: 'no_data' };
  let start = 0;
  for (let i = 1; i < samples.length; i++) {
    const refilled = samples[i].r > samples[i - 1].r + 1e-9;
    const newWindow = samples[i].reset && samples[i - 1].reset && samples[i].reset !== samples[i - 1].reset && samples[i - 1].reset <= samples[i].t;
    if (refilled || newWindow) start = i;
  }
  const win = samples.slice(start);
  const first = win[0];
  const last = win[win.length - 1];
  if (win.length < 2 || last.t - first.t < MIN_SPAN_MS) return { kind: 'no_data' };
  const used = first.r - last.r;
  if (used <= 1e-9) return { kind: 'idle' };
  const rate = used / (last.t - first.t); // fraction per ms
  const atMs = Math.max(now, last.t + last.r / rate);
  if (last.reset && atMs >= last.reset) return { kind: 'lasts', resetMs: last.reset };
  return { kind: 'runs_out', atMs };
}

/** The soonest run-out among an account's models, else what most tells the user. */
export function accountForecast(hist: History, a: Account, now = Date.now()): { model: string; f: Forecast } {
  let best: { model: string; f: Forecast } = { model: '', f: { kind: 'no_data' } };
  const rank = (f: Forecast) => (f.kind === 'runs_out' ? 3 : f.kind === 'lasts' ? 2 : f.kind === 'idle' ? 1 : 0);
  for (const model of Object.keys(a.quota || {})) {
    const f = forecast(hist[`${a.id}|${model}`], now);
    if (rank(f) > rank(best.f) || (f.kind === 'runs_out' && best.f.kind === 'runs_out' && f.atMs < best.f.atMs)) best = { model, f };
  }
  return best;
}

// ---- best accounts per group ----

/**
 * For each model group, the available accounts (not disabled, forbidden or cooling down) with the
 * most quota left in that group, best first, at most n; ties go to the least recently used.
 */
export function bestByGroup(accounts: Account[], now = Date.now(), n = 3): Partial<Record<Group, { account: Account; remaining: number }[]>> {
  const out: Partial<Record<Group, { account: Account; remaining: number }[]>> = {};
  for (const g of GROUPS) {
    const list = accounts
      .filter((a) => accountState(a, now) === 'available')
      .map((a) => ({ account: a, remaining: groupRemaining(a)[g] }))
      .filter((x): x is { account: Account; remaining: number } => x.remaining !== undefined)
      .sort((x, y) => y.remaining - x.remaining || x.account.last_used_at - y.account.last_used_at);
    if (list.length) out[g] = list.slice(0, n);
  }
  return out;
}
