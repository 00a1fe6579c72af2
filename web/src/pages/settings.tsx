// web/src/settings.tsx: data directory, log level, request-body capture, language, theme, and
// about (gateway and UI versions), plus every configuration key with its current value and help.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Button, Card, ErrorNote, toastError, useLoad } from '../components/ui';
import { cfgGet, loadConfig, saveConfig } from '../config';
import { useUnsaved } from '../dirty';
import { changes, GATEWAY_FIELDS, toForm } from '../settingsform';
import type { ConfigAnswer } from '../types';
import { htmlLang, LANGS, lang, setLang, t, useT, type Lang } from '../i18n';
import { useStore } from '../store';
import { setTheme, theme, type Theme } from '../theme';

declare const __UI_VERSION__: string;

/** The gateway's phrase for a key's allowed values ("an integer from 1 to 300", from the config
 *  schema) in the UI's language; a phrase of another shape is shown as it is. */
export function allowedText(allowed: string): string {
  let m = /^an integer from (-?\d+) to (-?\d+)$/.exec(allowed);
  if (m) return t('settings.allowed_range', { min: m[1], max: m[2] });
  m = /^an integer of at least (-?\d+)$/.exec(allowed);
  if (m) return t('settings.allowed_min', { min: m[1] });
  m = /^one of (.+)$/.exec(allowed);
  if (m) return t('settings.allowed_enum', { values: m[1] });
  const fixed: Record<string, string> = { 'true or false': 'settings.allowed_bool', 'a string': 'settings.allowed_string', 'an array of strings': 'settings.allowed_list' };
  return fixed[allowed] ? t(fixed[allowed]) : allowed;
}

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
                <option key={x.id} value={x.id} lang={htmlLang(x.id)} dir={x.dir}>
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
      {cfg.data && <GatewayForm data={cfg.data} onSaved={cfg.reload} />}
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

/** Settings that were only in config.json: checked here, then by the gateway (its reason shown at
 * the field), applied at once where the gateway can (a restart note otherwise). */
function GatewayForm({ data, onSaved }: { data: ConfigAnswer; onSaved: () => void }) {
  const t = useT();
  const c = data.config;
  const meta = (k: string) => data.keys.find((x) => x.name === k);
  const fields = GATEWAY_FIELDS.filter((f) => meta(f.key));
  const [form, setForm] = useState<Record<string, string | boolean>>({});
  const [errs, setErrs] = useState<Record<string, string>>({});
  const value = (k: string, kind: (typeof fields)[number]['kind']) => (k in form ? form[k] : toForm(kind, cfgGet(c, k)));
  const { changes: ch, errors } = changes(fields, form, (k) => cfgGet(c, k));
  useUnsaved('settings.gateway', Object.keys(ch).length > 0 || Object.keys(errors).length > 0);
  const save = async (e: Event) => {
    e.preventDefault();
    if (Object.keys(errors).length) return setErrs(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, t(v)])));
    setErrs({});
    if (!Object.keys(ch).length) return;
    try {
      await saveConfig(ch);
      setForm({});
      onSaved();
    } catch (x) {
      if (x instanceof ApiError && x.field) setErrs({ [x.field]: x.message });
      else toastError(x);
    }
  };
  return (
    <Card title={t('settings.gateway_more')} id="set-more">
      <form class="form-grid" onSubmit={save} noValidate>
        {fields.map((f) => {
          const id = `set-${f.key.replace(/[^a-z0-9]+/g, '-')}`;
          const m = meta(f.key)!;
          const v = value(f.key, f.kind);
          const help = `${allowedText(m.allowed)}${m.restart ? ` · ${t('settings.restart')}` : ''}`;
          return (
            <div class={`field${f.kind === 'list' ? ' span2' : ''}`} key={f.key}>
              {f.kind === 'bool' ? (
                <label class="check">
                  <input id={id} type="checkbox" checked={!!v} onChange={(e) => setForm({ ...form, [f.key]: (e.target as HTMLInputElement).checked })} aria-describedby={`${id}-help`} />
                  {t(f.label)}
                </label>
              ) : (
                <>
                  <label for={id}>{t(f.label)}</label>
                  {f.kind === 'list' ? (
                    <textarea id={id} rows={2} value={String(v)} onInput={(e) => setForm({ ...form, [f.key]: (e.target as HTMLTextAreaElement).value })} aria-describedby={`${id}-help`} aria-invalid={!!errs[f.key]} />
                  ) : (
                    <input id={id} inputMode={f.kind === 'int' ? 'numeric' : undefined} value={String(v)} onInput={(e) => setForm({ ...form, [f.key]: (e.target as HTMLInputElement).value })} aria-describedby={`${id}-help`} aria-invalid={!!errs[f.key]} />
                  )}
                </>
              )}
              <p class="help" id={`${id}-help`}>
                <code>{f.key}</code> · {help}
              </p>
              {errs[f.key] && (
                <p class="note note-error" role="alert">
                  {errs[f.key]}
                </p>
              )}
            </div>
          );
        })}
        <div class="span2">
          <Button type="submit" variant="primary">
            {t('common.save')}
          </Button>
        </div>
      </form>
    </Card>
  );
}
