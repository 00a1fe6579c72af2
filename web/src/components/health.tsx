// web/src/components/health.tsx: an account's last 24 hours as a strip of hourly cells (green:
// every attempt succeeded, amber: some failed, red: all failed, grey: no requests), and the
// quota forecast line under the account's quota bars, and the quota windows the upstream reports.
import { fmtSpan } from '../format';
import { useT } from '../i18n';
import { healthTotals, hourLabel, type Forecast, type HealthCell } from '../insight';
import type { QuotaWindowGroup } from '../quota';
import { QuotaBar } from './ui';
import './timeline.css';

export function HealthStrip({ cells, now }: { cells: HealthCell[]; now: number }) {
  const t = useT();
  const tot = healthTotals(cells);
  const label = tot.ok + tot.err ? t('accounts.health_label', { ok: tot.ok, err: tot.err }) : t('accounts.health_none');
  return (
    <div class="hstrip-wrap">
      <div class="hstrip" role="img" aria-label={label}>
        {cells.map((c) => (
          <span key={c.startMs} class={`hcell hcell-${c.kind}`} title={t('accounts.health_hour', { time: hourLabel(c.startMs, now), ok: c.ok, err: c.err })} />
        ))}
      </div>
      <div class="hstrip-foot small muted">
        <span>{t('accounts.health')}</span>
        <span>{label}</span>
      </div>
    </div>
  );
}

export function ForecastLine({ model, f, now }: { model: string; f: Forecast; now: number }) {
  const t = useT();
  let text: string;
  if (f.kind === 'runs_out') text = t('accounts.forecast_runs_out', { model, time: fmtSpan(Math.max(0, f.atMs - now)) });
  else if (f.kind === 'lasts') text = t('accounts.forecast_lasts');
  else if (f.kind === 'idle') text = t('accounts.forecast_idle');
  else text = t('accounts.forecast_no_data');
  return (
    <div class={`forecast small${f.kind === 'runs_out' ? ' forecast-warn' : ' muted'}`}>
      {t('accounts.forecast')}: {text}
    </div>
  );
}

/** A window's name: the 5-hour and weekly windows translated, any other by the upstream's name. */
export function windowLabel(t: (k: string) => string, b: { window: string; name: string; id: string }): string {
  if (b.window === '5h') return t('accounts.window_5h');
  if (b.window === 'weekly') return t('accounts.window_weekly');
  return b.name || b.window || b.id;
}

/** The upstream's quota windows of one account, one bar per bucket, grouped. */
export function QuotaWindows({ groups, now }: { groups: QuotaWindowGroup[] | null | undefined; now: number }) {
  const t = useT();
  if (!groups || !groups.length) return null;
  return (
    <div class="qwin">
      <div class="small muted">{t('accounts.windows')}</div>
      {groups.map((g) => (
        <div key={g.group} class="qwin-group">
          {g.buckets.map((b) => (
            <QuotaBar key={b.id} label={`${g.group} · ${windowLabel(t, b)}`} remaining={b.remaining} resetMs={b.reset_at ? b.reset_at * 1000 : undefined} now={now} />
          ))}
        </div>
      ))}
    </div>
  );
}
