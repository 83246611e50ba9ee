/**
 * `npx tsx bench/media-gc.ts [articles=1000]`: what one media sweep costs on the local stack.
 *
 * Seeds N published articles through the real index writes (article item, listings and
 * counts: one category, two tags), each with a body in the media bucket and two re-hosted
 * images shared with its neighbours (N image records, N URL items, N image files), then
 * times sweeps: all in use, then with every article deleted (mark, then collect with the
 * clock moved past the grace period). Prints items read, read capacity units and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createDocumentClient } from '../functions/adapters/clients';
import { DynamoArticleIndex } from '../functions/adapters/dynamo-index';
import { DynamoImageRecords } from '../functions/adapters/dynamo-image-records';
import { articleId, bodyKeyFor } from '../functions/core/ingest';
import type { ArticleRecord, ImageRecord } from '../functions/ports';
import { FREE_PORTS, startLocalStack } from '../local/stack';
import { s3Client } from '../scripts/lib';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const N = Number(process.argv[2] ?? 1000);
const SEQ = '00000000000000000000000000000001';
const hashOf = (i: number) => i.toString(16).padStart(32, '0');

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

const dataDir = mkdtempSync(join(tmpdir(), 'bench-gc-'));
const stack = await startLocalStack({ ...FREE_PORTS, dataDir });
try {
  const db = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
  const index = new DynamoArticleIndex(db, stack.tableName);
  const images = new DynamoImageRecords(db, stack.tableName);
  const s3 = s3Client(stack.s3Endpoint);
  const ids = Array.from({ length: N }, (_, i) => i);
  const seedStart = performance.now();
  await pool(ids, 4, async (i) => {
    const image: ImageRecord = {
      hash: hashOf(i), transformKey: 'v1-bench', sourceBytes: 1000, width: 320, height: 200, animated: false,
      fallback: { type: 'image/jpeg', variants: [{ key: `img/${hashOf(i)}/320.jpg`, width: 320, height: 200, size: 1000 }] },
      sources: [], placeholder: null, color: null, createdAt: new Date().toISOString(),
    };
    await images.put(image, { url: `https://example.com/${i}.jpg` });
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: `img/${hashOf(i)}/320.jpg`, Body: 'x' }));
  });
  const keyOf = (i: number) => `bench/${i}.md`;
  await pool(ids, 4, async (i) => {
    const id = articleId(keyOf(i));
    const used = [i, (i + 1) % N].map(hashOf);
    const bodyKey = bodyKeyFor(id, SEQ);
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: bodyKey, Body: '<p>body</p>'.repeat(100) }));
    const record: ArticleRecord = {
      id, slug: `a-${i}`, title: `Article ${i}`, date: '2026-01-01T00:00:00.000Z', updated: null, author: 'someone', authors: ['someone'],
      categories: ['news'], tags: ['one', `t${i % 50}`], excerpt: 'x'.repeat(200), cover: null, wordCount: 500, readingMinutes: 2,
      imageCount: 2, sourceKey: keyOf(i), status: 'published', warnings: [], error: null, processedAt: new Date().toISOString(),
      images: used.map((h) => ({ original: `https://example.com/${h}.jpg`, status: 'rehosted', url: `http://media/img/${h}/320.jpg`, width: 320, height: 200 })),
      imageHashes: used, frontMatter: { title: `Article ${i}` }, bodyKey, sourceEtag: 'e', contentHash: 'c', pipelineVersion: 1, sortDate: '2026-01-01T00:00:00.000Z',
    };
    await index.save(record, SEQ, null);
  });
  console.log(`seeded ${N} articles, ${N} images in ${Math.round(performance.now() - seedStart)} ms`);

  const report = (label: string, r: Awaited<ReturnType<typeof stack.gc>>) =>
    console.log(`${label.padEnd(34)} items read ${r.itemsRead}, RCU ${r.capacityUnits}, objects listed ${r.objectsListed}, ` +
      `images collected ${r.images.collected}, bodies collected ${r.bodies.collected}, ${r.ms} ms`);
  report('sweep, everything in use', await stack.gc());
  report('again (warm)', await stack.gc());
  await pool(ids, 4, async (i) => index.remove(articleId(keyOf(i)), keyOf(i), '00000000000000000000000000000002', await index.getState(articleId(keyOf(i)))));
  report('all deleted: mark', await stack.gc());
  const later = new Date(Date.now() + 8 * 86_400_000);
  report('8 days on: collect', await stack.gc({ now: () => later }));
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
