// web/src/components/provider.tsx: API-key accounts of other providers on the Accounts page: the
// form that adds one (kind, key, base URL, models, label; POST /api/accounts/provider) and the
// block that shows one (kind, masked key, base URL, models, health from the scheduled checks, and
// reloading an OpenAI-compatible endpoint's model list). The key is sent once and never shown
// again: the gateway answers with its masked form only.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Badge, Button, ErrorNote, toast, toastError } from './ui';
import { fmtDateTime } from '../format';
import { useT } from '../i18n';

/** The kinds an API-key account can be, as the gateway names them. */
export const PROVIDER_KINDS = ['openai-compatible', 'openai', 'anthropic', 'gemini'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Kinds whose API lists its models (the gateway reads GET <base>/models). */
const LISTS_MODELS: string[] = ['openai', 'openai-compatible'];

/** The fields /api/accounts adds for API-key accounts. */
export interface ProviderFields {
  id: string;
  email: string;
  provider?: string;
  api_key_masked?: string;
  base_url?: string | null;
  models?: string[] | null;
  runtime?: { health?: { state: 'unchecked' | 'healthy' | 'unhealthy'; checked_ms: number; since_ms: number; status: number; failures: number; error?: string | null } };
}

/** True for an API-key account (anything but a Google OAuth account). */
export function isProvider(a: { provider?: string }): boolean {
  return !!a.provider && a.provider !== 'google';
}

/** The request body of POST /api/accounts/provider from the form's fields (empty ones left out). */
export function providerBody(f: { kind: string; key: string; baseUrl: string; models: string; label: string }) {
  const body: Record<string, string> = { provider: f.kind, api_key: f.key.trim() };
  const models = f.models
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join(',');
  if (f.baseUrl.trim()) body.base_url = f.baseUrl.trim();
  if (models) body.models = models;
  if (f.label.trim()) body.label = f.label.trim();
  return body;
}

export function ProviderForm({ onAdded }: { onAdded: () => void }) {
  const t = useT();
  const [kind, setKind] = useState<string>('openai-compatible');
  const [key, setKey] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [models, setModels] = useState('');
  const [label, setLabel] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const needsBase = kind === 'openai-compatible';
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      const r = await api<ProviderFields>('/api/accounts/provider', { body: providerBody({ kind, key, baseUrl, models, label }) });
      toast(t('provider.added', { email: r.email }));
      setKey('');
      onAdded();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="stack" onSubmit={submit} data-form="provider">
      <p class="muted">{t('provider.hint')}</p>
      <label for="prov-kind">{t('provider.kind')}</label>
      <select id="prov-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
        {PROVIDER_KINDS.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
      <label for="prov-key">{t('provider.key')}</label>
      <input id="prov-key" type="password" autoComplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} required />
      <label for="prov-base">{t('provider.base_url')}</label>
      <input id="prov-base" type="url" spellcheck={false} value={baseUrl} placeholder={needsBase ? 'http://127.0.0.1:11434/v1' : ''} required={needsBase} onInput={(e) => setBaseUrl((e.target as HTMLInputElement).value)} aria-describedby="prov-base-hint" />
      <p id="prov-base-hint" class="muted small">
        {t('provider.base_hint')}
      </p>
      <label for="prov-models">{t('provider.models')}</label>
      <input id="prov-models" spellcheck={false} value={models} onInput={(e) => setModels((e.target as HTMLInputElement).value)} aria-describedby="prov-models-hint" />
      <p id="prov-models-hint" class="muted small">
        {t('provider.models_hint')}
      </p>
      <label for="prov-label">{t('add.label_opt')}</label>
      <input id="prov-label" value={label} maxLength={64} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
      <Button type="submit" variant="primary" disabled={busy || !key.trim() || (needsBase && !baseUrl.trim())}>
        {busy ? t('add.adding') : t('provider.add')}
      </Button>
      <ErrorNote error={err} />
    </form>
  );
}

function HealthBadge({ h }: { h: NonNullable<NonNullable<ProviderFields['runtime']>['health']> }) {
  const t = useT();
  if (h.state === 'unchecked') return null;
  const when = h.checked_ms ? t('provider.checked_at', { time: fmtDateTime(h.checked_ms) }) : '';
  return h.state === 'healthy' ? (
    <Badge kind="ok" title={when}>
      {t('provider.healthy')}
    </Badge>
  ) : (
    <Badge kind="bad" title={[h.error, when].filter(Boolean).join(' · ')}>
      {t('provider.unhealthy')}
      {h.error ? `: ${h.error}` : ''}
    </Badge>
  );
}

export function ProviderInfo({ a, reload }: { a: ProviderFields; reload: () => void }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const health = a.runtime?.health;
  const refresh = async () => {
    setBusy(true);
    try {
      await api(`/api/accounts/${encodeURIComponent(a.id)}/refresh-models`, { method: 'POST' });
      toast(t('provider.models_refreshed'));
      reload();
    } catch (x) {
      toastError(x);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="acct-provider" data-provider={a.provider}>
      <span class="badges">
        <Badge kind="info">{a.provider}</Badge>
        {health && <HealthBadge h={health} />}
      </span>
      <dl class="kv-grid small">
        <dt>{t('provider.key')}</dt>
        <dd>
          <code>{a.api_key_masked || '–'}</code>
        </dd>
        <dt>{t('provider.base_url')}</dt>
        <dd>
          <code>{a.base_url || '–'}</code>
        </dd>
        <dt>{t('provider.models')}</dt>
        <dd>{a.models && a.models.length ? a.models.join(', ') : <span class="muted">{t('provider.any_models')}</span>}</dd>
      </dl>
      {LISTS_MODELS.includes(a.provider || '') && (
        <Button small variant="ghost" icon="refresh" disabled={busy} onClick={refresh}>
          {t('provider.refresh_models')}
        </Button>
      )}
    </div>
  );
}
