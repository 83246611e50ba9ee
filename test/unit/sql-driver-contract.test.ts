/**
 * The SqlDriver contract: what the search code relies on, run against every driver
 * (functions/ports.ts SqlDriver): PGlite directly, the Data API driver through the local
 * stand-in (local/data-api.ts), and the Data API driver against a real Aurora cluster when
 * one is configured:
 *   SEARCH_TEST_CLUSTER_ARN, SEARCH_TEST_SECRET_ARN [, SEARCH_TEST_DATABASE=articles] (and AWS credentials)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { createDataApiDriver } from '../../functions/adapters/data-api-driver';
import { createPgliteDriver, type PgliteDriver } from '../../functions/adapters/pglite-driver';
import { SearchIndex } from '../../functions/core/search/index';
import { migrate } from '../../functions/core/search/migrations';
import type { SqlDriver } from '../../functions/ports';
import { LOCAL_SEARCH, startLocalDataApi, type LocalDataApi } from '../../local/data-api';
import { CORPUS, corpusRecord } from '../support/search-corpus';

let pglite: PgliteDriver;
let standIn: LocalDataApi;
const drivers: Record<string, SqlDriver> = {};

const real = {
  resourceArn: process.env.SEARCH_TEST_CLUSTER_ARN?.trim(),
  secretArn: process.env.SEARCH_TEST_SECRET_ARN?.trim(),
  database: process.env.SEARCH_TEST_DATABASE?.trim() || 'articles',
};
if (!real.resourceArn || !real.secretArn) {
  console.log('sql-driver-contract: the real Data API is skipped: set SEARCH_TEST_CLUSTER_ARN and SEARCH_TEST_SECRET_ARN (and AWS credentials) to run it against an Aurora cluster');
}

beforeAll(async () => {
  pglite = await createPgliteDriver();
  standIn = await startLocalDataApi({ port: 0, driver: pglite });
  drivers.pglite = pglite;
  drivers['data-api (local stand-in)'] = createDataApiDriver(
    { ...LOCAL_SEARCH, endpoint: standIn.endpoint },
    { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
  );
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
  await pglite?.close();
});

const targets: [string, () => SqlDriver][] = [
  ['pglite', () => drivers.pglite!],
  ['data-api (local stand-in)', () => drivers['data-api (local stand-in)']!],
];

function contract(name: string, driver: () => SqlDriver) {
  describe(`SqlDriver contract: ${name}`, () => {
    it('round-trips text, integers, doubles, booleans and null as named parameters', async () => {
      const { rows } = await driver().query(
        `SELECT :s::text AS s, :n::int AS n, :d::float8 AS d, :b::boolean AS b, :z::text AS z, :s::text || '!' AS again`,
        { s: '普京与泽连斯基 🙂 café', n: 42, d: 0.25, b: true, z: null },
      );
      expect(rows).toEqual([{ s: '普京与泽连斯基 🙂 café', n: 42, d: 0.25, b: true, z: null, again: '普京与泽连斯基 🙂 café!' }]);
    });

    it('counts the rows a write changed, and none when a condition stops it', async () => {
      const table = `contract_${name.replace(/\W+/g, '_')}_${randomUUID().slice(0, 8)}`;
      await driver().query(`CREATE TABLE ${table} (id text PRIMARY KEY, v int NOT NULL)`);
      expect((await driver().query(`INSERT INTO ${table} (id, v) VALUES ('a', 1), ('b', 2)`)).rowCount).toBe(2);
      const upsert = `INSERT INTO ${table} AS t (id, v) VALUES (:id, :v) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE t.v < excluded.v`;
      expect((await driver().query(upsert, { id: 'a', v: 5 })).rowCount).toBe(1);
      expect((await driver().query(upsert, { id: 'a', v: 3 })).rowCount).toBe(0);
      expect((await driver().query(`SELECT v FROM ${table} WHERE id = :id`, { id: 'a' })).rows).toEqual([{ v: 5 }]);
      expect((await driver().query(`SELECT v FROM ${table} WHERE id = :id`, { id: 'zz' })).rows).toEqual([]);
      await driver().query(`DROP TABLE ${table}`);
    });

    it('rejects bad SQL', async () => {
      await expect(driver().query('SELEC 1')).rejects.toThrow();
    });

    it('migrates idempotently, and the search rows obey the sequencer', async () => {
      await migrate(driver());
      expect(await migrate(driver())).toEqual([]);
      const index = new SearchIndex(driver());
      const doc = CORPUS[0]!;
      const record = { ...corpusRecord(doc), id: `contract-${randomUUID().slice(0, 8)}` };
      const seq = (n: number) => String(n).padStart(32, '0');
      expect((await index.upsert(record, seq(5), doc.body)).applied).toBe(true);
      expect((await index.upsert({ ...record, title: 'older' }, seq(4), doc.body)).applied).toBe(false);
      expect((await index.upsert(record, seq(5), doc.body)).applied).toBe(true);
      expect(await index.remove(record.id, seq(7))).toBe(true);
      // A late, older upsert after the delete: the tombstone wins.
      expect((await index.upsert(record, seq(6), doc.body)).applied).toBe(false);
      // A longer sequencer is a larger number.
      expect((await index.upsert(record, '1' + seq(0), doc.body)).applied).toBe(true);
      const page = await index.search({ q: '普京与泽连斯基', limit: 50, offset: 0 });
      expect(page.items.map((h) => h.id)).toContain(record.id);
      expect(await index.remove(record.id, seq(8))).toBe(false);
      await index.remove(record.id, '2' + seq(0));
    });
  });
}

for (const [name, driver] of targets) contract(name, driver);

describe.skipIf(!real.resourceArn || !real.secretArn)('SqlDriver contract: real Data API', () => {
  // The caller's identity and region as the SDK resolves them (environment, profile, SSO).
  const credentials = defaultProvider();
  contract('aurora', () =>
    createDataApiDriver(
      { resourceArn: real.resourceArn!, secretArn: real.secretArn!, database: real.database, resumeWaitMs: 60_000 },
      { region: process.env.AWS_REGION ?? 'us-east-1', credentials },
    ),
  );
});
