// web/src/store.ts: a tiny observable value and the hook that re-renders a component when it
// changes (session token, language, theme, toasts): enough state management for this UI.
import { useEffect, useState } from 'preact/hooks';

export class Store<T> {
  private v: T;
  private subs = new Set<(v: T) => void>();
  constructor(v: T) {
    this.v = v;
  }
  get value(): T {
    return this.v;
  }
  set value(v: T) {
    if (Object.is(v, this.v)) return;
    this.v = v;
    for (const s of [...this.subs]) s(v);
  }
  subscribe(fn: (v: T) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
}

export function signal<T>(v: T): Store<T> {
  return new Store(v);
}

export function useStore<T>(s: Store<T>): T {
  const [, set] = useState(0);
  useEffect(() => s.subscribe(() => set((n) => n + 1)), [s]);
  return s.value;
}
