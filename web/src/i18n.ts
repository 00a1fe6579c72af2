// web/src/i18n.ts: texts come from the locale files (locales/*.json, flat "page.key" names);
// t() falls back to English, then to the key itself, and fills {name} placeholders.
import { signal, useStore } from './store';
import en from './locales/en.json';
import zh from './locales/zh.json';

export type Lang = 'en' | 'zh';
export const LANGS: { id: Lang; name: string }[] = [
  { id: 'en', name: 'English' },
  { id: 'zh', name: '简体中文' },
];
const TABLES: Record<Lang, Record<string, string>> = { en, zh };
const KEY = 'aigate.lang';

export function detectLang(stored: string | null, nav: string | undefined): Lang {
  if (stored === 'en' || stored === 'zh') return stored;
  return nav && nav.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

function initial(): Lang {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    /* no storage: detect */
  }
  return detectLang(stored, typeof navigator !== 'undefined' ? navigator.language : undefined);
}

export const lang = signal<Lang>(initial());
if (typeof document !== 'undefined') document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';

export function setLang(l: Lang) {
  try {
    localStorage.setItem(KEY, l);
  } catch {
    /* not remembered */
  }
  lang.value = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}

export function translate(l: Lang, key: string, vars?: Record<string, string | number>): string {
  let s = TABLES[l][key] ?? en[key as keyof typeof en] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export function t(key: string, vars?: Record<string, string | number>): string {
  return translate(lang.value, key, vars);
}

/** Re-renders the calling component when the language changes; returns t. */
export function useT(): typeof t {
  useStore(lang);
  return t;
}
