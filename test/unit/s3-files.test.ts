/** local/s3-files.ts: the file layout of the local S3 holds every key S3 accepts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEGMENT_BYTES, decodeKeyPath, encodeKeySegments } from '../../local/s3-files';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** s3rver's longest suffix after the last element. */
const SUFFIX = '._S3rver_metadata.json';

describe('encodeKeySegments / decodeKeyPath', () => {
  it('ordinary keys keep s3rver’s layout', () => {
    expect(encodeKeySegments('posts/2024/hello.md')).toEqual(['posts', '2024', 'hello.md']);
    expect(encodeKeySegments('dir/')).toEqual(['dir', '']);
  });

  it('a 968-byte key of one segment becomes elements a file system can hold', () => {
    const key = `${'中'.repeat(320)}.md`;
    const segs = encodeKeySegments(key);
    expect(segs.length).toBeGreaterThan(1);
    for (const s of segs) expect(bytes(s + SUFFIX)).toBeLessThanOrEqual(255);
    expect(decodeKeyPath(segs.join('/'))).toBe(key);
  });

  it('empty, dot and marker segments are distinct and stay inside the bucket', () => {
    const keys = ['a/b', 'a//b', '/a/b', 'a/./b', 'a/../b', '../b', '%!/b', '%!>x/b', 'a/b/'];
    const paths = keys.map((k) => encodeKeySegments(k));
    for (const p of paths) expect(p.slice(0, -1).every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
    expect(new Set(paths.map((p) => p.join('/'))).size).toBe(keys.length);
    for (const k of keys) expect(decodeKeyPath(encodeKeySegments(k).join('/'))).toBe(k);
  });

  it('any key up to 1,024 bytes round-trips, in elements of at most SEGMENT_BYTES', () => {
    const seg = fc.oneof(fc.constantFrom('', '.', '..', '%!', '%!>', 'a'), fc.string({ unit: 'grapheme', maxLength: 400 }));
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), (segs) => {
        const key = segs.join('/');
        fc.pre(bytes(key) >= 1 && bytes(key) <= 1024);
        const enc = encodeKeySegments(key);
        for (const s of enc) expect(bytes(s)).toBeLessThanOrEqual(SEGMENT_BYTES);
        expect(decodeKeyPath(enc.join('/'))).toBe(key);
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});
