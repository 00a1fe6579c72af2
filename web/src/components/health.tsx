// web/src/components/health.tsx: an account's last 24 hours as a strip of hourly cells (green:
// every attempt succeeded, amber: some failed, red: all failed, grey: no requests), and the
// quota forecast line under the account's quota bars.
import { fmtSpan } from '../format';
import { useT } from '../i18n';
import { healthTotals, hourLabel, type Forecast, type HealthCell } from '../insight';
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
