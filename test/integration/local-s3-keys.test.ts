/**
 * The local S3 (s3rver with local/s3-files.ts) holds every key S3 accepts: up to 1,024
 * UTF-8 bytes in one segment (a 968-byte key of 320 Chinese characters crashed
 * `npm run dev` with ENAMETOOLONG), empty and dot segments, keys that end in `/`.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3, uniq } from './helpers';

const BUCKET = `s3keys-${Date.now()}`;
const ns = uniq('k');

const KEYS = {
  chinese968: `${ns}/${'中'.repeat(320)}.md`,
  oneSegment1024: `${ns}/${'é'.repeat(Math.floor((1024 - ns.length - 4) / 2))}.md`,
  emptySegment: `${ns}/a//b.md`,
  plain: `${ns}/a/b.md`,
  dots: `${ns}/a/../b.md`,
  dot: `${ns}/./b.md`,
  marker: `${ns}/%!>x/%!.md`,
  trailingSlash: `${ns}/folder/`,
  emoji: `${ns}/${'😀'.repeat(200)}/${'🎉'.repeat(50)}.md`,
};

async function list(prefix: string, delimiter?: string) {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: delimiter }));
  return { keys: (res.Contents ?? []).map((o) => o.Key!).sort(), prefixes: (res.CommonPrefixes ?? []).map((p) => p.Prefix!).sort() };
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

describe('keys S3 accepts, on the local S3', () => {
  it('each one can be written, read, listed and deleted, without touching the others', async () => {
    for (const key of Object.values(KEYS)) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(KEYS.oneSegment1024)).toBeGreaterThan(1000);
    for (const [name, key] of Object.entries(KEYS)) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${name}` }));
    }
    for (const [name, key] of Object.entries(KEYS)) {
      const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(await res.Body!.transformToString(), name).toBe(`body of ${name}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength, name).toBe(Buffer.byteLength(`body of ${name}`));
    }
    expect((await list(`${ns}/`)).keys).toEqual(Object.values(KEYS).sort());
    // A prefix that ends inside a long segment, and a delimiter.
    expect((await list(`${ns}/${'中'.repeat(100)}`)).keys).toEqual([KEYS.chinese968]);
    const top = await list(`${ns}/`, '/');
    const nested = Object.values(KEYS).filter((k) => k.indexOf('/', ns.length + 1) !== -1);
    expect(top.keys).toEqual([KEYS.chinese968, KEYS.oneSegment1024].sort());
    expect(top.prefixes).toEqual([...new Set(nested.map((k) => k.slice(0, k.indexOf('/', ns.length + 1) + 1)))].sort());

    for (const key of Object.values(KEYS)) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    }
    expect((await list(`${ns}/`)).keys).toEqual([]);
  });
});
