// web/src/pages/proxy.tsx: the proxy service: start/stop, port and LAN access (restart note, and
// a warning when LAN is on with auth off), auth mode, the API key (show, copy, regenerate),
// scheduling, the model mapping editor with the built-in table, the background-task model, and
// client snippets for the gateway's base URL, and the one-click client set-up (pages/clients.tsx).
import { useState } from 'preact/hooks';
import { api, ApiMissing } from '../api';
import { Badge, Button, Card, confirm, CopyButton, Empty, ErrorNote, Icon, Tabs, toast, toastError, useLoad } from '../components/ui';
import { cfgGet, loadConfig, saveConfig } from '../config';
import { useUnsaved } from '../dirty';
import { useT } from '../i18n';
import { fromRules, resolve, toRules, type Rule } from '../mapping';
import type { Account } from '../quota';
import { snippets } from '../snippets';
import { ClientSetup } from './clients';
import { refreshStatus, useGatewayStatus } from '../status';
import type { ProxyStatus } from '../types';

function effectiveAuthOff(mode: string, lan: boolean) {
  return mode === 'off' || (mode === 'auto' && !lan);
}

function Field({ id, label, help, children }: { id: string; label: string; help?: string; children: any }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
    </div>
  );
}

function Service({ cfg, status, reloadAll }: { cfg: any; status: ProxyStatus | null; reloadAll: () => void }) {
  const t = useT();
  const [port, setPort] = useState(String(cfgGet(cfg, 'server.port')));
  const [lan, setLan] = useState(!!cfgGet(cfg, 'server.allow_lan_access'));
  const [mode, setMode] = useState(String(cfgGet(cfg, 'auth.mode')));
  const [pw, setPw] = useState('');
  const [busy, setBusy] = useState(false);
  const lanWarn = lan && effectiveAuthOff(mode, lan);
  const dirty = port !== String(cfgGet(cfg, 'server.port')) || lan !== !!cfgGet(cfg, 'server.allow_lan_access') || mode !== String(cfgGet(cfg, 'auth.mode')) || pw !== '';
  useUnsaved('proxy.service', dirty);
  const toggle = async () => {
    setBusy(true);
    try {
      await api(`/api/proxy/${status?.running ? 'stop' : 'start'}`, { method: 'POST' });
      toast(status?.running ? t('proxy.stopped_ok') : t('proxy.started_ok'));
      await refreshStatus(); // the header and every card say the new state at once
      reloadAll();
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(false);
    }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const ch: Record<string, unknown> = {};
    if (Number(port) !== cfgGet(cfg, 'server.port')) ch['server.port'] = Number(port);
    if (lan !== cfgGet(cfg, 'server.allow_lan_access')) ch['server.allow_lan_access'] = lan;
    if (mode !== cfgGet(cfg, 'auth.mode')) ch['auth.mode'] = mode;
    if (pw) ch['auth.admin_password'] = pw;
    if (!Object.keys(ch).length) return toast(t('config.nothing'), 'info');
    try {
      await saveConfig(ch);
      setPw('');
      reloadAll();
    } catch (x) {
      toastError(x);
    }
  };
  return (
    <Card title={t('proxy.service')} id="svc">
      <div class="svc-row">
        <span class={`dot ${status?.running ? 'dot-ok' : 'dot-off'}`} aria-hidden="true" />
        <strong>{status ? (status.running ? t('status.running') : t('status.stopped')) : '–'}</strong>
        {status && <code>{status.base_url}</code>}
        {status && <span class="muted">{t('proxy.usable', { n: status.usable_accounts, total: status.accounts })}</span>}
        <Button variant={status?.running ? 'danger' : 'primary'} icon={status?.running ? 'stop' : 'play'} disabled={busy || !status} onClick={toggle}>
          {status?.running ? t('proxy.stop') : t('proxy.start')}
        </Button>
      </div>
      {status && !status.running && <p class="note note-warn">{t('proxy.stopped_note')}</p>}
      <form class="form-grid" onSubmit={save}>
        <Field id="px-port" label={t('proxy.port')} help={t('proxy.restart_note')}>
          <input id="px-port" type="number" min={1} max={65535} value={port} onInput={(e) => setPort((e.target as HTMLInputElement).value)} aria-describedby="px-port-help" />
        </Field>
        <Field id="px-mode" label={t('proxy.auth_mode')} help={t(`proxy.auth_${mode}`)}>
          <select id="px-mode" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value)} aria-describedby="px-mode-help">
            {['off', 'strict', 'all_except_health', 'auto'].map((m) => (
              <option key={m} value={m}>
                {t(`proxy.mode_${m}`)}
              </option>
            ))}
          </select>
        </Field>
        <div class="field">
          <label class="check">
            <input type="checkbox" checked={lan} onChange={(e) => setLan((e.target as HTMLInputElement).checked)} aria-describedby="px-lan-help" />
            {t('proxy.lan')}
          </label>
          <p class="help" id="px-lan-help">
            {t('proxy.lan_help')} {t('proxy.restart_note')}
          </p>
        </div>
        <Field id="px-pw" label={t('proxy.admin_password')} help={cfgGet(cfg, 'auth.admin_password') ? t('proxy.admin_password_set') : t('proxy.admin_password_none')}>
          <input id="px-pw" type="password" autoComplete="new-password" value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} aria-describedby="px-pw-help" />
        </Field>
        {lanWarn && (
          <p class="note note-error span2" role="alert">
            <Icon name="warn" /> {t('proxy.lan_warn')}
          </p>
        )}
        <div class="span2 toolbar">
          <Button type="submit" variant="primary">
            {t('common.save')}
          </Button>
          <Unsaved on={dirty} />
        </div>
      </form>
    </Card>
  );
}

