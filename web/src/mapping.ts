// web/src/mapping.ts: model mapping rules as the editor shows and checks them: exact names and
// '*' wildcards (any run of characters), an exact rule winning over wildcards, and among wildcards
// the most specific (longest pattern without its stars) first.

export interface Rule {
  from: string;
  to: string;
}

export function wildcardMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === 0) {
      if (!name.startsWith(p)) return false;
      pos = p.length;
    } else if (i === parts.length - 1) {
      return name.length - p.length >= pos && name.endsWith(p);
    } else {
      const at = name.indexOf(p, pos);
      if (at < 0) return false;
      pos = at + p.length;
    }
  }
  return true;
}

/** The rule that maps model, or null. */
export function resolve(rules: Rule[], model: string): Rule | null {
  const exact = rules.find((r) => !r.from.includes('*') && r.from === model);
  if (exact) return exact;
  const wild = rules
    .filter((r) => r.from.includes('*') && wildcardMatch(r.from, model))
    .sort((a, b) => b.from.replace(/\*/g, '').length - a.from.replace(/\*/g, '').length);
  return wild[0] || null;
}

export function toRules(custom: Record<string, string> | null | undefined): Rule[] {
  return Object.entries(custom || {}).map(([from, to]) => ({ from, to }));
}

/** Rules back to the config object; problems (empty or duplicate names) as messages. */
export function fromRules(rules: Rule[]): { custom: Record<string, string>; errors: string[] } {
  const custom: Record<string, string> = {};
  const errors: string[] = [];
  rules.forEach((r, i) => {
    const from = r.from.trim();
    const to = r.to.trim();
    if (!from || !to) errors.push(`row ${i + 1}: both names are needed`);
    else if (from in custom) errors.push(`row ${i + 1}: "${from}" appears twice`);
    else custom[from] = to;
  });
  return { custom, errors };
}
