/**
 * The reprocess rule, on DynamoDB Local and s3rver: a `reprocess: true` notification re-runs
 * an article at the sequencer of the last event the index applied. So it processes unchanged
 * content again, but never outranks a newer upload or delete and never brings back a
 * deleted article.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageStep } from '../../functions/core/article';
import { normalizeSequencer, parseLambdaEvent, reprocessNotification, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestDeps } from '../../functions/core/ingest';
import type { Logger, Metrics } from '../../functions/ports';
import { s3, uniq } from './helpers';
import { ingestWorld, md, type IngestWorld } from './ingest-world';

let w: IngestWorld;
beforeAll(async () => {
  w = await ingestWorld('reprocess');
});

/** The event the reprocess tool sends for `key`, read back as the ingest handler reads it. */
function reprocessEvent(key: string, etag: string): ObjectEvent {
  const body = JSON.stringify(reprocessNotification(w.incoming, { key, etag: `"${etag}"`, size: 10, lastModified: '2026-02-01T00:00:00.000Z' }));
  const [item] = parseLambdaEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'm1', body }] });
  return item!.events[0]!;
}

let clock = Date.parse('2026-03-01T00:00:00Z');
const deps = (overrides: Partial<IngestDeps> = {}) => w.deps({ now: () => new Date((clock += 1000)), ...overrides });
const ingest = (ev: ObjectEvent, d: IngestDeps = deps()) => ingestEvent(d, w.settings, ev);
const stateOf = (key: string) => w.index.getState(articleId(key));

describe('ingesting a reprocess event', () => {
  it('processes unchanged content again, at the stored sequencer, under a body key of its own', async () => {
    const key = `${uniq('again')}/post.md`;
    const id = articleId(key);
    const etag = await w.put(key, md('Hello'));
    expect(await ingest(w.event('created', key, { etag }))).toBe('published');
    const first = (await w.index.get(id))!;
    // Without force, the same bytes are skipped.
    expect(await ingest(w.event('created', key, { etag }))).toBe('unchanged');
    const seq = (await stateOf(key))!.sequencer;

    expect(await ingest(reprocessEvent(key, etag))).toBe('published');
    const again = (await w.index.get(id))!;
    expect(again.processedAt > first.processedAt).toBe(true);
    expect(again.title).toBe('Hello');
    expect((await stateOf(key))!.sequencer).toBe(seq);
    expect(again.bodyKey).not.toBe(first.bodyKey);
    expect(await w.bodiesOf(key)).toEqual([again.bodyKey]);
    // A redelivered reprocess message is not a "duplicate": it runs again.
    expect(await ingest(reprocessEvent(key, etag))).toBe('published');
    expect(await w.bodiesOf(key)).toEqual([(await w.index.get(id))!.bodyKey]);
  });

  it('never brings back a deleted article, even when a re-upload is already in the bucket', async () => {
    const key = `${uniq('gone')}/post.md`;
    const id = articleId(key);
    const e1 = await w.put(key, md('Gone'));
    await ingest(w.event('created', key, { etag: e1 }));
    await s3.send(new DeleteObjectCommand({ Bucket: w.incoming, Key: key }));
    expect(await ingest(w.event('removed', key))).toBe('deleted');

    expect(await ingest(reprocessEvent(key, e1))).toBe('stale');
    expect((await stateOf(key))!.deleted).toBe(true);
    const e2 = await w.put(key, md('Back'));
    expect(await ingest(reprocessEvent(key, e2))).toBe('stale');
    expect(await w.index.get(id)).toBeNull();
    // The re-upload's own event decides.
    expect(await ingest(w.event('created', key, { etag: e2 }))).toBe('published');
    expect((await w.index.get(id))!.title).toBe('Back');
    expect(await w.bodiesOf(key)).toEqual([(await w.index.get(id))!.bodyKey]);
  });

  it('loses to a newer upload that lands while it works, and removes its own body', async () => {
    const key = `${uniq('race')}/post.md`;
    const id = articleId(key);
    const e1 = await w.put(key, md('Old'));
    await ingest(w.event('created', key, { etag: e1 }));
    const newer = w.event('created', key);
    // While the reprocess reads the object, a new version is uploaded and fully ingested.
    let once = true;
    const racing = Object.assign(Object.create(w.objects), {
      get: async (bucket: string, k: string, opts?: { maxBytes?: number }) => {
        if (once && bucket === w.incoming) {
          once = false;
          const res = await w.objects.get(bucket, k, opts);
          newer.etag = await w.put(key, md('New'));
          expect(await ingest(newer)).toBe('published');
          return res;
        }
        return w.objects.get(bucket, k, opts);
      },
    });
    expect(await ingest(reprocessEvent(key, e1), deps({ objects: racing }))).toBe('stale');
    expect((await w.index.get(id))!.title).toBe('New');
    expect((await stateOf(key))!.sequencer).toBe(newer.sequencer);
    expect(await w.bodiesOf(key)).toEqual([(await w.index.get(id))!.bodyKey]);
  });

  it('indexes a never-seen object below every real event', async () => {
    const key = `${uniq('early')}/post.md`;
    const etag = await w.put(key, md('Early'));
    expect(await ingest(reprocessEvent(key, etag))).toBe('published');
    expect((await stateOf(key))!.sequencer).toBe(normalizeSequencer('0'));
    // A real (late) notification still applies: it is newer than the reprocess.
    await s3.send(new DeleteObjectCommand({ Bucket: w.incoming, Key: key }));
    expect(await ingest(w.event('removed', key))).toBe('deleted');
    expect(await w.bodiesOf(key)).toEqual([]);
  });

  it('a missing object changes nothing', async () => {
    const key = `${uniq('never')}/post.md`;
    expect(await ingest(reprocessEvent(key, 'e1'))).toBe('missing');
    expect(await stateOf(key)).toBeNull();
  });
});

