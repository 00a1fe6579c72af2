// web/src/quota.ts: what the pages derive from accounts: each account's state (disabled,
// forbidden, cooling down, available), quota model groups, averages per group for the dashboard,
// and the recommended best account.

export interface QuotaEntry {
  remaining: number; // fraction 0..1
  reset_at: number; // epoch seconds, 0 when unknown
}

export interface QuotaWindowGroup {
  group: string;
  buckets: { id: string; window: string; name: string; remaining: number; reset_at?: number }[];
}

export interface Cooldown {
  group: string;
  until_ms: number;
  strikes: number;
  probing: boolean;
}

export interface Account {
  id: string;
  email: string;
  name: string | null;
  label: string | null;
  tier: string;
  current: boolean;
  disabled: boolean;
  disabled_reason: string | null;
  forbidden: boolean;
  forbidden_reason: string | null;
  forbidden_until: number;
  validation_url: string | null;
  proxy_url: string | null;
  quota: Record<string, QuotaEntry> | null;
  quota_updated_at: number;
  /** The upstream's quota windows (5-hour, weekly) per group; absent when it reports none. */
  quota_windows?: QuotaWindowGroup[] | null;
  created_at: number;
  last_used_at: number;
  /** "google" for OAuth accounts; API-key accounts (components/provider.tsx) add the rest. */
  provider?: string;
  api_key_masked?: string;
  base_url?: string | null;
  models?: string[] | null;
  runtime: {
    inflight?: number;
    refreshing?: boolean;
    last_error?: string | null;
    last_error_ms?: number;
    cooldowns?: Cooldown[];
    health?: { state: 'unchecked' | 'healthy' | 'unhealthy'; checked_ms: number; since_ms: number; status: number; failures: number; error?: string | null };
  };
}

export type AccountState = 'disabled' | 'forbidden' | 'cooling' | 'available';

export function activeCooldowns(a: Account, now = Date.now()): Cooldown[] {
  return (a.runtime?.cooldowns || []).filter((c) => c.until_ms > now);
}

export function accountState(a: Account, now = Date.now()): AccountState {
  if (a.disabled) return 'disabled';
  if (a.forbidden) return 'forbidden';
  if (activeCooldowns(a, now).length) return 'cooling';
  return 'available';
}

export type Group = 'gemini-pro' | 'gemini-flash' | 'gemini-image' | 'claude' | 'other';
export const GROUPS: Group[] = ['gemini-pro', 'gemini-flash', 'gemini-image', 'claude'];

/** The quota group of a model name (Antigravity Manager's substring rules, first match wins). */
export function groupOf(model: string): Group {
  const m = model.toLowerCase();
  if (m.includes('image')) return 'gemini-image';
  if (m.includes('flash')) return 'gemini-flash';
  if (m.includes('claude') || m.includes('opus') || m.includes('sonnet') || m.includes('haiku')) return 'claude';
  if (m.includes('pro') || m.includes('gemini')) return 'gemini-pro';
  return 'other';
}

/** The lowest remaining fraction per group of one account (a group is as good as its worst model). */
export function groupRemaining(a: Account): Partial<Record<Group, number>> {
  const out: Partial<Record<Group, number>> = {};
  for (const [model, q] of Object.entries(a.quota || {})) {
    const g = groupOf(model);
    if (typeof q?.remaining !== 'number') continue;
    out[g] = out[g] === undefined ? q.remaining : Math.min(out[g]!, q.remaining);
  }
  return out;
}

/** Average remaining fraction per group over usable accounts that report the group. */
export function averageByGroup(accounts: Account[]): Partial<Record<Group, number>> {
  const sum: Partial<Record<Group, number>> = {};
  const n: Partial<Record<Group, number>> = {};
  for (const a of accounts) {
    if (a.disabled || a.forbidden) continue;
    for (const [g, r] of Object.entries(groupRemaining(a)) as [Group, number][]) {
      sum[g] = (sum[g] || 0) + r;
      n[g] = (n[g] || 0) + 1;
    }
  }
  const out: Partial<Record<Group, number>> = {};
  for (const g of Object.keys(sum) as Group[]) out[g] = sum[g]! / n[g]!;
  return out;
}

/**
 * The account a user would switch to: available now (not disabled, forbidden or cooling down),
 * with the best score: 0.7·Gemini Pro + 0.3·Gemini Flash for Gemini, the Claude fraction for
 * Claude, averaged over the families it has quota for. Ties go to the least recently used.
 */
export function bestAccount(accounts: Account[], now = Date.now()): { account: Account; score: number } | null {
  let best: { account: Account; score: number } | null = null;
  for (const a of accounts) {
    if (accountState(a, now) !== 'available') continue;
    const g = groupRemaining(a);
    const parts: number[] = [];
    if (g['gemini-pro'] !== undefined || g['gemini-flash'] !== undefined)
      parts.push(0.7 * (g['gemini-pro'] ?? g['gemini-flash']!) + 0.3 * (g['gemini-flash'] ?? g['gemini-pro']!));
    if (g.claude !== undefined) parts.push(g.claude);
    if (!parts.length) continue;
    const score = parts.reduce((x, y) => x + y, 0) / parts.length;
    if (!best || score > best.score || (score === best.score && a.last_used_at < best.account.last_used_at))
      best = { account: a, score };
  }
  return best;
}

export function countByState(accounts: Account[], now = Date.now()): Record<AccountState, number> {
  const c: Record<AccountState, number> = { available: 0, cooling: 0, disabled: 0, forbidden: 0 };
  for (const a of accounts) c[accountState(a, now)]++;
  return c;
}

/** Quota entries sorted by group then name, for bars. */
export function quotaRows(a: Account): { model: string; group: Group; remaining: number; resetMs: number }[] {
  const order = (g: Group) => (GROUPS.indexOf(g) + 5) % 5;
  return Object.entries(a.quota || {})
    .map(([model, q]) => ({ model, group: groupOf(model), remaining: q.remaining, resetMs: (q.reset_at || 0) * 1000 }))
    .sort((x, y) => order(x.group) - order(y.group) || x.model.localeCompare(y.model));
}
