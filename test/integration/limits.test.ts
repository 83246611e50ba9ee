/**
 * Inputs at and past DynamoDB's limits (issue 11), through the real build and the real
 * save on DynamoDB Local: each ends as an article (`published` with coded warnings, or
 * `failed` with a code), never as a ValidationException that the queue would retry until
 * the message is dead-lettered.
 */
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, createS3Client } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { DynamoImageRecords } from '../../functions/adapters/dynamo-image-records';
import { silentLogger } from '../../functions/adapters/logger';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import type { ImageStep } from '../../functions/core/article';
import { DYNAMO, ITEM_BUDGET, SUMMARY_BUDGET, dynamoSize, summaryFields } from '../../functions/core/bounds';
import { ImageError } from '../../functions/core/errors';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { rehostImages } from '../../functions/core/images/rehost';
import { articleId, ingestEvent, type IngestSettings } from '../../functions/core/ingest';
import type { ObjectStore } from '../../functions/ports';
import { ensureTable } from '../../local/dynamodb';
import { s3, stack, uniq } from './helpers';

const TABLE = `limits-${Date.now()}`;
// Own buckets: objects in the stack's upload bucket would also be ingested by the stack itself.
const IN = `limits-in-${Date.now()}`;
const MEDIA = `limits-media-${Date.now()}`;

const settings: IngestSettings = {
  incomingBucket: IN,
  mediaBucket: MEDIA,
  articleMaxBytes: 5 << 20,
  defaultTimezone: 'UTC',
};

const doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
const index = new DynamoArticleIndex(doc, TABLE);
const objects = new S3ObjectStore(createS3Client({ s3Endpoint: stack.s3Endpoint }));

/** Counts reads of the upload bucket, as the image step makes them for relative paths. */
class CountingStore implements ObjectStore {
  gets = 0;
  constructor(private readonly inner: ObjectStore) {}
  get(...args: Parameters<ObjectStore['get']>) {
    this.gets++;
    return this.inner.get(...args);
  }
  put(...args: Parameters<ObjectStore['put']>) {
    return this.inner.put(...args);
  }
  delete(...args: Parameters<ObjectStore['delete']>) {
    return this.inner.delete(...args);
  }
  exists(...args: Parameters<ObjectStore['exists']>) {
    return this.inner.exists(...args);
  }
}

const incoming = new CountingStore(objects);
const images: ImageStep = (input) =>
  rehostImages(
    {
      // No test talks to an outside host: every remote image fails as a refused address would.
      fetcher: {
        fetch: async () => {
          throw new ImageError('image_blocked_address', 'the host is not allowed');
        },
      },
      encoder: new SharpEncoder(),
      media: objects,
      incoming,
      records: new DynamoImageRecords(doc, TABLE),
    },
    {
      ...input,
      incomingBucket: IN,
      mediaBucket: MEDIA,
      mediaBaseUrl: 'https://media.example.com',
      image: { widths: [320, 640], formats: ['webp'], maxBytes: 1 << 20, maxPixels: 1e8, fetchTimeoutMs: 3000, allowPrivateHosts: [], onlyHosts: [] },
    },
  );
const deps = { objects, index, images, log: silentLogger };

let seq = 0x9000;
function created(key: string): ObjectEvent {
  seq += 16;
  return { kind: 'created', bucket: IN, key, sequencer: normalizeSequencer(seq.toString(16)), etag: null, size: null, eventTime: null };
}

/** Uploads `text` under `key` and runs its event through ingest; returns outcome and stored item. */
async function ingest(key: string, text: string) {
  await objects.put(IN, key, text, { contentType: 'text/markdown' });
  const outcome = await ingestEvent(deps, settings, created(key));
  const article = await index.get(articleId(key));
  expect(article, key).not.toBeNull();
  return { outcome, article: article! };
}

const codes = (a: { warnings: { code: string }[] }) => a.warnings.map((w) => w.code);
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const fm = (lines: string, body = 'Body.\n') => `---\n${lines}\n---\n${body}`;

async function listingItems(id: string): Promise<Record<string, unknown>[]> {
  const res = await doc.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)',
      ExpressionAttributeValues: { ':pk': `A#${id}`, ':l': 'L#' },
      ConsistentRead: true,
    }),
  );
  return res.Items ?? [];
}

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, TABLE);
  client.destroy();
  for (const Bucket of [IN, MEDIA]) await s3.send(new CreateBucketCommand({ Bucket }));
});

