// web/src/components/ui.tsx: the small building blocks every page uses: icons, buttons that copy,
// badges, quota bars with reset countdowns, a modal dialog on <dialog> (focus trap and Escape come
// with it), a confirmation dialog, toasts, cards, empty and "missing route" notes.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiMissing, ApiUnreachable, errText } from '../api';
import { countdown, fmtPct } from '../format';
import { useT } from '../i18n';
import { signal, useStore } from '../store';

const PATHS: Record<string, string> = {
  dashboard: 'M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z',
  accounts: 'M16 11a4 4 0 1 0-4-4 4 4 0 0 0 4 4zm-8 0a3 3 0 1 0-3-3 3 3 0 0 0 3 3zm0 2c-2.7 0-6 1.3-6 3.5V19h6v-2.5c0-1 .4-2 1.2-2.8A9 9 0 0 0 8 13zm8 0c-3 0-7 1.5-7 4v2h14v-2c0-2.5-4-4-7-4z',
  proxy: 'M4 5h16v4H4zm0 10h16v4H4zm3-8.5h.01M7 16.5h.01M12 9v6',
  monitor: 'M3 12h4l3-8 4 16 3-8h4',
  stats: 'M4 20V10m6 10V4m6 16v-7m4 7H2',
  key: 'M11 12h10m-4 0v3m-3-3v2M7 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z',
  shield: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  settings: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm8-3 2-1.5-2-3.5-2.4.6a7 7 0 0 0-1.7-1L15.5 4h-4l-.4 2.6a7 7 0 0 0-1.7 1L7 7 5 10.5 7 12l-2 1.5L7 17l2.4-.6a7 7 0 0 0 1.7 1l.4 2.6h4l.4-2.6a7 7 0 0 0 1.7-1L20 17l2-3.5z',
  copy: 'M8 8h11v13H8zM5 16H4V3h11v1',
  check: 'M4 12l5 5L20 6',
  x: 'M6 6l12 12M18 6L6 18',
  plus: 'M12 5v14M5 12h14',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7',
  trash: 'M4 7h16M9 7V4h6v3m-8 0 1 13h8l1-13',
  menu: 'M4 6h16M4 12h16M4 18h16',
  list: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
  grid: 'M3 3h8v8H3zm10 0h8v8h-8zM3 13h8v8H3zm10 0h8v8h-8z',
  pin: 'M12 17v5M8 3h8l-1 7 3 4H6l3-4z',
  play: 'M7 4l13 8-13 8z',
  stop: 'M6 6h12v12H6z',
  pause: 'M7 5h3v14H7zm7 0h3v14h-3z',
  eye: 'M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zm10 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  download: 'M12 3v12m-5-5 5 5 5-5M4 21h16',
  upload: 'M12 21V9m-5 5 5-5 5 5M4 3h16',
  edit: 'M4 20h4L20 8l-4-4L4 16z',
  warn: 'M12 3 2 21h20zM12 10v5m0 3h.01',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
};

export function Icon({ name, size = 18, label }: { name: keyof typeof PATHS | string; size?: number; label?: string }) {
  return (
    <svg
      class="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      role={label ? 'img' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : 'true'}
    >
      <path d={PATHS[name] || ''} />
    </svg>
  );
}

// ---- toasts ----
export interface Toast {
  id: number;
  kind: 'ok' | 'error' | 'info';
  text: string;
}
export const toasts = signal<Toast[]>([]);
let toastId = 0;
export function toast(text: string, kind: Toast['kind'] = 'ok') {
  const id = ++toastId;
  toasts.value = [...toasts.value, { id, kind, text }].slice(-4);
  setTimeout(() => (toasts.value = toasts.value.filter((x) => x.id !== id)), kind === 'error' ? 8000 : 3500);
}
export function toastError(e: unknown) {
  if (e instanceof ApiUnreachable) return; // the shell's banner says it once
  toast(e instanceof ApiMissing ? `${e.message}` : errText(e), 'error');
}
export function Toasts() {
  const list = useStore(toasts);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((x) => (
        <div key={x.id} class={`toast toast-${x.kind}`}>
          {x.text}
        </div>
      ))}
    </div>
  );
}

