/**
 * The local S3 must accept uploads the way current clients send them: the AWS SDK and CLI
 * default to aws-chunked bodies with a trailing CRC checksum, which s3rver alone stores
 * with the framing inside the object.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stack, uniq } from './helpers';

const defaultClient = new S3Client({
  endpoint: stack.s3Endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  // The SDK's default (the stack's process sets WHEN_REQUIRED for its own clients).
  requestChecksumCalculation: 'WHEN_SUPPORTED',
});

async function roundTrip(body: () => Buffer | Readable, length: number, expected: Buffer) {
  const key = `${uniq('chunked')}/asset.bin`;
  await defaultClient.send(new PutObjectCommand({ Bucket: stack.incomingBucket, Key: key, Body: body(), ContentLength: length }));
  const got = await defaultClient.send(new GetObjectCommand({ Bucket: stack.incomingBucket, Key: key }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  expect(bytes.equals(expected)).toBe(true);
  expect(got.ContentEncoding ?? '').not.toContain('aws-chunked');
}

describe('local S3 with default SDK checksums', () => {
  const data = Buffer.from('俄方 会谈 '.repeat(30_000));

  it('stores a streamed upload (aws-chunked with trailer) byte for byte', async () => {
    await roundTrip(() => Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), data.length, data);
  });

  it('stores a buffered upload byte for byte', async () => {
    await roundTrip(() => data, data.length, data);
  });
});
