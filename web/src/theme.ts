// web/src/theme.ts: light / dark / system theme, remembered in localStorage and applied as
// data-theme on <html> (system follows prefers-color-scheme live).
import { signal } from './store';

export type Theme = 'light' | 'dark' | 'system';
const KEY = 'aigate.theme';

function initial(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    /* default */
  }
  return 'system';
}

export const theme = signal<Theme>(initial());

export function effectiveTheme(t: Theme, prefersDark: boolean): 'light' | 'dark' {
  return t === 'system' ? (prefersDark ? 'dark' : 'light') : t;
}

function mq(): MediaQueryList | null {
  return typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
}

export function applyTheme() {
  const m = mq();
  document.documentElement.dataset.theme = effectiveTheme(theme.value, !!m?.matches);
}

export function setTheme(t: Theme) {
  try {
    localStorage.setItem(KEY, t);
  } catch {
    /* not remembered */
  }
  theme.value = t;
  applyTheme();
}

export function initTheme() {
  applyTheme();
  mq()?.addEventListener?.('change', applyTheme);
}
