// web/src/router.ts: path-based navigation with the History API. The gateway serves index.html
// for each page path, so a reload or a shared link opens the same page.
import { signal } from './store';

export const PAGES = ['dashboard', 'accounts', 'proxy', 'monitor', 'stats', 'settings'] as const;
export type Page = (typeof PAGES)[number];

export function pageOf(pathname: string): Page {
  const seg = pathname.replace(/^\/+/, '').split('/')[0];
  return (PAGES as readonly string[]).includes(seg) ? (seg as Page) : 'dashboard';
}

export const route = signal<Page>(typeof location !== 'undefined' ? pageOf(location.pathname) : 'dashboard');

export function navigate(p: Page) {
  const path = p === 'dashboard' ? '/' : `/${p}`;
  if (location.pathname !== path) history.pushState(null, '', path);
  route.value = p;
}

if (typeof window !== 'undefined') window.addEventListener('popstate', () => (route.value = pageOf(location.pathname)));
