// web/src/errorfix.ts: what a user can do about a failed request, from its status, error class
// and message: a text key and the page where the fix is made (the Dashboard shows it under each
// recent error).
import type { Page } from './router';
import type { LogEntry } from './types';

export interface ErrorFix {
  key: string; // locale key of the advice
  page: Page; // where to act on it
}

/** The advice for a failed request, or null when it is not an error or nothing specific helps. */
export function errorFix(e: Pick<LogEntry, 'status' | 'error_class' | 'error_message'>): ErrorFix | null {
  const cls = (e.error_class || '').toLowerCase();
  const msg = (e.error_message || '').toLowerCase();
  if (e.status === 401 || cls.includes('auth')) return { key: 'fix.auth', page: 'proxy' };
  if (msg.includes('no usable account') || msg.includes('no account') || msg.includes('cooling down') || cls === 'no_account')
    return { key: 'fix.no_account', page: 'accounts' };
  if (e.status === 429 || cls.includes('rate') || cls.includes('quota')) return { key: 'fix.rate_limited', page: 'accounts' };
  if (e.status === 403 || cls.includes('forbidden')) return { key: 'fix.forbidden', page: 'accounts' };
  if (e.status === 404 || cls.includes('not_found') || msg.includes('model not found') || msg.includes('unknown model'))
    return { key: 'fix.model', page: 'proxy' };
  if (cls.includes('timeout') || cls.includes('transport')) return { key: 'fix.network', page: 'settings' };
  if (e.status >= 500) return { key: 'fix.upstream', page: 'monitor' };
  if (e.status === 400 || e.status === 413 || e.status === 422) return { key: 'fix.request', page: 'monitor' };
  return null;
}
