/**
 * Reprocess notifications as the ingest handler reads them. What ingesting one does (the
 * reprocess rule) is tested on DynamoDB Local: test/integration/reprocess.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { encodeS3Key, normalizeSequencer, parseLambdaEvent, reprocessNotification, type ObjectEvent } from '../../functions/core/events';

const BUCKET = 'articles-incoming';

/** The event the reprocess tool sends for `key`, read back as the ingest handler reads it. */
function reprocessEvent(key: string, etag: string, bucket = BUCKET): ObjectEvent {
  const body = JSON.stringify(reprocessNotification(bucket, { key, etag: `"${etag}"`, size: 10, lastModified: '2026-02-01T00:00:00.000Z' }));
  const [item] = parseLambdaEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'm1', body }] });
  expect(item?.malformed).toBeUndefined();
  return item!.events[0]!;
}

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

