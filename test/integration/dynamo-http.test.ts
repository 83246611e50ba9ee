/**
 * The query API reads DynamoDB over signed HTTP (adapters/dynamo-http.ts), not through the
 * SDK. On DynamoDB Local, with articles written by the real write path, every read the API
 * makes answers exactly what the SDK's document client answers: by id, every list (facets,
 * dates, CJK and long facet values, cursors), counts, body keys and sitemap links; and a
 * missing table is an error of the same name.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { createHttpDocumentReads } from '../../functions/adapters/dynamo-http';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { DynamoArticleReader } from '../../functions/adapters/dynamo-reader';
import { buildArticle } from '../../functions/core/article';
import { articleId } from '../../functions/core/ingest';
import type { ListQuery } from '../../functions/ports';
import { DEFAULTS } from '../../functions/definitions';
import { ensureTable } from '../../local/dynamodb';
import { stack } from './helpers';

const TABLE = `http-reads-${Date.now()}`;
const index = new DynamoArticleIndex(createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint }), TABLE);
const reads = createHttpDocumentReads({
  region: DEFAULTS.localRegion,
  endpoint: stack.dynamodbEndpoint,
  credentials: { accessKeyId: DEFAULTS.localAccessKeyId, secretAccessKey: DEFAULTS.localSecretAccessKey },
});
const http = new DynamoArticleReader(reads, TABLE);

const LONG_TAG = '長'.repeat(300);
const ids: string[] = [];

async function save(i: number, status: 'published' | 'draft' = 'published') {
  const key = `http-reads/${i}.md`;
  const id = articleId(key);
  ids.push(id);
  const tags = i % 3 === 0 ? ['普京', 'Harbour'] : i % 3 === 1 ? ['harbour', LONG_TAG] : ['会谈'];
  const md = `---\ntitle: 第${i}篇 Title ${i}\ndate: 2024-0${1 + (i % 9)}-1${i % 10}T08:00:00+08:00\ncategories: [新闻, "C ${i % 2}"]\ntags: ${JSON.stringify(tags)}\nauthor: 作者${i % 4}\n${status === 'draft' ? 'draft: true\n' : ''}---\n正文 ${i}，数字 ${i * 1.5}。\n`;
  const built = await buildArticle(new TextEncoder().encode(md), { id, key, uploadedAt: '2024-01-01T00:00:00Z', defaultTimezone: 'UTC' });
  await index.save({ ...built.record, bodyKey: i % 2 ? `bodies/${id}.html` : null, sourceEtag: null, contentHash: null, pipelineVersion: 2, processedAt: '2024-01-02T00:00:00Z' }, '1', null);
}

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint });
  await ensureTable(client, TABLE);
  client.destroy();
  for (let i = 0; i < 30; i++) await save(i, i % 7 === 6 ? 'draft' : 'published');
}, 120_000);

/** Every page of a list, through one reader. */
async function allPages(r: DynamoArticleReader, q: ListQuery) {
  const pages = [];
  let after: ListQuery['after'];
  do {
    const page = await r.list({ ...q, after });
    pages.push(page);
    after = page.next ?? undefined;
  } while (after);
  return pages;
}

describe('API reads over signed HTTP equal the SDK document client on DynamoDB Local', () => {
  it('by id, including a draft and an id that does not exist', async () => {
    for (const id of [...ids, 'no-such-id']) expect(await http.get(id)).toEqual(await index.get(id));
    expect((await http.get(ids[0]!))?.tags).toEqual(['普京', 'Harbour']);
  });

  it('every list: all, each facet (CJK, case, a long value), date ranges, drafts, paged by 4', async () => {
    // The long tag as stored (names are cut to their byte budget, with a warning).
    const longTag = (await index.get(ids[1]!))!.tags.find((t) => t.startsWith('長'))!;
    expect(longTag.length).toBeGreaterThan(50);
    const queries: ListQuery[] = [
      { status: 'published', limit: 4 },
      { status: 'draft', limit: 4 },
      { status: 'published', limit: 4, facet: { name: 'tag', value: '普京' } },
      { status: 'published', limit: 4, facet: { name: 'tag', value: 'HARBOUR' } },
      { status: 'published', limit: 4, facet: { name: 'tag', value: longTag } },
      { status: 'published', limit: 4, facet: { name: 'category', value: '新闻' } },
      { status: 'published', limit: 4, facet: { name: 'author', value: '作者1' } },
      { status: 'published', limit: 4, from: '2024-03-01T00:00:00.000Z', to: '2024-06-30T23:59:59.999Z' },
      { status: 'published', limit: 4, facet: { name: 'category', value: 'c 1' }, from: '2024-02-01T00:00:00.000Z' },
      { status: 'published', limit: 100, to: '2024-04-01T00:00:00.000Z' },
    ];
    for (const q of queries) {
      const viaHttp = await allPages(http, q);
      expect(viaHttp).toEqual(await allPages(index, q));
      expect(viaHttp.flatMap((p) => p.items).length, JSON.stringify(q)).toBeGreaterThan(0);
    }
  });

  it('counts, body keys and sitemap links', async () => {
    for (const f of ['category', 'tag', 'author'] as const) expect(await http.counts(f)).toEqual(await index.counts(f));
    expect((await http.counts('tag')).find((c) => c.name === '普京')?.count).toBeGreaterThan(0);
    const some = [...ids.slice(0, 12), 'no-such-id'];
    expect([...(await http.bodyKeys(some))].sort()).toEqual([...(await index.bodyKeys(some))].sort());
    const links = async (r: DynamoArticleReader) => {
      const out = [];
      let after: Record<string, string> | undefined;
      do {
        const page = await r.linkPage({ limit: 7, after });
        out.push(page);
        after = page.next ?? undefined;
      } while (after);
      return out;
    };
    expect(await links(http)).toEqual(await links(index));
  });

  it('a missing table is the same named error as from the SDK', async () => {
    const missing = new DynamoArticleReader(reads, `no-such-table-${Date.now()}`);
    const err = await missing.get('x').catch((e: Error) => e);
    const sdkErr = await new DynamoArticleIndex(createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint }), `no-such-table-${Date.now()}`)
      .get('x')
      .catch((e: Error) => e);
    expect((err as Error).name).toBe('ResourceNotFoundException');
    expect((err as Error).name).toBe((sdkErr as Error).name);
  });
});
