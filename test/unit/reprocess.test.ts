/**
 * The reprocess rule: a `reprocess: true` notification re-runs an article at the sequencer
 * of the last event the index applied. So it processes unchanged content again, but never
 * outranks a newer upload or delete and never brings back a deleted article. Run against an
 * in-memory index with the same conditional-write semantics as the DynamoDB one.
 */
import { describe, expect, it } from 'vitest';
import type { ImageStep } from '../../functions/core/article';
import { StaleEventError } from '../../functions/core/errors';
import { compareSequencers, encodeS3Key, normalizeSequencer, parseLambdaEvent, reprocessNotification, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent, type IngestDeps, type IngestSettings } from '../../functions/core/ingest';
import type { ArticleRecord, ArticleWriter, IndexState, Logger, Metrics, ObjectStore, StoredObject } from '../../functions/ports';

const BUCKET = 'articles-incoming';
const settings: IngestSettings = { incomingBucket: BUCKET, mediaBucket: 'articles-media', articleMaxBytes: 1 << 20, defaultTimezone: 'UTC' };

class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  /** Runs once, just before the next read: lets a test interleave a concurrent event. */
  beforeGet: (() => Promise<void>) | null = null;
  async get(bucket: string, key: string): Promise<StoredObject | null> {
    const hook = this.beforeGet;
    this.beforeGet = null;
    if (hook) await hook();
    return this.objects.get(`${bucket}/${key}`) ?? null;
  }
  async put(bucket: string, key: string, body: Uint8Array | string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, { body: typeof body === 'string' ? new TextEncoder().encode(body) : body, etag: null, contentType: null });
  }
  async delete(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
  }
  async exists(bucket: string, key: string): Promise<boolean> {
    return this.objects.has(`${bucket}/${key}`);
  }
  upload(key: string, text: string, etag: string): void {
    this.objects.set(`${BUCKET}/${key}`, { body: new TextEncoder().encode(text), etag, contentType: 'text/markdown' });
  }
}

/** Conditional writes as in functions/adapters/dynamo-index.ts: a write needs seq >= the stored one. */
class MemoryIndex implements ArticleWriter {
  readonly items = new Map<string, { record: ArticleRecord | null; state: IndexState }>();
  async getState(id: string): Promise<IndexState | null> {
    return this.items.get(id)?.state ?? null;
  }
  private check(id: string, sequencer: string): void {
    const cur = this.items.get(id);
    if (cur && compareSequencers(cur.state.sequencer, sequencer) > 0) throw new StaleEventError();
  }
  async save(record: ArticleRecord, sequencer: string) {
    this.check(record.id, sequencer);
    this.items.set(record.id, {
      record,
      state: {
        id: record.id,
        sequencer,
        deleted: false,
        sourceEtag: record.sourceEtag,
        contentHash: record.contentHash,
        pipelineVersion: record.pipelineVersion,
        bodyKey: record.bodyKey,
        status: record.status,
        complete: true,
        imageWarnings: record.warnings.filter((w) => w.code.startsWith('image_')).length,
      },
    });
  }
  async remove(id: string, _sourceKey: string, sequencer: string) {
    this.check(id, sequencer);
    this.items.set(id, {
      record: null,
      state: { id, sequencer, deleted: true, sourceEtag: null, contentHash: null, pipelineVersion: 0, bodyKey: null, status: null, complete: true, imageWarnings: 0 },
    });
  }
  async touch(id: string, sequencer: string): Promise<void> {
    const cur = this.items.get(id);
    if (!cur) throw new StaleEventError();
    this.check(id, sequencer);
    cur.state = { ...cur.state, sequencer };
  }
}

const silent: Logger = { info() {}, warn() {}, error() {} };

function setup() {
  const objects = new MemoryObjects();
  const index = new MemoryIndex();
  let clock = Date.parse('2026-03-01T00:00:00Z');
  const deps: IngestDeps = { objects, index, log: silent, now: () => new Date((clock += 1000)) };
  return { objects, index, deps };
}

const created = (key: string, seq: string, etag: string): ObjectEvent => ({
  kind: 'created',
  bucket: BUCKET,
  key,
  sequencer: normalizeSequencer(seq),
  etag,
  size: null,
  eventTime: '2026-02-01T00:00:00.000Z',
});
const removed = (key: string, seq: string): ObjectEvent => ({ ...created(key, seq, ''), kind: 'removed', etag: null });

/** The event the reprocess tool sends for `key`, read back as the ingest handler reads it. */
function reprocessEvent(key: string, etag: string): ObjectEvent {
  const body = JSON.stringify(reprocessNotification(BUCKET, { key, etag: `"${etag}"`, size: 10, lastModified: '2026-02-01T00:00:00.000Z' }));
  const [item] = parseLambdaEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'm1', body }] });
  expect(item?.malformed).toBeUndefined();
  return item!.events[0]!;
}

const md = (title: string) => `---\ntitle: ${title}\n---\nBody of ${title}.\n`;

