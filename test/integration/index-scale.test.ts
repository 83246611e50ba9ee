/**
 * A list page costs the same however many articles exist: it is one query on an index that
 * reads limit + 1 items, at 100 articles and at 5,000.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { buildArticle } from '../../functions/core/article';
import pLimit from 'p-limit';
import { articleId } from '../../functions/core/ingest';
import type { ListQuery } from '../../functions/ports';
import { ensureTable } from '../../local/dynamodb';
import { stack } from './helpers';

const TABLE = `scale-${Date.now()}`;
const doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
const index = new DynamoArticleIndex(doc, TABLE);

/** Items DynamoDB evaluated for each Query, captured from the responses. */
const scanned: number[] = [];
doc.middlewareStack.add(
  (next) => async (args) => {
    const out = await next(args);
    const res = (out as { output?: { ScannedCount?: number } }).output;
    if (typeof res?.ScannedCount === "number") scanned.push(res.ScannedCount);
    return out;
  },
  { step: 'initialize', name: 'countScanned' },
);

async function save(i: number) {
  const key = `scale/${i}.md`;
  const id = articleId(key);
  const md = `---\ntitle: A${i}\ndate: 2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z\ncategories: [x]\n---\nBody.\n`;
  const built = await buildArticle(new TextEncoder().encode(md), { id, key, uploadedAt: '2024-01-01T00:00:00Z', defaultTimezone: 'UTC' });
  await index.save({ ...built.record, bodyKey: null, sourceEtag: null, contentHash: null, pipelineVersion: 1, processedAt: 'now' }, '1');
}

/** Copies the listing items of saved articles under new ids: same layout, many more rows. */
async function grow(to: number) {
  const res = await doc.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `A#${articleId('scale/0.md')}` } }));
  const templates = (res.Items ?? []).filter((it) => String(it.sk).startsWith('L#'));
  expect(templates.length).toBeGreaterThan(0);
  const items = [];
  for (let i = 100; i < to; i++) {
    const id = `grown${i}`;
    for (const t of templates) items.push({ ...t, pk: `A#${id}`, gsi1sk: `2023-06-01T00:00:00.000Z#${id}` });
  }
  const batches = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await pLimit(6).map(batches, (batch) =>
    doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: batch.map((Item) => ({ PutRequest: { Item } })) } })),
  );
}

async function pageCost(q: ListQuery): Promise<{ scanned: number; returned: number }> {
  scanned.length = 0;
  const page = await index.list(q);
  expect(scanned).toHaveLength(1); // one request
  return { scanned: scanned[0]!, returned: page.items.length };
}

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint });
  await ensureTable(client, TABLE);
  client.destroy();
  await pLimit(4).map([...Array(100).keys()], save);
}, 120_000);

describe('list cost does not grow with the table', () => {
  it('reads limit + 1 items at 100 and at 5,000 articles', async () => {
    const queries: ListQuery[] = [
      { status: 'published', limit: 20 },
      { status: 'published', limit: 20, facet: { name: 'category', value: 'x' } },
      { status: 'published', limit: 20, facet: { name: 'category', value: 'x' }, from: '2023-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' },
    ];
    const small = [];
    for (const q of queries) small.push(await pageCost(q));
    await grow(5000);
    const large = [];
    for (const q of queries) large.push(await pageCost(q));

    for (const [i, s] of small.entries()) {
      expect(s.scanned).toBe(21);
      expect(s.returned).toBe(20);
      expect(large[i]!.scanned).toBe(s.scanned);
    }
  }, 240_000);
});