function Unsaved({ on }: { on: boolean }) {
  const t = useT();
  return on ? <span class="unsaved">{t('proxy.unsaved')}</span> : null;
}

function ApiKey({ cfg, onKey }: { cfg: any; onKey: (k: string | null) => void }) {
  const t = useT();
  const masked = String(cfgGet(cfg, 'auth.api_key') || '');
  const [key, setKey] = useState<string | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const show = async () => {
    setErr(null);
    try {
      const r = await api<{ api_key: string }>('/api/proxy/api-key');
      setKey(r.api_key);
      onKey(r.api_key);
    } catch (e) {
      setErr(e instanceof ApiMissing ? new ApiMissing('GET /api/proxy/api-key') : e);
    }
  };
  return (
    <Card title={t('proxy.api_key')} id="key">
      <div class="copy-row">
        <label class="sr-only" for="api-key">
          {t('proxy.api_key')}
        </label>
        <input id="api-key" readOnly value={key || masked} class="mono" />
        {!key && (
          <Button small icon="eye" onClick={show}>
            {t('proxy.show')}
          </Button>
        )}
        {key && <CopyButton text={key} />}
        <Button
          small
          icon="refresh"
          variant="danger"
          onClick={() =>
            confirm({
              title: t('proxy.regen_title'),
              text: t('proxy.regen_text'),
              action: t('proxy.regen'),
              danger: true,
              run: async () => {
                const r = await api<{ api_key: string }>('/api/proxy/api-key/regenerate', { method: 'POST' });
                setKey(r.api_key);
                onKey(r.api_key);
                toast(t('proxy.regen_ok'));
              },
            })
          }
        >
          {t('proxy.regen')}
        </Button>
      </div>
      <ErrorNote error={err} />
      <p class="help">{t('proxy.key_help')}</p>
    </Card>
  );
}

