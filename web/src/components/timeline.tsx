// web/src/components/timeline.tsx: a request's upstream attempts as a timeline (the Monitor
// drawer): one row per attempt with its account, model, status and why the request moved on, and
// a bar whose segments are the attempt's stages (waiting for an account, the upstream's first
// byte, the answer) placed on the request's own time axis, with the time to the first token.
import { fmtMs } from '../format';
import { useT } from '../i18n';
import { Badge } from './ui';
import './timeline.css';

/** One attempt as GET /api/logs/:id gives it (attempt_log). */
export interface Attempt {
  account: string;
  model: string;
  status: number;
  outcome: string;
  reason: string;
  start_ms: number;
  acquire_ms: number | null;
  upstream_ms: number | null;
  first_token_ms: number | null;
  stream_ms: number | null;
}

/** attempt_log's items: attempts, and a last {dropped: n} when some were left out. */
export type AttemptItem = Attempt | { dropped: number };

export interface Segment {
  stage: 'acquire' | 'upstream' | 'stream';
  left: number; // percent of the axis
  width: number; // percent of the axis, at least 0.5 so a 0 ms stage stays visible
  ms: number;
}

export interface TimelineRow {
  a: Attempt;
  segs: Segment[];
  tokenAt: number | null; // percent of the axis where the first token came, or null
  ms: number; // the attempt's whole duration
}

/** The attempts of attempt_log (without the dropped marker) and how many were left out. */
export function splitAttempts(items: AttemptItem[] | null | undefined): { attempts: Attempt[]; dropped: number } {
  const attempts: Attempt[] = [];
  let dropped = 0;
  for (const it of items || []) {
    if ('dropped' in it) dropped += it.dropped;
    else attempts.push(it);
  }
  return { attempts, dropped };
}

/**
 * Places each attempt's stages on one axis from the request's arrival to totalMs (or to the end
 * of the last stage when that is later). Stages an attempt did not reach are left out.
 */
export function timelineRows(attempts: Attempt[], totalMs: number): TimelineRow[] {
  const dur = (a: Attempt) => (a.acquire_ms ?? 0) + (a.upstream_ms ?? 0) + (a.stream_ms ?? 0);
  const end = Math.max(totalMs || 0, ...attempts.map((a) => a.start_ms + dur(a)), 1);
  const pct = (ms: number) => (ms / end) * 100;
  return attempts.map((a) => {
    const segs: Segment[] = [];
    let at = a.start_ms;
    const add = (stage: Segment['stage'], ms: number | null) => {
      if (ms === null || ms === undefined) return;
      segs.push({ stage, left: pct(at), width: Math.max(0.5, pct(ms)), ms });
      at += ms;
    };
    add('acquire', a.acquire_ms);
    add('upstream', a.upstream_ms);
    add('stream', a.stream_ms);
    const sent = a.start_ms + (a.acquire_ms ?? 0);
    return {
      a,
      segs,
      tokenAt: a.first_token_ms === null || a.first_token_ms === undefined ? null : pct(sent + a.first_token_ms),
      ms: dur(a),
    };
  });
}

/** The timeline of a request's attempts; renders nothing without attempts. */
export function AttemptTimeline({ items, totalMs }: { items: AttemptItem[] | null | undefined; totalMs: number }) {
  const t = useT();
  const { attempts, dropped } = splitAttempts(items);
  if (!attempts.length) return null;
  const rows = timelineRows(attempts, totalMs);
  return (
    <section class="drawer-sec" aria-labelledby="tl-h">
      <h3 id="tl-h">{t('monitor.timeline')}</h3>
      <ol class="timeline">
        {rows.map((r, i) => {
          const ok = r.a.outcome === 'ok';
          return (
            <li key={i} class={`tl-row${ok ? '' : ' tl-fail'}`}>
              <div class="tl-head">
                <span class="tl-n">{i + 1}</span>
                <span class="tl-acct ellipsis" title={r.a.account}>
                  {r.a.account || t('monitor.no_account')}
                </span>
                {r.a.status > 0 && <Badge kind={ok ? 'ok' : 'bad'}>{r.a.status}</Badge>}
                <span class="tl-outcome">{ok ? t('monitor.outcome_ok') : r.a.outcome.replace(/_/g, ' ')}</span>
                <span class="tl-ms">{fmtMs(r.ms)}</span>
              </div>
              {r.a.model && <div class="tl-model muted small">{r.a.model}</div>}
              <div class="tl-track" role="img" aria-label={stageText(t, r.a)}>
                {r.segs.map((s) => (
                  <span key={s.stage} class={`tl-seg tl-${s.stage}`} style={{ insetInlineStart: `${s.left}%`, width: `${s.width}%` }} title={`${t(`monitor.stage_${s.stage}`)}: ${fmtMs(s.ms)}`} />
                ))}
                {r.tokenAt !== null && <span class="tl-token" style={{ insetInlineStart: `${Math.min(100, r.tokenAt)}%` }} title={`${t('monitor.first_token')}: ${fmtMs(r.a.first_token_ms)}`} />}
              </div>
              <div class="tl-stages small muted">{stageText(t, r.a)}</div>
              {!ok && r.a.reason && <div class="tl-reason wrap small">{r.a.reason}</div>}
            </li>
          );
        })}
      </ol>
      {dropped > 0 && <p class="muted small">{t('monitor.attempts_dropped', { n: dropped })}</p>}
      <p class="tl-legend small muted" aria-hidden="true">
        <span class="tl-key tl-acquire" /> {t('monitor.stage_acquire')} <span class="tl-key tl-upstream" /> {t('monitor.stage_upstream')} <span class="tl-key tl-stream" /> {t('monitor.stage_stream')} <span class="tl-key tl-token-key" /> {t('monitor.first_token')}
      </p>
    </section>
  );
}

function stageText(t: (k: string, v?: Record<string, string | number>) => string, a: Attempt): string {
  const parts: string[] = [];
  if (a.acquire_ms !== null) parts.push(`${t('monitor.stage_acquire')} ${fmtMs(a.acquire_ms)}`);
  if (a.upstream_ms !== null) parts.push(`${t('monitor.stage_upstream')} ${fmtMs(a.upstream_ms)}`);
  if (a.first_token_ms !== null) parts.push(`${t('monitor.first_token')} ${fmtMs(a.first_token_ms)}`);
  if (a.stream_ms !== null) parts.push(`${t('monitor.stage_stream')} ${fmtMs(a.stream_ms)}`);
  return parts.join(' · ');
}
