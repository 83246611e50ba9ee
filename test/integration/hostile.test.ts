/**
 * The hostile cases that only make sense through S3 (the rest of the corpus is in
 * test/unit/hostile.test.ts): object keys at S3's limits and in tricky encodings, empty
 * and oversized files, uploaded to the embedded stack and read back through the API.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { articleId } from '../../functions/core/ingest';
import { ObjectTooLargeError } from '../../functions/ports';
import { adminApi, settle, uniq, upload } from './helpers';

const ns = uniq('hostile-keys');

/** A key of exactly `bytes` UTF-8 bytes, in path segments a file system can hold, ending in `.md`. */
function keyOfBytes(prefix: string, bytes: number): string {
  let key = `${prefix}/`;
  const segment = 'é'.repeat(100) + '/'; // 201 bytes
  while (Buffer.byteLength(key + segment) + 3 < bytes) key += segment;
  key += 'a'.repeat(bytes - Buffer.byteLength(key) - 3);
  return `${key}.md`;
}

const KEYS = {
  long: keyOfBytes(ns, 1024),
  nfc: `${ns}/caf\u00e9.md`,
  nfd: `${ns}/cafe\u0301.md`,
  percentPlus: `${ns}/100% a+b %2B c%20d + é%.md`,
  empty: `${ns}/empty.md`,
  huge: `${ns}/huge.md`,
};

const article = (title: string) => `---\ntitle: ${JSON.stringify(title)}\n---\nBody of ${title}.\n`;

async function byKey(key: string): Promise<any> {
  const { status, body } = await adminApi(`/admin/articles/${articleId(key)}`);
  expect(status, key).toBe(200);
  return body;
}

describe('hostile keys and sizes, through the stack', () => {
  beforeAll(async () => {
    await upload(KEYS.long, article('long key'));
    await upload(KEYS.nfc, article('NFC'));
    await upload(KEYS.nfd, article('NFD'));
    await upload(KEYS.percentPlus, article('percent and plus'));
    await upload(KEYS.empty, new Uint8Array(0));
    // 6 MiB of valid Markdown: refused for its size alone (ARTICLE_MAX_BYTES is 5 MiB).
    await upload(KEYS.huge, new TextEncoder().encode('---\ntitle: huge\n---\n' + 'word '.repeat((6 * 1024 * 1024) / 5)));
    await settle();
  }, 60_000);

  it('a key of 1,024 bytes (S3’s limit) keeps every byte', async () => {
    expect(Buffer.byteLength(KEYS.long)).toBe(1024);
    const a = await byKey(KEYS.long);
    expect(a.status).toBe('published');
    expect(a.sourceKey).toBe(KEYS.long);
    expect(a.title).toBe('long key');
  });

  it('NFC and NFD spellings of one name are two objects, so two articles, each with its exact key', async () => {
    expect(KEYS.nfc).not.toBe(KEYS.nfd);
    expect(KEYS.nfc.normalize('NFC')).toBe(KEYS.nfd.normalize('NFC'));
    const [nfc, nfd] = [await byKey(KEYS.nfc), await byKey(KEYS.nfd)];
    expect(nfc.id).not.toBe(nfd.id);
    expect([nfc.title, nfd.title]).toEqual(['NFC', 'NFD']);
    expect(nfc.sourceKey).toBe(KEYS.nfc);
    expect(nfd.sourceKey).toBe(KEYS.nfd);
  });

  it('`%`, `+`, `%2B` and spaces in a key survive the URL-encoded notification', async () => {
    const a = await byKey(KEYS.percentPlus);
    expect(a.status).toBe('published');
    expect(a.sourceKey).toBe(KEYS.percentPlus);
  });

  it('an empty file is a failed article saying so', async () => {
    const a = await byKey(KEYS.empty);
    expect(a.status).toBe('failed');
    expect(a.error.code).toBe('empty_file');
    expect(a.sourceKey).toBe(KEYS.empty);
  });

  it('a 6 MiB file is a failed article: file_too_large', async () => {
    const a = await byKey(KEYS.huge);
    expect(a.status).toBe('failed');
    expect(a.error.code).toBe('file_too_large');
    expect(a.error.message).toContain('ARTICLE_MAX_BYTES');
  });
});

describe('an oversized object is refused without reading it', () => {
  it('S3ObjectStore.get stops at the headers when Content-Length is over the limit', async () => {
    const size = 6 * 1024 * 1024;
    let sent = 0;
    let closed!: () => void;
    const done = new Promise<void>((r) => (closed = r));
    // An S3 stand-in that sends the body slowly: reading it all would take seconds.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/markdown', 'content-length': size, etag: '"x"' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const timer = setInterval(() => {
        if (sent >= size) return clearInterval(timer);
        res.write(chunk);
        sent += chunk.length;
      }, 20);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    const store = new S3ObjectStore(
      new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 1,
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    );
    try {
      const err = await store.get('bucket', 'huge.md', { maxBytes: 5 * 1024 * 1024 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectTooLargeError);
      expect((err as ObjectTooLargeError).size).toBe(size);
      await done; // the client hung up
      expect(sent).toBeLessThan(size);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
