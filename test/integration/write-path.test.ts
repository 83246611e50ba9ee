/**
 * The write path's races, reproduced on DynamoDB Local and s3rver (issue 11, part 2).
 * Each test forces one interleaving of two events of one key by pausing an event's
 * DynamoDB client at a chosen request, and checks that the index ends equal to the bucket.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import type { S3ObjectStore } from '../../functions/adapters/s3-store';
import { normalizeSequencer } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestDeps } from '../../functions/core/ingest';
import { s3, uniq } from './helpers';
import { ingestWorld, md, type DynamoCommand as Command, type IngestWorld } from './ingest-world';

let w: IngestWorld;
let index: DynamoArticleIndex;
let objects: S3ObjectStore;
beforeAll(async () => {
  w = await ingestWorld('write-path');
  ({ index, objects } = w);
});

const deps = (idx: DynamoArticleIndex = index): IngestDeps => w.deps({ index: idx });
const event: IngestWorld['event'] = (...a) => w.event(...a);
const put = (key: string, text: string) => w.put(key, text);
const bodiesOf = (key: string) => w.bodiesOf(key);
const gatedIndex: IngestWorld['gatedIndex'] = (hook) => w.gatedIndex(hook);
const settings = () => w.settings;

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
    expect(await ingestEvent(deps(), settings(), event('created', key, { etag }))).toBe('published');
    // In S3: a delete (marker), then the same bytes uploaded again. The object is there.
    const marker = event('removed', key, { deleteMarker: true });
    const reupload = event('created', key, { etag });
    const runDelete = once(async () => {
      expect(await ingestEvent(deps(), settings(), marker)).toBe('deleted');
    });
    // The re-upload reads the article's state; the delete is applied right after that read.
    const racing = gatedIndex(async (cmd, phase) => {
      if (phase === 'after' && isRead(cmd)) await runDelete();
    });
    await ingestEvent(deps(racing), settings(), reupload);

    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('Same');
    expect(rec?.status).toBe('published');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('an unchanged re-upload landing in the middle of another event’s save leaves the bucket’s content indexed', async () => {
    const key = `${uniq('touch-save')}/post.md`;
    const e1 = await put(key, md('One', ['a']));
    expect(await ingestEvent(deps(), settings(), event('created', key, { etag: e1 }))).toBe('published');
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
    const reupload = ingestEvent(deps(reuploadIndex), settings(), evOneAgain);
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
    await ingestEvent(deps(saveIndex), settings(), evTwo);
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
    await ingestEvent(deps(), settings(), event('created', key, { etag: e1 }));
    const e2 = await put(key, md('V2'));
    await ingestEvent(deps(), settings(), event('created', key, { etag: e2 }));
    await ingestEvent(deps(), settings(), event('removed', key));
    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('V2');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('ObjectRemoved:Delete of the current version makes the older version the article', async () => {
    const key = `${uniq('current')}/post.md`;
    const e1 = await put(key, md('Older'));
    await ingestEvent(deps(), settings(), event('created', key, { etag: e1 }));
    const e2 = await put(key, md('Newer'));
    await ingestEvent(deps(), settings(), event('created', key, { etag: e2 }));
    // S3 now serves the older version again (the newer version was deleted).
    await put(key, md('Older'));
    expect(await ingestEvent(deps(), settings(), event('removed', key))).toBe('published');
    const rec = await index.get(articleId(key));
    expect(rec?.title).toBe('Older');
    expect(await bodiesOf(key)).toEqual([rec!.bodyKey]);
  });

  it('a delete marker (or a delete that leaves nothing) deletes the article', async () => {
    for (const extra of [{ deleteMarker: true }, {}]) {
      const key = `${uniq('gone')}/post.md`;
      const etag = await put(key, md('Gone'));
      await ingestEvent(deps(), settings(), event('created', key, { etag }));
      await s3.send(new DeleteObjectCommand({ Bucket: w.incoming, Key: key }));
      expect(await ingestEvent(deps(), settings(), event('removed', key, extra))).toBe('deleted');
      expect(await index.get(articleId(key))).toBeNull();
      expect(await bodiesOf(key)).toEqual([]);
    }
  });

  it('a reprocess writes its body under a key of its own, and the old body goes after the switch', async () => {
    const key = `${uniq('reprocess')}/post.md`;
    const etag = await put(key, md('Again'));
    await ingestEvent(deps(), settings(), event('created', key, { etag }));
    const before = await index.get(articleId(key));
    const written: string[] = [];
    const watching = Object.assign(Object.create(objects), {
      put: async (bucket: string, k: string, body: Uint8Array | string, opts: never) => {
        written.push(k);
        return objects.put(bucket, k, body, opts);
      },
    }) as S3ObjectStore;
    const reprocess = { ...event('created', key, { etag }), sequencer: normalizeSequencer('0'), force: true };
    expect(await ingestEvent({ ...deps(), objects: watching }, settings(), reprocess)).toBe('published');
    const after = await index.get(articleId(key));
    expect(written.filter((k) => k.startsWith('bodies/'))).not.toContain(before!.bodyKey);
    expect(after!.bodyKey).not.toBe(before!.bodyKey);
    expect(await bodiesOf(key)).toEqual([after!.bodyKey]);
  });

  it('a transaction that meets contention on a hot count item is sent again after a backoff, and applies once', async () => {
    const ns = uniq('hot');
    const cat = `${ns}-cat`;
    const key = `${ns}/p.md`;
    const etag = await put(key, md('Hot', [cat]));
    // DynamoDB cancels a transaction whose item another transaction holds (TransactionConflict).
    // DynamoDB Local serializes transactions instead, so the first three attempts are cancelled here.
    let cancelled = 0;
    const sentAt: number[] = [];
    const contended = gatedIndex((cmd, phase) => {
      if (phase !== 'before' || cmd.constructor.name !== 'TransactWriteCommand') return;
      sentAt.push(performance.now());
      if (cancelled++ < 3) {
        throw Object.assign(new Error('Transaction cancelled'), {
          name: 'TransactionCanceledException',
          CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'TransactionConflict' }],
        });
      }
    });
    expect(await ingestEvent(deps(contended), settings(), event('created', key, { etag }))).toBe('published');
    expect(sentAt).toHaveLength(4);
    expect(contended.stats.contentionRetries).toBe(3);
    expect((await index.counts('category')).find((c) => c.name === cat)?.count).toBe(1);
  });

  it('12 articles in one category saved at once all publish, with an exact count', async () => {
    const ns = uniq('hot');
    const cat = `${ns}-cat`;
    const keys = Array.from({ length: 12 }, (_, i) => `${ns}/p${i}.md`);
    const events = await Promise.all(keys.map(async (k) => event('created', k, { etag: await put(k, md(k, [cat])) })));
    const outcomes = await Promise.allSettled(events.map((ev) => ingestEvent(deps(), settings(), ev)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const counts = await index.counts('category');
    expect(counts.find((c) => c.name === cat)?.count).toBe(12);
  });
});
