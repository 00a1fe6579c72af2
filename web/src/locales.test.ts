// The locale files against English: every language of the picker has a file and every file is a
// language of the picker; each has every key of en.json, non-empty, and no key en.json lacks; the
// {placeholders} are the same; a text equal to the English one only where the word is the same
// in that language (explicit lists below); the text is written in the language's own script.
// Also: the language chosen on first start from the browser's languages, a saved choice winning,
// and right to left for Arabic.
import { afterEach, describe, expect, it } from 'vitest';
import { detectLang, htmlLang, LANGS, lang, loadLang, matchLang, setLang, startLang, translate, type Lang } from './i18n';

type Table = Record<string, string>;
const FILES = import.meta.glob<Table>('./locales/*.json', { import: 'default', eager: true });
const tables: Record<string, Table> = Object.fromEntries(Object.entries(FILES).map(([f, t]) => [f.replace(/^.*\/(.*)\.json$/, '$1'), t]));
const en = tables.en;
const others = Object.keys(tables).filter((l) => l !== 'en');

// Keys whose text is a name, a pattern or an example that reads the same in every language.
const SAME_EVERYWHERE = new Set(['group.gemini-pro', 'group.gemini-flash', 'group.gemini-image', 'group.claude', 'settings.license', 'keys.p_models', 'keys.p_ips', 'keys.p_expires']);
// Words that are the same as English in that language (loanwords, abbreviations).
const SAME_IN: Record<string, string[]> = {
  de: ['nav.monitor', 'keys.name', 'keys.limits', 'theme.system', 'dash.gateway', 'settings.gateway', 'proxy.port', 'monitor.live', 'monitor.f_ok', 'monitor.status', 'monitor.tokens', 'monitor.client', 'dash.per_min', 'ip.host'],
  fr: ['nav.menu', 'keys.state_active', 'keys.f_note', 'common.actions', 'dash.score', 'proxy.service', 'proxy.port', 'proxy.sched_mode', 'monitor.f_ok', 'monitor.client', 'dash.per_min', 'ip.host'],
  es: ['nav.monitor', 'monitor.f_ok', 'monitor.tokens', 'monitor.error', 'dash.per_min', 'ip.host'],
  'pt-BR': ['nav.menu', 'nav.monitor', 'dash.gateway', 'settings.gateway', 'monitor.f_ok', 'monitor.status', 'monitor.tokens', 'dash.per_min', 'ip.host'],
  tr: ['nav.proxy', 'monitor.f_ok', 'monitor.model', 'ip.host'],
  vi: ['monitor.f_ok', 'ip.host'],
  ru: ['monitor.f_ok'],
};
// A letter of each language's own script (Latin-script languages: not checked this way).
const SCRIPT: Record<string, RegExp> = {
  zh: /[\u4e00-\u9fff]/,
  'zh-TW': /[\u4e00-\u9fff]/,
  ja: /[\u3040-\u30ff\u4e00-\u9fff]/,
  ko: /[\uac00-\ud7af]/,
  ru: /[\u0400-\u04ff]/,
  ar: /[\u0600-\u06ff]/,
};
const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();

describe('locale files', () => {
  it('exist for exactly the languages of the picker, at least the thirteen shipped', () => {
    expect(Object.keys(tables).sort()).toEqual(LANGS.map((l) => l.id).sort());
    for (const l of ['en', 'zh', 'zh-TW', 'ru', 'ja', 'ko', 'es', 'pt-BR', 'de', 'fr', 'tr', 'vi', 'ar']) expect(Object.keys(tables)).toContain(l);
    expect(new Set(LANGS.map((l) => l.name)).size).toBe(LANGS.length);
  });

  for (const l of others) {
    describe(l, () => {
      const tb = tables[l];
      it('has every key of en.json, none empty, and none that en.json lacks', () => {
        expect(Object.keys(en).filter((k) => typeof tb[k] !== 'string' || !tb[k].trim())).toEqual([]);
        expect(Object.keys(tb).filter((k) => !(k in en))).toEqual([]);
      });
      it('keeps the placeholders of every text', () => {
        expect(Object.keys(en).filter((k) => k in tb && vars(tb[k]) !== vars(en[k]))).toEqual([]);
      });
      it('translates every text (the same as English only where the word is)', () => {
        const same = new Set([...SAME_EVERYWHERE, ...(SAME_IN[l] || [])]);
        expect(Object.keys(en).filter((k) => tb[k] === en[k] && !same.has(k))).toEqual([]);
      });
      if (SCRIPT[l])
        it('is written in its own script', () => {
          const same = new Set([...SAME_EVERYWHERE, ...(SAME_IN[l] || [])]);
          expect(Object.keys(tb).filter((k) => !same.has(k) && !SCRIPT[l].test(tb[k]))).toEqual([]);
        });
    });
  }
});

