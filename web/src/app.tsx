// web/src/app.tsx: the shell: login guard, navigation (a sidebar that becomes a menu on narrow
// windows), the gateway status in the header, language and theme pickers, and the page outlet.
import { useEffect, useRef, useState } from 'preact/hooks';
import { logout, offline, session, setUnreachableText } from './api';
import './dirty';
import { ConfirmHost, Icon, Toasts } from './components/ui';
import { htmlLang, LANGS, lang, setLang, useT, type Lang } from './i18n';
import { Accounts } from './pages/accounts';
import { Dashboard } from './pages/dashboard';
import { KeysPage } from './pages/keys';
import { IpRulesPage } from './pages/iprules';
import { Login } from './pages/login';
import { Monitor } from './pages/monitor';
import { Proxy } from './pages/proxy';
import { Settings } from './pages/settings';
import { Stats } from './pages/stats';
import { navigate, PAGES, route, type Page } from './router';
import { useStore } from './store';
import { pollStatus, useGatewayStatus } from './status';
import { setTheme, theme, type Theme } from './theme';
import { t as tr } from './i18n';

setUnreachableText(() => tr('conn.unreachable'));

const ICONS: Record<Page, string> = { dashboard: 'dashboard', accounts: 'accounts', proxy: 'proxy', monitor: 'monitor', stats: 'stats', keys: 'key', 'ip-rules': 'shield', settings: 'settings' };

export function App() {
  const tok = useStore(session);
  const page = useStore(route);
  const t = useT();
  const th = useStore(theme);
  const l = useStore(lang);
  const [menu, setMenu] = useState(false);
  const { status, state } = useGatewayStatus();
  const off = useStore(offline);

  useEffect(() => {
    // Signed out, the tab (and the desktop window) says so instead of naming a page it cannot show.
    document.title = `${t(tok ? `nav.${page}` : 'login.title')} · aigate`;
  }, [page, l, tok]);

  useEffect(() => {
    if (tok) return pollStatus();
  }, [tok]);

  // Escape closes the phone menu and gives the focus back to its button. The listener stays in place for the
  // page's life and reads the menu's state from a ref: one added when the menu opens would come after the
  // paint, and an Escape pressed right after opening would find nothing listening.
  const menuRef = useRef(menu);
  menuRef.current = menu;
  useEffect(() => {
    const k = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || !menuRef.current) return;
      menuRef.current = false;
      setMenu(false);
      (document.querySelector('.menu-btn') as HTMLElement | null)?.focus();
    };
    window.addEventListener('keydown', k);
    return () => window.removeEventListener('keydown', k);
  }, []);

  if (!tok)
    return (
      <>
        <Login />
        <Toasts />
      </>
    );

  const Outlet = { dashboard: Dashboard, accounts: Accounts, proxy: Proxy, monitor: Monitor, stats: Stats, keys: KeysPage, 'ip-rules': IpRulesPage, settings: Settings }[page];
  return (
    <div class={`shell${menu ? ' menu-open' : ''}`}>
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar">
        <button type="button" class="btn btn-ghost menu-btn" aria-label={t('nav.menu')} aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          <Icon name="menu" />
        </button>
        <div class="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>aigate</span>
        </div>
        <div class="status-pill" aria-live="polite">
          <span class={`dot ${state === 'running' ? 'dot-ok' : state === 'stopped' || state === 'unreachable' ? 'dot-off' : 'dot-unknown'}`} aria-hidden="true" />
          <span class="status-text">{t(`status.${state}`)}</span>
          {status && <code class="status-url">{status.base_url}</code>}
        </div>
        <div class="top-tools">
          <label class="sr-only" for="lang-pick">
            {t('settings.language')}
          </label>
          <select id="lang-pick" value={l} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
            {LANGS.map((x) => (
              <option key={x.id} value={x.id} lang={htmlLang(x.id)} dir={x.dir}>
                {x.name}
              </option>
            ))}
          </select>
          <label class="sr-only" for="theme-pick">
            {t('settings.theme')}
          </label>
          <select id="theme-pick" value={th} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as Theme)}>
            {(['system', 'light', 'dark'] as Theme[]).map((x) => (
              <option key={x} value={x}>
                {t(`theme.${x}`)}
              </option>
            ))}
          </select>
          <button type="button" class="btn btn-ghost" onClick={() => logout()} title={t('nav.logout')} aria-label={t('nav.logout')}>
            <Icon name="logout" />
          </button>
        </div>
      </header>
      <nav id="nav" class="sidenav" aria-label={t('nav.main')}>
        <ul>
          {PAGES.map((p) => (
            <li key={p}>
              <a
                href={p === 'dashboard' ? '/' : `/${p}`}
                class={p === page ? 'active' : ''}
                aria-current={p === page ? 'page' : undefined}
                onClick={(e) => {
                  if (e.ctrlKey || e.metaKey || e.shiftKey) return;
                  e.preventDefault();
                  setMenu(false);
                  navigate(p);
                }}
              >
                <Icon name={ICONS[p]} />
                <span>{t(`nav.${p}`)}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="main" tabIndex={-1}>
        {off && (
          <div class="note note-error conn-banner" role="alert">
            <Icon name="warn" /> {t('conn.unreachable')}
          </div>
        )}
        <Outlet />
      </main>
      <ConfirmHost />
      <Toasts />
    </div>
  );
}
