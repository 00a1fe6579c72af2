// web/src/pages/stats.tsx: token statistics: totals for the range, tokens and requests over time
// (hour / day / week), usage over time by model or by account, and breakdown tables.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { ShareBars, TimeChart, PALETTE } from '../components/chart';
import { Button, Card, confirm, Empty, ErrorNote, Stat, Tabs, toast, useLoad } from '../components/ui';
import { fmtNum, fmtPct } from '../format';
import { useT } from '../i18n';
import { keyedOn, rangeAxis, rangeQuery, totalsOn, type Range } from '../statsdata';
import type { StatsRow, StatsSummary } from '../types';

type By = 'model' | 'account' | 'key';

/** Tokens by user key (GET /api/stats/keys) as series rows. */
export async function keyRows(common: { hours?: number; days?: number; tz_offset_min: number }, bucket: string): Promise<{ from_s: number; items: StatsRow[] }> {
  const r = await api<{ from_s: number; items: { bucket_s: number; key: string; requests: number; errors: number; input_tokens: number; output_tokens: number; tokens: number }[] }>('/api/stats/keys', { query: { ...common, bucket } });
  return {
    from_s: r.from_s,
    items: r.items.map((x) => ({ period_s: x.bucket_s, key: x.key, requests: x.requests, errors: x.errors, input_tokens: x.input_tokens, output_tokens: x.output_tokens, cached_tokens: 0, reasoning_tokens: 0, total_tokens: x.tokens })),
  };
}

export function Stats() {
  const t = useT();
  const [range, setRange] = useState<Range>('hour');
  const [by, setBy] = useState<By>('model');
  const [gen, setGen] = useState(0);
  const q = rangeQuery(range);
  const common = { hours: q.hours, days: q.days, tz_offset_min: -new Date().getTimezoneOffset() };
  const summary = useLoad(() => api<StatsSummary>('/api/stats/summary', { query: common }), [range, gen]);
  const series = useLoad(() => api<{ from_s: number; items: StatsRow[] }>('/api/stats/series', { query: { ...common, bucket: q.bucket } }), [range, gen]);
  const keyed = useLoad(() => (by === 'key' ? keyRows(common, q.bucket) : api<{ from_s: number; items: StatsRow[] }>('/api/stats/series', { query: { ...common, bucket: q.bucket, group: by } })), [range, by, gen]);
  const byModel = useLoad(() => api<{ items: StatsRow[] }>('/api/stats/breakdown', { query: { ...common, group: 'model' } }), [range, gen]);
  const byAccount = useLoad(() => api<{ items: StatsRow[] }>('/api/stats/breakdown', { query: { ...common, group: 'account' } }), [range, gen]);

  const nowS = Math.floor(Date.now() / 1000);
  const tot = useMemo(() => {
    if (!series.data) return null;
    const x = rangeAxis(range, series.data.from_s, series.data.items, nowS);
    return totalsOn(x, series.data.items, range === 'week');
  }, [series.data]);
  const keyedSeries = useMemo(() => {
    if (!keyed.data || !tot) return null;
    return keyedOn(tot.x, keyed.data.items, 6, t('stats.other'), range === 'week').map((s, i) => ({ label: s.key || t('stats.none_key'), values: s.values, color: PALETTE[i % PALETTE.length] }));
  }, [keyed.data, tot]);
  const s = summary.data;
  const dayTicks = range !== 'hour';

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t('nav.stats')}</h1>
        <div class="toolbar">
          <Tabs<Range>
            label={t('stats.range')}
            value={range}
            onChange={setRange}
            tabs={[
              { id: 'hour', label: t('stats.r_hour') },
              { id: 'day', label: t('stats.r_day') },
              { id: 'week', label: t('stats.r_week') },
            ]}
          />
          <Button icon="refresh" onClick={() => setGen(gen + 1)}>
            {t('common.reload')}
          </Button>
          <Button
            icon="trash"
            variant="ghost"
            onClick={() =>
              confirm({
                title: t('stats.clear_title'),
                text: t('stats.clear_text'),
                action: t('stats.clear'),
                danger: true,
                run: async () => {
                  await api('/api/stats/clear', { method: 'POST' });
                  toast(t('stats.cleared'));
                  setGen(gen + 1);
                },
              })
            }
          >
            {t('stats.clear')}
          </Button>
        </div>
      </div>
      <ErrorNote error={summary.error || series.error} />
      <div class="grid stats-grid">
        <Stat label={t('stats.total_tokens')} value={fmtNum(s?.total_tokens)} />
        <Stat label={t('stats.input')} value={fmtNum(s?.input_tokens)} sub={`${fmtNum(s?.cached_tokens)} ${t('stats.cached')}`} />
        <Stat label={t('stats.output')} value={fmtNum(s?.output_tokens)} sub={`${fmtNum(s?.reasoning_tokens)} ${t('stats.reasoning')}`} />
        <Stat label={t('stats.requests')} value={fmtNum(s?.requests)} sub={s ? `${t('stats.errors')}: ${fmtNum(s.errors)} (${fmtPct(s.requests ? s.errors / s.requests : 0, 1)})` : undefined} />
        <Stat label={t('stats.accounts_models')} value={s ? `${s.accounts} / ${s.models}` : '–'} />
      </div>
      <div class="grid two">
        <Card title={t('stats.tokens_over_time')} id="st-tok">
          {tot && (
            <TimeChart
              label={t('stats.tokens_over_time')}
              x={tot.x}
              dayTicks={dayTicks}
              series={[
                { label: t('stats.input'), values: tot.input, color: PALETTE[0] },
                { label: t('stats.output'), values: tot.output, color: PALETTE[1] },
              ]}
            />
          )}
        </Card>
        <Card title={t('stats.requests_over_time')} id="st-req">
          {tot && (
            <TimeChart
              label={t('stats.requests_over_time')}
              x={tot.x}
              dayTicks={dayTicks}
              series={[
                { label: t('stats.requests'), values: tot.requests, color: PALETTE[0] },
                { label: t('stats.errors'), values: tot.errors, color: PALETTE[6] },
              ]}
            />
          )}
        </Card>
      </div>
      <Card
        title={by === 'model' ? t('stats.by_model_time') : by === 'key' ? t('stats.by_key_time') : t('stats.by_account_time')}
        id="st-by"
        actions={
          <Tabs<By>
            label={t('stats.group_by')}
            value={by}
            onChange={setBy}
            tabs={[
              { id: 'model', label: t('stats.by_model') },
              { id: 'account', label: t('stats.by_account') },
              { id: 'key', label: t('stats.by_key') },
            ]}
          />
        }
      >
        <ErrorNote error={keyed.error} />
        {keyedSeries && keyedSeries.length === 0 && <Empty>{t('stats.empty')}</Empty>}
        {keyedSeries && keyedSeries.length > 0 && tot && <TimeChart label={t('stats.by_model_time')} x={tot.x} dayTicks={dayTicks} series={keyedSeries} />}
      </Card>
      <div class="grid two">
        <Breakdown title={t('stats.by_model')} rows={byModel.data?.items} error={byModel.error} id="st-bm" />
        <Breakdown title={t('stats.by_account')} rows={byAccount.data?.items} error={byAccount.error} id="st-ba" />
      </div>
    </div>
  );
}

