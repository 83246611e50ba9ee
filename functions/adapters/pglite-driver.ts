/**
 * SqlDriver over PGlite (PostgreSQL compiled to WebAssembly, in-process): the local stack
 * and the tests. Never bundled into a Lambda (those use data-api-driver.ts); the bundle
 * test checks it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
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

/**
 * A fresh PGlite runs initdb: measured 23-34 s on this project's shared 2-core machines,
 * against 3-7 s to load a data directory dumped once. So the first run keeps an empty,
 * initialized data directory (per PGlite version) and every later new database starts from it.
 */
function templatePath(): string {
  // The package's exports hide its package.json from require.resolve: find it from the entry point.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const marker = `${sep}node_modules${sep}@electric-sql${sep}pglite${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error('PGlite is not installed in a node_modules folder');
  const modules = entry.slice(0, at + `${sep}node_modules`.length);
  const version = (JSON.parse(readFileSync(join(modules, '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string }).version;
  return join(modules, '.cache', 'article-pipeline', `pglite-${version}-empty.tar`);
}

async function saveTemplate(db: PGlite, path: string): Promise<void> {
  const dump = await db.dumpDataDir('none');
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  renameSync(tmp, path);
}

/** In memory when `dataDir` is omitted; persisted in that directory otherwise. */
export async function createPgliteDriver(dataDir?: string): Promise<PgliteDriver> {
  const fresh = !dataDir || !existsSync(join(dataDir, 'PG_VERSION'));
  let template: string | undefined;
  try {
    template = templatePath();
  } catch {
    template = undefined;
  }
  const loadDataDir = fresh && template && existsSync(template) ? new Blob([readFileSync(template)]) : undefined;
  const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(loadDataDir ? { loadDataDir } : {}) });
  if (fresh && template && !loadDataDir) await saveTemplate(db, template).catch(() => {});
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
