/**
 * Faults between the handlers and AWS, with the fault proxy (local/faults.ts) in front of
 * the shared stack's emulators: the SDK clients the handlers use give up and retry, and
 * the ingest core's writes stay exactly-once in effect when an answer is lost after the
 * write was applied. Last, a small soak (`scripts/soak.ts --small`) in its own process:
 * 40 uploads, updates and deletes at a 10% fault rate, checked item by item.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, createS3Client } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { silentLogger } from '../../functions/adapters/logger';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestSettings } from '../../functions/core/ingest';
import { FAULT_KINDS, startFaultProxy, type FaultKind, type FaultPhase, type FaultProxy } from '../../local/faults';
import { ensureTable } from '../../local/dynamodb';
import { DynamoImageRecords } from '../../functions/adapters/dynamo-image-records';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import type { ImageStep } from '../../functions/core/article';
import { rehostImages } from '../../functions/core/images/rehost';
import type { ImageFetcher } from '../../functions/ports';
import sharp from 'sharp';
import { s3, stack, uniq } from './helpers';

const TABLE = `faults-${Date.now()}`;
// Own buckets: objects in the stack's upload bucket would also be ingested by the stack itself.
const IN = `faults-in-${Date.now()}`;
const MEDIA = `faults-media-${Date.now()}`;
let s3Proxy: FaultProxy;
let ddbProxy: FaultProxy;

beforeAll(async () => {
  [s3Proxy, ddbProxy] = await Promise.all([
    startFaultProxy({ upstream: stack.s3Endpoint, service: 's3' }),
    startFaultProxy({ upstream: stack.dynamodbEndpoint, service: 'dynamodb' }),
  ]);
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, TABLE);
  client.destroy();
  for (const Bucket of [IN, MEDIA]) await s3.send(new CreateBucketCommand({ Bucket }));
});

afterAll(async () => {
  await s3Proxy?.stop();
  await ddbProxy?.stop();
});

describe('the fault proxy', () => {
  it('answers as the services do, so the SDK retries every kind, before and after forwarding', async () => {
    const doc = createDocumentClient({ dynamodbEndpoint: ddbProxy.url });
    const store = new S3ObjectStore(createS3Client({ s3Endpoint: s3Proxy.url }));
    const ns = uniq('kinds');
    const kinds = FAULT_KINDS.filter((k) => k !== 'timeout'); // timeouts: next test
    for (const kind of kinds) {
      for (const phase of ['before', 'after'] as FaultPhase[]) {
        const key = `${ns}/${kind}-${phase}`;
        ddbProxy.inject({ match: (r) => r.target === 'PutItem' && r.body.includes(key), kind, phase });
        await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: key, sk: 'x', v: 1 } }));
        const item = await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: key, sk: 'x' }, ConsistentRead: true }));
        expect(item.Item?.v, `${kind} ${phase}`).toBe(1);

        s3Proxy.inject({ match: (r) => r.method === 'PUT' && r.path.includes(encodeURIComponent(key).replace(/%2F/g, '/')), kind, phase });
        await store.put(MEDIA, key, `${kind} ${phase}`, { contentType: 'text/plain' });
        expect(new TextDecoder().decode((await store.get(MEDIA, key))!.body)).toBe(`${kind} ${phase}`);
      }
    }
    for (const kind of kinds) {
      expect(ddbProxy.counts()[kind]).toMatchObject({ before: 1, after: 1 });
      expect(s3Proxy.counts()[kind]).toMatchObject({ before: 1, after: 1 });
    }
  });

  it('the handlers’ clients give up on an answer that never comes, and retry', async () => {
    // Without a socket timeout the S3 client waits forever and DynamoDB's for 5 minutes;
    // the proxy would only free the request after its 60 s hold, past this test's limit.
    const doc = createDocumentClient({ dynamodbEndpoint: ddbProxy.url });
    const store = new S3ObjectStore(createS3Client({ s3Endpoint: s3Proxy.url }));
    const key = `${uniq('held')}/a.txt`;
    await s3.send(new PutObjectCommand({ Bucket: MEDIA, Key: key, Body: 'held' }));
    const before = { s3: s3Proxy.counts().timeout.before, ddb: ddbProxy.counts().timeout.before };
    s3Proxy.inject({ match: (r) => r.method === 'GET' && r.path.includes(key), kind: 'timeout', phase: 'before' });
    ddbProxy.inject({ match: (r) => r.target === 'GetItem' && r.body.includes(key), kind: 'timeout', phase: 'before' });

    const [obj, item] = await Promise.all([
      store.get(MEDIA, key),
      doc.send(new GetCommand({ TableName: TABLE, Key: { pk: key, sk: 'x' } })),
    ]);
    expect(new TextDecoder().decode(obj!.body)).toBe('held');
    expect(item.Item).toBeUndefined();
    expect(s3Proxy.counts().timeout.before).toBe(before.s3 + 1);
    expect(ddbProxy.counts().timeout.before).toBe(before.ddb + 1);
  }, 45_000);
});

// ------------------------------------------------------------------ lost answers in ingest

const settings: IngestSettings = {
  incomingBucket: IN,
  mediaBucket: MEDIA,
  articleMaxBytes: 1 << 20,
  defaultTimezone: 'UTC',
};

function ingestDeps() {
  const doc = createDocumentClient({ dynamodbEndpoint: ddbProxy.url });
  return {
    objects: new S3ObjectStore(createS3Client({ s3Endpoint: s3Proxy.url })),
    index: new DynamoArticleIndex(doc, TABLE),
    log: silentLogger,
  };
}

let seq = 0x5000;
function event(kind: 'created' | 'removed', key: string): ObjectEvent {
  seq += 16;
  return { kind, bucket: IN, key, sequencer: normalizeSequencer(seq.toString(16)), etag: null, size: null, eventTime: null };
}

async function bodiesOf(key: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: MEDIA, Prefix: `bodies/${articleId(key)}/` }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function bodyKeyOf(key: string): Promise<string | null> {
  const doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
  const res = await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `A#${articleId(key)}`, sk: 'A' }, ConsistentRead: true }));
  return (res.Item?.bodyKey as string | undefined) ?? null;
}

async function put(key: string, text: string) {
  await s3.send(new PutObjectCommand({ Bucket: IN, Key: key, Body: text }));
}

/** The transaction that writes the article item (with its listings and counts). */
const articlePut = (key: string) => (r: { target: string | null; body: string }) =>
  r.target === 'TransactWriteItems' && r.body.includes(`"A#${articleId(key)}"`) && r.body.includes('"sk":{"S":"A"}');