describe('the issue’s table, through the real save', () => {
  it('front matter with an empty key is published, the key dropped with a warning', async () => {
    const { outcome, article } = await ingest(`${uniq('empty-key')}/post.md`, fm('"": x\ntitle: Empty key\nnested:\n  "": y\n  ok: 1'));
    expect(outcome).toBe('published');
    expect(article.title).toBe('Empty key');
    expect(article.frontMatter).toEqual({ title: 'Empty key', nested: { ok: 1 } });
    expect(codes(article)).toContain('front_matter_truncated');
  });

  it('a 70,000-character Chinese title is cut on a character boundary, with title_truncated', async () => {
    const title = '标题'.repeat(35_000);
    const { outcome, article } = await ingest(`${uniq('long-title')}/post.md`, fm(`title: ${title}`));
    expect(outcome).toBe('published');
    expect(bytes(article.title)).toBeLessThanOrEqual(512);
    expect(title.startsWith(article.title.replace(/…$/, ''))).toBe(true);
    expect(codes(article)).toContain('title_truncated');
    expect(codes(article)).toContain('front_matter_truncated');
  });

  it('4,000 images missing from the bucket: a bounded number of reads, a bounded images list', async () => {
    const body = Array.from({ length: 4000 }, (_, i) => `<p><img src="missing/${i}.png"></p>`).join('\n');
    const before = incoming.gets;
    const { outcome, article } = await ingest(`${uniq('many-images')}/post.html`, fm('title: Many images', body));
    expect(outcome).toBe('published');
    expect(article.imageCount).toBe(4000);
    expect(incoming.gets - before).toBeLessThanOrEqual(200);
    expect(article.images.length).toBeLessThanOrEqual(200);
    expect(codes(article)).toContain('images_truncated');
    expect(article.warnings.length).toBeLessThanOrEqual(50);
    expect(codes(article)).toContain('warnings_truncated');
  }, 60_000);
});

describe('key size limits', () => {
  it('a 5,000-character slug', async () => {
    const { outcome, article } = await ingest(`${uniq('slug')}/post.md`, fm(`title: t\nslug: ${'s'.repeat(5000)}`));
    expect(outcome).toBe('published');
    expect(bytes(article.slug)).toBeLessThanOrEqual(DYNAMO.sortKeyBytes);
  });

  it('3,000-character category, tag and author names: bounded names, keys within the limits', async () => {
    const long = (c: string) => c.repeat(3000);
    const { outcome, article } = await ingest(
      `${uniq('names')}/post.md`,
      fm(`title: t\ncategories: [${long('类')}]\ntags: [${long('𝒯')}]\nauthor: ${long('a')}`),
    );
    expect(outcome).toBe('published');
    for (const name of [...article.categories, ...article.tags, ...article.authors]) expect(bytes(name)).toBeLessThanOrEqual(256);
    for (const item of await listingItems(article.id)) {
      expect(bytes(String(item.sk))).toBeLessThanOrEqual(DYNAMO.sortKeyBytes);
      expect(bytes(String(item.gsi1pk))).toBeLessThanOrEqual(DYNAMO.partitionKeyBytes);
      expect(bytes(String(item.gsi1sk))).toBeLessThanOrEqual(DYNAMO.sortKeyBytes);
    }
    // A query with a value longer than any key is answered (with nothing), not refused.
    const none = await index.list({ status: 'published', facet: { name: 'tag', value: '𝒯'.repeat(3000) }, limit: 5 });
    expect(none.items).toEqual([]);
    // Listed and found under its (bounded) name.
    const page = await index.list({ status: 'published', facet: { name: 'tag', value: article.tags[0]! }, limit: 5 });
    expect(page.items.map((s) => s.id)).toContain(article.id);
  });

  it('an S3 key of 1,024 bytes', async () => {
    const ns = uniq('key');
    const seg = 'é'.repeat(100) + '/';
    let key = `${ns}/`;
    while (bytes(key + seg) + 3 < 1024) key += seg;
    key += 'a'.repeat(1024 - bytes(key) - 3) + '.md';
    expect(bytes(key)).toBe(1024);
    const { outcome, article } = await ingest(key, fm('title: long key'));
    expect(outcome).toBe('published');
    expect(article.sourceKey).toBe(key);
  });
});

