/**
 * docs/configuration.md cannot drift from functions/config.ts: every environment variable
 * the configuration reads must have a row in the document.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/definitions';

const root = new URL('../../', import.meta.url);
const source = readFileSync(new URL('functions/config.ts', root), 'utf8');
const doc = readFileSync(new URL('docs/configuration.md', root), 'utf8');

/** Every `ENV.NAME` that config.ts reads, plus any env name it reads by a literal. */
function settingsRead(): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(/\bENV\.([A-Z0-9_]+)/g)) names.add(ENV[m[1] as keyof typeof ENV] ?? m[1]!);
  for (const m of source.matchAll(/env\[\s*'([A-Z][A-Z0-9_]+)'\s*\]/g)) names.add(m[1]!);
  return [...names].sort();
}

describe('docs/configuration.md', () => {
  it('has a row for every setting functions/config.ts reads', () => {
    const names = settingsRead();
    expect(names.length).toBeGreaterThan(10);
    const documented = new Set([...doc.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect(names.filter((n) => !documented.has(n))).toEqual([]);
  });

  it('every CDK context key (infra/settings.ts CONTEXT_KEYS) is documented in docs/', () => {
    const settings = readFileSync(new URL('infra/settings.ts', root), 'utf8');
    const list = /CONTEXT_KEYS = \[([^\]]*)\]/.exec(settings)?.[1] ?? '';
    const keys = [...list.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(20);
    const docs = ['operations.md', 'outputs.md', 'publishing.md', 'search.md', 'reliability.md', 'api.md']
      .map((f) => readFileSync(new URL(`docs/${f}`, root), 'utf8'))
      .join('\n');
    expect(keys.filter((k) => !docs.includes(`\`${k}\``))).toEqual([]);
  });

  it('CONTEXT_KEYS names every context key infra/settings.ts reads by name (the list drifted twice)', () => {
    const settings = readFileSync(new URL('infra/settings.ts', root), 'utf8');
    const listed = new Set([...(/CONTEXT_KEYS = \[([^\]]*)\]/.exec(settings)?.[1] ?? '').matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]!));
    const read = [...settings.matchAll(/(?:(?<!domain)\(ctx, |capacity\()'([A-Za-z]+)'/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(15);
    expect(read.filter((k) => !listed.has(k))).toEqual([]);
  });
});
