// web/src/main.tsx: entry point: theme first (no flash of the wrong colours), then the texts of
// the starting language, then the app.
import { render } from 'preact';
import { App } from './app';
import { startLang } from './i18n';
import { initTheme } from './theme';
import './styles.css';

initTheme();
startLang().finally(() => render(<App />, document.getElementById('app')!));
