// web/src/pages/monitor.tsx: requests as they finish, live over /api/events (SSE), on top of the
// stored log (/api/logs with the same filters, paged with "load more"); a drawer shows one
// request: timing, attempts, tokens, client, headers and bodies when the gateway recorded them.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, events } from '../api';
import { Badge, Button, confirm, CopyButton, Empty, ErrorNote, Icon, toast, useLoad } from '../components/ui';
import { fmtDateTime, fmtMs, fmtNum, fmtTime, prettyJson } from '../format';
import { useT } from '../i18n';
import { useGatewayStatus } from '../status';
import { isError, type LogEntry } from '../types';
import { AttemptTimeline } from '../components/timeline';

export interface Filter {
  status: '' | 'ok' | 'error';
  protocol: string;
  model: string;
  account: string;
  q: string;
}

/** Whether a live entry belongs in the list under the current filter (same rules as the API). */
export function matches(e: LogEntry, f: Filter): boolean {
  if (f.status === 'error' && !isError(e)) return false;
  if (f.status === 'ok' && isError(e)) return false;
  if (f.protocol && e.protocol !== f.protocol) return false;
  if (f.model && !`${e.model || ''} ${e.served_model || ''}`.toLowerCase().includes(f.model.toLowerCase())) return false;
  if (f.account && !(e.account || '').toLowerCase().includes(f.account.toLowerCase())) return false;
  if (f.q) {
    const hay = `${e.path} ${e.model || ''} ${e.account || ''} ${e.status} ${e.error_message || ''}`.toLowerCase();
    if (!hay.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

/** Merges new entries into a list kept newest first, without duplicates, at most cap long. */
export function mergeEntries(list: LogEntry[], add: LogEntry[], cap = 500): LogEntry[] {
  const seen = new Set(list.map((e) => e.id));
  const fresh = add.filter((e) => !seen.has(e.id));
  return [...fresh, ...list].sort((a, b) => b.id - a.id).slice(0, cap);
}

/** The p-th percentile (0..100, nearest rank) of values; null when there are none. */
export function percentile(values: number[], p: number): number | null {
  const v = values.filter((x) => typeof x === 'number' && isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const rank = Math.ceil((p / 100) * v.length);
  return v[Math.min(v.length, Math.max(1, rank)) - 1];
}

const SECRET_HEADERS = /^(authorization|proxy-authorization|x-api-key|x-goog-api-key|api-key|cookie|set-cookie)$/i;

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The request as a curl command for base (the gateway's address): its recorded headers with every
 * credential replaced by $AIGATE_API_KEY (never the secret itself), and its body when captured.
 */
export function curlOf(e: LogEntry, base: string): string {
  const raw = e.request_headers;
  const rows: [string, string][] = !raw ? [] : Array.isArray(raw) ? raw : Object.entries(raw);
  const skip = /^(host|content-length|connection|accept-encoding|transfer-encoding)$/i;
  const parts = [`curl -X ${e.method} ${shq(base + e.path)}`];
  let auth = false;
  for (const [k, v] of rows) {
    if (skip.test(k)) continue;
    if (SECRET_HEADERS.test(k)) {
      if (/^(cookie|set-cookie)$/i.test(k)) continue;
      auth = true;
      const value = /^(authorization|proxy-authorization)$/i.test(k) ? 'Bearer $AIGATE_API_KEY' : '$AIGATE_API_KEY';
      parts.push(`-H "${k}: ${value}"`);
      continue;
    }
    parts.push(`-H ${shq(`${k}: ${v}`)}`);
  }
  if (!auth) parts.push('-H "authorization: Bearer $AIGATE_API_KEY"');
  if (e.request_body) parts.push(`--data-raw ${shq(e.request_body)}`);
  return parts.join(' \\\n  ');
}

const PAGE = 100;
const PROTOCOLS = ['openai-chat', 'openai-responses', 'anthropic', 'gemini', 'warmup'];

/** The protocol column: warm-up requests (scheduled or manual, not from a client) get a badge. */
export function ProtocolCell({ protocol }: { protocol: string }) {
  const t = useT();
  if (protocol === 'warmup') return <Badge kind="info" title={t('monitor.warmup_hint')}>{t('monitor.warmup')}</Badge>;
  return <>{protocol}</>;
}

function Headers({ h }: { h: LogEntry['request_headers'] }) {
  if (!h) return null;
  const rows = Array.isArray(h) ? h : Object.entries(h);
  return (
    <table class="table kv">
      <tbody>
        {rows.map(([k, v], i) => (
          <tr key={i}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Body({ title, text }: { title: string; text: string | null | undefined }) {
  const t = useT();
  return (
    <section class="drawer-sec">
      <div class="drawer-sec-head">
        <h3>{title}</h3>
        {text && <CopyButton text={prettyJson(text)} />}
      </div>
      {text ? <pre class="body-pre">{prettyJson(text)}</pre> : <p class="muted small">{t('monitor.no_body')}</p>}
    </section>
  );
}

interface ReplayAnswer {
  status: number;
  request_id: string | null;
  body: string;
  truncated: boolean;
}

/**
 * Sends the captured request to the gateway again (POST /api/logs/:id/replay): the server adds
 * the API key itself, so the browser never holds it. Needs the request's body to have been kept.
 */
export function Replay({ e }: { e: LogEntry }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<ReplayAnswer | null>(null);
  const [err, setErr] = useState<unknown>(null);
  if (!e.request_body) return null;
  const run = async () => {
    setBusy(true);
    setErr(null);
    setRes(null);
    try {
      setRes(await api<ReplayAnswer>(`/api/logs/${e.id}/replay`, { method: 'POST', body: {} }));
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="drawer-sec" aria-labelledby="rp-h">
      <div class="drawer-sec-head">
        <h3 id="rp-h">{t('monitor.replay')}</h3>
        <Button small icon="play" onClick={run} disabled={busy} aria-busy={busy}>
          {busy ? t('monitor.replaying') : t('monitor.replay_send')}
        </Button>
      </div>
      <p class="muted small">{t('monitor.replay_hint')}</p>
      <ErrorNote error={err} />
      {res && (
        <div aria-live="polite">
          <p>
            <Badge kind={res.status < 400 ? 'ok' : 'bad'}>{res.status}</Badge> {res.request_id ? t('monitor.replay_done', { id: res.request_id }) : ''}
          </p>
          <pre class="body-pre">{prettyJson(res.body)}</pre>
        </div>
      )}
    </section>
  );
}

function Drawer({ id, onClose }: { id: number; onClose: () => void }) {
  const t = useT();
  const ref = useRef<HTMLDivElement>(null);
  const { data: e, error } = useLoad(() => api<LogEntry>(`/api/logs/${id}`), [id]);
  const { status } = useGatewayStatus();
  useEffect(() => {
    ref.current?.focus();
    const k = (ev: KeyboardEvent) => ev.key === 'Escape' && onClose();
    window.addEventListener('keydown', k);
    return () => window.removeEventListener('keydown', k);
  }, [id]);
  return (
    <div class="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-h" tabIndex={-1} ref={ref}>
      <header class="drawer-head">
        <h2 id="drawer-h">{t('monitor.detail', { id })}</h2>
        <Button small variant="ghost" icon="x" aria-label={t('common.close')} onClick={onClose} />
      </header>
      <ErrorNote error={error} />
      {e && (
        <div class="drawer-body">
          <dl class="kv-grid">
            <dt>{t('monitor.time')}</dt>
            <dd>{fmtDateTime(e.ts_ms)}:{String(new Date(e.ts_ms).getSeconds()).padStart(2, '0')}</dd>
            <dt>{t('monitor.status')}</dt>
            <dd>
              <Badge kind={isError(e) ? 'bad' : 'ok'}>{e.status}</Badge> {e.error_class}
            </dd>
            {e.error_message && (
              <>
                <dt>{t('monitor.error')}</dt>
                <dd class="wrap">{e.error_message}</dd>
              </>
            )}
            <dt>{t('monitor.request')}</dt>
            <dd>
              <code>
                {e.method} {e.path}
              </code>{' '}
              {e.stream && <Badge kind="info">{t('monitor.stream')}</Badge>}
            </dd>
            <dt>{t('monitor.protocol')}</dt>
            <dd>{e.protocol}</dd>
            <dt>{t('monitor.model')}</dt>
            <dd>
              {e.model || '–'}
              {e.served_model && e.served_model !== e.model ? ` → ${e.served_model}` : ''}
            </dd>
            <dt>{t('monitor.account')}</dt>
            <dd>{e.account || '–'}</dd>
            <dt>{t('monitor.attempts')}</dt>
            <dd>{e.attempts}</dd>
            <dt>{t('monitor.ttfb')}</dt>
            <dd>{fmtMs(e.ttfb_ms)}</dd>
            <dt>{t('monitor.total')}</dt>
            <dd>{fmtMs(e.total_ms)}</dd>
            <dt>{t('monitor.tokens')}</dt>
            <dd>
              {fmtNum(e.input_tokens)} {t('stats.in')} · {fmtNum(e.output_tokens)} {t('stats.out')} · {fmtNum(e.cached_tokens)} {t('stats.cached')} · {fmtNum(e.reasoning_tokens)} {t('stats.reasoning')}
            </dd>
            <dt>{t('monitor.client')}</dt>
            <dd class="wrap">
              {e.client_ip} · {e.user_agent}
            </dd>
          </dl>
          <AttemptTimeline items={e.attempt_log} totalMs={e.total_ms} />
          <Replay e={e} />
          <section class="drawer-sec">
            <h3>{t('monitor.headers')}</h3>
            {e.request_headers || e.response_headers ? (
              <>
                <Headers h={e.request_headers} />
                <Headers h={e.response_headers} />
              </>
            ) : (
              <p class="muted small">{t('monitor.no_headers')}</p>
            )}
          </section>
          <Body title={t('monitor.req_body')} text={e.request_body} />
          <Body title={t('monitor.as_curl')} text={curlOf(e, status?.base_url || location.origin)} />
          <Body title={t('monitor.resp_body')} text={e.response_body} />
        </div>
      )}
    </div>
  );
}

export function Monitor() {
  const t = useT();
  const [f, setF] = useState<Filter>({ status: '', protocol: '', model: '', account: '', q: '' });
  const [list, setList] = useState<LogEntry[]>([]);
  const [total, setTotal] = useState(0);
  const [err, setErr] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);
  const [live, setLive] = useState(true);
  const [connected, setConnected] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const [missed, setMissed] = useState(0);
  // Requests that finish while the list is paused wait here and join it on resume.
  const held = useRef<LogEntry[]>([]);
  const [heldN, setHeldN] = useState(0);
  const fRef = useRef(f);
  const liveRef = useRef(live);
  fRef.current = f;
  liveRef.current = live;
  const counters = useLoad(() => api<{ recorded: number; capture_bodies: boolean }>('/api/monitor'));

  const query = (offset: number) => api<{ items: LogEntry[]; total: number }>('/api/logs', { query: { limit: PAGE, offset, status: f.status, protocol: f.protocol, model: f.model, account: f.account, q: f.q } });

  useEffect(() => {
    const h = setTimeout(() => {
      query(0)
        .then((r) => {
          setList(r.items);
          setTotal(r.total);
          setErr(null);
          setLoaded(true);
        })
        .catch(setErr);
    }, 250);
    return () => clearTimeout(h);
  }, [f.status, f.protocol, f.model, f.account, f.q]);

  useEffect(
    () =>
      events(
        {
          request: (e: LogEntry) => {
            if (!matches(e, fRef.current)) return;
            if (!liveRef.current) {
              held.current = mergeEntries(held.current, [e]);
              setHeldN(held.current.length);
              return;
            }
            setList((l) => mergeEntries(l, [e]));
            setTotal((n) => n + 1);
          },
          missed: (m: { count: number }) => setMissed((n) => n + (m.count || 0)),
        },
        setConnected,
      ),
    [],
  );

  const set = (k: keyof Filter, v: string) => setF({ ...f, [k]: v });
  const toggleLive = () => {
    if (!live && held.current.length) {
      const add = held.current;
      setList((l) => mergeEntries(l, add));
      setTotal((n) => n + add.length);
    }
    held.current = [];
    setHeldN(0);
    setLive(!live);
  };
  const filtered = !!(f.status || f.protocol || f.model || f.account || f.q);
  // Closing the drawer puts the focus back on the row that opened it, before the drawer goes (the row stays in
  // the table while the drawer is open), so the focus never falls to the page in between.
  const closeDrawer = () => {
    (document.querySelector(`tr[data-id="${open}"]`) as HTMLElement | null)?.focus();
    setOpen(null);
  };
  const ok = list.filter((e) => !isError(e)).length;
  return (
    <div class="page">
      <div class="page-head">
        <h1>{t('nav.monitor')}</h1>
        <div class="toolbar">
          <span class={`live ${connected && live ? 'live-on' : ''}`} aria-live="polite">
            <span class="dot" aria-hidden="true" /> {connected ? (live ? t('monitor.live') : t('monitor.paused')) : t('monitor.connecting')}
          </span>
          <Button icon={live ? 'pause' : 'play'} aria-pressed={!live} onClick={toggleLive}>
            {live ? t('monitor.pause') : heldN ? t('monitor.resume_n', { n: heldN }) : t('monitor.resume')}
          </Button>
          <Button
            icon="trash"
            onClick={() =>
              confirm({
                title: t('monitor.clear_title'),
                text: t('monitor.clear_text'),
                action: t('monitor.clear'),
                danger: true,
                run: async () => {
                  const r = await api<{ deleted: number }>('/api/logs/clear', { method: 'POST' });
                  setList([]);
                  setTotal(0);
                  toast(t('monitor.cleared', { n: r.deleted }));
                },
              })
            }
          >
            {t('monitor.clear')}
          </Button>
        </div>
      </div>
      <div class="filters" role="search">
        <div class="seg" role="group" aria-label={t('monitor.status')}>
          {(['', 'ok', 'error'] as const).map((s) => (
            <button type="button" key={s} class={f.status === s ? 'on' : ''} aria-pressed={f.status === s} onClick={() => set('status', s)}>
              {t(`monitor.f_${s || 'all'}`)}
            </button>
          ))}
        </div>
        <label class="sr-only" for="mf-proto">
          {t('monitor.protocol')}
        </label>
        <select id="mf-proto" value={f.protocol} onChange={(e) => set('protocol', (e.target as HTMLSelectElement).value)}>
          <option value="">{t('monitor.all_protocols')}</option>
          {PROTOCOLS.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <label class="sr-only" for="mf-model">
          {t('monitor.model')}
        </label>
        <input id="mf-model" type="search" placeholder={t('monitor.model')} value={f.model} onInput={(e) => set('model', (e.target as HTMLInputElement).value)} />
        <label class="sr-only" for="mf-acc">
          {t('monitor.account')}
        </label>
        <input id="mf-acc" type="search" placeholder={t('monitor.account')} value={f.account} onInput={(e) => set('account', (e.target as HTMLInputElement).value)} />
        <label class="sr-only" for="mf-q">
          {t('monitor.search')}
        </label>
        <input id="mf-q" type="search" placeholder={t('monitor.search')} value={f.q} onInput={(e) => set('q', (e.target as HTMLInputElement).value)} />
      </div>
      <p class="muted small">
        {t('monitor.counts', { shown: list.length, total, ok, err: list.length - ok })}
        {counters.data && !counters.data.capture_bodies ? ` · ${t('monitor.bodies_off')}` : ''}
        {missed ? ` · ${t('monitor.missed', { n: missed })}` : ''}
        {list.length > 0 && ` · ${t('monitor.latency', { p50: fmtMs(percentile(list.map((e) => e.total_ms), 50)), p90: fmtMs(percentile(list.map((e) => e.total_ms), 90)), p99: fmtMs(percentile(list.map((e) => e.total_ms), 99)) })}`}
      </p>
      <ErrorNote error={err} />
      {!loaded && !err && list.length === 0 && <Empty>{t('common.loading')}</Empty>}
      {loaded && list.length === 0 && !err && !filtered && <Empty>{t('monitor.empty')}</Empty>}
      {loaded && list.length === 0 && !err && filtered && (
        <Empty>
          <p>{t('monitor.no_match')}</p>
          <Button onClick={() => setF({ status: '', protocol: '', model: '', account: '', q: '' })}>{t('common.clear_filters')}</Button>
        </Empty>
      )}
      {list.length > 0 && (
        <div class="table-wrap">
          <table class="table mon-table">
            <caption class="sr-only">{t('monitor.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('monitor.status')}</th>
                <th scope="col">{t('monitor.time')}</th>
                <th scope="col">{t('monitor.model')}</th>
                <th scope="col" class="hide-narrow">
                  {t('monitor.protocol')}
                </th>
                <th scope="col" class="hide-narrow">
                  {t('monitor.account')}
                </th>
                <th scope="col" class="num">
                  {t('monitor.tokens')}
                </th>
                <th scope="col" class="num">
                  {t('monitor.total')}
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr
                  key={e.id}
                  class={`${isError(e) ? 'row-err' : ''}${open === e.id ? ' row-on' : ''}`}
                  tabIndex={0}
                  data-id={e.id}
                  aria-label={t('monitor.row', { id: e.id })}
                  onClick={() => setOpen(e.id)}
                  onKeyDown={(ev) => (ev.key === 'Enter' || ev.key === ' ') && (ev.preventDefault(), setOpen(e.id))}
                >
                  <td>
                    <Badge kind={isError(e) ? 'bad' : 'ok'}>{e.status}</Badge>
                  </td>
                  <td>
                    <time dateTime={new Date(e.ts_ms).toISOString()}>{fmtTime(e.ts_ms)}</time>
                  </td>
                  <td class="ellipsis" title={`${e.model || ''}${e.served_model && e.served_model !== e.model ? ` → ${e.served_model}` : ''}`}>
                    {e.model || e.path}
                    {e.served_model && e.served_model !== e.model && <span class="muted"> → {e.served_model}</span>}
                  </td>
                  <td class="hide-narrow">
                    <ProtocolCell protocol={e.protocol} />
                  </td>
                  <td class="hide-narrow ellipsis">{e.account || '–'}</td>
                  <td class="num">
                    {fmtNum(e.input_tokens)} / {fmtNum(e.output_tokens)}
                  </td>
                  <td class="num">{fmtMs(e.total_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.length < total && (
        <Button
          onClick={() =>
            query(list.length)
              .then((r) => setList((l) => mergeEntries(l, r.items, l.length + PAGE)))
              .catch(setErr)
          }
        >
          <Icon name="download" /> {t('monitor.more')}
        </Button>
      )}
      {open !== null && <Drawer id={open} onClose={closeDrawer} />}
    </div>
  );
}
