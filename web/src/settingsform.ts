// web/src/settingsform.ts: the gateway settings the Settings page edits beyond log level and
// body capture (quota refresh, upstream proxy and timeouts, log retention and disk cap, warm-up):
// their kinds, how a form value becomes the config value, and which fields changed.

export type FieldKind = 'int' | 'str' | 'bool' | 'list';

export interface Field {
  key: string; // dotted config key
  kind: FieldKind;
  label: string; // locale key
}

export const GATEWAY_FIELDS: Field[] = [
  { key: 'quota.refresh_interval_s', kind: 'int', label: 'settings.f_quota_refresh' },
  { key: 'upstream.proxy_url', kind: 'str', label: 'settings.f_proxy' },
  { key: 'upstream.connect_timeout_s', kind: 'int', label: 'settings.f_connect' },
  { key: 'upstream.first_byte_timeout_s', kind: 'int', label: 'settings.f_first_byte' },
  { key: 'upstream.idle_timeout_s', kind: 'int', label: 'settings.f_idle' },
  { key: 'upstream.total_timeout_s', kind: 'int', label: 'settings.f_total' },
  { key: 'monitor.retention_days', kind: 'int', label: 'settings.f_retention' },
  { key: 'log.max_disk_mb', kind: 'int', label: 'settings.f_disk' },
  { key: 'warmup.enabled', kind: 'bool', label: 'settings.f_warmup' },
  { key: 'warmup.times', kind: 'list', label: 'settings.f_warmup_times' },
];

/** The form's text (or checkbox state) for a config value. */
export function toForm(kind: FieldKind, v: unknown): string | boolean {
  if (kind === 'bool') return !!v;
  if (kind === 'list') return Array.isArray(v) ? v.join('\n') : '';
  return v === undefined || v === null ? '' : String(v);
}

/** The config value for a form value; an error key when it is not one (an int that is not). */
export function fromForm(kind: FieldKind, v: string | boolean): { value?: unknown; error?: string } {
  if (kind === 'bool') return { value: !!v };
  const s = String(v).trim();
  if (kind === 'list')
    return {
      value: s
        .split(/[\n,]+/)
        .map((x) => x.trim())
        .filter(Boolean),
    };
  if (kind === 'int') return /^-?\d+$/.test(s) ? { value: Number(s) } : { error: 'settings.not_int' };
  return { value: s };
}

/**
 * The changed keys with their config values, and the form errors by key. A masked secret that
 * comes back unchanged (the proxy password shown as ****) is not a change.
 */
export function changes(fields: Field[], form: Record<string, string | boolean>, cfgOf: (key: string) => unknown) {
  const out: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (!(f.key in form)) continue;
    if (form[f.key] === toForm(f.kind, cfgOf(f.key))) continue;
    const r = fromForm(f.kind, form[f.key]);
    if (r.error) errors[f.key] = r.error;
    else out[f.key] = r.value;
  }
  return { changes: out, errors };
}
