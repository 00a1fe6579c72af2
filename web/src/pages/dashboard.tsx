// web/src/pages/dashboard.tsx: the gateway at a glance: status and address, request and error
// rate over the last minute, today's totals, accounts by state, average remaining quota per model
// group, the recommended account, and the latest errors.
import { api } from '../api';
import { Badge, Button, Card, Empty, ErrorNote, Stat, level, toast, toastError, useLoad, useNow } from '../components/ui';
import { fmtDateTime, fmtNum, fmtPct, fmtTime, startOfDayS } from '../format';
import { errorFix } from '../errorfix';
import { useT } from '../i18n';
import { averageByGroup, bestAccount, countByState, GROUPS, type Account } from '../quota';
import { bestByGroup } from '../insight';
import '../components/timeline.css';
import { navigate } from '../router';
import { useGatewayStatus } from '../status';
import { isError, type LogEntry, type StatsSummary } from '../types';

export function rates(entries: LogEntry[], now: number, windowMs = 60000) {
  const recent = entries.filter((e) => e.ts_ms > now - windowMs);
  const errors = recent.filter(isError).length;
  return { perMin: (recent.length * 60000) / windowMs, errorRate: recent.length ? errors / recent.length : 0, n: recent.length };
}

export function Dashboard() {
  const t = useT();
  const now = useNow(5000);
  const { status: st, state } = useGatewayStatus();
  const accounts = useLoad(() => api<{ accounts: Account[] }>('/api/accounts'), [Math.floor(now / 15000)]);
  const today = useLoad(() => api<StatsSummary>('/api/stats/summary', { query: { from_s: startOfDayS(), tz_offset_min: -new Date().getTimezoneOffset() } }), [Math.floor(now / 15000)]);
  const recent = useLoad(() => api<{ items: LogEntry[] }>('/api/logs/recent', { query: { limit: 1000 } }), [now]);
  const errors = useLoad(() => api<{ items: LogEntry[] }>('/api/logs', { query: { status: 'error', limit: 6 } }), [Math.floor(now / 15000)]);

  const list = accounts.data?.accounts || [];
  const r = rates(recent.data?.items || [], now);
  const byState = countByState(list, now);
  const avg = averageByGroup(list);
  const best = bestAccount(list, now);
  const perGroup = bestByGroup(list, now);
  const sum = today.data;

  return (
    <div class="page">
      <h1>{t('nav.dashboard')}</h1>
      <div class="grid stats-grid">
        <Stat
          label={t('dash.gateway')}
          value={state === 'unknown' ? '–' : t(`status.${state}`)}
          kind={state === 'running' ? 'ok' : state === 'unknown' ? undefined : 'bad'}
          sub={st ? <code>{st.base_url}</code> : undefined}
        />
        <Stat label={t('dash.rate')} value={t('dash.per_min', { n: fmtNum(r.perMin) })} sub={t('dash.active', { n: st?.active_requests ?? 0 })} />
        <Stat label={t('dash.error_rate')} value={fmtPct(r.errorRate, 1)} kind={r.errorRate > 0.1 ? 'bad' : undefined} sub={t('dash.last_minute', { n: r.n })} />
        <Stat label={t('dash.today_requests')} value={fmtNum(sum?.requests)} sub={t('dash.errors_n', { n: fmtNum(sum?.errors ?? 0) })} />
        <Stat label={t('dash.today_tokens')} value={fmtNum(sum?.total_tokens)} sub={`${fmtNum(sum?.input_tokens)} ${t('stats.in')} · ${fmtNum(sum?.output_tokens)} ${t('stats.out')}`} />
      </div>
      <ErrorNote error={today.error} />
      <div class="grid two">
        <Card title={t('dash.accounts')} id="dash-acc" actions={<Button small variant="ghost" onClick={() => navigate('accounts')}>{t('dash.view_all')}</Button>}>
          <ErrorNote error={accounts.error} />
          <div class="state-row">
            {(['available', 'cooling', 'disabled', 'forbidden'] as const).map((s) => (
              <div key={s} class={`state-box state-${s}`}>
                <div class="state-n">{byState[s]}</div>
                <div class="state-l">{t(`state.${s}`)}</div>
              </div>
            ))}
          </div>
          <h3>{t('dash.avg_quota')}</h3>
          {GROUPS.filter((g) => avg[g] !== undefined).length === 0 && <Empty>{t('dash.no_quota')}</Empty>}
          {GROUPS.filter((g) => avg[g] !== undefined).map((g) => (
            <div class="qbar" key={g}>
              <div class="qbar-top">
                <span class="qbar-name">{t(`group.${g}`)}</span>
                <span class="qbar-val">{fmtPct(avg[g]!)}</span>
              </div>
              <div class="qbar-track" role="meter" aria-label={t(`group.${g}`)} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(avg[g]! * 100)}>
                <div class={`qbar-fill qbar-${level(avg[g]!)}`} style={{ width: `${avg[g]! * 100}%` }} />
              </div>
            </div>
          ))}
        </Card>
        <Card title={t('dash.best')} id="dash-best">
          {best ? (
            <div class="best">
              <div class="best-email">{best.account.email}</div>
              <div class="best-meta">
                <Badge kind={`tier-${best.account.tier}`}>{best.account.tier}</Badge>
                {best.account.label && <Badge>{best.account.label}</Badge>}
                <span class="muted">{t('dash.score', { score: fmtPct(best.score) })}</span>
              </div>
              <p class="muted small">{t('dash.best_why')}</p>
              <Button
                small
                icon="pin"
                disabled={best.account.current}
                onClick={async () => {
                  try {
                    await api('/api/accounts/current', { body: { account_id: best.account.id } });
                    toast(t('accounts.fixed_set', { email: best.account.email }));
                    accounts.reload();
                  } catch (e) {
                    toastError(e);
                  }
                }}
              >
                {best.account.current ? t('accounts.is_fixed') : t('accounts.set_fixed')}
              </Button>
            </div>
          ) : (
            <Empty>{t('dash.no_best')}</Empty>
          )}
        </Card>
      </div>
      <Card title={t('dash.best_by_group')} id="dash-groups">
        <p class="muted small">{t('dash.best_by_group_hint')}</p>
        <ErrorNote error={accounts.error} />
        {!accounts.data && !accounts.error && <Empty>{t('common.loading')}</Empty>}
        {accounts.data && (
          <div class="best-groups">
            {GROUPS.map((g) => (
              <section key={g} aria-label={t(`group.${g}`)}>
                <h3>{t(`group.${g}`)}</h3>
                {perGroup[g] ? (
                  <ol>
                    {perGroup[g]!.map((x) => (
                      <li key={x.account.id}>
                        <span class="ellipsis" title={x.account.email}>
                          {x.account.email}
                        </span>
                        <span class="qbar-val">{fmtPct(x.remaining)}</span>
                      </li>
                    ))}
                  </ol>
                ) : (
                  <p class="muted small">{t('dash.best_none')}</p>
                )}
              </section>
            ))}
          </div>
        )}
      </Card>
      <Card title={t('dash.recent_errors')} id="dash-err" actions={<Button small variant="ghost" onClick={() => navigate('monitor')}>{t('nav.monitor')}</Button>}>
        <ErrorNote error={errors.error} />
        {!errors.data && !errors.error && <Empty>{t('common.loading')}</Empty>}
        {errors.data && errors.data.items.length === 0 && <Empty>{t('dash.no_errors')}</Empty>}
        <ul class="err-list">
          {(errors.data?.items || []).map((e) => {
            const fix = errorFix(e);
            return (
            <li key={e.id}>
              <Badge kind="bad">{e.status || e.error_class}</Badge>
              <span class="err-model">{e.model || e.path}</span>
              <span class="err-msg">
                {e.error_message || e.error_class || ''}
              </span>
              <time class="muted" dateTime={new Date(e.ts_ms).toISOString()} title={fmtDateTime(e.ts_ms)}>
                {fmtTime(e.ts_ms)}
              </time>
              {fix && (
                <p class="err-fix">
                  {t(fix.key)}{' '}
                  <a
                    href={`/${fix.page}`}
                    onClick={(ev) => {
                      ev.preventDefault();
                      navigate(fix.page);
                    }}
                  >
                    {t('fix.go', { page: t(`nav.${fix.page}`) })}
                  </a>
                </p>
              )}
            </li>
            );
          })}
        </ul>
      </Card>
    </div>
  );
}