function Scheduling({ cfg, reloadAll }: { cfg: any; reloadAll: () => void }) {
  const t = useT();
  const [mode, setMode] = useState(String(cfgGet(cfg, 'scheduling.mode')));
  const [wait, setWait] = useState(String(cfgGet(cfg, 'scheduling.max_wait_s')));
  const [attempts, setAttempts] = useState(String(cfgGet(cfg, 'scheduling.max_attempts')));
  const [fixed, setFixed] = useState(String(cfgGet(cfg, 'scheduling.fixed_account') || ''));
  const [prot, setProt] = useState(String(cfgGet(cfg, 'quota.protection_threshold') ?? 0));
  const accounts = useLoad(() => api<{ accounts: Account[] }>('/api/accounts'));
  const dirty =
    mode !== String(cfgGet(cfg, 'scheduling.mode')) ||
    wait !== String(cfgGet(cfg, 'scheduling.max_wait_s')) ||
    attempts !== String(cfgGet(cfg, 'scheduling.max_attempts')) ||
    fixed !== String(cfgGet(cfg, 'scheduling.fixed_account') || '') ||
    prot !== String(cfgGet(cfg, 'quota.protection_threshold') ?? 0);
  useUnsaved('proxy.scheduling', dirty);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await saveConfig({
        'scheduling.mode': mode,
        'scheduling.max_wait_s': Number(wait),
        'scheduling.max_attempts': Number(attempts),
        'quota.protection_threshold': Number(prot),
      });
      if (fixed !== String(cfgGet(cfg, 'scheduling.fixed_account') || '')) await api('/api/accounts/current', { body: { account_id: fixed || null } });
      reloadAll();
    } catch (x) {
      toastError(x);
    }
  };
  return (
    <Card title={t('proxy.scheduling')} id="sched">
      <form class="form-grid" onSubmit={save}>
        <Field id="sc-mode" label={t('proxy.sched_mode')} help={t(`proxy.sched_${mode}`)}>
          <select id="sc-mode" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value)} aria-describedby="sc-mode-help">
            {['balance', 'cache_first', 'performance_first'].map((m) => (
              <option key={m} value={m}>
                {t(`proxy.sm_${m}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="sc-fixed" label={t('proxy.fixed')} help={t('proxy.fixed_help')}>
          <select id="sc-fixed" value={fixed} onChange={(e) => setFixed((e.target as HTMLSelectElement).value)} aria-describedby="sc-fixed-help">
            <option value="">{t('proxy.fixed_none')}</option>
            {(accounts.data?.accounts || []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.email}
              </option>
            ))}
          </select>
        </Field>
        <Field id="sc-wait" label={t('proxy.max_wait')}>
          <input id="sc-wait" type="number" min={0} max={3600} value={wait} onInput={(e) => setWait((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="sc-att" label={t('proxy.max_attempts')}>
          <input id="sc-att" type="number" min={1} max={20} value={attempts} onInput={(e) => setAttempts((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="sc-prot" label={t('proxy.protection')} help={t('proxy.protection_help')}>
          <input id="sc-prot" type="number" min={0} max={100} value={prot} onInput={(e) => setProt((e.target as HTMLInputElement).value)} aria-describedby="sc-prot-help" />
        </Field>
        <div class="span2 toolbar">
          <Button type="submit" variant="primary">
            {t('common.save')}
          </Button>
          <Unsaved on={dirty} />
          <Button
            onClick={async () => {
              try {
                await api('/api/proxy/cooldowns/clear', { method: 'POST' });
                toast(t('proxy.cooldowns_cleared'));
              } catch (x) {
                toastError(x);
              }
            }}
          >
            {t('proxy.clear_cooldowns')}
          </Button>
          <Button
            onClick={async () => {
              try {
                await api('/api/proxy/session-bindings/clear', { method: 'POST' });
                toast(t('proxy.sessions_cleared'));
              } catch (x) {
                toastError(x);
              }
            }}
          >
            {t('proxy.clear_sessions')}
          </Button>
          <Button
            onClick={async () => {
              try {
                const r = await api<{ cleared?: number }>('/api/proxy/thinking/clear', { method: 'POST' });
                toast(t('proxy.thinking_cleared', { n: r?.cleared ?? 0 }));
              } catch (x) {
                toastError(x);
              }
            }}
          >
            {t('proxy.clear_thinking')}
          </Button>
        </div>
      </form>
    </Card>
  );
}

interface Builtin {
  from: string;
  to: string;
}

function Mapping({ cfg, reloadAll }: { cfg: any; reloadAll: () => void }) {
  const t = useT();
  const [rules, setRules] = useState<Rule[]>(() => toRules(cfgGet(cfg, 'mapping.custom')));
  const [bg, setBg] = useState(String(cfgGet(cfg, 'mapping.background_model') || ''));
  const [probe, setProbe] = useState('');
  const [errs, setErrs] = useState<string[]>([]);
  const dirty = JSON.stringify(rules) !== JSON.stringify(toRules(cfgGet(cfg, 'mapping.custom'))) || bg !== String(cfgGet(cfg, 'mapping.background_model') || '');
  useUnsaved('proxy.mapping', dirty);
  const builtin = useLoad(async () => {
    const r = await api<{ builtin?: Builtin[] | Record<string, string> }>('/api/mapping');
    const b = r.builtin || [];
    return Array.isArray(b) ? b : Object.entries(b).map(([from, to]) => ({ from, to }));
  });
  const hit = probe ? resolve(rules, probe) : null;
  const bhit = probe && !hit ? (builtin.data || []).find((b) => b.from.toLowerCase() === probe.toLowerCase()) : null;
  const save = async () => {
    const { custom, errors } = fromRules(rules);
    setErrs(errors);
    if (errors.length) return;
    try {
      await saveConfig({ 'mapping.custom': custom, 'mapping.background_model': bg });
      setRules(toRules(custom)); // as saved (names trimmed), so the card is no longer unsaved
      reloadAll();
    } catch (x) {
      toastError(x);
    }
  };
  const set = (i: number, k: keyof Rule, v: string) => setRules(rules.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  return (
    <Card title={t('proxy.mapping')} id="map">
      <p class="help">{t('proxy.mapping_help')}</p>
      <table class="table map-table">
        <thead>
          <tr>
            <th scope="col">{t('proxy.map_from')}</th>
            <th scope="col">{t('proxy.map_to')}</th>
            <th scope="col">
              <span class="sr-only">{t('common.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rules.map((r, i) => (
            <tr key={i}>
              <td>
                <input aria-label={t('proxy.map_from_n', { n: i + 1 })} value={r.from} onInput={(e) => set(i, 'from', (e.target as HTMLInputElement).value)} placeholder="gpt-4*" />
                {r.from.includes('*') && <Badge kind="info">{t('proxy.wildcard')}</Badge>}
              </td>
              <td>
                <input aria-label={t('proxy.map_to_n', { n: i + 1 })} value={r.to} onInput={(e) => set(i, 'to', (e.target as HTMLInputElement).value)} placeholder="gemini-2.5-pro" />
              </td>
              <td>
                <Button small variant="ghost" icon="trash" aria-label={t('proxy.map_remove_n', { n: i + 1 })} onClick={() => setRules(rules.filter((_, j) => j !== i))} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {errs.map((e) => (
        <p key={e} class="note note-error">
          {e}
        </p>
      ))}
      <div class="toolbar">
        <Button small icon="plus" onClick={() => setRules([...rules, { from: '', to: '' }])}>
          {t('proxy.map_add')}
        </Button>
      </div>
      <div class="form-grid">
        <div class="field">
          <label for="map-bg">{t('proxy.background')}</label>
          <input id="map-bg" value={bg} onInput={(e) => setBg((e.target as HTMLInputElement).value)} aria-describedby="map-bg-help" />
          <p class="help" id="map-bg-help">
            {t('proxy.background_help')}
          </p>
        </div>
        <div class="field">
          <label for="map-probe">{t('proxy.map_test')}</label>
          <input id="map-probe" value={probe} onInput={(e) => setProbe((e.target as HTMLInputElement).value)} placeholder="gpt-4o" aria-describedby="map-probe-out" />
          <p class="help" id="map-probe-out" aria-live="polite">
            {probe && (hit ? t('proxy.map_hit', { from: hit.from, to: hit.to }) : bhit ? t('proxy.map_builtin', { to: bhit.to }) : t('proxy.map_nohit'))}
          </p>
        </div>
      </div>
      <div class="toolbar">
        <Button variant="primary" onClick={save}>
          {t('common.save')}
        </Button>
        <Unsaved on={dirty} />
      </div>
      <details class="builtin">
        <summary>{t('proxy.builtin')}</summary>
        {builtin.error ? <ErrorNote error={builtin.error} /> : null}
        {builtin.data && builtin.data.length === 0 && <Empty>{t('common.none')}</Empty>}
        {builtin.data && builtin.data.length > 0 && (
          <table class="table">
            <tbody>
              {builtin.data.map((b) => (
                <tr key={b.from}>
                  <td>
                    <code>{b.from}</code>
                  </td>
                  <td>
                    <code>{b.to}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </Card>
  );
}

function Snippets({ base, apiKey, authOff }: { base: string; apiKey: string | null; authOff: boolean }) {
  const t = useT();
  const list = snippets(base, apiKey || (authOff ? 'any' : 'YOUR_API_KEY'));
  const [cur, setCur] = useState(list[0].id);
  const s = list.find((x) => x.id === cur) || list[0];
  return (
    <Card title={t('proxy.snippets')} id="snip">
      <p class="help">{apiKey ? t('proxy.snip_key') : authOff ? t('proxy.snip_off') : t('proxy.snip_placeholder')}</p>
      <div class="base-urls">
        <span>
          OpenAI: <code>{base}/v1</code>
        </span>
        <span>
          Anthropic: <code>{base}</code>
        </span>
        <span>
          Gemini: <code>{base}/v1beta</code>
        </span>
      </div>
      <Tabs label={t('proxy.snippets')} value={cur} onChange={setCur} tabs={list.map((x) => ({ id: x.id, label: x.title }))} />
      <div class="code-box" role="tabpanel" aria-label={s.title}>
        <div class="code-head">
          <span class="muted small">{s.title}</span>
          <CopyButton text={s.code} />
        </div>
        <pre tabIndex={0}>
          <code>{s.code}</code>
        </pre>
      </div>
    </Card>
  );
}

export function Proxy() {
  const t = useT();
  const cfg = useLoad(loadConfig);
  const { status } = useGatewayStatus();
  const [key, setKey] = useState<string | null>(null);
  // Saving one card reloads the config (each card compares its fields with it) and the status;
  // the cards stay mounted, so the unsaved edits of the others are kept.
  const reloadAll = () => {
    cfg.reload();
    refreshStatus();
  };
  const c = cfg.data?.config;
  const base = status?.base_url || location.origin;
  return (
    <div class="page">
      <h1>{t('nav.proxy')}</h1>
      <ErrorNote error={cfg.error} />
      {c && (
        <div class="stack">
          <Service cfg={c} status={status} reloadAll={reloadAll} />
          <ApiKey cfg={c} onKey={setKey} />
          <Scheduling cfg={c} reloadAll={reloadAll} />
          <Mapping cfg={c} reloadAll={reloadAll} />
          <Snippets base={base} apiKey={key} authOff={effectiveAuthOff(cfgGet(c, 'auth.mode'), !!cfgGet(c, 'server.allow_lan_access'))} />
          <ClientSetup />
        </div>
      )}
    </div>
  );
}
