// web/src/pages/accounts.tsx: the account pool: list and grid views with quota bars and reset
// countdowns, tier and state badges (disabled, forbidden with reason and validation link, cooling
// down until), adding (OAuth, refresh token, JSON import, an API-key account of another provider),
// export, enable/disable, label, delete, quota refresh, the fixed account, and the same actions on
// a selection; API-key accounts show their kind, masked key, base URL, models and health.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errText } from '../api';
import { Badge, Button, confirm, CopyButton, Empty, ErrorNote, Icon, Modal, QuotaBar, Tabs, toast, toastError, useLoad, useNow } from '../components/ui';
import { countdown, fmtDateTime, fmtSpan } from '../format';
import { t, useT } from '../i18n';
import { accountState, activeCooldowns, quotaRows, type Account } from '../quota';
import { ForecastLine, HealthStrip, QuotaWindows } from '../components/health';
import { isProvider, ProviderForm, ProviderInfo } from '../components/provider';
import { accountForecast, addReadings, healthCells, loadHistory, saveHistory, type HealthAnswer, type History } from '../insight';

type View = 'list' | 'grid';
const VIEW_KEY = 'aigate.accounts.view';

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function exportAccounts(ids?: string[]) {
  const data = await api('/api/accounts/export', { body: ids ? { ids } : {} });
  download(`aigate-accounts-${new Date().toISOString().slice(0, 10)}.json`, JSON.stringify(data, null, 2));
}

function StateBadges({ a, now }: { a: Account; now: number }) {
  const t = useT();
  const cds = activeCooldowns(a, now);
  return (
    <span class="badges">
      {a.current && <Badge kind="info">{t('accounts.fixed')}</Badge>}
      <Badge kind={`tier-${a.tier}`}>{a.tier}</Badge>
      {a.disabled && (
        <Badge kind="muted" title={a.disabled_reason || ''}>
          {t('state.disabled')}
          {a.disabled_reason ? `: ${a.disabled_reason}` : ''}
        </Badge>
      )}
      {a.forbidden && (
        <Badge kind="bad" title={a.forbidden_reason || ''}>
          {t('state.forbidden')}
          {a.forbidden_reason ? `: ${a.forbidden_reason}` : ''}
          {a.forbidden_until ? ` (${t('accounts.until', { time: fmtDateTime(a.forbidden_until * 1000) })})` : ''}
        </Badge>
      )}
      {a.forbidden && a.validation_url && (
        <a class="badge badge-warn" href={a.validation_url} target="_blank" rel="noopener noreferrer">
          <Icon name="link" size={12} /> {t('accounts.validate')}
        </a>
      )}
      {cds.map((c) => (
        <Badge key={c.group} kind="warn" title={t('accounts.cooling_until', { time: fmtDateTime(c.until_ms) })}>
          {t('state.cooling')} {c.group !== '*' && c.group ? c.group : ''} · {countdown(c.until_ms, now)}
        </Badge>
      ))}
      {a.runtime?.refreshing && <Badge kind="info">{t('accounts.refreshing')}</Badge>}
    </span>
  );
}

function LabelEdit({ a, onDone }: { a: Account; onDone: () => void }) {
  const t = useT();
  const [v, setV] = useState(a.label || '');
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api(`/api/accounts/${encodeURIComponent(a.id)}/label`, { method: 'PUT', body: { label: v.trim() || null } });
          toast(t('accounts.label_saved'));
          onDone();
        } catch (x) {
          toastError(x);
        }
      }}
    >
      <label class="sr-only" for={`lbl-${a.id}`}>
        {t('accounts.label')}
      </label>
      <input id={`lbl-${a.id}`} value={v} maxLength={64} onInput={(e) => setV((e.target as HTMLInputElement).value)} autoFocus />
      <Button small type="submit" variant="primary">
        {t('common.save')}
      </Button>
      <Button small onClick={onDone}>
        {t('common.cancel')}
      </Button>
    </form>
  );
}

