// web/src/pages/iprules.tsx: the IP Rules page: the client address rules (security.ip_allow and
// security.ip_deny, one address or CIDR block per line, saved through /api/config, where a bad
// item is refused with its reason), the addresses refused lately (GET /api/security/ip), and the
// last webhook alert deliveries with a test button (GET /api/alerts, POST /api/alerts/test).
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Badge, Button, Card, Empty, ErrorNote, toast, toastError, useLoad, useNow } from '../components/ui';
import { saveConfig } from '../config';
import { fmtDateTime, fmtNum } from '../format';
import { useT } from '../i18n';

export interface IpRules {
  allow: string[];
  deny: string[];
  refused_total: number;
  refused: { address: string; count: number; first_ms: number; last_ms: number }[];
}

export interface AlertsInfo {
  running: boolean;
  webhooks: { host: string; events: string[]; signed: boolean }[];
  stats: { emitted: number; suppressed: number; delivered: number; failed: number; dropped: number; retries: number; pending: number };
  deliveries: { time_ms: number; event: string; subject: string; host: string; status: number; attempts: number; delivered: boolean; error: string }[];
}

/** The lines of a text area as a list: trimmed, empty lines dropped. */
export function linesOf(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function IpRulesPage() {
  const t = useT();
  const now = useNow(10000);
  const rules = useLoad(() => api<IpRules>('/api/security/ip'), [now]);
  const alerts = useLoad(() => api<AlertsInfo>('/api/alerts'), [now]);
  const [allow, setAllow] = useState<string | null>(null);
  const [deny, setDeny] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const r = rules.data;
  const a = alerts.data;
  const allowText = allow ?? (r ? r.allow.join('\n') : '');
  const denyText = deny ?? (r ? r.deny.join('\n') : '');

  return (
    <div class="page">
      <h1>{t('nav.ip-rules')}</h1>
      <div class="grid two">
        <Card title={t('ip.rules')} id="ip-rules">
          <ErrorNote error={rules.error} />
          <p class="muted small">{t('ip.rules_hint')}</p>
          <form
            class="stack"
            onSubmit={async (e) => {
              e.preventDefault();
              setBusy(true);
              try {
                await saveConfig({ 'security.ip_allow': linesOf(allowText), 'security.ip_deny': linesOf(denyText) });
                setAllow(null);
                setDeny(null);
                rules.reload();
              } catch (x) {
                toastError(x);
              } finally {
                setBusy(false);
              }
            }}
          >
            <div class="field">
              <label for="ip-allow">{t('ip.allow')}</label>
              <textarea id="ip-allow" rows={5} spellcheck={false} value={allowText} placeholder="192.168.1.0/24" onInput={(e) => setAllow((e.target as HTMLTextAreaElement).value)} />
              <p class="muted small">{t('ip.allow_hint')}</p>
            </div>
            <div class="field">
              <label for="ip-deny">{t('ip.deny')}</label>
              <textarea id="ip-deny" rows={5} spellcheck={false} value={denyText} placeholder="10.0.0.7" onInput={(e) => setDeny((e.target as HTMLTextAreaElement).value)} />
              <p class="muted small">{t('ip.deny_hint')}</p>
            </div>
            <div>
              <Button type="submit" variant="primary" disabled={busy || !r}>
                {t('common.save')}
              </Button>
            </div>
          </form>
        </Card>
        <Card title={t('ip.refused')} id="ip-refused" actions={r ? <Badge>{t('ip.refused_total', { n: fmtNum(r.refused_total) })}</Badge> : undefined}>
          {r && r.refused.length === 0 && <Empty>{t('ip.no_refused')}</Empty>}
          {r && r.refused.length > 0 && (
            <div class="table-wrap">
              <table class="table">
                <caption class="sr-only">{t('ip.refused')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('ip.address')}</th>
                    <th scope="col" class="num">
                      {t('ip.count')}
                    </th>
                    <th scope="col">{t('ip.last')}</th>
                  </tr>
                </thead>
                <tbody>
                  {r.refused.map((x) => (
                    <tr key={x.address}>
                      <td>
                        <code>{x.address}</code>
                      </td>
                      <td class="num">{fmtNum(x.count)}</td>
                      <td>{fmtDateTime(x.last_ms)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      </div>
      <Card
        title={t('ip.alerts')}
        id="ip-alerts"
        actions={
          <Button
            small
            onClick={async () => {
              try {
                const out = await api<{ queued: number }>('/api/alerts/test', { method: 'POST', body: {} });
                toast(t('ip.test_sent', { n: out.queued }));
                setTimeout(() => alerts.reload(), 1500);
              } catch (x) {
                toastError(x);
              }
            }}
          >
            {t('ip.test')}
          </Button>
        }
      >
        <ErrorNote error={alerts.error} />
        {a && a.webhooks.length === 0 && <p class="muted small">{t('ip.no_webhooks')}</p>}
        {a && a.webhooks.length > 0 && (
          <p class="muted small">
            {a.webhooks.map((w) => `${w.host} (${w.events.join(', ')}${w.signed ? ', ' + t('ip.signed') : ''})`).join(' · ')}
          </p>
        )}
        {a && (
          <p class="muted small">
            {t('ip.alert_stats', { delivered: a.stats.delivered, failed: a.stats.failed, dropped: a.stats.dropped, pending: a.stats.pending })}
          </p>
        )}
        {a && a.deliveries.length === 0 && <Empty>{t('ip.no_deliveries')}</Empty>}
        {a && a.deliveries.length > 0 && (
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">{t('ip.alerts')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('ip.time')}</th>
                  <th scope="col">{t('ip.event')}</th>
                  <th scope="col">{t('ip.subject')}</th>
                  <th scope="col">{t('ip.host')}</th>
                  <th scope="col">{t('ip.result')}</th>
                  <th scope="col" class="num">
                    {t('ip.attempts')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {a.deliveries.map((d, i) => (
                  <tr key={`${d.time_ms}-${i}`} class={d.delivered ? '' : 'row-err'}>
                    <td>{fmtDateTime(d.time_ms)}</td>
                    <td>
                      <code>{d.event}</code>
                    </td>
                    <td>{d.subject}</td>
                    <td>
                      <code>{d.host}</code>
                    </td>
                    <td title={d.error}>{d.delivered ? <Badge kind="ok">{d.status}</Badge> : <Badge kind="bad">{d.status || d.error}</Badge>}</td>
                    <td class="num">{d.attempts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