describe('ingest when an answer is lost after the write was applied', () => {
  for (const kind of ['error', 'drop', 'throttle'] as FaultKind[]) {
    it(`an update whose article write answer is lost (${kind}) still removes the old body`, async () => {
      const deps = ingestDeps();
      const key = `${uniq('lost-update')}/post.md`;
      await put(key, '---\ntitle: one\n---\nfirst body\n');
      expect(await ingestEvent(deps, settings, event('created', key))).toBe('published');
      await put(key, '---\ntitle: two\n---\nsecond body\n');
      const before = ddbProxy.counts()[kind].after;
      ddbProxy.inject({ match: articlePut(key), kind, phase: 'after' });
      expect(await ingestEvent(deps, settings, event('created', key))).toBe('published');
      expect(ddbProxy.counts()[kind].after).toBe(before + 1);
      expect(await bodiesOf(key)).toEqual([await bodyKeyOf(key)]);
    });
  }

  it('a delete whose tombstone write answer is lost still removes the body', async () => {
    const deps = ingestDeps();
    const key = `${uniq('lost-delete')}/post.md`;
    await put(key, '---\ntitle: one\n---\nbody\n');
    expect(await ingestEvent(deps, settings, event('created', key))).toBe('published');
    expect(await bodiesOf(key)).toHaveLength(1);
    await s3.send(new DeleteObjectCommand({ Bucket: IN, Key: key }));
    ddbProxy.inject({ match: articlePut(key), kind: 'error', phase: 'after' });
    expect(await ingestEvent(deps, settings, event('removed', key))).toBe('deleted');
    expect(await bodiesOf(key)).toEqual([]);
  });

  it('an event retried after its save failed midway leaves no orphaned body', async () => {
    const deps = ingestDeps();
    const key = `${uniq('midway')}/post.md`;
    await put(key, '---\ntitle: one\ncategories: [a]\n---\nfirst\n');
    expect(await ingestEvent(deps, settings, event('created', key))).toBe('published');
    await put(key, '---\ntitle: two\ncategories: [b]\n---\nsecond\n');
    const ev = event('created', key);
    // Every attempt of the transaction fails: the SDK gives up, the event fails.
    ddbProxy.inject({ match: (r) => r.target === 'TransactWriteItems' && r.body.includes(`A#${articleId(key)}`), kind: 'error', phase: 'before', times: 50 });
    await expect(ingestEvent(deps, settings, ev)).rejects.toThrow();
    ddbProxy.reset();
    // The queue delivers it again.
    expect(await ingestEvent(deps, settings, ev)).toBe('published');
    expect(await bodiesOf(key)).toEqual([await bodyKeyOf(key)]);
  });
});