function AccountItem({ a, now, view, selected, onSelect, reload, health, hist }: { a: Account; now: number; view: View; selected: boolean; onSelect: (on: boolean) => void; reload: () => void; health?: HealthAnswer | null; hist: History }) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const rows = quotaRows(a);
  const state = accountState(a, now);
  const act = async (fn: () => Promise<unknown>, ok: string) => {
    setBusy(true);
    try {
      await fn();
      toast(ok);
      reload();
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(false);
    }
  };
  const id = encodeURIComponent(a.id);
  return (
    <article class={`acct acct-${view} acct-${state}`} aria-label={a.email} data-account={a.email}>
      <div class="acct-head">
        <input type="checkbox" checked={selected} onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} aria-label={t('accounts.select', { email: a.email })} />
        <div class="acct-id">
          <div class="acct-email">{a.email}</div>
          {editing ? (
            <LabelEdit
              a={a}
              onDone={() => {
                setEditing(false);
                reload();
              }}
            />
          ) : (
            a.label && <div class="acct-label">{a.label}</div>
          )}
        </div>
        <label class="switch" title={a.disabled ? t('accounts.enable') : t('accounts.disable')}>
          <input
            type="checkbox"
            role="switch"
            checked={!a.disabled}
            disabled={busy}
            aria-label={t('accounts.enabled_for', { email: a.email })}
            onChange={() => act(() => api(`/api/accounts/${id}/${a.disabled ? 'enable' : 'disable'}`, { method: 'POST' }), a.disabled ? t('accounts.enabled_ok') : t('accounts.disabled_ok'))}
          />
          <span aria-hidden="true" />
        </label>
      </div>
      <StateBadges a={a} now={now} />
      {isProvider(a) && <ProviderInfo a={a} reload={reload} />}
      {activeCooldowns(a, now).length > 0 && (
        <div class="acct-limits">
          <Button small icon="refresh" disabled={busy} onClick={() => act(() => api('/api/proxy/cooldowns/clear', { body: { account_id: a.id } }), t('proxy.cooldowns_cleared'))}>
            {t('accounts.clear_limits')}
          </Button>
        </div>
      )}
      {a.runtime?.last_error && (
        <div class="acct-err">
          <Icon name="warn" size={14} /> {a.runtime.last_error}{' '}
          {!!a.runtime.last_error_ms && (
            <time class="err-age" dateTime={new Date(a.runtime.last_error_ms).toISOString()} title={fmtDateTime(a.runtime.last_error_ms)}>
              {t('accounts.error_ago', { time: fmtSpan(Math.max(0, now - a.runtime.last_error_ms)) })}
            </time>
          )}
        </div>
      )}
      <div class="acct-quota">
        {rows.length === 0 && <span class="muted small">{t('accounts.no_quota')}</span>}
        {rows.map((q) => (
          <QuotaBar key={q.model} label={q.model} remaining={q.remaining} resetMs={q.resetMs} now={now} />
        ))}
      </div>
      <QuotaWindows groups={a.quota_windows} now={now} />
      {rows.length > 0 && <ForecastLine {...accountForecast(hist, a, now)} now={now} />}
      {health && <HealthStrip cells={healthCells(health, a.email)} now={now} />}
      <div class="acct-foot">
        <span class="muted small">
          {t('accounts.last_used')}: {a.last_used_at ? fmtDateTime(a.last_used_at * 1000) : '–'} · {t('accounts.quota_at')}: {a.quota_updated_at ? fmtDateTime(a.quota_updated_at * 1000) : '–'}
        </span>
        <div class="acct-actions">
          {!isProvider(a) && (
            <Button small variant="ghost" icon="refresh" disabled={busy} onClick={() => act(() => api(`/api/accounts/${id}/refresh-quota`, { method: 'POST' }), t('accounts.quota_refreshed'))}>
              {t('accounts.refresh')}
            </Button>
          )}
          <Button small variant="ghost" icon="pin" disabled={busy} onClick={() => act(() => api('/api/accounts/current', { body: { account_id: a.current ? null : a.id } }), a.current ? t('accounts.fixed_cleared') : t('accounts.fixed_set', { email: a.email }))}>
            {a.current ? t('accounts.unfix') : t('accounts.set_fixed')}
          </Button>
          <Button small variant="ghost" icon="edit" onClick={() => setEditing(true)}>
            {t('accounts.label')}
          </Button>
          <Button small variant="ghost" icon="download" onClick={() => exportAccounts([a.id]).catch(toastError)}>
            {t('accounts.export')}
          </Button>
          <Button
            small
            variant="ghost"
            icon="trash"
            class="danger-text"
            onClick={() =>
              confirm({
                title: t('accounts.delete_title'),
                text: t('accounts.delete_text', { email: a.email }),
                action: t('common.delete'),
                danger: true,
                run: async () => {
                  await api(`/api/accounts/${id}`, { method: 'DELETE' });
                  toast(t('accounts.deleted'));
                  reload();
                },
              })
            }
          >
            {t('common.delete')}
          </Button>
        </div>
      </div>
    </article>
  );
}

