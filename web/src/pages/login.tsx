// web/src/pages/login.tsx: the login form: the admin password (auth.admin_password) or, when none
// is set, the API key; the answer is a session token kept until it expires or the user logs out.
import { useState } from 'preact/hooks';
import { ApiError, errText, login, sessionExpired } from '../api';
import { Button, Icon } from '../components/ui';
import { useT } from '../i18n';
import { useStore } from '../store';

export function Login() {
  const t = useT();
  const [pw, setPw] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const expired = useStore(sessionExpired);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    try {
      await login(pw);
    } catch (x) {
      setErr(x instanceof ApiError && x.field === 'password' ? t('login.wrong') : errText(x));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-h">
        <div class="brand brand-lg">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <span>aigate</span>
        </div>
        <h1 id="login-h">{t('login.title')}</h1>
        {expired && (
          <p class="note note-warn" role="status">
            <Icon name="warn" /> {t('login.expired')}
          </p>
        )}
        <p class="muted">{t('login.hint')}</p>
        <label for="login-pw">{t('login.password')}</label>
        <input id="login-pw" type="password" autoComplete="current-password" value={pw} onInput={(e) => setPw((e.target as HTMLInputElement).value)} required autoFocus aria-invalid={!!err} aria-describedby={err ? 'login-err' : undefined} />
        {err && (
          <p id="login-err" class="note note-error" role="alert">
            <Icon name="warn" /> {err}
          </p>
        )}
        <Button type="submit" variant="primary" disabled={busy || !pw}>
          {busy ? t('login.busy') : t('login.submit')}
        </Button>
        <p class="muted small">{t('login.where')}</p>
      </form>
    </main>
  );
}
