/**
 * "Nothing left behind", on a local stack of its own (a sweep empties the whole media
 * bucket, which the shared stack's other test files still use): articles with images are
 * uploaded and deleted, and the media sweeper (functions/gc) runs with its clock moved
 * past the grace period. Image records race the sweeper on DynamoDB Local.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/clients';
import { DynamoImageRecords } from '../../functions/adapters/dynamo-image-records';
import { DynamoMediaGcStore } from '../../functions/adapters/dynamo-media-gc';
import { ImageBeingCollectedError } from '../../functions/core/errors';
import { articleId, bodyKeyFor } from '../../functions/core/ingest';
import { MEDIA_GC_MAX_SECONDS } from '../../functions/definitions';
import type { ImageRecord } from '../../functions/ports';
import { signedFetch } from '../../local/sigv4';
import { FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';
import { s3Client } from '../../scripts/lib';
import { main as gcCli } from '../../scripts/gc';
import { ToolError } from '../../scripts/lib';
import { startOrigin, type Origin } from './origin';

const DAY = 86_400_000;
let stack: LocalStack;
let origin: Origin;
let dataDir: string;
let s3: ReturnType<typeof s3Client>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'media-gc-it-'));
  origin = await startOrigin();
  stack = await startLocalStack({
    ...FREE_PORTS,
    queue: { retryDelayMs: 25 },
    dataDir,
    env: {
      IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: origin.hostPort,
      IMAGE_FETCH_HOSTS: '127.0.0.1',
      IMAGE_FETCH_TIMEOUT_MS: '3000',
      IMAGE_WIDTHS: '160',
      // The default, said out loud: the tests move the sweeper's clock instead.
      MEDIA_GC_GRACE_SECONDS: String(7 * 86_400),
    },
  });
  s3 = s3Client(stack.s3Endpoint);
});

afterAll(async () => {
  await stack?.stop();
  await origin?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function keys(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: stack.mediaBucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}
const hashes = async () => [...new Set((await keys('img/')).map((k) => k.split('/')[1]))].sort();

async function image(name: string, shade: number): Promise<string> {
  const file = join(origin.dir, 'gc', name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await sharp({ create: { width: 200, height: 120, channels: 3, background: { r: shade, g: 90, b: 200 - shade } } }).png().toBuffer());
  return `${origin.url}/gc/${name}`;
}

async function upload(key: string, images: string[]): Promise<void> {
  const body = `---\ntitle: ${key}\n---\n\n${images.map((u, i) => `![image ${i}](${u})\n`).join('\n')}`;
  await s3.send(new PutObjectCommand({ Bucket: stack.incomingBucket, Key: key, Body: body }));
}
const remove = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: stack.incomingBucket, Key: key }));

async function article(key: string): Promise<any> {
  // The operator route: warnings and image errors are operator data.
  const res = await signedFetch(`${stack.apiUrl}/admin/articles/${articleId(key)}`);
  return res.status === 200 ? res.json() : null;
}

describe('the media sweeper leaves nothing behind', () => {
  const later = (days: number) => () => new Date(Date.now() + days * DAY);

  it('keeps everything within the grace period, a re-referenced image a grace period longer, then empties img/ and bodies/', async () => {
    const [red, green, blue, grey] = await Promise.all([image('red.png', 10), image('green.png', 70), image('blue.png', 130), image('grey.png', 190)]);
    await upload('gc/a.md', [red, green]);
    await upload('gc/b.md', [green, blue]);
    await upload('gc/c.md', [grey]);
    await stack.settle();
    for (const k of ['gc/a.md', 'gc/b.md', 'gc/c.md']) expect((await article(k))?.status, k).toBe('published');
    const allImages = await hashes();
    expect(allImages).toHaveLength(4);
    expect(await keys('bodies/')).toHaveLength(3);

    // What an event that ended in the dead-letter queue leaves: a body no article points to.
    const lost = bodyKeyFor(articleId('gc/lost.md'), '0000000000000000000000000000000A');
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: lost, Body: '<p>lost</p>' }));

    // In use: a sweep takes nothing.
    const inUse = await stack.gc({ now: later(30) });
    expect(inUse.images).toMatchObject({ inUse: 4, collected: 0, marked: 0 });
    expect(inUse.bodies).toMatchObject({ inUse: 3, collected: 1 });
    expect(await keys('bodies/')).toHaveLength(3);
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: lost, Body: '<p>lost</p>' }));

    for (const k of ['gc/a.md', 'gc/b.md', 'gc/c.md']) await remove(k);
    await stack.settle();
    expect(await article('gc/a.md')).toBeNull();
    // A delete releases the article's own body at once; the lost one waits for the sweeper.
    expect(await keys('bodies/')).toEqual([lost]);

    // Within the grace period: everything stays (marked).
    const first = await stack.gc();
    expect(first.images).toMatchObject({ marked: 4, collected: 0, waiting: 4 });
    expect(first.bodies).toMatchObject({ collected: 0, waiting: 1 });
    expect(await hashes()).toEqual(allImages);
    expect(await keys('bodies/')).toEqual([lost]);

    // A new article uses the green image again, then goes too: its mark is gone with the reuse.
    await upload('gc/d.md', [green]);
    await stack.settle();
    const d = await article('gc/d.md');
    expect(d.status).toBe('published');
    const greenUrl: string = d.images[0].url;
    await remove('gc/d.md');
    await stack.settle();

    // Eight days on: what was unused for the grace period goes; green was last used just now.
    const second = await stack.gc({ now: later(8) });
    expect(second.images).toMatchObject({ collected: 3, marked: 1 });
    expect(second.bodies.collected).toBe(1);
    expect(await keys('bodies/')).toEqual([]);
    const greenHash = greenUrl.split('/img/')[1]!.split('/')[0]!;
    expect(await hashes()).toEqual([greenHash]);
    expect((await fetch(greenUrl)).status).toBe(200);

    // Sixteen days on: green's grace period has passed too.
    const third = await stack.gc({ now: later(16) });
    expect(third.images.collected).toBe(1);
    expect(await keys('img/')).toEqual([]);
    expect(await keys('bodies/')).toEqual([]);
    // And no image or URL item is left in the index either.
    const db = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
    const items = await db.send(new ScanCommand({ TableName: stack.tableName, FilterExpression: 'begins_with(pk, :i)', ExpressionAttributeValues: { ':i': 'IMG' } }));
    expect(items.Items).toEqual([]);
    expect((await fetch(greenUrl)).status).toBe(404);
  });

  it('an image collected and then used again is re-hosted afresh', async () => {
    const pink = await image('pink.png', 250);
    await upload('gc/e.md', [pink]);
    await stack.settle();
    const before = (await article('gc/e.md')).images[0].url as string;
    await remove('gc/e.md');
    await stack.settle();
    expect((await stack.gc({ now: later(8) })).images).toMatchObject({ marked: 1, collected: 0 });
    expect((await stack.gc({ now: later(16) })).images.collected).toBe(1);
    expect((await fetch(before)).status).toBe(404);

    await upload('gc/f.md', [pink]);
    await stack.settle();
    const f = await article('gc/f.md');
    expect(f.warnings).toEqual([]);
    expect(f.images[0].url).toBe(before);
    expect((await fetch(before)).status).toBe(200);
  });

  it('collects files whose record was never written (an event that failed in between)', async () => {
    const orphan = 'img/0123456789abcdef0123456789abcdef/160.webp';
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: orphan, Body: 'x' }));
    expect((await stack.gc()).images.waiting).toBeGreaterThanOrEqual(1);
    expect(await keys('img/0123')).toEqual([orphan]);
    await stack.gc({ now: later(8) });
    expect(await keys('img/0123')).toEqual([]);
  });
});

describe('npm run gc', () => {
  it('sweeps with the grace period it is given, and refuses a bad one', async () => {
    await expect(gcCli(['--grace-seconds', 'soon'])).rejects.toBeInstanceOf(ToolError);
    const body = bodyKeyFor(articleId('gc/cli.md'), '0000000000000000000000000000000B');
    await s3.send(new PutObjectCommand({ Bucket: stack.mediaBucket, Key: body, Body: '<p>left</p>' }));
    expect(await gcCli([])).toBe(0);
    expect(await keys(body)).toEqual([body]);
    expect(await gcCli(['--grace-seconds', '0'])).toBe(0);
    expect(await keys(body)).toEqual([]);
  });
});

describe('image records against the sweeper (DynamoDB Local)', () => {
  const record = (hash: string): ImageRecord => ({
    hash,
    transformKey: 'tk-test',
    sourceBytes: 1,
    width: 1,
    height: 1,
    animated: false,
    fallback: { type: 'image/png', variants: [{ key: `img/${hash}/1.png`, width: 1, height: 1, size: 1 }] },
    sources: [],
    placeholder: null,
    color: null,
    createdAt: new Date(0).toISOString(),
  });
  let records: DynamoImageRecords;
  let gc: DynamoMediaGcStore;
  beforeAll(() => {
    const db = createDocumentClient({ dynamodbEndpoint: stack.dynamodbEndpoint });
    records = new DynamoImageRecords(db, stack.tableName);
    gc = new DynamoMediaGcStore(db, stack.tableName);
  });

  it('a reuse removes the mark, so a condemnation conditioned on it fails', async () => {
    const r = record('a'.repeat(32));
    await records.put(r, { url: 'http://127.0.0.1/a.png' });
    expect(await gc.mark(r.hash, r.transformKey, 1000)).toBe(true);
    expect(await gc.mark(r.hash, r.transformKey, 2000)).toBe(false);
    expect(await records.getByUrl('http://127.0.0.1/a.png', r.transformKey)).toEqual(r);
    expect(await gc.condemn(r.hash, r.transformKey, { unreferencedSince: 1000, condemnedAt: null }, 3000)).toBe(false);
    const state = (await gc.references()).records.find((x) => x.hash === r.hash);
    expect(state).toEqual({ hash: r.hash, transformKey: r.transformKey, unreferencedSince: null, condemnedAt: null });
  });

  it('a condemned image is neither used nor overwritten; a files-only claim blocks a new record', async () => {
    const r = record('b'.repeat(32));
    await records.put(r);
    expect(await gc.mark(r.hash, r.transformKey, 1000)).toBe(true);
    expect(await gc.condemn(r.hash, r.transformKey, { unreferencedSince: 1000, condemnedAt: null }, Date.now())).toBe(true);
    await expect(records.getByHash(r.hash, r.transformKey)).rejects.toBeInstanceOf(ImageBeingCollectedError);
    await expect(records.put(r)).rejects.toBeInstanceOf(ImageBeingCollectedError);

    const c = record('c'.repeat(32));
    expect(await gc.condemn(c.hash, c.transformKey, null, Date.now())).toBe(true);
    await expect(records.put(c)).rejects.toBeInstanceOf(ImageBeingCollectedError);
    // A record that exists is no files-only orphan.
    expect(await gc.condemn(r.hash, r.transformKey, null, Date.now())).toBe(false);
  });

  it('takes back an image whose sweep died half-way, and the dead sweep cannot delete the new record', async () => {
    const r = record('d'.repeat(32));
    await records.put(r, { url: 'http://127.0.0.1/d.png' });
    const longAgo = Date.now() - (MEDIA_GC_MAX_SECONDS + 60) * 1000;
    expect(await gc.mark(r.hash, r.transformKey, longAgo - 1)).toBe(true);
    expect(await gc.condemn(r.hash, r.transformKey, { unreferencedSince: longAgo - 1, condemnedAt: null }, longAgo)).toBe(true);
    expect(await records.getByUrl('http://127.0.0.1/d.png', r.transformKey)).toBeNull();
    await records.put(r, { url: 'http://127.0.0.1/d.png' });
    await gc.forget(r.hash, r.transformKey, longAgo, []);
    expect(await records.getByHash(r.hash, r.transformKey)).toEqual(r);
  });
});
