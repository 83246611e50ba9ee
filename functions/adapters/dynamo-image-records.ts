/**
 * ImageRecordStore on the article table (key schema: definitions.TABLE).
 *
 * Items
 *   Image      pk=IMG#<hash>              sk=<transformKey>   `image`: the ImageRecord
 *   Image URL  pk=IMGURL#<sha256(url)>    sk=<transformKey>   `hash`, `url`: which bytes a URL served
 *
 * Neither carries gsi1 attributes, so they never show up in the article listings.
 * Both are immutable facts (content-addressed), so concurrent writers racing on the same
 * image write the same thing and no condition is needed.
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ImageRecord, ImageRecordStore } from '../ports';

export const imagePk = (hash: string) => `IMG#${hash}`;
export const imageUrlPk = (url: string) => `IMGURL#${createHash('sha256').update(url).digest('hex')}`;

export class DynamoImageRecords implements ImageRecordStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
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
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: imagePk(hash), sk: transformKey },
        ProjectionExpression: '#i',
        ExpressionAttributeNames: { '#i': 'image' },
      }),
    );
    return (res.Item?.['image'] as ImageRecord | undefined) ?? null;
  }

  async put(record: ImageRecord, opts: { url?: string } = {}): Promise<void> {
    // The record first: a URL item never points at an image item that is not there.
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: imagePk(record.hash), sk: record.transformKey, type: 'image', image: record },
      }),
    );
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
