// web/src/pages/keys.tsx: the User Keys page: keys for people and apps (GET/POST /api/keys), each
// with its limits, usage today and this month against its budgets, in-flight requests, last use,
// expiry and state; a form to create one (the secret is shown once), and disable / enable /
// rotate / revoke (POST /api/keys/:name/...).
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Badge, Button, Card, CopyButton, Empty, ErrorNote, Modal, confirm, toast, toastError, useLoad, useNow } from '../components/ui';
import { fmtDateTime, fmtNum } from '../format';
import { useT } from '../i18n';

interface Usage {
  requests: number;
  tokens: number;
}

export interface UserKey {
  name: string;
  state: 'active' | 'disabled' | 'revoked';
  models: string;
  ips: string;
  note: string;
  expires_at: number;
  expired: boolean;
  rpm: number;
  tpm: number;
  daily_tokens: number;
  monthly_tokens: number;
  max_concurrency: number;
  created_at: number;
  last_used_at: number;
  usage: { today: Usage; month: Usage };
  live?: { in_flight: number; reserved_tokens: number; requests: number; refused: number };
}

/** The fields of the create form, as the admin API takes them ("" = not set). */
export const FIELDS = ['models', 'expires', 'rpm', 'tpm', 'daily_tokens', 'monthly_tokens', 'max_concurrency', 'ips', 'note'] as const;
type Field = (typeof FIELDS)[number];

/** The body of POST /api/keys from the form: empty fields are left out, numbers sent as numbers. */
export function createBody(name: string, f: Partial<Record<Field, string>>): Record<string, string | number> {
  const body: Record<string, string | number> = { name: name.trim() };
  for (const k of FIELDS) {
    const v = (f[k] ?? '').trim();
    if (v === '') continue;
    body[k] = ['rpm', 'tpm', 'daily_tokens', 'monthly_tokens', 'max_concurrency'].includes(k) && /^\d+$/.test(v) ? Number(v) : v;
  }
  return body;
}

/** "used / budget" or just "used" without a budget. */
function ofBudget(used: number, budget: number): string {
  return budget > 0 ? `${fmtNum(used)} / ${fmtNum(budget)}` : fmtNum(used);
}

function stateKind(k: UserKey): string {
  if (k.state === 'revoked') return 'bad';
  if (k.state === 'disabled' || k.expired) return 'warn';
  return 'ok';
}

