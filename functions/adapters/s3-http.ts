/**
 * S3 GetObject for the query API without the AWS SDK: one signed, retried GET (aws-http.ts:
 * why, measured). The API only reads article bodies (UTF-8 HTML) from the media bucket;
 * everything that writes or lists S3 keeps the SDK (s3-store.ts).
 */
import { createAwsSend, type AwsHttpOptions } from './aws-http';

export interface HttpObjectReaderOptions extends Omit<AwsHttpOptions, 'service'> {
  /** The local emulator (path-style addressing); default: the bucket's virtual-hosted AWS URL. */
  endpoint?: string;
}

/** A key as S3's canonical URI encodes it: every byte but unreserved ones, `/` kept. */
export const encodeS3Key = (key: string) =>
  key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');

/**
 * Reads an object as text; null when the key does not exist (404), like S3ObjectStore.get.
 * A key with a `.` or `..` segment is refused: `fetch` normalizes those out of every URL
 * (even escaped), so it would read another object. The API reads only body keys ingest
 * wrote (`bodies/<id>-<hash>.html`), which never have one.
 */
export function createHttpTextReader(o: HttpObjectReaderOptions): (bucket: string, key: string) => Promise<string | null> {
  const send = createAwsSend({ attemptTimeoutMs: 10_000, ...o, service: 's3' });
  return async (bucket, key) => {
    if (key.split('/').some((s) => s === '.' || s === '..')) throw new RangeError(`S3 key "${key}" has a dot segment, which fetch cannot address`);
    const url = o.endpoint ? `${o.endpoint}/${bucket}/${encodeS3Key(key)}` : `https://${bucket}.s3.${o.region}.amazonaws.com/${encodeS3Key(key)}`;
    const res = await send(url, { method: 'GET' }, (status) => status === 404);
    return res.status === 404 ? null : res.text;
  };
}