// ---- buttons ----
type BtnProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  icon?: string;
  variant?: 'primary' | 'danger' | 'ghost' | 'default';
  small?: boolean;
  disabled?: boolean;
  type?: 'button' | 'submit';
};
export function Button({ icon, variant = 'default', small, children, class: cls, type = 'button', ...rest }: BtnProps) {
  return (
    <button type={type} class={`btn btn-${variant}${small ? ' btn-sm' : ''}${cls ? ` ${cls}` : ''}`} {...rest}>
      {icon && <Icon name={icon} size={small ? 14 : 16} />}
      {children}
    </button>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context or permission; fall back to a hidden textarea.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const t = useT();
  const [done, setDone] = useState(false);
  return (
    <Button
      small
      variant="ghost"
      icon={done ? 'check' : 'copy'}
      aria-label={label || t('common.copy')}
      title={label || t('common.copy')}
      onClick={async () => {
        if (await copyText(text)) {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        } else toast(t('common.copy_failed'), 'error');
      }}
    >
      {done ? t('common.copied') : t('common.copy')}
    </Button>
  );
}

// ---- display ----
export function Badge({ kind = 'neutral', children, title }: { kind?: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${kind}`} title={title}>
      {children}
    </span>
  );
}

export function Card({ title, actions, children, class: cls, id }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card${cls ? ` ${cls}` : ''}`} aria-labelledby={id && title ? `${id}-h` : undefined}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2 id={id ? `${id}-h` : undefined}>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function Stat({ label, value, sub, kind }: { label: string; value: ComponentChildren; sub?: ComponentChildren; kind?: string }) {
  return (
    <div class={`stat${kind ? ` stat-${kind}` : ''}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub !== undefined && <div class="stat-sub">{sub}</div>}
    </div>
  );
}

export function level(frac: number): 'good' | 'mid' | 'low' {
  return frac >= 0.5 ? 'good' : frac >= 0.2 ? 'mid' : 'low';
}

export function QuotaBar({ label, remaining, resetMs, now }: { label: string; remaining: number; resetMs?: number; now: number }) {
  const t = useT();
  const pct = Math.max(0, Math.min(1, remaining));
  const left = resetMs ? countdown(resetMs, now) : '';
  return (
    <div class="qbar">
      <div class="qbar-top">
        <span class="qbar-name" title={label}>
          {label}
        </span>
        <span class="qbar-val">{fmtPct(pct)}</span>
      </div>
      <div class="qbar-track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct * 100)}>
        <div class={`qbar-fill qbar-${level(pct)}`} style={{ width: `${pct * 100}%` }} />
      </div>
      {left && <div class="qbar-reset">{t('accounts.resets_in', { time: left })}</div>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** A clear note for an error, saying so when the gateway lacks the route. */
export function ErrorNote({ error }: { error: unknown }) {
  const t = useT();
  if (!error || error instanceof ApiUnreachable) return null; // the shell's banner says it once
  if (error instanceof ApiMissing)
    return (
      <div class="note note-warn" role="note">
        <Icon name="warn" /> {t('common.missing_route', { route: error.route })}
      </div>
    );
  return (
    <div class="note note-error" role="alert">
      <Icon name="warn" /> {errText(error)}
    </div>
  );
}

// ---- dialogs ----
export function Modal({ open, title, onClose, children, wide, footer }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; wide?: boolean; footer?: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const t = useT();
  // In the same commit as the content (a layout effect, before the paint): an effect after the
  // paint left an open, empty dialog for a frame, and the focus came back to the opener only then.
  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal?.();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      class={`modal${wide ? ' modal-wide' : ''}`}
      aria-labelledby="modal-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose();
      }}
    >
      {open && (
        <div class="modal-box">
          <header class="modal-head">
            <h2 id="modal-title">{title}</h2>
            <Button small variant="ghost" icon="x" aria-label={t('common.close')} onClick={onClose} />
          </header>
          <div class="modal-body">{children}</div>
          {footer && <footer class="modal-foot">{footer}</footer>}
        </div>
      )}
    </dialog>
  );
}

export interface ConfirmReq {
  title: string;
  text: string;
  action: string;
  danger?: boolean;
  cancel?: string; // the label of the button that keeps things as they are
  run: () => Promise<void> | void;
}
export const confirmReq = signal<ConfirmReq | null>(null);
export function confirm(r: ConfirmReq) {
  confirmReq.value = r;
}
export function ConfirmHost() {
  const r = useStore(confirmReq);
  const t = useT();
  const [busy, setBusy] = useState(false);
  const close = () => {
    confirmReq.value = null;
    setBusy(false);
  };
  return (
    <Modal
      open={!!r}
      title={r?.title || ''}
      onClose={close}
      footer={
        <>
          <Button onClick={close}>{r?.cancel || t('common.cancel')}</Button>
          <Button
            variant={r?.danger ? 'danger' : 'primary'}
            disabled={busy}
            onClick={async () => {
              if (!r) return;
              setBusy(true);
              try {
                await r.run();
              } catch (e) {
                toastError(e);
              }
              close();
            }}
          >
            {r?.action}
          </Button>
        </>
      }
    >
      <p>{r?.text}</p>
    </Modal>
  );
}

export function Tabs<T extends string>({ tabs, value, onChange, label }: { tabs: { id: T; label: string }[]; value: T; onChange: (v: T) => void; label: string }) {
  return (
    <div class="tabs" role="tablist" aria-label={label}>
      {tabs.map((x) => (
        <button
          type="button"
          role="tab"
          key={x.id}
          aria-selected={x.id === value}
          class={`tab${x.id === value ? ' tab-on' : ''}`}
          tabIndex={x.id === value ? 0 : -1}
          onClick={() => onChange(x.id)}
          onKeyDown={(e) => {
            const i = tabs.findIndex((y) => y.id === value);
            if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
              // right to left (Arabic), the next tab is the one on the left
              const rtl = (e.currentTarget as HTMLElement).closest('[dir]')?.getAttribute('dir') === 'rtl';
              const next = (e.key === 'ArrowRight') !== rtl;
              const n = tabs[(i + (next ? 1 : tabs.length - 1)) % tabs.length];
              onChange(n.id);
              const el = (e.currentTarget as HTMLElement).parentElement?.querySelectorAll<HTMLElement>('[role=tab]')[tabs.indexOf(n)];
              el?.focus();
            }
          }}
        >
          {x.label}
        </button>
      ))}
    </div>
  );
}

/** A clock that ticks every period ms, for countdowns. */
export function useNow(period = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const h = setInterval(() => setNow(Date.now()), period);
    return () => clearInterval(h);
  }, [period]);
  return now;
}

/** Loads data with fn on mount and whenever deps change; reload() runs it again. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = async () => {
    const my = ++seq.current;
    setLoading(true);
    try {
      const d = await fn();
      if (my === seq.current) {
        setData(d);
        setError(null);
      }
    } catch (e) {
      if (my === seq.current) setError(e);
    } finally {
      if (my === seq.current) setLoading(false);
    }
  };
  useEffect(() => {
    run();
  }, deps);
  return { data, error, loading, reload: run, setData };
}