describe('ingest when an attempt wrote its body and then failed', () => {
  /** The body write is applied but answered with errors, more often than the SDK retries. */
  const failBodyWrites = (key: string) =>
    s3Proxy.inject({ match: (r) => r.method === 'PUT' && r.path.includes(`/bodies/${articleId(key)}/`), kind: 'error', phase: 'after', times: 50 });

  it('a retry that finds a newer event already applied removes that body', async () => {
    const deps = ingestDeps();
    const key = `${uniq('stale-retry')}/post.md`;
    await put(key, '---\ntitle: one\n---\nfirst\n');
    const first = event('created', key);
    failBodyWrites(key);
    await expect(ingestEvent(deps, settings, first)).rejects.toThrow();
    s3Proxy.reset();
    await put(key, '---\ntitle: two\n---\nsecond\n');
    expect(await ingestEvent(deps, settings, event('created', key))).toBe('published');
    expect(await ingestEvent(deps, settings, first)).toBe('stale');
    expect(await bodiesOf(key)).toEqual([await bodyKeyOf(key)]);
  });

  it('a retry that finds the object gone removes that body', async () => {
    const deps = ingestDeps();
    const key = `${uniq('missing-retry')}/post.md`;
    await put(key, '---\ntitle: one\n---\nfirst\n');
    const first = event('created', key);
    failBodyWrites(key);
    await expect(ingestEvent(deps, settings, first)).rejects.toThrow();
    s3Proxy.reset();
    await s3.send(new DeleteObjectCommand({ Bucket: IN, Key: key }));
    expect(await ingestEvent(deps, settings, first)).toBe('missing');
    expect(await bodiesOf(key)).toEqual([]);
  });
});

describe('ingest when storage fails inside the image step', () => {
  it('the event fails and is retried; the article is not marked failed for a passing outage', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#38c' } }).png().toBuffer();
    const base = ingestDeps();
    const doc = createDocumentClient({ dynamodbEndpoint: ddbProxy.url });
    const url = 'https://images.example/a.png';
    const fetcher: ImageFetcher = { fetch: async () => ({ bytes: png, finalUrl: url, contentType: 'image/png' }) };
    const imageDeps = { fetcher, encoder: new SharpEncoder(), media: base.objects, incoming: base.objects, records: new DynamoImageRecords(doc, TABLE) };
    const image = { widths: [32], formats: ['webp' as const], maxBytes: 1 << 20, maxPixels: 1e7, fetchTimeoutMs: 1000, allowPrivateHosts: [], onlyHosts: [] };
    const images: ImageStep = (input) =>
      rehostImages(imageDeps, { ...input, incomingBucket: IN, mediaBucket: MEDIA, mediaBaseUrl: 'http://media.example', image });
    const deps = { ...base, images };

    const key = `${uniq('img-outage')}/post.md`;
    await put(key, `---\ntitle: with image\n---\n![a](${url})\n`);
    const ev = event('created', key);
    // The media bucket refuses every write for a while: more than the SDK's retries.
    s3Proxy.inject({ match: (r) => r.method === 'PUT' && r.path.includes(`/${MEDIA}/img/`), kind: 'error', phase: 'before', times: 50 });
    await expect(ingestEvent(deps, settings, ev)).rejects.toThrow();
    s3Proxy.reset();
    // The queue delivers it again once S3 is back.
    expect(await ingestEvent(deps, settings, ev)).toBe('published');
  });
});

describe('ingest when events of one key overlap', () => {
  it('an older event’s cleanup never deletes the body a newer event with the same content uses', async () => {
    // v1, v2, then v1 again: the third event's body must survive the second event's cleanup,
    // however late that cleanup runs.
    const base = ingestDeps();
    let releaseSecond!: () => void;
    const secondMayDelete = new Promise<void>((r) => (releaseSecond = r));
    let holding = false;
    let held!: () => void;
    const heldNow = new Promise<void>((r) => (held = r));
    const slowDeletes: typeof base.objects = Object.assign(Object.create(base.objects), {
      delete: async (bucket: string, k: string) => {
        if (holding) {
          held();
          await secondMayDelete;
        }
        return base.objects.delete(bucket, k);
      },
    });
    const key = `${uniq('revert')}/post.md`;
    const v1 = '---\ntitle: same\n---\nthe same body\n';
    await put(key, v1);
    expect(await ingestEvent(base, settings, event('created', key))).toBe('published');

    await put(key, '---\ntitle: other\n---\nanother body\n');
    holding = true;
    const second = ingestEvent({ ...base, objects: slowDeletes }, settings, event('created', key));
    const third = event('created', key);
    await heldNow; // the second event is about to delete the first body
    holding = false;
    await put(key, v1);
    expect(await ingestEvent(base, settings, third)).toBe('published');
    releaseSecond();
    await second.catch(() => 'stale');

    const bodyKey = await bodyKeyOf(key);
    expect(await bodiesOf(key)).toEqual([bodyKey]);
  });
});

