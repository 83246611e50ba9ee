/**
 * The write path's races, reproduced on DynamoDB Local and s3rver (issue 11, part 2).
 * Each test forces one interleaving of two events of one key by pausing an event's
 * DynamoDB client at a chosen request, and checks that the index ends equal to the bucket.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, createS3Client } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { silentLogger } from '../../functions/adapters/logger';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestDeps, type IngestSettings } from '../../functions/core/ingest';
import { ensureTable } from '../../local/dynamodb';
import { s3, stack, uniq } from './helpers';

const TABLE = `write-path-${Date.now()}`;
// Own buckets: objects in the stack's upload bucket would also be ingested by the stack itself.
const IN = `wp-in-${Date.now()}`;
const MEDIA = `wp-media-${Date.now()}`;
const settings: IngestSettings = { incomingBucket: IN, mediaBucket: MEDIA, articleMaxBytes: 1 << 20, defaultTimezone: 'UTC' };

let doc: DynamoDBDocumentClient;
let index: DynamoArticleIndex;
let objects: S3ObjectStore;

beforeAll(async () => {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, TABLE);
  client.destroy();
  for (const Bucket of [IN, MEDIA]) await s3.send(new CreateBucketCommand({ Bucket }));
  doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
  index = new DynamoArticleIndex(doc, TABLE);
  objects = new S3ObjectStore(createS3Client({ s3Endpoint: stack.s3Endpoint }));
});

const deps = (idx: DynamoArticleIndex = index): IngestDeps => ({ objects, index: idx, log: silentLogger });

let seq = 0x9000;
function event(kind: 'created' | 'removed', key: string, extra: Partial<ObjectEvent> = {}): ObjectEvent {
  seq += 16;
  return { kind, bucket: IN, key, sequencer: normalizeSequencer(seq.toString(16)), etag: null, size: null, eventTime: null, ...extra };
}

async function put(key: string, text: string): Promise<string> {
  const res = await s3.send(new PutObjectCommand({ Bucket: IN, Key: key, Body: text }));
  return res.ETag!.replace(/"/g, '');
}

async function bodiesOf(key: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: MEDIA, Prefix: `bodies/${articleId(key)}/` }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

const md = (title: string, cats: string[] = []) => `---\ntitle: ${title}\ncategories: [${cats.join(', ')}]\n---\nBody of ${title}.\n`;

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Hook = (cmd: Command, phase: 'before' | 'after') => Promise<void> | void;

/** An index whose DynamoDB requests pass through `hook`, before and after each is sent. */
function gatedIndex(hook: Hook): DynamoArticleIndex {
  const gated = {
    send: async (cmd: Command) => {
      await hook(cmd, 'before');
      const res = await doc.send(cmd as never);
      await hook(cmd, 'after');
      return res;
    },
  } as unknown as DynamoDBDocumentClient;
  return new DynamoArticleIndex(gated, TABLE);
}

const isWrite = (cmd: Command) => /^(Put|Update|Delete|TransactWrite)Command$/.test(cmd.constructor.name);
const isRead = (cmd: Command) => cmd.constructor.name === 'GetCommand';

function once(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await fn();
  };
}

