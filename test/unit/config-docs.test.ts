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
});
