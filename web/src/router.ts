// web/src/router.ts: path-based navigation with the History API. The gateway serves index.html
// for each page path, so a reload or a shared link opens the same page.
import { signal } from './store';

export const PAGES = ['dashboard', 'accounts', 'proxy', 'monitor', 'stats', 'keys', 'ip-rules', 'settings'] as const;
export type Page = (typeof PAGES)[number];

export function pageOf(pathname: string): Page {
  const seg = pathname.replace(/^\/+/, '').split('/')[0];
  return (PAGES as readonly string[]).includes(seg) ? (seg as Page) : 'dashboard';
}

export const route = signal<Page>(typeof location !== 'undefined' ? pageOf(location.pathname) : 'dashboard');

function pathOf(p: Page): string {
  return p === 'dashboard' ? '/' : `/${p}`;
}

function go(p: Page) {
  if (location.pathname !== pathOf(p)) history.pushState(null, '', pathOf(p));
  route.value = p;
}

/** Asked before leaving the current page (unsaved edits); it calls go to leave. */
let leaveGuard: ((go: () => void) => void) | null = null;
export function setLeaveGuard(fn: ((go: () => void) => void) | null) {
  leaveGuard = fn;
}

export function navigate(p: Page) {
  if (leaveGuard && p !== route.value) leaveGuard(() => go(p));
  else go(p);
}

if (typeof window !== 'undefined')
  window.addEventListener('popstate', () => {
    const to = pageOf(location.pathname);
    if (!leaveGuard || to === route.value) return void (route.value = to);
    // Back/forward with a guard: stay on the page until the guard lets go.
    history.pushState(null, '', pathOf(route.value));
    leaveGuard(() => go(to));
  });