function Breakdown({ title, rows, error, id }: { title: string; rows?: StatsRow[]; error: unknown; id: string }) {
  const t = useT();
  const sorted = [...(rows || [])].sort((a, b) => b.total_tokens - a.total_tokens);
  const total = sorted.reduce((n, r) => n + r.total_tokens, 0);
  return (
    <Card title={title} id={id}>
      <ErrorNote error={error} />
      {!rows && !error && <Empty>{t('common.loading')}</Empty>}
      {rows && rows.length === 0 && <Empty>{t('stats.empty')}</Empty>}
      {sorted.length > 0 && (
        <>
          <ShareBars label={title} total={total} rows={sorted.slice(0, 8).map((r) => ({ key: r.key || t('stats.none_key'), value: r.total_tokens }))} />
          <div class="table-wrap" tabIndex={0}>
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{title}</th>
                  <th scope="col" class="num">
                    {t('stats.requests')}
                  </th>
                  <th scope="col" class="num">
                    {t('stats.input')}
                  </th>
                  <th scope="col" class="num">
                    {t('stats.output')}
                  </th>
                  <th scope="col" class="num">
                    {t('stats.share')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((r) => (
                  <tr key={r.key}>
                    <td class="ellipsis" title={r.key}>
                      {r.key || <span class="muted">{t('stats.none_key')}</span>}
                    </td>
                    <td class="num">{fmtNum(r.requests)}</td>
                    <td class="num">{fmtNum(r.input_tokens)}</td>
                    <td class="num">{fmtNum(r.output_tokens)}</td>
                    <td class="num">{total ? fmtPct(r.total_tokens / total, 1) : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
