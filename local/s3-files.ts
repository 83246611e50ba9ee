/**
 * s3rver's file store, made to hold every key S3 accepts. s3rver writes the object under
 * key `a/b/c` as the file `a/b/c._S3rver_object`: a key segment longer than a file name
 * may be (255 bytes; a 968-byte key of 320 Chinese characters is one segment) crashed it
 * with ENAMETOOLONG, an empty segment (`a//b`) collided with `a/b`, and `.`/`..` segments
 * left the bucket's directory. Here each segment that a file system cannot hold as is
 * gets an escaped form, split into directory levels of at most SEGMENT_BYTES; every other
 * key is laid out exactly as s3rver does, so existing data directories keep working.
 *
 * Escaped segment: `%!` + the segment; when longer than SEGMENT_BYTES, its leading pieces
 * are directories `%!>` + piece, and the last piece is `%!` + piece. A literal segment
 * starting with `%!` is escaped too, so decoding is exact.
 */
import { readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** Bytes of one path element we write: NAME_MAX (255) less s3rver's longest suffix (`._S3rver_metadata.json`). */
export const SEGMENT_BYTES = 200;
const MARK = '%!';
const MORE = '%!>';
const OBJECT_SUFFIX = '._S3rver_object';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Pieces of at most `max` UTF-8 bytes, cut between code points. */
function pieces(s: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  let n = 0;
  for (const ch of s) {
    const b = bytes(ch);
    if (n + b > max) {
      out.push(cur);
      cur = '';
      n = 0;
    }
    cur += ch;
    n += b;
  }
  out.push(cur);
  return out;
}

/** A key as path elements under the bucket's directory. */
export function encodeKeySegments(key: string): string[] {
  const segs = key.split('/');
  return segs.flatMap((seg, i) => {
    const last = i === segs.length - 1;
    const literal = (seg !== '' || last) && seg !== '.' && seg !== '..' && !seg.startsWith(MARK) && bytes(seg) <= SEGMENT_BYTES;
    if (literal) return [seg];
    const parts = pieces(seg, SEGMENT_BYTES - MORE.length);
    return parts.map((p, j) => (j < parts.length - 1 ? MORE : MARK) + p);
  });
}

/** The key of a path (relative to the bucket's directory, `/`-separated) made by encodeKeySegments. */
export function decodeKeyPath(path: string): string {
  const out: string[] = [];
  let pending = '';
  for (const el of path.split('/')) {
    if (el.startsWith(MORE)) pending += el.slice(MORE.length);
    else {
      out.push(pending + (el.startsWith(MARK) ? el.slice(MARK.length) : el));
      pending = '';
    }
  }
  return out.join('/');
}

/** Every file under `dir`, recursively (none when it does not exist). */
function* files(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

type FilesystemStoreClass = new (root: string) => {
  getBucketPath(bucket: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  rootDirectory: string;
};

/** The store class, built on s3rver's own (a CommonJS module without types). */
export function longKeyStore(): new (root: string) => object {
  const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as FilesystemStoreClass;
  const S3Object = require('s3rver/lib/models/object.js') as new (bucket: string, key: string, content: null, metadata: unknown) => object;

  return class LongKeyStore extends FilesystemStore {
    getResourcePath(bucket: string, key = '', resource: string): string {
      const segs = encodeKeySegments(key);
      const last = segs.pop() ?? '';
      return join(this.rootDirectory, bucket, ...segs, `${last}._S3rver_${resource}`);
    }

    /**
     * Lists by walking the directory of the prefix's complete segments (their encoding does
     * not depend on what follows), decoding, then filtering and sorting the keys as S3 does.
     */
    async listObjects(bucket: string, opts: ListOptions) {
      const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = opts;
      const bucketPath = this.getBucketPath(bucket);
      const dirSegs = prefix.split('/').slice(0, -1);
      const start = dirSegs.length ? join(bucketPath, ...encodeKeySegments(`${dirSegs.join('/')}/`).slice(0, -1)) : bucketPath;
      const keys: string[] = [];
      for (const file of files(start)) {
        if (!file.endsWith(OBJECT_SUFFIX)) continue;
        const key = decodeKeyPath(file.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length));
        if (key > startAfter && key.startsWith(prefix)) keys.push(key);
      }
      keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

      const commonPrefixes = new Set<string>();
      const listed: string[] = [];
      let isTruncated = false;
      for (const key of keys) {
        const idx = delimiter ? key.slice(prefix.length).indexOf(delimiter) : -1;
        if (idx !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + idx + 1));
          continue;
        }
        if (listed.length >= maxKeys) {
          isTruncated = true;
          break;
        }
        listed.push(key);
      }
      const objects = [];
      for (const key of listed) {
        const metadata = await this.getMetadata(bucket, key).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (metadata) objects.push(new S3Object(bucket, key, null, metadata));
      }
      return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
    }

    async deleteObject(bucket: string, key: string): Promise<void> {
      for (const resource of ['object', 'object.md5', 'metadata.json']) {
        try {
          unlinkSync(this.getResourcePath(bucket, key, resource));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      // Empty directories go, as in s3rver (the last element is part of the file name).
      const dirs = encodeKeySegments(key).slice(0, -1);
      const bucketPath = this.getBucketPath(bucket);
      while (dirs.length) {
        const dir = join(bucketPath, ...dirs);
        try {
          if (readdirSync(dir).length) break;
          rmdirSync(dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        dirs.pop();
      }
    }
  } as unknown as new (root: string) => object;
}
