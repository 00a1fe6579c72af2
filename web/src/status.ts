// web/src/status.ts: the gateway's state as every part of the UI shows it (header, Dashboard,
// API Proxy): one poll of /api/proxy/status shared by all, refreshed at once after a start or
// stop, and more often while the gateway cannot be reached, so the "can't reach" banner goes
// away soon after it is back.
import { api, offline, session } from './api';
import { signal, useStore } from './store';
import type { ProxyStatus } from './types';

/** The last status answer; null before the first one or while the gateway is unreachable. */
export const gatewayStatus = signal<ProxyStatus | null>(null);

const EVERY_MS = 5000;
const RETRY_MS = 2000;
let timer: ReturnType<typeof setTimeout> | null = null;
let users = 0;
let seq = 0;

/** Asks the gateway for its status now; the answer goes to gatewayStatus. */
export async function refreshStatus(): Promise<void> {
  const my = ++seq;
  try {
    const s = await api<ProxyStatus>('/api/proxy/status');
    if (my === seq) gatewayStatus.value = s;
  } catch {
    if (my === seq && offline.value) gatewayStatus.value = null;
  }
}

function schedule() {
  if (timer) clearTimeout(timer);
  timer = setTimeout(
    async () => {
      timer = null;
      if (session.value) await refreshStatus();
      if (users > 0) schedule();
    },
    offline.value ? RETRY_MS : EVERY_MS,
  );
}

/** Starts the shared poll (the shell calls it while signed in); returns the stop function. */
export function pollStatus(): () => void {
  users++;
  refreshStatus();
  schedule();
  const unsub = offline.subscribe((off) => {
    if (!off) refreshStatus();
    schedule();
  });
  return () => {
    unsub();
    if (--users === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
  };
}

export type GatewayState = 'running' | 'stopped' | 'unreachable' | 'unknown';

/** One word for the gateway, the same wherever it is shown. */
export function gatewayState(s: ProxyStatus | null, isOffline: boolean): GatewayState {
  if (isOffline) return 'unreachable';
  if (!s) return 'unknown';
  return s.running ? 'running' : 'stopped';
}

/** The status and its state, re-rendering the caller when either changes. */
export function useGatewayStatus(): { status: ProxyStatus | null; state: GatewayState } {
  const s = useStore(gatewayStatus);
  const off = useStore(offline);
  return { status: off ? null : s, state: gatewayState(s, off) };
}
