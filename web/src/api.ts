// web/src/api.ts: the admin API client. Every call carries the session token from the login
// (Authorization: Bearer); a 401 clears it and brings the login back. A 404/405 from a route the
// UI expects is reported as ApiMissing, so pages can say "this gateway has no such route" instead
// of failing silently.
import { signal } from './store';

const TOKEN_KEY = 'aigate.token';

export class ApiError extends Error {
  status: number;
  field?: string;
  constructor(status: number, message: string, field?: string) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/** The route does not exist on this gateway (404 without a JSON error of ours, or 405). */
export class ApiMissing extends ApiError {
  route: string;
  constructor(route: string) {
    super(404, `route missing on this gateway: ${route}`);
    this.route = route;
  }
}

interface Stored {
  token: string;
  expires: number;
}

function readToken(): string | null {
  try {
    const s = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null') as Stored | null;
    if (s && s.token && s.expires > Date.now()) return s.token;
  } catch {
    /* unreadable: treated as logged out */
  }
  return null;
}

export const session = signal<string | null>(readToken());

/** True while the gateway cannot be reached (a fetch failed); the next answer clears it. */
export const offline = signal(false);

/** Set when a signed-in session stopped being accepted (expired, revoked, secret changed). */
export const sessionExpired = signal(false);

/** The gateway could not be reached (stopped, restarting, network down). */
export class ApiUnreachable extends ApiError {
  constructor() {
    super(0, 'unreachable');
  }
}

export function setToken(token: string | null, expires = 0) {
  if (token) {
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expires }));
    sessionExpired.value = false;
  } else localStorage.removeItem(TOKEN_KEY);
  session.value = token;
}

export interface Req {
  method?: string;
  body?: unknown;
  raw?: string; // body sent as is (JSON import)
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  auth?: boolean; // default true
}

export function qs(q?: Req['query']): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function api<T = any>(path: string, r: Req = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const tok = session.value;
  if (tok && r.auth !== false) headers.authorization = `Bearer ${tok}`;
  let body: string | undefined;
  if (r.raw !== undefined) {
    body = r.raw;
    headers['content-type'] = 'application/json';
  } else if (r.body !== undefined) {
    body = JSON.stringify(r.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  let text: string;
  try {
    res = await fetch(path + qs(r.query), { method: r.method || (body ? 'POST' : 'GET'), headers, body, signal: r.signal });
    text = await res.text();
  } catch (e) {
    if (r.signal?.aborted) throw e;
    // No answer at all: one shared "can't reach" state instead of an error per call.
    offline.value = true;
    throw new ApiUnreachable();
  }
  offline.value = false;
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return data as T;
  const err = data && data.error;
  if (res.status === 401 && r.auth !== false && tok) {
    setToken(null);
    sessionExpired.value = true;
  }
  if (res.status === 405 || (res.status === 404 && !(err && err.type === 'not_found'))) throw new ApiMissing(`${r.method || 'GET'} ${path}`);
  throw new ApiError(res.status, (err && err.message) || `${res.status} ${res.statusText}`, err && err.field);
}

export async function login(password: string): Promise<void> {
  const r = await api<{ token: string; expires_at_ms: number }>('/api/auth/login', { body: { password }, auth: false });
  setToken(r.token, r.expires_at_ms);
}

export async function logout(): Promise<void> {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } finally {
    setToken(null);
  }
}

/** Live events (/api/events): EventSource cannot send headers, so the token goes in the query. */
export function events(handlers: Record<string, (data: any) => void>, onState?: (open: boolean) => void): () => void {
  const tok = session.value;
  const es = new EventSource(`/api/events${qs({ token: tok })}`);
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (e) => {
      try {
        fn(JSON.parse((e as MessageEvent).data));
      } catch {
        /* a malformed frame is skipped */
      }
    });
  }
  es.onopen = () => onState && onState(true);
  es.onerror = () => onState && onState(false);
  return () => es.close();
}

/** Messages of errors thrown by api(), for toasts and inline notes. */
export function errText(e: unknown): string {
  if (e instanceof ApiUnreachable) return unreachableText();
  if (e instanceof Error) return e.message;
  return String(e);
}

let unreachableText = () => "Can't reach aigate — retrying…";
/** Lets the i18n layer give the translated "can't reach" text (api.ts imports no UI code). */
export function setUnreachableText(fn: () => string) {
  unreachableText = fn;
}
