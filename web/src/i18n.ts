// web/src/i18n.ts: texts come from the locale files (locales/*.json, flat "page.key" names);
// t() falls back to English, then to the key itself, and fills {name} placeholders.
// English is part of the bundle; every other language is its own chunk, loaded before the first
// render (main.tsx) or when the language is changed. The language is the saved choice, else the
// best match of the browser's languages (navigator.languages), else English. Arabic is written
// right to left: <html dir="rtl">, and the stylesheet uses logical properties.
import { signal, useStore } from './store';
import en from './locales/en.json';

export type Lang = 'en' | 'zh' | 'zh-TW' | 'ru' | 'ja' | 'ko' | 'es' | 'pt-BR' | 'de' | 'fr' | 'tr' | 'vi' | 'ar';

/** Every language of the UI, each named in itself (the picker's options). */
export const LANGS: { id: Lang; name: string; dir: 'ltr' | 'rtl' }[] = [
  { id: 'en', name: 'English', dir: 'ltr' },
  { id: 'zh', name: '简体中文', dir: 'ltr' },
  { id: 'zh-TW', name: '繁體中文', dir: 'ltr' },
  { id: 'ja', name: '日本語', dir: 'ltr' },
  { id: 'ko', name: '한국어', dir: 'ltr' },
  { id: 'ru', name: 'Русский', dir: 'ltr' },
  { id: 'es', name: 'Español', dir: 'ltr' },
  { id: 'pt-BR', name: 'Português (Brasil)', dir: 'ltr' },
  { id: 'de', name: 'Deutsch', dir: 'ltr' },
  { id: 'fr', name: 'Français', dir: 'ltr' },
  { id: 'tr', name: 'Türkçe', dir: 'ltr' },
  { id: 'vi', name: 'Tiếng Việt', dir: 'ltr' },
  { id: 'ar', name: 'العربية', dir: 'rtl' },
];

type Table = Record<string, string>;
const LOADERS = import.meta.glob<Table>(['./locales/*.json', '!./locales/en.json'], { import: 'default' });
const TABLES: Partial<Record<Lang, Table>> = { en };
const KEY = 'aigate.lang';

function isLang(s: string | null | undefined): s is Lang {
  return !!s && LANGS.some((x) => x.id === s);
}

/** The UI language for one BCP 47 tag, or null when the UI does not have it. Chinese written in
 *  traditional characters (zh-Hant, and zh-TW / zh-HK / zh-MO without a script) is zh-TW, other
 *  Chinese is zh; any Portuguese is pt-BR; otherwise the language part decides (de-AT is de). */
export function matchLang(tag: string): Lang | null {
  const parts = tag.trim().replace(/_/g, '-').toLowerCase().split('-');
  const base = parts[0];
  if (base === 'zh') {
    if (parts.includes('hant')) return 'zh-TW';
    if (parts.includes('hans')) return 'zh';
    return parts.some((p) => p === 'tw' || p === 'hk' || p === 'mo') ? 'zh-TW' : 'zh';
  }
  if (base === 'pt') return 'pt-BR';
  return isLang(base) ? base : null;
}

/** The language to start with: a saved choice wins, then the first of the browser's languages
 *  (in its order of preference) the UI has, then English. */
export function detectLang(stored: string | null, nav: readonly string[] | string | undefined): Lang {
  if (isLang(stored)) return stored;
  for (const tag of typeof nav === 'string' ? [nav] : nav || []) {
    const l = matchLang(tag);
    if (l) return l;
  }
  return 'en';
}

function initial(): Lang {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    /* no storage: detect */
  }
  const nav = typeof navigator === 'undefined' ? undefined : navigator.languages?.length ? navigator.languages : navigator.language;
  return detectLang(stored, nav);
}

export const lang = signal<Lang>(initial());

/** The value of lang="" for a UI language. */
export function htmlLang(l: Lang): string {
  return l === 'zh' ? 'zh-CN' : l;
}

/** The writing direction of a UI language. */
export function langDir(l: Lang): 'ltr' | 'rtl' {
  return LANGS.find((x) => x.id === l)?.dir ?? 'ltr';
}

function apply(l: Lang) {
  lang.value = l;
  if (typeof document === 'undefined') return;
  document.documentElement.lang = htmlLang(l);
  document.documentElement.dir = langDir(l);
}

/** Loads the texts of l (once); rejects when its file cannot be fetched. */
export async function loadLang(l: Lang): Promise<void> {
  if (TABLES[l]) return;
  const load = LOADERS[`./locales/${l}.json`];
  if (!load) throw new Error(`no locale file for ${l}`);
  TABLES[l] = await load();
}

/** Switches the UI to l and remembers the choice. A language whose file is already loaded
 *  applies at once; another applies when its file has arrived (English stays if it cannot). */
export function setLang(l: Lang, remember = true): Promise<void> {
  if (remember) {
    try {
      localStorage.setItem(KEY, l);
    } catch {
      /* not remembered */
    }
  }
  if (TABLES[l]) {
    apply(l);
    return Promise.resolve();
  }
  return loadLang(l).then(
    () => apply(l),
    () => apply('en'),
  );
}

/** Applies the starting language (detected or saved) without saving it: a detected language
 *  must not turn into a choice, so a later change of the system language still counts. */
export function startLang(): Promise<void> {
  return setLang(lang.value, false);
}

export function translate(l: Lang, key: string, vars?: Record<string, string | number>): string {
  let s = TABLES[l]?.[key] || en[key as keyof typeof en] || key;
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
