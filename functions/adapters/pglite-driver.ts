/**
 * SqlDriver over PGlite (PostgreSQL compiled to WebAssembly, in-process): the local stack
 * and the tests. Never bundled into a Lambda (those use data-api-driver.ts); the bundle
 * test checks it.
 */
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlValue } from '../ports';

/** `:name` → `$n` (the same name, the same number); `::type` casts are left alone. */
export function toPositional(sql: string, params: Record<string, SqlValue> = {}): { text: string; values: SqlValue[] } {
  const order: string[] = [];
  const text = sql.replace(/(?<![:\w]):([A-Za-z_]\w*)/g, (_m, name: string) => {
    if (!(name in params)) throw new Error(`SQL parameter :${name} has no value`);
    let i = order.indexOf(name);
    if (i < 0) i = order.push(name) - 1;
    return `$${i + 1}`;
  });
  return { text, values: order.map((n) => params[n]!) };
}

export interface PgliteDriver extends SqlDriver {
  readonly db: PGlite;
  close(): Promise<void>;
}

/** In memory when `dataDir` is omitted; persisted in that directory otherwise. */
export async function createPgliteDriver(dataDir?: string): Promise<PgliteDriver> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  return {
    db,
    async query<T>(sql: string, params?: Record<string, SqlValue>) {
      const { text, values } = toPositional(sql, params);
      const res = await db.query<T>(text, values);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    close: () => db.close(),
  };
}