// Written first as failing reproductions of issue 11; the write path was then redesigned
// (one compare-and-set per transition) to make them pass.
describe('the write path under interleaved events (issue 11 reproductions)', () => {
  it('a delete landing between an unchanged re-upload’s read and its write does not delete the article', async () => {
    const key = `${uniq('del-touch')}/post.md`;
    const etag = await put(key, md('Same'));
    expect(await ingestEvent(deps(), settings, event('created', key, { etag }))).toBe('published');
    // In S3: a delete (marker), then the same bytes uploaded again. The object is there.
    const marker = event('removed', key, { deleteMarker: true });
    const reupload = event('created', key, { etag });
    const runDelete = once(async () => {
      expect(await ingestEvent(deps(), settings, marker)).toBe('deleted');
    });
    // The re-upload reads the article's state; the delete is applied right after that read.
    const racing = gatedIndex(async (cmd, phase) => {
      if (phase === 'after' && isRead(cmd)) await runDelete();
    });
    await ingestEvent(deps(racing), settings, reupload);

    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('Same');
    expect(rec?.status).toBe('published');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('an unchanged re-upload landing in the middle of another event’s save leaves the bucket’s content indexed', async () => {
    const key = `${uniq('touch-save')}/post.md`;
    const e1 = await put(key, md('One', ['a']));
    expect(await ingestEvent(deps(), settings, event('created', key, { etag: e1 }))).toBe('published');
    const e2 = await put(key, md('Two', ['b']));
    const evTwo = event('created', key, { etag: e2 });
    const evOneAgain = event('created', key, { etag: e1 });

    // The re-upload of One reads the state (One), then waits.
    let readDone!: () => void;
    const hasRead = new Promise<void>((r) => (readDone = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reuploadFirstRead = true;
    const reuploadIndex = gatedIndex(async (cmd, phase) => {
      if (phase === 'after' && isRead(cmd) && reuploadFirstRead) {
        reuploadFirstRead = false;
        readDone();
        await released;
      }
    });
    const reupload = ingestEvent(deps(reuploadIndex), settings, evOneAgain);
    await hasRead;

    // Two is saved; right after its first write, One is uploaded again and its event runs to the end.
    const afterFirstWrite = once(async () => {
      await put(key, md('One', ['a']));
      release();
      await reupload;
    });
    const saveIndex = gatedIndex(async (cmd, phase) => {
      if (phase === 'after' && isWrite(cmd)) await afterFirstWrite();
    });
    await ingestEvent(deps(saveIndex), settings, evTwo);
    await reupload;

    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('One');
    expect(rec?.categories).toEqual(['a']);
    const counts = Object.fromEntries((await index.counts('category')).map((c) => [c.name, c.count]));
    expect(counts.a).toBe(1);
    expect(counts.b).toBeUndefined();
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('ObjectRemoved:Delete of a noncurrent version keeps the live article', async () => {
    // s3rver has no versioning: the bucket is left as S3 leaves it (the current version
    // still served) and the event S3 sends for a noncurrent version's deletion is delivered.
    const key = `${uniq('noncurrent')}/post.md`;
    const e1 = await put(key, md('V1'));
    await ingestEvent(deps(), settings, event('created', key, { etag: e1 }));
    const e2 = await put(key, md('V2'));
    await ingestEvent(deps(), settings, event('created', key, { etag: e2 }));
    await ingestEvent(deps(), settings, event('removed', key));
    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('V2');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('ObjectRemoved:Delete of the current version makes the older version the article', async () => {
    const key = `${uniq('current')}/post.md`;
    const e1 = await put(key, md('Older'));
    await ingestEvent(deps(), settings, event('created', key, { etag: e1 }));
    const e2 = await put(key, md('Newer'));
    await ingestEvent(deps(), settings, event('created', key, { etag: e2 }));
    // S3 now serves the older version again (the newer version was deleted).
    await put(key, md('Older'));
    expect(await ingestEvent(deps(), settings, event('removed', key))).toBe('published');
    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('Older');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('a delete marker (or a delete that leaves nothing) deletes the article', async () => {
    for (const extra of [{ deleteMarker: true }, {}]) {
      const key = `${uniq('gone')}/post.md`;
      const etag = await put(key, md('Gone'));
      await ingestEvent(deps(), settings, event('created', key, { etag }));
      await s3.send(new DeleteObjectCommand({ Bucket: IN, Key: key }));
      expect(await ingestEvent(deps(), settings, event('removed', key, extra))).toBe('deleted');
      expect(await index.get(articleId(key))).toBeNull();
      expect(await bodiesOf(key)).toEqual([]);
    }
  });

  it('a reprocess writes its body under a key of its own, and the old body goes after the switch', async () => {
    const key = `${uniq('reprocess')}/post.md`;
    const etag = await put(key, md('Again'));
    await ingestEvent(deps(), settings, event('created', key, { etag }));
    const before = await index.get(articleId(key));
    const written: string[] = [];
    const watching = Object.assign(Object.create(objects), {
      put: async (bucket: string, k: string, body: Uint8Array | string, opts: never) => {
        written.push(k);
        return objects.put(bucket, k, body, opts);
      },
    }) as S3ObjectStore;
    const reprocess = { ...event('created', key, { etag }), sequencer: normalizeSequencer('0'), force: true };
    expect(await ingestEvent({ ...deps(), objects: watching }, settings, reprocess)).toBe('published');
    const after = await index.get(articleId(key));
    expect(written.filter((k) => k.startsWith('bodies/'))).not.toContain(before!.bodyKey);
    expect(after!.bodyKey).not.toBe(before!.bodyKey);
    expect(await bodiesOf(key)).toEqual([after!.bodyKey]);
  });

  it('40 articles in one category saved at once all publish, with an exact count', async () => {
    const ns = uniq('hot');
    const cat = `${ns}-cat`;
    const keys = Array.from({ length: 40 }, (_, i) => `${ns}/p${i}.md`);
    const events = await Promise.all(keys.map(async (k) => event('created', k, { etag: await put(k, md(k, [cat])) })));
    const outcomes = await Promise.allSettled(events.map((ev) => ingestEvent(deps(), settings, ev)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const counts = await index.counts('category');
    expect(counts.find((c) => c.name === cat)?.count).toBe(40);
  });
});
