// web/src/types.ts: shapes of the admin API's answers the pages read.
import type { AttemptItem } from './components/timeline';

export interface ProxyStatus {
  running: boolean;
  port: number;
  base_url: string;
  allow_lan_access: boolean;
  accounts: number;
  usable_accounts: number;
  waiting: number;
  active_requests: number;
  fixed_account: string;
}

export interface LogEntry {
  id: number;
  ts_ms: number;
  request_id?: string;
  method: string;
  path: string;
  protocol: string;
  model: string | null;
  served_model: string | null;
  account: string | null;
  status: number;
  error_class: string | null;
  error_message: string | null;
  attempts: number;
  ttfb_ms: number | null;
  total_ms: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  client_ip: string | null;
  user_agent: string | null;
  stream: boolean;
  request_body?: string | null;
  response_body?: string | null;
  request_headers?: Record<string, string> | [string, string][] | null;
  response_headers?: Record<string, string> | [string, string][] | null;
  attempt_log?: AttemptItem[] | null;
}

export interface StatsRow {
  period_s?: number;
  key?: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
}

export interface StatsSummary extends StatsRow {
  from_s: number;
  to_s: number;
  accounts: number;
  models: number;
  protocols: number;
}

export interface ConfigKey {
  name: string;
  allowed: string;
  secret: boolean;
  restart: boolean;
  env: string | null;
  help: string;
}

export interface ConfigAnswer {
  config: any;
  keys: ConfigKey[];
  restart?: string[];
}

export function isError(e: LogEntry): boolean {
  return e.status >= 400 || !!e.error_class;
}
