// web/src/dirty.ts: unsaved edits. A form reports whether it holds edits not yet saved
// (useUnsaved); while any does, leaving the page inside the UI asks first (the router's leave
// guard, answered with the confirmation dialog) and closing or reloading the tab asks through
// the browser's own beforeunload question.
import { useEffect } from 'preact/hooks';
import { confirm } from './components/ui';
import { t } from './i18n';
import { setLeaveGuard } from './router';

const unsaved = new Set<string>();

/** True while some form holds unsaved edits. */
export function hasUnsaved(): boolean {
  return unsaved.size > 0;
}

/** Marks the form `id` as holding unsaved edits (or not); forgotten when the form unmounts. */
export function useUnsaved(id: string, dirty: boolean) {
  useEffect(() => {
    if (dirty) unsaved.add(id);
    else unsaved.delete(id);
  }, [id, dirty]);
  useEffect(() => () => void unsaved.delete(id), [id]);
}

/** Runs go at once when nothing is unsaved, else after the user agrees to drop the edits. */
export function guardLeave(go: () => void) {
  if (!hasUnsaved()) return go();
  confirm({
    title: t('unsaved.title'),
    text: t('unsaved.text'),
    action: t('unsaved.leave'),
    cancel: t('unsaved.stay'),
    danger: true,
    run: () => {
      unsaved.clear();
      go();
    },
  });
}

if (typeof window !== 'undefined') {
  setLeaveGuard(guardLeave);
  window.addEventListener('beforeunload', (e) => {
    if (!hasUnsaved()) return;
    e.preventDefault();
    e.returnValue = '';
  });
}
