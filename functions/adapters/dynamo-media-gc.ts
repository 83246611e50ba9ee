/**
 * MediaGcStore on the article table: one consistent parallel Scan per sweep, and
 * conditional writes on the image items (adapters/dynamo-image-records.ts) only.
 *
 * Attributes the sweeper adds to an image item (pk=IMG#<hash>):
 *   unreferencedSince  epoch ms: a sweep found no article using it (ingest removes it on reuse)
 *   condemnedAt        epoch ms: a sweep is deleting its files (ingest refuses it meanwhile)
 * A claim on files without a record is an image item with `condemnedAt` and no `image`.
 */
import { DeleteCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { GcImageState, MediaGcStore, MediaReferences } from '../ports';
import { IMAGE_PREFIX } from '../definitions';
import { ifConditionHolds } from './dynamo-client';
import { ARTICLE_SK, articlePk } from './dynamo-reader';
import { imagePk } from './dynamo-image-records';

/** Scan segments read in parallel (each a sequence of 1 MB pages). */
const SCAN_SEGMENTS = 4;
/** Re-hosted image paths inside an article item's `images` and `cover` (items from before `imageHashes`). */
const IMAGE_PATH = new RegExp(`/${IMAGE_PREFIX}([0-9a-f]{32})/`, 'g');
const HANDLE_SEPARATOR = '\t';

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export class DynamoMediaGcStore implements MediaGcStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async references(): Promise<MediaReferences> {
    const refs: MediaReferences = { images: new Set(), bodies: new Set(), records: [], urls: new Map(), itemsRead: 0, capacityUnits: 0 };
    const segment = async (n: number) => {
      let start: Record<string, unknown> | undefined;
      do {
        const res = await this.db.send(
          new ScanCommand({
            TableName: this.table,
            Segment: n,
            TotalSegments: SCAN_SEGMENTS,
            // Strongly consistent: every article item written before the scan started is seen.
            ConsistentRead: true,
            ReturnConsumedCapacity: 'TOTAL',
            // Listings and counts are read (and paid for) too, but not sent back.
            FilterExpression: '#sk = :a OR begins_with(#pk, :img)',
            ProjectionExpression: '#pk, #sk, #del, #body, #hashes, #images, #cover, #u, #c, #h',
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#sk': 'sk',
              '#del': 'deleted',
              '#body': 'bodyKey',
              '#hashes': 'imageHashes',
              '#images': 'images',
              '#cover': 'cover',
              '#u': 'unreferencedSince',
              '#c': 'condemnedAt',
              '#h': 'hash',
            },
            ExpressionAttributeValues: { ':a': ARTICLE_SK, ':img': 'IMG' },
            ExclusiveStartKey: start,
          }),
        );
        refs.itemsRead += res.ScannedCount ?? 0;
        refs.capacityUnits += res.ConsumedCapacity?.CapacityUnits ?? 0;
        for (const it of res.Items ?? []) this.take(refs, it);
        start = res.LastEvaluatedKey;
      } while (start);
    };
    await Promise.all(Array.from({ length: SCAN_SEGMENTS }, (_, n) => segment(n)));
    return refs;
  }

  private take(refs: MediaReferences, it: Record<string, unknown>): void {
    const pk = String(it.pk);
    const sk = String(it.sk);
    if (pk.startsWith(articlePk('')) && sk === ARTICLE_SK) {
      if (it.deleted === true) return;
      if (typeof it.bodyKey === 'string') refs.bodies.add(it.bodyKey);
      if (Array.isArray(it.imageHashes)) for (const h of it.imageHashes) if (typeof h === 'string') refs.images.add(h);
      for (const m of JSON.stringify([it.images ?? null, it.cover ?? null]).matchAll(IMAGE_PATH)) refs.images.add(m[1]!);
    } else if (pk.startsWith('IMGURL#')) {
      if (typeof it.hash !== 'string') return;
      const list = refs.urls.get(it.hash) ?? [];
      list.push(`${pk}${HANDLE_SEPARATOR}${sk}`);
      refs.urls.set(it.hash, list);
    } else if (pk.startsWith('IMG#')) {
      refs.records.push({ hash: pk.slice(4), transformKey: sk, unreferencedSince: num(it.unreferencedSince), condemnedAt: num(it.condemnedAt) });
    }
  }

  mark(hash: string, transformKey: string, at: number): Promise<boolean> {
    return ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: imagePk(hash), sk: transformKey },
          UpdateExpression: 'SET unreferencedSince = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(unreferencedSince) AND attribute_not_exists(condemnedAt)',
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  async unmark(state: GcImageState): Promise<void> {
    const { condition, values } = asRead(state);
    await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: imagePk(state.hash), sk: state.transformKey },
          UpdateExpression: 'REMOVE unreferencedSince, condemnedAt',
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        }),
      ),
    );
  }

  condemn(hash: string, transformKey: string, expected: Pick<GcImageState, 'unreferencedSince' | 'condemnedAt'> | null, at: number): Promise<boolean> {
    const Key = { pk: imagePk(hash), sk: transformKey };
    if (expected === null) {
      return ifConditionHolds(
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...Key, type: 'image', condemnedAt: at },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    }
    const { condition, values } = asRead(expected);
    return ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET condemnedAt = :at',
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: { ...values, ':at': at },
        }),
      ),
    );
  }

  async forget(hash: string, transformKey: string, condemnedAt: number, urls: string[]): Promise<void> {
    for (const handle of urls) {
      const [pk, sk] = handle.split(HANDLE_SEPARATOR);
      // A URL that has come to serve other bytes since the scan keeps its item.
      await ifConditionHolds(
        this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { pk, sk },
            ConditionExpression: '#h = :h',
            ExpressionAttributeNames: { '#h': 'hash' },
            ExpressionAttributeValues: { ':h': hash },
          }),
        ),
      );
    }
    await ifConditionHolds(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: imagePk(hash), sk: transformKey },
          ConditionExpression: 'condemnedAt = :c',
          ExpressionAttributeValues: { ':c': condemnedAt },
        }),
      ),
    );
  }
}

/** A condition that the record's mark and condemnation are still as the sweep read them. */
function asRead(s: Pick<GcImageState, 'unreferencedSince' | 'condemnedAt'>): { condition: string; values: Record<string, number> } {
  const values: Record<string, number> = {};
  const parts = (['unreferencedSince', 'condemnedAt'] as const).map((name) => {
    const v = s[name];
    if (v === null) return `attribute_not_exists(${name})`;
    values[`:${name}`] = v;
    return `${name} = :${name}`;
  });
  return { condition: parts.join(' AND '), values };
}
