// web/src/statsdata.ts: turns /api/stats/series rows into chart columns: a continuous time axis
// (empty buckets are zeros, not gaps), weekly sums from daily rows, and per-key series limited to
// the largest few with the rest summed as "other".
import type { StatsRow } from './types';

export type Range = 'hour' | 'day' | 'week';

export interface RangeQuery {
  bucket: 'hour' | 'day';
  hours?: number;
  days?: number;
  step: number; // seconds between points on the chart
}

export function rangeQuery(r: Range): RangeQuery {
  if (r === 'hour') return { bucket: 'hour', hours: 24, step: 3600 };
  if (r === 'day') return { bucket: 'day', days: 7, step: 86400 };
  return { bucket: 'day', days: 28, step: 7 * 86400 };
}

/** Points from first to last (inclusive), step apart. */
export function axis(first: number, last: number, step: number): number[] {
  const out: number[] = [];
  for (let x = first; x <= last && out.length < 1000; x += step) out.push(x);
  return out;
}

/**
 * The chart point a period belongs to: the last axis point at or before it; or, on an axis of
 * week ends (the 4-week range, each week shown on its last day), the first point at or after it.
 */
function slot(x: number[], p: number, ends = false): number {
  if (ends) {
    const i = x.findIndex((e) => e >= p);
    return i < 0 || p <= x[i] - 7 * 86400 ? -1 : i;
  }
  let lo = 0;
  let hi = x.length - 1;
  if (p < x[0]) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (x[mid] <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface Totals {
  x: number[];
  input: number[];
  output: number[];
  cached: number[];
  requests: number[];
  errors: number[];
}

/** Sums rows (with or without keys) onto the axis (ends: an axis of week ends, see rangeAxis). */
export function totalsOn(x: number[], rows: StatsRow[], ends = false): Totals {
  const z = () => x.map(() => 0);
  const r: Totals = { x, input: z(), output: z(), cached: z(), requests: z(), errors: z() };
  for (const row of rows) {
    const i = slot(x, row.period_s ?? 0, ends);
    if (i < 0) continue;
    r.input[i] += row.input_tokens;
    r.output[i] += row.output_tokens;
    r.cached[i] += row.cached_tokens;
    r.requests[i] += row.requests;
    r.errors[i] += row.errors;
  }
  return r;
}

/** Total tokens per key on the axis: the top `top` keys by total, the rest as `otherLabel`. */
export function keyedOn(x: number[], rows: StatsRow[], top = 6, otherLabel = 'other', ends = false): { key: string; values: number[] }[] {
  const sum = new Map<string, number>();
  for (const r of rows) sum.set(r.key || '', (sum.get(r.key || '') || 0) + r.total_tokens);
  const keys = [...sum.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const keep = new Set(keys.slice(0, top));
  const out = new Map<string, number[]>();
  for (const k of keys.slice(0, top)) out.set(k, x.map(() => 0));
  if (keys.length > top) out.set(otherLabel, x.map(() => 0));
  for (const r of rows) {
    const i = slot(x, r.period_s ?? 0, ends);
    if (i < 0) continue;
    const k = keep.has(r.key || '') ? r.key || '' : otherLabel;
    out.get(k)![i] += r.total_tokens;
  }
  return [...out.entries()].map(([key, values]) => ({ key, values }));
}

/**
 * The axis for a range: from the first bucket the API counted from (from_s) up to now. Hours and
 * days are the buckets' starts; weeks are their last days, the last one today, so the chart shows
 * today where today is (sum rows onto it with ends = true).
 */
export function rangeAxis(r: Range, fromS: number, rows: StatsRow[], nowS: number): number[] {
  const q = rangeQuery(r);
  const periods = rows.map((x) => x.period_s ?? 0).filter((p) => p > 0);
  let first = periods.length ? Math.min(...periods) : fromS;
  // Walk back to the first bucket at or after fromS, so empty leading buckets show as zeros.
  const base = q.bucket === 'hour' ? 3600 : 86400;
  while (first - base >= fromS) first -= base;
  if (r === 'week') {
    // Weeks end with the current day: align so the last point's week contains today.
    const lastDay = periods.length ? Math.max(...periods, first) : first;
    const last = Math.max(lastDay, first + Math.floor((nowS - first) / 86400) * 86400);
    const ax: number[] = [];
    for (let p = last; p >= first && ax.length < 10; p -= 7 * 86400) ax.unshift(p);
    return ax;
  }
  return axis(first, Math.max(first, nowS), base);
}