describe('at-least-once delivery while answers get lost (property)', () => {
  const opArb = fc.record({
    key: fc.integer({ min: 0, max: 2 }),
    remove: fc.boolean(),
    cats: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    draft: fc.boolean(),
  });
  let run = 0;

  it('ends in each key’s newest state, with exact counts and exactly its own body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 7 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 7, maxLength: 7 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.infiniteStream(fc.nat()),
        fc.nat(),
        async (ops, eagerness, dupes, picks, seed) => {
          const ns = `${uniq('prop')}-${run++}`;
          const keyName = (k: number) => `${ns}/post-${k}.md`;
          const catName = (c: number) => `${ns}-c${c}`;
          const draws = picks[Symbol.iterator]();
          // 15% of requests fail, half of them after the write was applied. Held requests
          // are left out: each would cost a client timeout.
          s3Proxy.configure({ rate: 0.15, seed, weights: { timeout: 0 } });
          ddbProxy.configure({ rate: 0.15, seed: seed + 1, weights: { timeout: 0 } });
          try {
            const deps = ingestDeps();
            const pending: ObjectEvent[] = [];
            const all: ObjectEvent[] = [];
            let deliveries = 0;
            /** Delivers `n` pending events picked at random, two at a time; a failed one goes back. */
            const deliver = async (n: number) => {
              for (let done = 0; done < n && pending.length; ) {
                const batch = [pending.splice(draws.next().value! % pending.length, 1)[0]!];
                if (pending.length && done + 1 < n) batch.push(pending.splice(draws.next().value! % pending.length, 1)[0]!);
                const results = await Promise.allSettled(batch.map((ev) => ingestEvent(deps, settings, ev)));
                results.forEach((r, i) => (r.status === 'rejected' ? pending.push(batch[i]!) : done++));
                expect(++deliveries, 'deliveries').toBeLessThan(300);
              }
            };
            // The operations happen in order; S3 notifies as they happen, and the pipeline
            // catches up at its own pace, so an event may read an object that has changed since.
            for (const [i, op] of ops.entries()) {
              const key = keyName(op.key);
              if (op.remove) await s3.send(new DeleteObjectCommand({ Bucket: IN, Key: key }));
              else await put(key, `---\ntitle: t${i}\ncategories: [${op.cats.map(catName).join(', ')}]\ndraft: ${op.draft}\n---\nop ${i}\n`);
              const ev = event(op.remove ? 'removed' : 'created', key);
              pending.push(ev);
              all.push(ev);
              await deliver(eagerness[i]!);
            }
            // At least once: some events come twice.
            pending.push(...dupes.map((d) => all[d % all.length]!));
            await deliver(Infinity);
          } finally {
            s3Proxy.configure({ rate: 0 });
            ddbProxy.configure({ rate: 0 });
          }
          const newest = new Map<number, (typeof ops)[number] & { i: number }>();
          ops.forEach((op, i) => newest.set(op.key, { ...op, i }));

          const reader = new DynamoArticleIndex(createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint }), TABLE);
          const expectedCounts = new Map<string, number>();
          for (const [k, op] of newest) {
            const rec = await reader.get(articleId(keyName(k)));
            const bodies = await bodiesOf(keyName(k));
            if (op.remove) {
              expect(rec).toBeNull();
              expect(bodies).toEqual([]);
              continue;
            }
            expect(rec?.status).toBe(op.draft ? 'draft' : 'published');
            expect(rec?.title).toBe(`t${op.i}`);
            expect(rec?.categories).toEqual(op.cats.map(catName));
            expect(bodies).toEqual([rec!.bodyKey]);
            if (!op.draft) for (const c of op.cats) expectedCounts.set(catName(c), (expectedCounts.get(catName(c)) ?? 0) + 1);
          }
          const counts = (await reader.counts('category')).filter((c) => c.name.startsWith(`${ns}-`));
          expect(Object.fromEntries(counts.map((c) => [c.name, c.count]))).toEqual(Object.fromEntries(expectedCounts));
        },
      ),
      { numRuns: 12 },
    );
  }, 180_000);
});

// ------------------------------------------------------------------ the small soak

describe('a small soak at a 10% fault rate', () => {
  it('loses nothing, duplicates nothing, leaves nothing half-written', async () => {
    const script = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', script, '--small', '--seed', '11'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.stderr.on('data', (d) => (text += d));
      p.on('exit', (code) => resolve({ code, text }));
    });
    const figure = (label: string) => Number(new RegExp(`${label}\\s+(\\d+)`).exec(out.text)?.[1] ?? NaN);
    expect(out.text).toContain('== fault run');
    expect(figure('random faults'), out.text).toBeGreaterThan(0);
    expect(figure('dead letters'), out.text).toBeGreaterThan(0); // the unreachable keys' events
    expect(out.text).toMatch(/0 not explained by a dead letter/);
    expect(figure('final mismatches'), out.text).toBe(0);
    expect(out.code, out.text).toBe(0);
  }, 240_000);
});
