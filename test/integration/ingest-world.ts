/**
 * The ingest core on the shared stack's real servers, outside the stack's own pipeline: a
 * table of its own in DynamoDB Local and two buckets of its own in s3rver (objects in the
 * stack's upload bucket would also be ingested by the stack itself). Tests deliver the
 * events themselves, in the order and interleaving they choose.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createS3Client } from '../../functions/adapters/clients';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { silentLogger } from '../../functions/adapters/logger';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { articleId, type IngestDeps, type IngestSettings } from '../../functions/core/ingest';
import { ensureTable } from '../../local/dynamodb';
import { s3, stack } from './helpers';

export interface IngestWorld {
  table: string;
  incoming: string;
  media: string;
  settings: IngestSettings;
  doc: DynamoDBDocumentClient;
  index: DynamoArticleIndex;
  objects: S3ObjectStore;
  deps(overrides?: Partial<IngestDeps>): IngestDeps;
  /** An event with the next (growing) sequencer. */
  event(kind: 'created' | 'removed', key: string, extra?: Partial<ObjectEvent>): ObjectEvent;
  /** Uploads to the world's upload bucket; returns the ETag. */
  put(key: string, text: string): Promise<string>;
  /** Body objects stored for the article of `key`. */
  bodiesOf(key: string): Promise<string[]>;
  /** An index on the same table whose requests pass through `hook` (before and after each). */
  gatedIndex(hook: (cmd: DynamoCommand, phase: 'before' | 'after') => Promise<void> | void): DynamoArticleIndex;
}

export type DynamoCommand = { constructor: { name: string }; input: Record<string, unknown> };

export async function ingestWorld(label: string): Promise<IngestWorld> {
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const table = `${label}-${stamp}`;
  const incoming = `${label}-in-${stamp}`;
  const media = `${label}-media-${stamp}`;
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await ensureTable(client, table);
  client.destroy();
  for (const Bucket of [incoming, media]) await s3.send(new CreateBucketCommand({ Bucket }));
  const doc = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
  const index = new DynamoArticleIndex(doc, table);
  const objects = new S3ObjectStore(createS3Client({ s3Endpoint: stack.s3Endpoint }));
  const settings: IngestSettings = { incomingBucket: incoming, mediaBucket: media, articleMaxBytes: 1 << 20, defaultTimezone: 'UTC' };
  let seq = 0x9000;
  return {
    table,
    incoming,
    media,
    settings,
    doc,
    index,
    objects,
    deps: (overrides = {}) => ({ objects, index, log: silentLogger, ...overrides }),
    event(kind, key, extra = {}) {
      seq += 16;
      return { kind, bucket: incoming, key, sequencer: normalizeSequencer(seq.toString(16)), etag: null, size: null, eventTime: null, ...extra };
    },
    async put(key, text) {
      const res = await s3.send(new PutObjectCommand({ Bucket: incoming, Key: key, Body: text }));
      return res.ETag!.replace(/"/g, '');
    },
    async bodiesOf(key) {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: media, Prefix: `bodies/${articleId(key)}/` }));
      return (res.Contents ?? []).map((o) => o.Key!).sort();
    },
    gatedIndex(hook) {
      const gated = {
        send: async (cmd: DynamoCommand) => {
          await hook(cmd, 'before');
          const res = await doc.send(cmd as never);
          await hook(cmd, 'after');
          return res;
        },
      } as unknown as DynamoDBDocumentClient;
      return new DynamoArticleIndex(gated, table);
    },
  };
}

/** A Markdown article with a title and categories. */
export const md = (title: string, cats: string[] = []) => `---\ntitle: ${title}\ncategories: [${cats.join(', ')}]\n---\nBody of ${title}.\n`;
