/**
 * ObjectStore over the S3 API (AWS, or s3rver locally: only the endpoint differs).
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { ObjectTooLargeError, type IngestObjectStore, type MediaObjectLister, type ObjectHead, type ObjectInfo, type PutOptions, type StoredObject } from '../ports';

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

function isNotFound(err: unknown): boolean {
  if (err instanceof NoSuchKey || err instanceof NotFound) return true;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export class S3ObjectStore implements IngestObjectStore, MediaObjectLister {
  constructor(private readonly s3: S3Client) {}

  async get(bucket: string, key: string, opts: { maxBytes?: number } = {}): Promise<StoredObject | null> {
    let res;
    try {
      res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const size = res.ContentLength ?? 0;
    if (opts.maxBytes !== undefined && size > opts.maxBytes) {
      // Stop the transfer instead of downloading what we will refuse anyway.
      (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new ObjectTooLargeError(size, opts.maxBytes);
    }
    const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    return {
      body,
      etag: res.ETag ? res.ETag.replace(/"/g, '') : null,
      contentType: res.ContentType ?? null,
    };
  }

  async put(bucket: string, key: string, body: Uint8Array | string, opts: PutOptions): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: opts.contentType,
        CacheControl: opts.cacheControl,
      }),
    );
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.head(bucket, key)) !== null;
  }

  async head(bucket: string, key: string): Promise<ObjectHead | null> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: res.ETag ? res.ETag.replace(/"/g, '') : null, size: res.ContentLength ?? null, lastModified: res.LastModified?.toISOString() ?? null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo[]> {
    for await (const page of paginateListObjectsV2({ client: this.s3 }, { Bucket: bucket, Prefix: prefix })) {
      yield (page.Contents ?? []).flatMap((o) => (o.Key && o.LastModified ? [{ key: o.Key, lastModified: o.LastModified }] : []));
    }
  }

  async lastModified(bucket: string, key: string): Promise<Date | null> {
    const h = await this.head(bucket, key);
    return h?.lastModified ? new Date(h.lastModified) : null;
  }

  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const res = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new Error(`could not delete ${failed.length} object(s), first ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
    }
  }
}