describe('observability of a processed article', () => {
  it('logs step durations and records article and image metrics', async () => {
    const logged: { message: string; fields?: Record<string, unknown> }[] = [];
    const added: [string, string, number][] = [];
    const metrics: Metrics = { add: (n, u, v) => added.push([n, u, v]), flush() {} };
    const images: ImageStep = async ({ html }) => ({
      html,
      cover: null,
      images: [
        { original: 'a.png', status: 'rehosted', url: 'http://m/a.png' },
        { original: 'b.png', status: 'failed', error: { code: 'image_not_found', message: 'no' } },
      ],
      imageCount: 2,
      warnings: [],
      stats: { fetched: 2, reused: 0, failed: 1, bytesIn: 5000, bytesOut: 1200 },
    });
    const log: Logger = { info: (message, fields) => logged.push({ message, fields }), warn() {}, error() {} };
    const key = `${uniq('measured')}/m.md`;
    await w.put(key, md('Measured'));
    await ingest(w.event('created', key), deps({ log, metrics, images }));

    const entry = logged.find((l) => l.message === 'article processed');
    expect(entry?.fields).toMatchObject({ key, id: articleId(key), status: 'published', imagesRehosted: 1, imagesFailed: 1 });
    const steps = entry!.fields!.steps as Record<string, number>;
    expect(Object.keys(steps).sort()).toEqual(['images', 'parse', 'read', 'render', 'save']);
    for (const ms of Object.values(steps)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(added).toEqual(
      expect.arrayContaining([
        ['ArticlesProcessed', 'Count', 1],
        ['ImagesRehosted', 'Count', 1],
        ['ImagesFailed', 'Count', 1],
        ['ImagesDownloaded', 'Count', 2],
        ['ImageBytesIn', 'Bytes', 5000],
        ['ImageBytesOut', 'Bytes', 1200],
      ]),
    );

    added.length = 0;
    const bad = `${uniq('bad')}/bad.md`;
    await w.put(bad, '---\ntitle: [unclosed\n---\nx');
    expect(await ingest(w.event('created', bad), deps({ log, metrics }))).toBe('failed');
    expect(added).toEqual([['ArticlesFailed', 'Count', 1]]);
  });
});
