// web/src/config.ts: reading and saving configuration keys through /api/config, with the answer's
// restart and environment-override notes turned into toasts.
import { api } from './api';
import { toast } from './components/ui';
import { t } from './i18n';
import type { ConfigAnswer } from './types';

export function loadConfig() {
  return api<ConfigAnswer>('/api/config');
}

export interface SaveAnswer {
  changed: string[];
  restart_required: string[];
  overridden_by_environment: string[];
}

/** Saves dotted keys ({"auth.mode": "strict"}); tells the user what needs a restart. */
export async function saveConfig(changes: Record<string, unknown>): Promise<SaveAnswer> {
  const r = await api<SaveAnswer>('/api/config', { method: 'PUT', body: changes });
  toast(t('config.saved', { n: r.changed?.length ?? 0 }));
  if (r.restart_required?.length) toast(t('config.restart', { keys: r.restart_required.join(', ') }), 'info');
  if (r.overridden_by_environment?.length) toast(t('config.env', { keys: r.overridden_by_environment.join(', ') }), 'info');
  return r;
}

/** The value at a dotted path of the config object. */
export function cfgGet(cfg: any, path: string): any {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), cfg);
}