type AddTab = 'oauth' | 'token' | 'import' | 'provider';

/** The toast after adding refresh tokens: new accounts and known ones (updated) said apart. */
export function addedText(added: number, updated: number): string {
  const parts: string[] = [];
  if (added) parts.push(t('add.added_n', { n: added }));
  if (updated) parts.push(t('add.updated_n', { n: updated }));
  return parts.join(' · ');
}

function AddDialog({ open, onClose, onAdded }: { open: boolean; onClose: () => void; onAdded: () => void }) {
  const t = useT();
  const [tab, setTab] = useState<AddTab>('token');
  const [tokens, setTokens] = useState('');
  const [label, setLabel] = useState('');
  const [json, setJson] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string[]>([]);
  const [err, setErr] = useState<unknown>(null);
  const [flow, setFlow] = useState<{ url: string; state: string; redirect_uri: string; expires_at_ms: number } | null>(null);
  const [code, setCode] = useState('');

  useEffect(() => {
    // The callback page posts {type: 'aigate-oauth'} to the window that opened it.
    const on = (e: MessageEvent) => {
      if (e.origin === location.origin && e.data && e.data.type === 'aigate-oauth') {
        if (e.data.ok) {
          toast(t('add.oauth_done'));
          onAdded();
          setFlow(null);
        } else setErr(new Error(t('add.oauth_failed')));
      }
    };
    window.addEventListener('message', on);
    return () => window.removeEventListener('message', on);
  }, []);

  const reset = () => {
    setResult([]);
    setErr(null);
  };

  const addTokens = async (e: Event) => {
    e.preventDefault();
    reset();
    setBusy(true);
    const list = tokens
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const out: string[] = [];
    let added = 0;
    let updated = 0;
    for (const rt of list) {
      try {
        const r = await api<{ email: string; created: boolean; tier: string; models: number; warning?: string }>('/api/accounts', { body: { refresh_token: rt, label: label.trim() || undefined } });
        const what = r.created === false ? ` – ${t('add.already')}` : '';
        out.push(`✓ ${r.email} (${r.tier}, ${t('add.models', { n: r.models })})${what}${r.warning ? ` – ${r.warning}` : ''}`);
        if (r.created === false) updated++;
        else added++;
      } catch (x) {
        out.push(`✗ …${rt.slice(-6)}: ${errText(x)}`);
      }
    }
    setResult(out);
    setBusy(false);
    if (added || updated) {
      toast(addedText(added, updated));
      setTokens('');
      onAdded();
    }
  };

  const doImport = async (e: Event) => {
    e.preventDefault();
    reset();
    setBusy(true);
    try {
      const r = await api<{ imported: number; failed: number; results: { ok: boolean; created?: boolean; email?: string; error?: string; index?: number }[] }>('/api/accounts/import', { raw: json });
      setResult([t('add.import_result', { ok: r.imported, failed: r.failed }), ...r.results.map((x) => (x.ok ? `✓ ${x.email}${x.created === false ? ` – ${t('add.already')}` : ''}` : `✗ #${x.index ?? '?'}: ${x.error}`))]);
      if (r.imported) onAdded();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  const startOAuth = async () => {
    reset();
    try {
      setFlow(await api('/api/accounts/oauth/start', { method: 'POST' }));
    } catch (x) {
      setErr(x);
    }
  };

  const submitCode = async (e: Event) => {
    e.preventDefault();
    if (!flow) return;
    reset();
    // The bare code or the whole callback URL the browser ended on: the gateway reads both.
    const pasted = code.trim();
    setBusy(true);
    try {
      const r = await api<{ email: string; created: boolean }>('/api/accounts/oauth/complete', {
        method: 'POST',
        body: /^https?:/.test(pasted) ? { url: pasted, state: flow.state } : { code: pasted, state: flow.state },
      });
      const msg = t(r.created ? 'add.oauth_added' : 'add.oauth_updated', { email: r.email });
      toast(msg);
      setFlow(null);
      setCode('');
      onAdded();
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal open={open} title={t('add.title')} onClose={onClose} wide>
      <Tabs<AddTab>
        label={t('add.title')}
        value={tab}
        onChange={(v) => {
          setTab(v);
          reset();
        }}
        tabs={[
          { id: 'oauth', label: t('add.oauth') },
          { id: 'token', label: t('add.token') },
          { id: 'import', label: t('add.import') },
          { id: 'provider', label: t('add.provider') },
        ]}
      />
      <div role="tabpanel" class="tabpanel">
        {tab === 'oauth' && (
          <div class="stack">
            <p class="muted">{t('add.oauth_hint')}</p>
            {!flow && (
              <Button variant="primary" onClick={startOAuth}>
                {t('add.oauth_start')}
              </Button>
            )}
            {flow && (
              <>
                <label for="oauth-url">{t('add.oauth_url')}</label>
                <div class="copy-row">
                  <input id="oauth-url" readOnly value={flow.url} />
                  <CopyButton text={flow.url} />
                  <a class="btn btn-primary btn-sm" href={flow.url} target="_blank" rel="opener">
                    {t('add.oauth_open')}
                  </a>
                </div>
                <p class="muted small">{t('add.oauth_redirect', { uri: flow.redirect_uri })}</p>
                <form class="stack" onSubmit={submitCode}>
                  <label for="oauth-code">{t('add.oauth_code')}</label>
                  <input id="oauth-code" value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} placeholder="4/0A… or http://127.0.0.1:…/auth/callback?…" />
                  <Button type="submit" disabled={!code.trim() || busy}>
                    {t('add.oauth_finish')}
                  </Button>
                </form>
              </>
            )}
          </div>
        )}
        {tab === 'token' && (
          <form class="stack" onSubmit={addTokens}>
            <label for="add-rt">{t('add.token_label')}</label>
            <textarea id="add-rt" rows={4} value={tokens} onInput={(e) => setTokens((e.target as HTMLTextAreaElement).value)} placeholder="1//0g…" spellcheck={false} />
            <label for="add-label">{t('add.label_opt')}</label>
            <input id="add-label" value={label} maxLength={64} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
            <Button type="submit" variant="primary" disabled={busy || !tokens.trim()}>
              {busy ? t('add.adding') : t('add.add')}
            </Button>
          </form>
        )}
        {tab === 'import' && (
          <form class="stack" onSubmit={doImport}>
            <label for="add-json">{t('add.import_label')}</label>
            <textarea id="add-json" rows={8} value={json} onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)} placeholder='[{"refresh_token": "1//…", "label": "work"}]' spellcheck={false} />
            <label class="file-pick">
              <Icon name="upload" /> {t('add.import_file')}
              <input
                type="file"
                accept="application/json,.json"
                onChange={async (e) => {
                  const f = (e.target as HTMLInputElement).files?.[0];
                  if (f) setJson(await f.text());
                }}
              />
            </label>
            <Button type="submit" variant="primary" disabled={busy || !json.trim()}>
              {busy ? t('add.adding') : t('add.import_go')}
            </Button>
          </form>
        )}
        {tab === 'provider' && <ProviderForm onAdded={onAdded} />}
        <ErrorNote error={err} />
        {result.length > 0 && (
          <ul class="result-list" aria-live="polite">
            {result.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        )}
      </div>
    </Modal>
  );
}

export function Accounts() {
  const t = useT();
  const now = useNow(1000);
  const { data, error, reload, loading } = useLoad(() => api<{ accounts: Account[]; fixed_account: string }>('/api/accounts'));
  const [view, setView] = useState<View>(() => (localStorage.getItem(VIEW_KEY) as View) || 'list');
  const [q, setQ] = useState('');
  const [tier, setTier] = useState('all');
  const [sel, setSel] = useState<Set<string>>(new Set());
  const [adding, setAdding] = useState(false);
  // The health strip: every account's last 24 hours (a failed load only hides the strips).
  const health = useLoad(() => api<HealthAnswer>('/api/stats/health', { query: { hours: 24 } }));
  // Quota readings kept in this browser, for the forecast.
  const hist = useMemo(() => {
    const h = addReadings(loadHistory(), data?.accounts || []);
    saveHistory(h);
    return h;
  }, [data]);

  useEffect(() => {
    const h = setInterval(reload, 15000);
    const h2 = setInterval(health.reload, 60000);
    return () => {
      clearInterval(h);
      clearInterval(h2);
    };
  }, []);

  const all = data?.accounts || [];
  const tiers = useMemo(() => [...new Set(all.map((a) => a.tier))].sort(), [all]);
  const shown = all.filter((a) => (tier === 'all' || a.tier === tier) && (!q || `${a.email} ${a.label || ''}`.toLowerCase().includes(q.toLowerCase())));
  const selected = shown.filter((a) => sel.has(a.id));
  const setViewKeep = (v: View) => {
    localStorage.setItem(VIEW_KEY, v);
    setView(v);
  };
  const bulk = async (what: string, fn: (a: Account) => Promise<unknown>) => {
    let ok = 0;
    const errs: string[] = [];
    for (const a of selected) {
      try {
        await fn(a);
        ok++;
      } catch (e) {
        errs.push(`${a.email}: ${errText(e)}`);
      }
    }
    toast(t('accounts.bulk_done', { what, ok, n: selected.length }), errs.length ? 'error' : 'ok');
    if (errs.length) toast(errs.join('; '), 'error');
    reload();
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t('nav.accounts')}</h1>
        <div class="toolbar">
          <Button variant="primary" icon="plus" onClick={() => setAdding(true)}>
            {t('accounts.add')}
          </Button>
          <Button icon="download" onClick={() => exportAccounts().catch(toastError)}>
            {t('accounts.export_all')}
          </Button>
          <Button icon="refresh" onClick={reload} disabled={loading}>
            {t('common.reload')}
          </Button>
        </div>
      </div>
      <div class="filters">
        <label class="sr-only" for="acc-q">
          {t('accounts.search')}
        </label>
        <input id="acc-q" type="search" placeholder={t('accounts.search')} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        <label class="sr-only" for="acc-tier">
          {t('accounts.tier')}
        </label>
        <select id="acc-tier" value={tier} onChange={(e) => setTier((e.target as HTMLSelectElement).value)}>
          <option value="all">
            {t('accounts.all_tiers')} ({all.length})
          </option>
          {tiers.map((x) => (
            <option key={x} value={x}>
              {x} ({all.filter((a) => a.tier === x).length})
            </option>
          ))}
        </select>
        <div class="seg" role="group" aria-label={t('accounts.view')}>
          <button type="button" class={view === 'list' ? 'on' : ''} aria-pressed={view === 'list'} onClick={() => setViewKeep('list')} title={t('accounts.list')}>
            <Icon name="list" label={t('accounts.list')} />
          </button>
          <button type="button" class={view === 'grid' ? 'on' : ''} aria-pressed={view === 'grid'} onClick={() => setViewKeep('grid')} title={t('accounts.grid')}>
            <Icon name="grid" label={t('accounts.grid')} />
          </button>
        </div>
      </div>
      <div class="bulkbar" aria-label={t('accounts.bulk')} role="toolbar">
        <label class="check">
          <input
            type="checkbox"
            checked={shown.length > 0 && selected.length === shown.length}
            onChange={(e) => setSel((e.target as HTMLInputElement).checked ? new Set(shown.map((a) => a.id)) : new Set())}
          />
          {t('accounts.select_all')} {selected.length ? `(${selected.length})` : ''}
        </label>
        {selected.length > 0 && (
          <>
            <Button small onClick={() => bulk(t('accounts.enable'), (a) => api(`/api/accounts/${encodeURIComponent(a.id)}/enable`, { method: 'POST' }))}>{t('accounts.enable')}</Button>
            <Button small onClick={() => bulk(t('accounts.disable'), (a) => api(`/api/accounts/${encodeURIComponent(a.id)}/disable`, { method: 'POST' }))}>{t('accounts.disable')}</Button>
            <Button small icon="refresh" onClick={() => bulk(t('accounts.refresh'), (a) => api(`/api/accounts/${encodeURIComponent(a.id)}/refresh-quota`, { method: 'POST' }))}>{t('accounts.refresh')}</Button>
            <Button small icon="download" onClick={() => exportAccounts(selected.map((a) => a.id)).catch(toastError)}>{t('accounts.export')}</Button>
            <Button
              small
              variant="danger"
              icon="trash"
              onClick={() =>
                confirm({
                  title: t('accounts.delete_many_title'),
                  text: t('accounts.delete_many_text', { n: selected.length }),
                  action: t('common.delete'),
                  danger: true,
                  run: async () => {
                    await bulk(t('common.delete'), (a) => api(`/api/accounts/${encodeURIComponent(a.id)}`, { method: 'DELETE' }));
                    setSel(new Set());
                  },
                })
              }
            >
              {t('common.delete')}
            </Button>
          </>
        )}
      </div>
      <ErrorNote error={error} />
      {!data && !error && <Empty>{t('common.loading')}</Empty>}
      {all.length > 0 && shown.length === 0 && (
        <Empty>
          <p>{t('accounts.no_match')}</p>
          <Button
            onClick={() => {
              setQ('');
              setTier('all');
            }}
          >
            {t('common.clear_filters')}
          </Button>
        </Empty>
      )}
      {data && all.length === 0 && (
        <Empty>
          <p>{t('accounts.none')}</p>
          <Button variant="primary" icon="plus" onClick={() => setAdding(true)}>
            {t('accounts.add')}
          </Button>
        </Empty>
      )}
      <div class={`acct-${view}-wrap`}>
        {shown.map((a) => (
          <AccountItem
            key={a.id}
            a={a}
            now={now}
            view={view}
            selected={sel.has(a.id)}
            reload={reload}
            health={health.data}
            hist={hist}
            onSelect={(on) => {
              const s = new Set(sel);
              if (on) s.add(a.id);
              else s.delete(a.id);
              setSel(s);
            }}
          />
        ))}
      </div>
      <AddDialog open={adding} onClose={() => setAdding(false)} onAdded={reload} />
    </div>
  );
}