describe('reprocess notifications', () => {
  it('round-trip through the event parser as forced ObjectCreated events with the exact key', () => {
    for (const key of ['2022/a b+c.md', '中文/文章 1.md', 'odd/%41%.markdown']) {
      const ev = reprocessEvent(key, 'abc');
      expect(ev).toMatchObject({ kind: 'created', bucket: BUCKET, key, etag: 'abc', force: true, eventTime: '2026-02-01T00:00:00.000Z' });
      expect(ev.sequencer).toBe(normalizeSequencer('0'));
    }
  });

  it('force only from a literal `reprocess: true` on a created record', () => {
    const record = (extra: Record<string, unknown>, eventName = 'ObjectCreated:Put') => ({
      eventName,
      s3: { bucket: { name: BUCKET }, object: { key: encodeS3Key('a.md'), sequencer: '01' } },
      ...extra,
    });
    const parse = (r: unknown) => parseLambdaEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'x', body: JSON.stringify({ Records: [r] }) }] })[0]!.events[0]!;
    expect(parse(record({})).force).toBeUndefined();
    expect(parse(record({ reprocess: 'true' })).force).toBeUndefined();
    expect(parse(record({ reprocess: true }, 'ObjectRemoved:Delete')).force).toBeUndefined();
    expect(parse(record({ reprocess: true })).force).toBe(true);
  });
});

describe('ingesting a reprocess event', () => {
  it('processes unchanged content again, at the stored sequencer', async () => {
    const { objects, index, deps } = setup();
    const key = 'blog/post.md';
    const id = articleId(key);
    objects.upload(key, md('Hello'), 'e1');
    expect(await ingestEvent(deps, settings, created(key, '0A', 'e1'))).toBe('published');
    const first = index.items.get(id)!.record!;
    // Without force, the same bytes are skipped.
    expect(await ingestEvent(deps, settings, created(key, '0B', 'e1'))).toBe('unchanged');
    const seq = index.items.get(id)!.state.sequencer;

    expect(await ingestEvent(deps, settings, reprocessEvent(key, 'e1'))).toBe('published');
    const again = index.items.get(id)!;
    expect(again.record!.processedAt > first.processedAt).toBe(true);
    expect(again.record!.title).toBe('Hello');
    expect(again.state.sequencer).toBe(seq);
    // A redelivered reprocess message is not a "duplicate": it runs again.
    expect(await ingestEvent(deps, settings, reprocessEvent(key, 'e1'))).toBe('published');
  });

  it('never brings back a deleted article, even when a re-upload is already in the bucket', async () => {
    const { objects, index, deps } = setup();
    const key = 'gone.md';
    const id = articleId(key);
    objects.upload(key, md('Gone'), 'e1');
    await ingestEvent(deps, settings, created(key, '10', 'e1'));
    await objects.delete(BUCKET, key);
    expect(await ingestEvent(deps, settings, removed(key, '11'))).toBe('deleted');

    expect(await ingestEvent(deps, settings, reprocessEvent(key, 'e1'))).toBe('stale');
    expect(index.items.get(id)!.state.deleted).toBe(true);
    objects.upload(key, md('Back'), 'e2');
    expect(await ingestEvent(deps, settings, reprocessEvent(key, 'e2'))).toBe('stale');
    expect(index.items.get(id)!.record).toBeNull();
    // The re-upload's own event decides.
    expect(await ingestEvent(deps, settings, created(key, '12', 'e2'))).toBe('published');
    expect(index.items.get(id)!.record!.title).toBe('Back');
  });

  it('loses to a newer upload that lands while it works', async () => {
    const { objects, index, deps } = setup();
    const key = 'race.md';
    const id = articleId(key);
    objects.upload(key, md('Old'), 'e1');
    await ingestEvent(deps, settings, created(key, '20', 'e1'));
    // While the reprocess reads the object, a new version is uploaded and fully ingested.
    objects.beforeGet = async () => {
      objects.upload(key, md('New'), 'e2');
      expect(await ingestEvent(deps, settings, created(key, '21', 'e2'))).toBe('published');
    };
    const outcome = await ingestEvent(deps, settings, reprocessEvent(key, 'e1'));
    expect(outcome).toBe('stale');
    expect(index.items.get(id)!.record!.title).toBe('New');
    expect(index.items.get(id)!.state.sequencer).toBe(normalizeSequencer('21'));
  });

  it('indexes a never-seen object below every real event', async () => {
    const { objects, index, deps } = setup();
    const key = 'before-notifications.md';
    const id = articleId(key);
    objects.upload(key, md('Early'), 'e1');
    expect(await ingestEvent(deps, settings, reprocessEvent(key, 'e1'))).toBe('published');
    expect(index.items.get(id)!.state.sequencer).toBe(normalizeSequencer('0'));
    // A real (late) notification still applies: it is newer than the reprocess.
    expect(await ingestEvent(deps, settings, removed(key, '01'))).toBe('deleted');
  });

  it('a missing object changes nothing', async () => {
    const { index, deps } = setup();
    expect(await ingestEvent(deps, settings, reprocessEvent('never.md', 'e1'))).toBe('missing');
    expect(index.items.size).toBe(0);
  });
});

describe('observability of a processed article', () => {
  it('logs step durations and records article and image metrics', async () => {
    const { objects, deps } = setup();
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
    const log: Logger = { ...silent, info: (message, fields) => logged.push({ message, fields }) };
    objects.upload('m.md', md('Measured'), 'e1');
    await ingestEvent({ ...deps, log, metrics, images }, settings, created('m.md', '30', 'e1'));

    const entry = logged.find((l) => l.message === 'article processed');
    expect(entry?.fields).toMatchObject({ key: 'm.md', id: articleId('m.md'), status: 'published', imagesRehosted: 1, imagesFailed: 1 });
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
    objects.upload('bad.md', '---\ntitle: [unclosed\n---\nx', 'e1');
    expect(await ingestEvent({ ...deps, log, metrics }, settings, created('bad.md', '31', 'e1'))).toBe('failed');
    expect(added).toEqual([['ArticlesFailed', 'Count', 1]]);
  });
});
