/**
 * ImageRecordStore on the article table (key schema: definitions.TABLE).
 *
 * Items
 *   Image      pk=IMG#<hash>              sk=<transformKey>   `image`: the ImageRecord
 *   Image URL  pk=IMGURL#<sha256(url)>    sk=<transformKey>   `hash`, `url`: which bytes a URL served
 *
 * Neither carries gsi1 attributes, so they never show up in the article listings.
 * Both are immutable facts (content-addressed), so concurrent writers racing on the same
 * image write the same thing; the only conditions are the media sweeper's
 * (core/media-gc.ts, adapters/dynamo-media-gc.ts):
 *   - an image item marked `unreferencedSince` has the mark removed when it is used: that
 *     makes a sweep's condemnation (conditional on the mark) fail;
 *   - an image item with `condemnedAt` is being deleted: it is neither used nor overwritten
 *     (ImageBeingCollectedError, the event is retried and then re-hosts it afresh), unless
 *     the condemnation is older than a sweep can run, when it is taken back.
 * Reads are strongly consistent, so a mark or condemnation written just before is seen.
 */
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ImageBeingCollectedError } from '../core/errors';
import { MEDIA_GC_MAX_SECONDS } from '../definitions';
import type { ImageRecord, ImageRecordStore } from '../ports';
import { ifConditionHolds } from './dynamo-client';

export const imagePk = (hash: string) => `IMG#${hash}`;
export const imageUrlPk = (url: string) => `IMGURL#${createHash('sha256').update(url).digest('hex')}`;

export class DynamoImageRecords implements ImageRecordStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async getByUrl(url: string, transformKey: string): Promise<ImageRecord | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: imageUrlPk(url), sk: transformKey },
        ProjectionExpression: '#h',
        ExpressionAttributeNames: { '#h': 'hash' },
      }),
    );
    const hash = res.Item?.['hash'];
    return typeof hash === 'string' ? this.getByHash(hash, transformKey) : null;
  }

  async getByHash(hash: string, transformKey: string): Promise<ImageRecord | null> {
    const Key = { pk: imagePk(hash), sk: transformKey };
    // Each lost race with the sweeper changes the item for good (mark gone, or condemned).
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key,
          ConsistentRead: true,
          ProjectionExpression: '#i, unreferencedSince, condemnedAt',
          ExpressionAttributeNames: { '#i': 'image' },
        }),
      );
      const it = res.Item;
      if (!it) return null;
      if (typeof it.condemnedAt === 'number') {
        if (this.now() - it.condemnedAt <= MEDIA_GC_MAX_SECONDS * 1000) throw new ImageBeingCollectedError(hash);
        // Its sweep died half-way: drop the record; the caller re-hosts the files afresh.
        await ifConditionHolds(
          this.db.send(
            new DeleteCommand({ TableName: this.table, Key, ConditionExpression: 'condemnedAt = :c', ExpressionAttributeValues: { ':c': it.condemnedAt } }),
          ),
        );
        continue;
      }
      if (typeof it.unreferencedSince === 'number') {
        const used = await ifConditionHolds(
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key,
              UpdateExpression: 'REMOVE unreferencedSince',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(condemnedAt)',
            }),
          ),
        );
        if (!used) continue;
      }
      return (it.image as ImageRecord | undefined) ?? null;
    }
    throw new ImageBeingCollectedError(hash);
  }

  async put(record: ImageRecord, opts: { url?: string } = {}): Promise<void> {
    // The record first: a URL item never points at an image item that is not there.
    // Replacing the item drops a mark (this is a use); a condemned one is left to its sweep.
    const stored = await ifConditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: imagePk(record.hash), sk: record.transformKey, type: 'image', image: record },
          ConditionExpression: 'attribute_not_exists(condemnedAt)',
        }),
      ),
    );
    if (!stored) throw new ImageBeingCollectedError(record.hash);
    if (opts.url === undefined) return;
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: imageUrlPk(opts.url),
          sk: record.transformKey,
          type: 'imageUrl',
          url: opts.url,
          hash: record.hash,
          createdAt: new Date().toISOString(),
        },
      }),
    );
  }

}