describe('language on first start', () => {
  afterEach(async () => {
    await setLang('en');
    localStorage.removeItem('aigate.lang');
  });
  it('matches the browser languages in their order, with the right Chinese and Portuguese', () => {
    expect(matchLang('zh-TW')).toBe('zh-TW');
    expect(matchLang('zh-Hant')).toBe('zh-TW');
    expect(matchLang('zh-Hant-HK')).toBe('zh-TW');
    expect(matchLang('zh-HK')).toBe('zh-TW');
    expect(matchLang('zh_MO')).toBe('zh-TW');
    expect(matchLang('zh-Hans-TW')).toBe('zh');
    expect(matchLang('zh-CN')).toBe('zh');
    expect(matchLang('zh-SG')).toBe('zh');
    expect(matchLang('zh')).toBe('zh');
    expect(matchLang('pt-BR')).toBe('pt-BR');
    expect(matchLang('pt-PT')).toBe('pt-BR');
    expect(matchLang('de-AT')).toBe('de');
    expect(matchLang('AR-eg')).toBe('ar');
    expect(matchLang('es-419')).toBe('es');
    expect(matchLang('nl-NL')).toBeNull();
    expect(detectLang(null, ['nl-NL', 'fr-CA', 'en-US'])).toBe('fr');
    expect(detectLang(null, ['ja-JP', 'en'])).toBe('ja');
    expect(detectLang(null, ['ko'])).toBe('ko');
    expect(detectLang(null, ['nl', 'sv'])).toBe('en');
    expect(detectLang(null, [])).toBe('en');
    expect(detectLang(null, 'vi-VN')).toBe('vi');
  });
  it('lets a saved choice win over the browser', () => {
    expect(detectLang('de', ['ja-JP'])).toBe('de');
    expect(detectLang('zh-TW', ['zh-CN'])).toBe('zh-TW');
    expect(detectLang('xx', ['tr-TR'])).toBe('tr'); // a stale value is ignored
  });
  it('saves a choice, but not a detected language', async () => {
    lang.value = 'ko';
    await startLang();
    expect(localStorage.getItem('aigate.lang')).toBeNull();
    expect(document.documentElement.lang).toBe('ko');
    await setLang('pt-BR');
    expect(localStorage.getItem('aigate.lang')).toBe('pt-BR');
    expect(detectLang(localStorage.getItem('aigate.lang'), ['ko-KR'])).toBe('pt-BR');
  });
  it('lays Arabic out right to left, and every other language left to right', async () => {
    await setLang('ar');
    expect(document.documentElement.dir).toBe('rtl');
    expect(document.documentElement.lang).toBe('ar');
    expect(translate('ar', 'nav.settings')).toBe(tables.ar['nav.settings']);
    for (const l of LANGS.filter((x) => x.id !== 'ar')) {
      await setLang(l.id);
      expect(document.documentElement.dir, l.id).toBe('ltr');
      expect(document.documentElement.lang).toBe(htmlLang(l.id));
    }
  });
  it('loads each language before it shows it', async () => {
    for (const l of LANGS.map((x) => x.id as Lang)) {
      await loadLang(l);
      expect(translate(l, 'nav.dashboard')).toBe(tables[l]['nav.dashboard']);
    }
  });
});
