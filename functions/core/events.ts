/**
 * S3 notifications, delivered directly or wrapped in SQS messages, turned into the
 * records the ingest pipeline works on. Pure: no AWS imports.
 */

export type ObjectEventKind = 'created' | 'removed';

export interface ObjectEvent {
  kind: ObjectEventKind;
  bucket: string;
  /** The object key, decoded exactly as S3 encoded it. */
  key: string;
  /** Sequencer normalized so that string order equals numeric order (see normalizeSequencer). */
  sequencer: string;
  etag: string | null;
  size: number | null;
  eventTime: string | null;
  /** `ObjectRemoved:DeleteMarkerCreated`: a versioned bucket now serves nothing for the key. */
  deleteMarker?: boolean;
  /**
   * Set by the operator's reprocess tool (see reprocessNotification): process even if the
   * content is unchanged, at the article's current position in the event order.
   */
  force?: boolean;
}

/** One unit of work: an SQS message (with its id for partial batch failures) or a bare S3 record. */
export interface WorkItem {
  /** SQS messageId, or null when the S3 notification arrived directly. */
  messageId: string | null;
  events: ObjectEvent[];
  /** Set when the message itself cannot be read; the item then fails without retrying forever. */
  malformed?: string;
}

/**
 * S3 encodes keys in notifications like an HTML form: a space is `+`, everything else
 * percent-escaped (UTF-8). A literal `+` arrives as `%2B`.
 */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** The inverse of decodeS3Key, as S3 does it (used by the local stack's event bridge). */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

const SEQUENCER_WIDTH = 32;

/**
 * S3 sequencers are hex numbers of varying length: compare them as numbers. Left-padding
 * to a fixed width (uppercase) makes plain string comparison, as DynamoDB condition
 * expressions do it, agree with numeric comparison.
 */
export function normalizeSequencer(raw: string): string {
  const hex = raw.trim().replace(/^0x/i, '').toUpperCase();
  if (!/^[0-9A-F]{1,64}$/.test(hex)) throw new Error(`not a hex sequencer: "${raw}"`);
  const stripped = hex.replace(/^0+(?=.)/, '');
  return stripped.length >= SEQUENCER_WIDTH ? stripped : stripped.padStart(SEQUENCER_WIDTH, '0');
}

export function compareSequencers(a: string, b: string): number {
  const x = BigInt('0x' + a);
  const y = BigInt('0x' + b);
  return x < y ? -1 : x > y ? 1 : 0;
}

interface RawS3Record {
  eventName?: unknown;
  eventTime?: unknown;
  reprocess?: unknown;
  s3?: {
    bucket?: { name?: unknown };
    object?: { key?: unknown; sequencer?: unknown; eTag?: unknown; size?: unknown };
  };
}

function toObjectEvent(r: RawS3Record): ObjectEvent | null {
  const name = typeof r.eventName === 'string' ? r.eventName : '';
  const kind: ObjectEventKind | null = name.startsWith('ObjectCreated')
    ? 'created'
    : name.startsWith('ObjectRemoved')
      ? 'removed'
      : null;
  // Other notifications (replication, lifecycle transitions, restores) change no article.
  if (!kind) return null;
  const bucket = r.s3?.bucket?.name;
  const key = r.s3?.object?.key;
  const seq = r.s3?.object?.sequencer;
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof seq !== 'string') {
    throw new Error('S3 record lacks bucket, key or sequencer');
  }
  const etag = r.s3?.object?.eTag;
  const size = r.s3?.object?.size;
  return {
    kind,
    bucket,
    key: decodeS3Key(key),
    sequencer: normalizeSequencer(seq),
    etag: typeof etag === 'string' ? etag.replace(/"/g, '') : null,
    size: typeof size === 'number' ? size : null,
    eventTime: typeof r.eventTime === 'string' ? r.eventTime : null,
    ...(kind === 'created' && r.reprocess === true ? { force: true } : {}),
    ...(name === 'ObjectRemoved:DeleteMarkerCreated' ? { deleteMarker: true } : {}),
  };
}

function s3Records(payload: unknown): ObjectEvent[] {
  const p = payload as { Records?: unknown; Event?: unknown };
  // S3 sends `s3:TestEvent` when notifications are configured: nothing to do.
  if (p && p.Event === 's3:TestEvent') return [];
  if (!p || !Array.isArray(p.Records)) throw new Error('not an S3 notification');
  return p.Records.map((r) => toObjectEvent(r as RawS3Record)).filter((e): e is ObjectEvent => e !== null);
}

/** Splits a Lambda event (SQS batch or direct S3 notification) into work items. */
export function parseLambdaEvent(event: unknown): WorkItem[] {
  const records = (event as { Records?: unknown[] })?.Records;
  if (!Array.isArray(records)) throw new Error('event has no Records');
  const items: WorkItem[] = [];
  const direct: RawS3Record[] = [];
  for (const rec of records) {
    const r = rec as { eventSource?: string; messageId?: string; body?: string };
    if (r.eventSource === 'aws:sqs' || typeof r.messageId === 'string') {
      const messageId = String(r.messageId);
      try {
        items.push({ messageId, events: s3Records(JSON.parse(r.body ?? '')) });
        // A malformed percent-escape or missing field fails the message (retried, then
        // dead-lettered) rather than the whole batch.
      } catch (err) {
        items.push({ messageId, events: [], malformed: err instanceof Error ? err.message : String(err) });
      }
    } else {
      direct.push(rec as RawS3Record);
    }
  }
  for (const r of direct) {
    try {
      const e = toObjectEvent(r);
      if (e) items.push({ messageId: null, events: [e] });
    } catch (err) {
      items.push({ messageId: null, events: [], malformed: err instanceof Error ? err.message : String(err) });
    }
  }
  return items;
}

/** An object the reprocess tool found in the upload bucket (ListObjectsV2). */
export interface ListedObject {
  key: string;
  etag?: string | null;
  size?: number | null;
  /** ISO; kept as the event time, so an undated article keeps its upload date. */
  lastModified?: string | null;
}

/**
 * The notification `npm run reprocess` enqueues for one object: shaped like S3's own
 * ObjectCreated record, plus `reprocess: true`. Its sequencer is the lowest possible: the
 * ingest core processes it at the article's stored sequencer instead (core/ingest.ts),
 * so a reprocess never outranks a real upload or delete.
 */
export function reprocessNotification(bucket: string, obj: ListedObject): { Records: unknown[] } {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: obj.lastModified ?? new Date().toISOString(),
        userIdentity: { principalId: 'article-pipeline:reprocess' },
        reprocess: true,
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket },
          object: {
            key: encodeS3Key(obj.key),
            ...(obj.size != null ? { size: obj.size } : {}),
            ...(obj.etag ? { eTag: obj.etag.replace(/"/g, '') } : {}),
            sequencer: '0',
          },
        },
      },
    ],
  };
}
