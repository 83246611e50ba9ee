/**
 * S3 delivers at least once and in no fixed order. Against the real DynamoDB Local, any
 * shuffled, duplicated and partly concurrent delivery of a history of uploads, identical
 * re-uploads and deletes must end in the state of each key's newest event, with exact counts.
 */
import { createHash } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { silentLogger } from '../../functions/adapters/logger';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestSettings } from '../../functions/core/ingest';
import type { IngestObjectStore, StoredObject } from '../../functions/ports';
import { ensureTable } from '../../local/dynamodb';
import { stack } from './helpers';

const TABLE = `ordering-${Date.now()}`;
const settings: IngestSettings = {
  incomingBucket: 'in',
  mediaBucket: 'media',
  articleMaxBytes: 1 << 20,
  defaultTimezone: 'UTC',
};

/** S3 as it is once all operations happened: events are delivered afterwards. */
class FinalStateStore implements IngestObjectStore {
  objects = new Map<string, StoredObject>();
  async head(bucket: string, key: string) {
    const o = this.objects.get(`${bucket}/${key}`);
    return o ? { etag: o.etag, size: o.body.length, lastModified: null } : null;
  }
  async get(bucket: string, key: string) {
    return this.objects.get(`${bucket}/${key}`) ?? null;
  }
  async put(bucket: string, key: string, body: Uint8Array | string) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    this.objects.set(`${bucket}/${key}`, { body: bytes, etag: etagOf(bytes), contentType: null });
  }
  async delete(bucket: string, key: string) {
    this.objects.delete(`${bucket}/${key}`);
  }
  async exists(bucket: string, key: string) {
    return this.objects.has(`${bucket}/${key}`);
  }
}

const etagOf = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');

interface Op {
  key: number;
  /** put: new content; same: the key's previous content uploaded again (a put when there is none). */
  kind: 'put' | 'same' | 'remove';
  cats: number[];
  draft: boolean;
}

const opArb = fc.record({
  key: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('put', 'same', 'remove'),
  cats: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
  draft: fc.boolean(),
});

let index: DynamoArticleIndex;

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, TABLE);
  client.destroy();
  index = new DynamoArticleIndex(createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint }), TABLE);
});

describe('event ordering and duplication', () => {
  let run = 0;
  it('ends in each key’s newest state with exact counts, whatever the delivery order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 7 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.infiniteStream(fc.nat()),
        async (ops, dupes, shuffle) => {
          run++;
          const ns = `r${run}-${Date.now().toString(36)}`;
          const keyName = (k: number) => `${ns}/post-${k}.md`;
          const catName = (c: number) => `${ns}-cat${c}`;
          const store = new FinalStateStore();
          // Each upload's content; an identical re-upload repeats the key's last content.
          const last = new Map<number, { text: string; op: Op }>();
          const contentOf: ({ text: string; op: Op } | null)[] = ops.map((op, i) => {
            if (op.kind === 'remove') return null;
            const text = `---\ntitle: t${op.key}\ncategories: [${op.cats.map(catName).join(', ')}]\ndraft: ${op.draft}\n---\nbody ${i}\n`;
            const c = (op.kind === 'same' && last.get(op.key)) || { text, op };
            last.set(op.key, c);
            return c;
          });
          const events: ObjectEvent[] = ops.map((op, i) => ({
            kind: op.kind === 'remove' ? 'removed' : 'created',
            bucket: 'in',
            key: keyName(op.key),
            sequencer: normalizeSequencer((0x1000 + i * 7).toString(16)),
            etag: contentOf[i] ? etagOf(contentOf[i]!.text) : null,
            size: null,
            eventTime: null,
          }));
          // S3's final state: each key's last operation (what its content says).
          const newest = new Map<number, Op>();
          ops.forEach((op, i) => newest.set(op.key, contentOf[i]?.op ?? op));
          ops.forEach((op, i) => {
            if (contentOf[i]) void store.put('in', keyName(op.key), contentOf[i]!.text);
          });
          for (const [k, op] of newest) if (op.kind === 'remove') await store.delete('in', keyName(k));
          // Deliver: duplicates added, order shuffled, delivered two at a time.
          const delivery = [...events, ...dupes.map((d) => events[d % events.length]!)];
          const it = shuffle[Symbol.iterator]();
          for (let i = delivery.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [delivery[i], delivery[j]] = [delivery[j]!, delivery[i]!];
          }
          const deps = { objects: store, index, log: silentLogger };
          for (let i = 0; i < delivery.length; i += 2) {
            await Promise.all(delivery.slice(i, i + 2).map((ev) => ingestEvent(deps, settings, ev)));
          }

          const expectedCounts = new Map<string, number>();
          for (const [k, op] of newest) {
            const rec = await index.get(articleId(keyName(k)));
            if (op.kind === 'remove') {
              expect(rec).toBeNull();
              continue;
            }
            expect(rec?.status).toBe(op.draft ? 'draft' : 'published');
            expect(rec?.categories).toEqual(op.cats.map(catName));
            if (!op.draft) for (const c of op.cats) expectedCounts.set(catName(c), (expectedCounts.get(catName(c)) ?? 0) + 1);
          }
          const counts = (await index.counts('category')).filter((c) => c.name.startsWith(`${ns}-`));
          expect(Object.fromEntries(counts.map((c) => [c.name, c.count]))).toEqual(Object.fromEntries(expectedCounts));
          const listed = await index.list({ status: 'published', limit: 100 });
          const listedHere = listed.items.filter((s) => s.sourceKey.startsWith(`${ns}/`)).map((s) => s.sourceKey).sort();
          const expectedListed = [...newest].filter(([, op]) => op.kind !== 'remove' && !op.draft).map(([k]) => keyName(k)).sort();
          expect(listedHere).toEqual(expectedListed);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('creates the table only once even when asked twice', async () => {
    const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await expect(ensureTable(client, TABLE)).resolves.toBeUndefined();
    await expect(client.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }))).rejects.toThrow();
    client.destroy();
  });
});
