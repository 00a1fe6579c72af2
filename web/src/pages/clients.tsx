// web/src/pages/clients.tsx: the API Proxy page's "Client set-up" card: which coding clients
// (Claude Code, Codex CLI, Gemini CLI, OpenCode) point at this gateway, and for one of them the
// change aigate would make to its own config files (a diff, nothing written), applying it, and
// putting the newest backup back — /api/clients, the same as `aigate clients`.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Badge, Button, Card, confirm, ErrorNote, toast, toastError, useLoad } from '../components/ui';
import { useT } from '../i18n';

export interface ClientState {
  name: string;
  title: string;
  configured: boolean;
  points_here: boolean;
  key_matches: boolean;
  url: string;
  path: string;
  error: string;
}

export interface ClientsStatus {
  base_url: string;
  clients: ClientState[];
}

export interface ClientPlan {
  client: string;
  title: string;
  base_url: string;
  changes: boolean;
  diff: string;
  backup?: string;
  files: { path: string; exists: boolean; changed: boolean; secret: boolean }[];
}

/** The state of one client as a translation key and a badge kind. */
export function clientState(c: ClientState): { key: string; kind: string } {
  if (c.error) return { key: 'clients.state_error', kind: 'bad' };
  if (!c.configured) return { key: 'clients.state_none', kind: 'muted' };
  if (!c.points_here) return { key: 'clients.state_elsewhere', kind: 'warn' };
  return c.key_matches ? { key: 'clients.state_here', kind: 'ok' } : { key: 'clients.state_other_key', kind: 'warn' };
}

/** The line's class in the diff: added, removed, a file header, or context. */
function lineClass(l: string): string {
  if (l.startsWith('+++') || l.startsWith('---') || l.startsWith('@@')) return 'diff-head';
  if (l.startsWith('+')) return 'diff-add';
  if (l.startsWith('-')) return 'diff-del';
  return '';
}

export function ClientSetup() {
  const t = useT();
  const status = useLoad(() => api<ClientsStatus>('/api/clients'));
  const [name, setName] = useState('claude-code');
  const [model, setModel] = useState('');
  const [plan, setPlan] = useState<ClientPlan | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const list = status.data?.clients || [];
  const title = list.find((c) => c.name === name)?.title || name;
  const body = () => (model.trim() ? { model: model.trim() } : {});

  const run = async (op: 'preview' | 'apply') => {
    setBusy(true);
    setError(null);
    try {
      const p = await api<ClientPlan>(`/api/clients/${name}/${op}`, { method: 'POST', body: body() });
      setPlan(p);
      if (op === 'apply') {
        toast(p.changes ? t('clients.applied', { name: p.title }) : t('clients.no_change'), p.changes ? 'ok' : 'info');
        status.reload();
      }
    } catch (e) {
      setPlan(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const restore = () =>
    confirm({
      title: t('clients.restore'),
      text: t('clients.confirm_restore', { name: title }),
      action: t('clients.restore'),
      run: async () => {
        try {
          await api(`/api/clients/${name}/restore`, { method: 'POST' });
          toast(t('clients.restored'));
          setPlan(null);
          status.reload();
        } catch (e) {
          toastError(e);
        }
      },
    });

  return (
    <Card title={t('clients.title')} id="clients">
      <p class="help">{t('clients.intro')}</p>
      <ErrorNote error={status.error} />
      {list.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('clients.client')}</th>
                <th scope="col">{t('clients.state')}</th>
                <th scope="col">{t('clients.file')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((c) => {
                const s = clientState(c);
                return (
                  <tr key={c.name} data-client={c.name}>
                    <td>{c.title}</td>
                    <td>
                      <Badge kind={s.kind} title={c.error || c.url || undefined}>
                        {t(s.key)}
                      </Badge>
                    </td>
                    <td>
                      <code class="small">{c.error || c.path}</code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div class="toolbar clients-form">
        <div class="field">
          <label for="clients-name">{t('clients.client')}</label>
          <select
            id="clients-name"
            value={name}
            onChange={(e) => {
              setName((e.target as HTMLSelectElement).value);
              setPlan(null);
              setError(null);
            }}
          >
            {(list.length ? list : [{ name: 'claude-code', title: 'Claude Code' }]).map((c) => (
              <option key={c.name} value={c.name}>
                {c.title}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="clients-model">{t('clients.model')}</label>
          <input id="clients-model" value={model} placeholder="gemini-3-flash" aria-describedby="clients-model-help" onInput={(e) => setModel((e.target as HTMLInputElement).value)} />
          <p class="help" id="clients-model-help">
            {t('clients.model_help')}
          </p>
        </div>
      </div>
      <div class="toolbar">
        <Button icon="eye" disabled={busy} onClick={() => run('preview')}>
          {t('clients.preview')}
        </Button>
        <Button variant="primary" disabled={busy} onClick={() => run('apply')}>
          {t('clients.apply')}
        </Button>
        <Button disabled={busy} onClick={restore}>
          {t('clients.restore')}
        </Button>
      </div>
      <ErrorNote error={error} />
      {plan && (
        <div class="code-box" role="region" aria-label={t('clients.diff')}>
          <div class="code-head">
            <span class="muted small">{plan.changes ? t('clients.diff') : t('clients.no_change')}</span>
          </div>
          <pre tabIndex={0} class="diff">
            <code>
              {plan.diff.split('\n').map((l, i) => (
                <span key={i} class={lineClass(l)}>
                  {l}
                  {'\n'}
                </span>
              ))}
            </code>
          </pre>
        </div>
      )}
    </Card>
  );
}
