// web/src/components/chart.tsx: time-series charts on uPlot (bundled; nothing fetched at run time).
// The chart follows its container's width and the theme's colours; a table with the same numbers
// sits beside it for screen readers. Times are written with numbers only (24-hour clock), the
// same in every language.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtDateTime, fmtNum } from '../format';
import { lang, t } from '../i18n';
import { useStore } from '../store';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

export const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#db2777', '#7c3aed', '#0891b2', '#dc2626', '#65a30d', '#ea580c', '#4b5563'];

function cssVar(name: string, dflt: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || dflt;
}

export function TimeChart({ x, series, bars, height = 240, label, dayTicks }: { x: number[]; series: Series[]; bars?: boolean; height?: number; label: string; dayTicks?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const l = useStore(lang);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axisColor = cssVar('--muted', '#6b7280');
    const gridColor = cssVar('--line', '#e5e7eb');
    const n = series.length || 1;
    const barPaths = bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8 / n, 60], align: 0 }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, values: dayTicks ? '{M}/{D}' : '{HH}:{mm}' },
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, size: 56, values: (_u, v) => v.map((y) => fmtNum(y)) },
      ],
      series: [
        { label: t('monitor.time'), value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmtDateTime(v * 1000)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: bars ? 0 : 2,
          fill: bars ? s.color : `${s.color}22`,
          paths: barPaths,
          points: { show: !bars && x.length < 3 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmtNum(v)),
        })),
      ],
    };
    const data = [x, ...series.map((s) => s.values)] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height })) : null;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      plot.destroy();
    };
  }, [x, series, bars, height, dayTicks, l]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

/** A horizontal share bar per row (breakdowns by model or account): no chart library needed. */
export function ShareBars({ rows, total, label }: { rows: { key: string; value: number; sub?: string }[]; total: number; label: string }) {
  return (
    <ul class="share" aria-label={label}>
      {rows.map((r, i) => (
        <li key={r.key}>
          <div class="share-top">
            <span class="share-key" title={r.key}>
              <i style={{ background: PALETTE[i % PALETTE.length] }} />
              {r.key}
            </span>
            <span class="share-val">
              {fmtNum(r.value)} · {total ? ((r.value / total) * 100).toFixed(1) : '0.0'}%{r.sub ? ` · ${r.sub}` : ''}
            </span>
          </div>
          <div class="share-track">
            <div style={{ width: `${total ? (r.value / total) * 100 : 0}%`, background: PALETTE[i % PALETTE.length] }} />
          </div>
        </li>
      ))}
    </ul>
  );
}