export function KeysPage() {
  const t = useT();
  const now = useNow(10000);
  const list = useLoad(() => api<{ keys: UserKey[] }>('/api/keys'), [now]);
  const [name, setName] = useState('');
  const [form, setForm] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const keys = list.data?.keys ?? [];

  async function act(k: UserKey, action: 'disable' | 'enable' | 'revoke' | 'rotate') {
    try {
      const r = await api<{ key: UserKey; secret?: string }>(`/api/keys/${encodeURIComponent(k.name)}/${action}`, { method: 'POST' });
      if (r.secret) setSecret({ name: k.name, secret: r.secret });
      else toast(t(`keys.done_${action}`, { name: k.name }));
      list.reload();
    } catch (x) {
      toastError(x);
    }
  }

  const limitText = (k: UserKey) =>
    [k.rpm && `${fmtNum(k.rpm)} rpm`, k.tpm && `${fmtNum(k.tpm)} tpm`, k.max_concurrency && t('keys.conc_n', { n: k.max_concurrency })].filter(Boolean).join(' · ') || t('keys.no_limits');

  return (
    <div class="page">
      <h1>{t('nav.keys')}</h1>
      <p class="muted">{t('keys.intro')}</p>
      <Card title={t('keys.list')} id="keys-list">
        <ErrorNote error={list.error} />
        {list.data && keys.length === 0 && <Empty>{t('keys.none')}</Empty>}
        {keys.length > 0 && (
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">{t('keys.list')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('keys.name')}</th>
                  <th scope="col">{t('keys.state')}</th>
                  <th scope="col">{t('keys.models')}</th>
                  <th scope="col">{t('keys.limits')}</th>
                  <th scope="col" class="num">
                    {t('keys.today')}
                  </th>
                  <th scope="col" class="num">
                    {t('keys.month')}
                  </th>
                  <th scope="col">{t('keys.last_used')}</th>
                  <th scope="col">{t('keys.expires')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.name}>
                    <td>
                      <strong>{k.name}</strong>
                      {k.note && <div class="muted small">{k.note}</div>}
                      {k.ips && <div class="muted small">{t('keys.from', { ips: k.ips })}</div>}
                    </td>
                    <td>
                      <Badge kind={stateKind(k)}>{k.expired && k.state === 'active' ? t('keys.expired') : t(`keys.state_${k.state}`)}</Badge>
                      {!!k.live?.in_flight && <div class="muted small">{t('keys.in_flight', { n: k.live.in_flight })}</div>}
                    </td>
                    <td>{k.models ? <code class="wrap">{k.models}</code> : <span class="muted">{t('keys.any_model')}</span>}</td>
                    <td class="small">{limitText(k)}</td>
                    <td class="num">{ofBudget(k.usage.today.tokens, k.daily_tokens)}</td>
                    <td class="num">{ofBudget(k.usage.month.tokens, k.monthly_tokens)}</td>
                    <td>{k.last_used_at ? fmtDateTime(k.last_used_at * 1000) : t('keys.never')}</td>
                    <td>{k.expires_at ? fmtDateTime(k.expires_at * 1000) : t('keys.never')}</td>
                    <td>
                      {k.state !== 'revoked' && (
                        <div class="toolbar">
                          {k.state === 'active' ? (
                            <Button small onClick={() => act(k, 'disable')} aria-label={t('keys.disable_n', { name: k.name })}>
                              {t('keys.disable')}
                            </Button>
                          ) : (
                            <Button small onClick={() => act(k, 'enable')} aria-label={t('keys.enable_n', { name: k.name })}>
                              {t('keys.enable')}
                            </Button>
                          )}
                          <Button small onClick={() => act(k, 'rotate')} aria-label={t('keys.rotate_n', { name: k.name })}>
                            {t('keys.rotate')}
                          </Button>
                          <Button
                            small
                            variant="danger"
                            aria-label={t('keys.revoke_n', { name: k.name })}
                            onClick={() => confirm({ title: t('keys.revoke_q', { name: k.name }), text: t('keys.revoke_body'), danger: true, action: t('keys.revoke'), run: () => act(k, 'revoke') })}
                          >
                            {t('keys.revoke')}
                          </Button>
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title={t('keys.create')} id="keys-create">
        <form
          class="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            try {
              const r = await api<{ key: UserKey; secret: string }>('/api/keys', { method: 'POST', body: createBody(name, form) });
              setSecret({ name: r.key.name, secret: r.secret });
              setName('');
              setForm({});
              list.reload();
            } catch (x) {
              toastError(x);
            } finally {
              setBusy(false);
            }
          }}
        >
          <div class="grid two">
            <div class="field">
              <label for="key-name">{t('keys.name')}</label>
              <input id="key-name" required pattern="[A-Za-z0-9._\-]{1,64}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </div>
            {FIELDS.map((f) => (
              <div class="field" key={f}>
                <label for={`key-${f}`}>{t(`keys.f_${f}`)}</label>
                <input id={`key-${f}`} value={form[f] ?? ''} placeholder={t(`keys.p_${f}`)} onInput={(e) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value })} />
              </div>
            ))}
          </div>
          <p class="muted small">{t('keys.form_hint')}</p>
          <div>
            <Button type="submit" variant="primary" icon="plus" disabled={busy || !name.trim()}>
              {t('keys.create')}
            </Button>
          </div>
        </form>
      </Card>
      <Modal
        open={!!secret}
        title={t('keys.secret_title', { name: secret?.name ?? '' })}
        onClose={() => setSecret(null)}
        footer={
          <Button variant="primary" onClick={() => setSecret(null)}>
            {t('common.close')}
          </Button>
        }
      >
        <p>{t('keys.secret_once')}</p>
        <div class="copy-row">
          <code class="wrap" id="key-secret">
            {secret?.secret}
          </code>
          {secret && <CopyButton text={secret.secret} />}
        </div>
      </Modal>
    </div>
  );
}
