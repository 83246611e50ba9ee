/**
 * The search schema, as numbered migrations. Each step is one statement (the Data API runs
 * one per call) and idempotent (`IF NOT EXISTS`), and a version is recorded only after all
 * its steps ran, so a run that died halfway is simply run again. The same list runs at
 * deploy time in AWS (a custom resource, infra/constructs/search.ts), at start-up locally
 * and in tests.
 */
import type { SqlDriver } from '../../ports';

export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const SEARCH_TABLE = 'search_articles';

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'search_articles: one row per article id (a tombstone when not public), tsvector of CJK bigrams and words, GIN index',
    statements: [
      `CREATE TABLE IF NOT EXISTS ${SEARCH_TABLE} (
        id text PRIMARY KEY,
        seq text COLLATE "C" NOT NULL,
        live boolean NOT NULL,
        sort_date timestamptz,
        categories text[] NOT NULL DEFAULT '{}',
        tags text[] NOT NULL DEFAULT '{}',
        authors text[] NOT NULL DEFAULT '{}',
        summary text,
        doc text,
        doc_folded text,
        tsv tsvector
      )`,
      `CREATE INDEX IF NOT EXISTS ${SEARCH_TABLE}_tsv ON ${SEARCH_TABLE} USING gin (tsv)`,
    ],
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Applies the migrations not yet recorded; returns the versions it applied. */
export async function migrate(db: SqlDriver, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS search_schema (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await db.query<{ version: number }>(`SELECT version FROM search_schema`);
  const done = new Set(rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const sql of m.statements) await db.query(sql);
    await db.query(`INSERT INTO search_schema (version, description) VALUES (:version, :description) ON CONFLICT (version) DO NOTHING`, {
      version: m.version,
      description: m.description,
    });
    applied.push(m.version);
  }
  return applied;
}
