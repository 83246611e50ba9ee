import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../local/aws-chunked';

function encode(parts: Buffer[], signed: boolean): Buffer {
  const sig = signed ? ';chunk-signature=' + 'a'.repeat(64) : '';
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from(`${p.length.toString(16)}${sig}\r\n`), p, Buffer.from('\r\n'));
  out.push(Buffer.from(`0${sig}\r\n`), Buffer.from(signed ? '\r\n' : 'x-amz-checksum-crc32:AAAAAA==\r\n\r\n'));
  return Buffer.concat(out);
}

async function decode(wire: Buffer, splits: number[]): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const s of [...splits].sort((a, b) => a - b)) {
    const cut = Math.min(wire.length, s);
    if (cut > at) pieces.push(wire.subarray(at, cut));
    at = Math.max(at, cut);
  }
  pieces.push(wire.subarray(at));
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces).pipe(new AwsChunkedDecoder())) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('AwsChunkedDecoder', () => {
  it('recovers the payload however the wire bytes are split (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 5 }),
        fc.boolean(),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 6 }),
        async (parts, signed, splits) => {
          const bufs = parts.map((p) => Buffer.from(p));
          expect((await decode(encode(bufs, signed), splits)).equals(Buffer.concat(bufs))).toBe(true);
        },
      ),
    );
  });

  it('fails on a body cut in the middle of a chunk', async () => {
    const wire = encode([Buffer.from('hello world')], false).subarray(0, 8);
    await expect(decode(wire, [])).rejects.toThrow(/middle of a chunk/);
  });
});
