/**
 * List latency over HTTP: the query API handler behind the local API server, on its own
 * in-memory DynamoDB Local (bulk loading 20,000 articles into the disk-backed one takes
 * minutes). One article per category is saved through the index; the other articles are
 * copies of its items (article item, newest-first listing, category listing) under new
 * ids and dates, written with BatchWrite as test/integration/index-scale.test.ts does.
 */
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { buildArticle } from '../../functions/core/article';
import { articleId } from '../../functions/core/ingest';
import { startApiServer } from '../../local/api-server';
import { ensureTable, startDynamoLocal, type DynamoLocal } from '../../local/dynamodb';
import { freePort } from '../../local/stack';
import { serve } from '../lib/child';
import { mapLimit, percentile } from '../lib/stats';

const TABLE = 'bench-articles';
let dynamo: DynamoLocal | null = null;
let api: { url: string; stop(): Promise<void> } | null = null;

async function start(): Promise<{ apiUrl: string }> {
  dynamo = await startDynamoLocal({ port: await freePort(), dataDir: null });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: TABLE,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    // Never contacted by the list route; the handler builds an S3 client for article bodies.
    S3_ENDPOINT: 'http://127.0.0.1:9',
    CURSOR_SECRET: 'bench-cursor-secret',
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
  await ensureTable(client, TABLE);
  client.destroy();
  const { handler } = await import('../../functions/api/handler');
  api = await startApiServer({ port: await freePort(), handler });
  return { apiUrl: api.url };
}

async function listLatency(arg: { small: number; large: number; requests: number; warmup: number; jvmWarmup: number; loadConcurrency: number }) {
  const doc = createDocumentClient({ dynamodbEndpoint: dynamo!.endpoint });
  const index = new DynamoArticleIndex(doc, TABLE);

  const template = async (category: string) => {
    const key = `bench/list/${category}-template.md`;
    const id = articleId(key);
    const md = `---\ntitle: Listed in ${category}\ndate: 2024-01-01T00:00:00Z\ncategories: [${category}]\n---\nBody text.\n`;
    const built = await buildArticle(new TextEncoder().encode(md), { id, key, uploadedAt: '2024-01-01T00:00:00Z', defaultTimezone: 'UTC' });
    await index.save({ ...built.record, bodyKey: null, sourceEtag: null, contentHash: null, pipelineVersion: 1, processedAt: '2024-01-01T00:00:00Z' }, '1', null);
    const res = await doc.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `A#${id}` } }));
    // The article, the newest-first listing and the category listing (its slug listing is left out).
    return (res.Items ?? []).filter((it) => it.sk === 'A' || it.sk === 'L#all#' || String(it.sk).startsWith('L#category#'));
  };

  let loadMs = 0;
  let written = 0;
  const grow = async (items: Record<string, any>[], category: string, from: number, to: number, table = TABLE) => {
    const t0 = performance.now();
    const rows: Record<string, unknown>[] = [];
    for (let i = from; i < to; i++) {
      const id = `${category}${String(i).padStart(7, '0')}`;
      // Spread over ~3 years, so sort keys are as varied as real dates.
      const date = new Date(Date.UTC(2021, 0, 1) + i * 4_733_000).toISOString();
      for (const t of items) {
        const row: Record<string, any> = { ...t, pk: `A#${id}` };
        if (t.sk === 'A') Object.assign(row, { id, slug: id, sortDate: date, date });
        else Object.assign(row, { gsi1sk: `${date}#${id}`, summary: { ...t.summary, id, slug: id, date } });
        rows.push(row);
      }
    }
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < rows.length; i += 25) batches.push(rows.slice(i, i + 25));
    await mapLimit(batches, arg.loadConcurrency, async (b) => {
      let req: Record<string, any> | undefined = { [table]: b.map((Item) => ({ PutRequest: { Item } })) };
      while (req && Object.keys(req).length) req = (await doc.send(new BatchWriteCommand({ RequestItems: req }))).UnprocessedItems;
    });
    loadMs += performance.now() - t0;
    written += rows.length;
  };

  const get = async (category: string) => {
    const t0 = performance.now();
    const res = await fetch(`${api!.url}/articles?category=${category}&limit=20`);
    const body = (await res.json()) as { items?: unknown[]; nextCursor?: string | null };
    const ms = performance.now() - t0;
    if (res.status !== 200 || body.items?.length !== 20 || !body.nextCursor) {
      throw new Error(`GET /articles?category=${category}: ${res.status}, ${body.items?.length} items`);
    }
    return ms;
  };
  const sample = async (category: string) => {
    for (let i = 0; i < arg.warmup; i++) await get(category);
    const ms: number[] = [];
    for (let i = 0; i < arg.requests; i++) ms.push(await get(category));
    return ms;
  };

  // Category x grows from 1,000 to 20,000 articles; category y keeps 1,000 throughout, for
  // an interleaved comparison at the end that background load cannot skew.
  const x = await template('x');
  const y = await template('y');
  // Warm-up: the bulk load below speeds up every later query (DynamoDB Local's JVM and the
  // SDK's code get compiled, the JVM heap grows), which would flatter the 20,000 figure.
  // So the same load goes into a scratch table first, then the scratch table is dropped.
  const scratch = `${TABLE}-warmup`;
  const admin = new DynamoDBClient({ endpoint: dynamo!.endpoint });
  await ensureTable(admin, scratch);
  await grow(x, 'w', 0, arg.large, scratch);
  await admin.send(new DeleteTableCommand({ TableName: scratch }));
  admin.destroy();
  loadMs = 0;
  written = 0;

  await grow(y, 'y', 1, arg.small);
  await grow(x, 'x', 1, arg.small);
  for (let i = 0; i < arg.jvmWarmup; i++) await get(i % 2 ? 'x' : 'y');
  const small = await sample('x');
  await grow(x, 'x', arg.small, arg.large);
  const large = await sample('x');
  const alt = { x: [] as number[], y: [] as number[] };
  for (let i = 0; i < arg.warmup; i++) await get(i % 2 ? 'x' : 'y');
  for (let i = 0; i < arg.requests; i++) {
    alt.x.push(await get('x'));
    alt.y.push(await get('y'));
  }
  doc.destroy();
  const p50 = (xs: number[]) => percentile(xs, 50);
  return {
    p50SmallMs: p50(small),
    p50LargeMs: p50(large),
    p95SmallMs: percentile(small, 95),
    p95LargeMs: percentile(large, 95),
    interleaved: { p50LargeCategoryMs: p50(alt.x), p50SmallCategoryMs: p50(alt.y), ratio: p50(alt.x) / p50(alt.y) },
    itemsWritten: written,
    itemsPerArticle: x.length,
    loadMs,
    requests: arg.requests,
  };
}

async function stop() {
  await api?.stop();
  await dynamo?.stop();
  api = null;
  dynamo = null;
  return true;
}

// The parent went away: do not leave DynamoDB Local's JVM behind.
process.on('disconnect', () => void stop().finally(() => process.exit(1)));

serve({ start, listLatency, stop });
