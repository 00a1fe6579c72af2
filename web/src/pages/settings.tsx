// web/src/settings.tsx: data directory, log level, request-body capture, language, theme, and
// about (gateway and UI versions), plus every configuration key with its current value and help.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Button, Card, ErrorNote, toastError, useLoad } from '../components/ui';
import { cfgGet, loadConfig, saveConfig } from '../config';
import { LANGS, lang, setLang, useT, type Lang } from '../i18n';
import { useStore } from '../store';
import { setTheme, theme, type Theme } from '../theme';

declare const __UI_VERSION__: string;

function valueText(v: unknown): string {
  if (v === undefined) return '–';
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v);
}

export function Settings() {
  const t = useT();
  const cfg = useLoad(loadConfig);
  const health = useLoad(() => api<{ status: string; version: string }>('/healthz', { auth: false }));
  const l = useStore(lang);
  const th = useStore(theme);
  const c = cfg.data?.config;
  const [level, setLevel] = useState<string | null>(null);
  const [capture, setCapture] = useState<boolean | null>(null);
  const lv = level ?? String(cfgGet(c, 'log.level') ?? 'info');
  const cap = capture ?? !!cfgGet(c, 'monitor.capture_bodies');
  const dataDir = (cfg.data && (cfg.data as any).data_dir) || null;

  return (
    <div class="page">
      <h1>{t('nav.settings')}</h1>
      <ErrorNote error={cfg.error} />
      <div class="grid two">
        <Card title={t('settings.appearance')} id="set-app">
          <div class="field">
            <label for="set-lang">{t('settings.language')}</label>
            <select id="set-lang" value={l} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
              {LANGS.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          </div>
          <fieldset class="field">
            <legend>{t('settings.theme')}</legend>
            <div class="seg" role="radiogroup" aria-label={t('settings.theme')}>
              {(['light', 'dark', 'system'] as Theme[]).map((x) => (
                <label key={x} class={th === x ? 'on' : ''}>
                  <input type="radio" name="theme" value={x} checked={th === x} onChange={() => setTheme(x)} />
                  {t(`theme.${x}`)}
                </label>
              ))}
            </div>
          </fieldset>
        </Card>
        <Card title={t('settings.gateway')} id="set-gw">
          <div class="field">
            <span class="label">{t('settings.data_dir')}</span>
            {dataDir ? <code class="wrap">{dataDir}</code> : <p class="muted small">{t('settings.data_dir_missing')}</p>}
          </div>
          <form
            class="stack"
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await saveConfig({ 'log.level': lv, 'monitor.capture_bodies': cap });
                cfg.reload();
              } catch (x) {
                toastError(x);
              }
            }}
          >
            <div class="field">
              <label for="set-log">{t('settings.log_level')}</label>
              <select id="set-log" value={lv} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
                {['error', 'warn', 'info', 'debug', 'trace'].map((x) => (
                  <option key={x} value={x}>
                    {x}
                  </option>
                ))}
              </select>
            </div>
            <label class="check">
              <input type="checkbox" checked={cap} onChange={(e) => setCapture((e.target as HTMLInputElement).checked)} aria-describedby="set-cap-help" />
              {t('settings.capture')}
            </label>
            <p class="help" id="set-cap-help">
              {t('settings.capture_help')}
            </p>
            <div>
              <Button type="submit" variant="primary" disabled={!c}>
                {t('common.save')}
              </Button>
            </div>
          </form>
        </Card>
      </div>
      <Card title={t('settings.about')} id="set-about">
        <dl class="kv-grid">
          <dt>{t('settings.gw_version')}</dt>
          <dd>{health.data?.version || '–'}</dd>
          <dt>{t('settings.ui_version')}</dt>
          <dd>{typeof __UI_VERSION__ !== 'undefined' ? __UI_VERSION__ : 'dev'}</dd>
          <dt>{t('settings.license')}</dt>
          <dd>{t('settings.about_text')}</dd>
        </dl>
      </Card>
      {cfg.data && (
        <Card title={t('settings.all_keys')} id="set-keys">
          <details>
            <summary>{t('settings.all_keys_hint', { n: cfg.data.keys.length })}</summary>
            <div class="table-wrap" tabIndex={0}>
              <table class="table keys-table">
                <thead>
                  <tr>
                    <th scope="col">{t('settings.key')}</th>
                    <th scope="col">{t('settings.value')}</th>
                    <th scope="col" class="hide-narrow">
                      {t('settings.help')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {cfg.data.keys.map((k) => (
                    <tr key={k.name}>
                      <td>
                        <code>{k.name}</code>
                        {k.restart && <span class="muted small"> ({t('settings.restart')})</span>}
                      </td>
                      <td class="wrap">
                        <code>{valueText(cfgGet(c, k.name))}</code>
                      </td>
                      <td class="hide-narrow small">
                        {k.help}
                        {k.env && <span class="muted"> · {k.env}</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </Card>
      )}
    </div>
  );
}