describe('front matter at the limits', () => {
  it('40 levels of nesting end as failed with a code, not a ValidationException', async () => {
    const deep = '{"a":'.repeat(40) + '1' + '}'.repeat(40);
    const { outcome, article } = await ingest(`${uniq('deep')}/post.md`, `${deep.slice(0, -1)}, "title": "deep"}\nBody\n`);
    expect(['published', 'failed']).toContain(outcome);
    if (outcome === 'failed') expect(article.error?.code).toBe('invalid_front_matter');
  });

  it('nesting just under the parser’s limit is stored within DynamoDB’s 32 levels', async () => {
    const deep = '{"a":'.repeat(23) + '1' + '}'.repeat(23);
    const { outcome, article } = await ingest(`${uniq('deep23')}/post.md`, `{"title": "deep", "d": ${deep}}\nBody\n`);
    expect(outcome).toBe('published');
    expect(article.title).toBe('deep');
  });

  it('thousands of keys and long values are bounded, with front_matter_truncated', async () => {
    const lines = Array.from({ length: 4000 }, (_, i) => `k${i}: ${'值'.repeat(8)}`).join('\n');
    const { outcome, article } = await ingest(`${uniq('keys')}/post.md`, fm(`title: keys\n${lines}\ndescription: ${'述'.repeat(20000)}`));
    expect(outcome).toBe('published');
    expect(dynamoSize(article.frontMatter)).toBeLessThanOrEqual(64 * 1024);
    expect(codes(article)).toContain('front_matter_truncated');
    expect(codes(article)).toContain('excerpt_truncated');
  });

  it('numbers DynamoDB cannot store (1e300, 1e-200, 2^60) are kept as text', async () => {
    const { outcome, article } = await ingest(`${uniq('numbers')}/post.md`, fm('title: n\nbig: 1e300\ntiny: 1e-200\nwide: 1152921504606846976\nok: 12.5'));
    expect(outcome).toBe('published');
    expect(article.frontMatter).toMatchObject({ big: '1e+300', tiny: '1e-200', ok: 12.5 });
    expect(typeof article.frontMatter.wide).toBe('string');
  });

  it('an odd-keyed map (a key of 2,000 bytes, a `__proto__` key) is stored without what the SDK cannot marshal', async () => {
    // JSON: YAML itself refuses implicit keys over 1,024 characters.
    const text = `{"title": "odd", "${'k'.repeat(2000)}": 1, "__proto__": 2, " ": 3, "": 4}\nBody\n`;
    const { outcome, article } = await ingest(`${uniq('odd')}/post.md`, text);
    expect(outcome).toBe('published');
    expect(Object.hasOwn(article.frontMatter, '__proto__')).toBe(false);
    expect(codes(article)).toContain('front_matter_truncated');
    expect(article.frontMatter[' ']).toBe(3);
    expect(Object.keys(article.frontMatter).every((k) => k !== '' && bytes(k) <= 256)).toBe(true);
  });
});

describe('every record fits', () => {
  it('the summary copy of every listing stays within the summary budget; the item within the item budget', async () => {
    // A repeated key is a warning each time: 59 warnings naming a 200-character key.
    const warnings = Array.from({ length: 60 }, (_, i) => `${'d'.repeat(200)}: ${i}`).join('\n');
    const { article } = await ingest(
      `${uniq('fits')}/post.md`,
      fm(
        `title: ${'题'.repeat(400)}\ndescription: ${'述'.repeat(4000)}\n` +
          `tags: [${Array.from({ length: 20 }, (_, i) => `${i}${'标'.repeat(99)}`).join(', ')}]\n` +
          `categories: [${Array.from({ length: 10 }, (_, i) => `${i}${'类'.repeat(99)}`).join(', ')}]\n` +
          `authors: [${Array.from({ length: 10 }, (_, i) => `${i}${'者'.repeat(99)}`).join(', ')}]\n` +
          `date: not a date ${'y'.repeat(3000)}\n${warnings}`,
      ),
    );
    expect(codes(article)).toContain('warnings_truncated');
    const item = (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `A#${article.id}`, sk: 'A' } }))).Item!;
    expect(dynamoSize(item)).toBeLessThanOrEqual(ITEM_BUDGET);
    expect(dynamoSize(summaryFields(article))).toBeLessThanOrEqual(SUMMARY_BUDGET);
    for (const l of await listingItems(article.id)) expect(dynamoSize(l.summary)).toBeLessThanOrEqual(SUMMARY_BUDGET);
  });
});

describe('should DynamoDB still refuse a record', () => {
  it('the article ends failed with article_unstorable and its body is removed, instead of a retry loop', async () => {
    // A save that slips past the bounds: DynamoDB Local refuses the empty attribute name.
    class SlippingIndex extends DynamoArticleIndex {
      override save(...[record, ...rest]: Parameters<DynamoArticleIndex['save']>) {
        if (record.status !== 'failed') return super.save({ ...record, frontMatter: { '': 1 } }, ...rest);
        return super.save(record, ...rest);
      }
    }
    const key = `${uniq('refused')}/post.md`;
    await objects.put(IN, key, fm('title: refused'), { contentType: 'text/markdown' });
    const outcome = await ingestEvent({ ...deps, index: new SlippingIndex(doc, TABLE) }, settings, created(key));
    expect(outcome).toBe('failed');
    const article = (await index.get(articleId(key)))!;
    expect(article.error?.code).toBe('article_unstorable');
    expect(article.bodyKey).toBeNull();
    const bodies = await s3.send(new ListObjectsV2Command({ Bucket: MEDIA, Prefix: `bodies/${articleId(key)}/` }));
    expect(bodies.Contents ?? []).toEqual([]);
  });
});
