/**
 * Property: whatever front matter and body an upload holds (huge strings, empty and odd
 * keys, deep nesting, thousands of keys, tags and images, numbers DynamoDB cannot hold),
 * the real build and the real save on DynamoDB Local end it `published`, `draft` or
 * `failed` with a code: never a thrown error (a ValidationException would be retried until
 * the message is dead-lettered). Bounded to a few dozen cases.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { silentLogger } from '../../functions/adapters/logger';
import type { ImageStep } from '../../functions/core/article';
import { DYNAMO, ITEM_BUDGET, dynamoSize } from '../../functions/core/bounds';
import { ImageError } from '../../functions/core/errors';
import { normalizeSequencer } from '../../functions/core/events';
import { rehostImages } from '../../functions/core/images/rehost';
import { articleId, ingestEvent, type IngestSettings } from '../../functions/core/ingest';
import type { IngestObjectStore, StoredObject } from '../../functions/ports';
import { ensureTable } from '../../local/dynamodb';
import { stack, uniq } from './helpers';

const TABLE = `limits-prop-${Date.now()}`;
const settings: IngestSettings = { incomingBucket: 'in', mediaBucket: 'media', articleMaxBytes: 5 << 20, defaultTimezone: 'UTC' };

class MemoryStore implements IngestObjectStore {
  readonly objects = new Map<string, StoredObject>();
  async get(bucket: string, key: string) {
    return this.objects.get(`${bucket}/${key}`) ?? null;
  }
  async put(bucket: string, key: string, body: Uint8Array | string) {
    this.objects.set(`${bucket}/${key}`, { body: typeof body === 'string' ? new TextEncoder().encode(body) : body, etag: null, contentType: null });
  }
  async delete(bucket: string, key: string) {
    this.objects.delete(`${bucket}/${key}`);
  }
  async exists(bucket: string, key: string) {
    return this.objects.has(`${bucket}/${key}`);
  }
  async head(bucket: string, key: string) {
    const o = this.objects.get(`${bucket}/${key}`);
    return o ? { etag: o.etag, size: o.body.byteLength, lastModified: null } : null;
  }
}

const objects = new MemoryStore();
const doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
const index = new DynamoArticleIndex(doc, TABLE);
// The real image step; every image fails (missing files, refused hosts), as hostile ones do.
const images: ImageStep = (input) =>
  rehostImages(
    {
      fetcher: {
        fetch: async () => {
          throw new ImageError('image_blocked_address', 'the host is not allowed');
        },
      },
      encoder: {
        transformKey: () => 't',
        encode: async () => {
          throw new ImageError('image_corrupt', 'no');
        },
        socialKey: () => 's',
        socialCards: async () => {
          throw new ImageError('image_corrupt', 'no');
        },
      },
      media: objects,
      incoming: objects,
      records: { getByUrl: async () => null, getByHash: async () => null, put: async () => {} },
    },
    {
      ...input,
      incomingBucket: 'in',
      mediaBucket: 'media',
      mediaBaseUrl: 'https://media.example.com',
      image: { widths: [320], formats: [], maxBytes: 1 << 20, maxPixels: 1e8, fetchTimeoutMs: 1000, allowPrivateHosts: [], onlyHosts: [] },
    },
  );

// ------------------------------------------------------------------ generators

const huge = fc
  .tuple(fc.constantFrom('a', '中', '😀', 'é', '\u0301', ' ', '"', '\\'), fc.constantFrom(300, 3000, 20_000, 70_000))
  .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));
const text = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }, { weight: 1, arbitrary: huge });
const oddKey = fc.oneof(
  fc.constantFrom('', ' ', '__proto__', 'constructor', '.', '$', '#', 'a.b', 'title', 'tags', 'categories', 'author', 'slug', 'date', 'description', 'cover', 'image'),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(300, 2000).map((n) => 'k'.repeat(n)),
);
const scalar = fc.oneof(
  text,
  fc.double(),
  fc.constantFrom(1e300, -1e300, 1e-200, 2 ** 60, Number.MAX_SAFE_INTEGER, -0, 0.1 + 0.2),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const deep = fc.integer({ min: 20, max: 40 }).map((n) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { d: v };
  return v;
});
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(oddKey, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const manyKeys = fc.integer({ min: 100, max: 3000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 3 ? `值${i}` : i])));
const names = fc.oneof(fc.array(text, { maxLength: 30 }), text);
const frontMatter = fc
  .record({
    odd: fc.dictionary(oddKey, value, { maxKeys: 8 }),
    title: fc.option(text),
    tags: fc.option(names),
    categories: fc.option(names),
    author: fc.option(names),
    slug: fc.option(text),
    description: fc.option(text),
    deep: fc.option(deep, { freq: 4 }),
    many: fc.option(manyKeys, { freq: 4 }),
  })
  .map(({ odd, many, ...known }) => {
    const out: Record<string, unknown> = { ...(many ?? {}) };
    for (const [k, v] of Object.entries(known)) if (v !== null) out[k] = v;
    for (const [k, v] of Object.entries(odd)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
const body = fc
  .record({
    text: fc.option(huge),
    images: fc.integer({ min: 0, max: 600 }),
    remote: fc.integer({ min: 0, max: 50 }),
    html: fc.boolean(),
  })
  .map(({ text: t, images: n, remote, html }) => {
    const imgs = Array.from({ length: n }, (_, i) => (html ? `<img src="missing/${i}.png">` : `![](missing/${i}.png)`));
    const far = Array.from({ length: remote }, (_, i) => `<img src="https://img.example.com/${'p'.repeat(i * 50)}${i}.jpg">`);
    return [t ?? 'Body.', ...imgs, ...far].join('\n\n');
  });
const dialect = fc.constantFrom('json', 'yaml');

function file(fmData: Record<string, unknown>, b: string, d: string): string {
  if (d === 'json') return `${JSON.stringify(fmData)}\n${b}\n`;
  let yaml: string;
  try {
    yaml = stringify(fmData, { lineWidth: 0 });
  } catch {
    yaml = JSON.stringify(fmData);
  }
  return `---\n${yaml}---\n${b}\n`;
}

function shortReport<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`Property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 2000)}`);
}

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, TABLE);
  client.destroy();
});

describe('hostile uploads through the real build and save', () => {
  it('every case ends as an article: published, draft or failed with a code', async () => {
    const ns = uniq('prop');
    let n = 0;
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(frontMatter, body, dialect, async (fmData, b, d) => {
        const key = `${ns}/${n++}.${d === 'json' || Math.random() < 0.5 ? 'md' : 'html'}`;
        await objects.put('in', key, file(fmData, b, d));
        const outcome = await ingestEvent({ objects, index, images, log: silentLogger }, settings, {
          kind: 'created',
          bucket: 'in',
          key,
          sequencer: normalizeSequencer((0x1000 + n).toString(16)),
          etag: null,
          size: null,
          eventTime: null,
        });
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        expect(['published', 'draft', 'failed']).toContain(outcome);
        const item = (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `A#${articleId(key)}`, sk: 'A' } }))).Item!;
        expect(item.status).toBe(outcome);
        if (outcome === 'failed') expect(item.error.code).toMatch(/^[a-z_]+$/);
        expect(dynamoSize(item)).toBeLessThanOrEqual(ITEM_BUDGET + 1024);
        expect(dynamoSize(item)).toBeLessThan(DYNAMO.itemBytes);
      }),
      // Counterexamples hold megabytes of text: report the seed and path, not the values.
      { numRuns: 30, interruptAfterTimeLimit: 60_000, includeErrorInReport: true, reporter: shortReport },
    );
    // The time limit stops it early on a loaded machine; it must still have tried enough.
    expect(n).toBeGreaterThanOrEqual(8);
    expect(outcomes.published ?? 0).toBeGreaterThan(0);
    console.info(`hostile uploads: ${n} cases`, outcomes);
  }, 240_000);
});
