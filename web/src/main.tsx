// web/src/main.tsx: entry point: theme first (no flash of the wrong colours), then the app.
import { render } from 'preact';
import { App } from './app';
import { lang, setLang } from './i18n';
import { initTheme } from './theme';
import './styles.css';

initTheme();
setLang(lang.value);
render(<App />, document.getElementById('app')!);
