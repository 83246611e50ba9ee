/**
 * The operator's tools against the test stack, through the same SDK calls they make in
 * AWS: upload (folder + relative assets, --wait summary), reprocess (new processedAt, only
 * under the prefix), and the dead-letter queue (list without consuming, redrive).
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeS3Key } from '../../functions/core/events';
import { articleId } from '../../functions/core/ingest';
import { formatDeadLetters, listDeadLetters, redriveDeadLetters } from '../../scripts/dlq';
import { reprocess } from '../../scripts/reprocess';
import { formatSummary, uploadArticles, type UploadOptions } from '../../scripts/upload';
import { adminApi, api, settle, stack, uniq, upload } from './helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
afterAll(() => sqs.destroy());

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

const png = (w: number, h: number, r: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 90, b: 140 } } }).png().toBuffer();

async function articleFolder(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'upload-tool-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'post', 'images'), { recursive: true });
  writeFileSync(join(dir, 'post', 'cover.png'), await png(320, 200, 200));
  writeFileSync(join(dir, 'post', 'images', 'diagram.png'), await png(240, 160, 30));
  writeFileSync(
    join(dir, 'post', 'index.md'),
    '---\ntitle: Bundle post\ncover: cover.png\ntags: [tools]\n---\nA diagram:\n\n![diagram](images/diagram.png)\n',
  );
  writeFileSync(join(dir, 'draft.md'), '---\ntitle: Not yet\ndraft: true\n---\nSee ![gone](missing.png).\n');
  writeFileSync(join(dir, 'broken.md'), '---\ntitle: [unclosed\n---\nBody.\n');
  writeFileSync(join(dir, 'notes.txt'), 'not an article, not referenced');
  return dir;
}

/** uploadArticles against the test stack, waiting for the outcome. */
const uploadAndWait = (paths: string[], prefix: string, more: Partial<UploadOptions> = {}) =>
  uploadArticles({
    paths,
    prefix,
    endpoint: stack.s3Endpoint,
    bucket: stack.incomingBucket,
    apiUrl: stack.apiUrl,
    wait: true,
    timeoutMs: 30_000,
    progress: null,
    ...more,
  });

describe('npm run upload', () => {
  it('uploads a folder with its relative assets and reports each outcome', async () => {
    const dir = await articleFolder();
    const prefix = uniq('upload');
    const progress = capture();
    const result = await uploadAndWait([dir], prefix, { progress: progress.stream });

    expect(result.files.map((f) => [f.key, f.kind])).toEqual([
      [`${prefix}/broken.md`, 'article'],
      [`${prefix}/draft.md`, 'article'],
      [`${prefix}/post/cover.png`, 'asset'],
      [`${prefix}/post/images/diagram.png`, 'asset'],
      [`${prefix}/post/index.md`, 'article'],
    ]);
    expect(result.skipped).toEqual([join(dir, 'notes.txt')]);
    expect(result.missingAssets).toEqual([{ article: `${prefix}/draft.md`, ref: 'missing.png', path: join(dir, 'missing.png') }]);
    // Not a TTY: one plain progress line per file.
    expect(progress.lines()).toHaveLength(5);
    expect(progress.lines()[4]).toMatch(/^uploading 5\/5 /);

    const byKey = new Map(result.articles!.map((a) => [a.key, a]));
    expect(byKey.get(`${prefix}/post/index.md`)).toMatchObject({ outcome: 'published', title: 'Bundle post', imagesRehosted: 1, imagesFailed: 0 });
    expect(byKey.get(`${prefix}/draft.md`)).toMatchObject({ outcome: 'draft', imagesFailed: 1 });
    expect(byKey.get(`${prefix}/broken.md`)?.outcome).toBe('failed');
    expect(byKey.get(`${prefix}/broken.md`)?.error?.code).toBeTruthy();
    expect(result.ok).toBe(false);

    // The cover and the body image were read from the uploaded assets and re-hosted.
    const { body: post } = await adminApi(`/admin/articles/${articleId(`${prefix}/post/index.md`)}`);
    expect(post.cover?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/articles-media\//);
    expect(post.images).toEqual([expect.objectContaining({ original: 'images/diagram.png', status: 'rehosted' })]);

    const summary = formatSummary(result);
    expect(summary).toContain(`failed    ${prefix}/broken.md`);
    expect(summary).toContain(`${byKey.get(`${prefix}/broken.md`)!.error!.code}: `);
    expect(summary).toMatch(/1 published, 1 draft, 1 failed, 0 unchanged, 0 timed out/);
    expect(summary).toContain('references "missing.png"');

    // The same bytes again. Its image failed the first time, so the pipeline tries again
    // (the asset is still missing, so the warning stays) and the tool waits for that.
    const again = await uploadAndWait([join(dir, 'draft.md')], prefix);
    expect(again.articles).toEqual([expect.objectContaining({ key: `${prefix}/draft.md`, outcome: 'draft', status: 'draft' })]);
    expect(again.articles![0]!.warnings.map((w) => w.code)).toEqual(['image_not_found']);
    expect(again.ok).toBe(true);

    // An article that came out whole: the same bytes are skipped, and the tool says so.
    const whole = await uploadAndWait([join(dir, 'post')], `${prefix}/post`);
    expect(whole.articles).toEqual([expect.objectContaining({ key: `${prefix}/post/index.md`, outcome: 'unchanged', status: 'published' })]);
    expect(whole.ok).toBe(true);

    // The whole folder again: the broken article is unchanged, and still failed, so the
    // run is not ok (the exit code follows the state, not what this run did).
    const rerun = await uploadAndWait([dir], prefix);
    expect(rerun.articles!.find((a) => a.key === `${prefix}/broken.md`)).toMatchObject({ outcome: 'unchanged', status: 'failed' });
    expect(rerun.ok).toBe(false);
    expect(formatSummary(rerun)).toContain('1 unchanged article(s) are still failed');
  });

  it('exits 1 from the command line on a re-run of a folder holding a failed article', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upload-rerun-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'broken.md'), '---\ntitle: [unclosed\n---\nBody.\n');
    const prefix = uniq('rerun');
    const args = [dir, '--prefix', prefix, '--wait', '--timeout', '30', '--endpoint', stack.s3Endpoint, '--bucket', stack.incomingBucket, '--api', stack.apiUrl];
    const run = () =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/upload.ts', ...args], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    const first = run();
    expect(first.stdout).toContain('1 failed');
    expect(first.status).toBe(1);
    const second = run();
    expect(second.stdout).toMatch(/unchanged +\S+broken\.md .*\(still failed\)/);
    expect(second.status).toBe(1);
  });

  it('uploads the picture of a Hexo asset_img from the post asset folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upload-hexo-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'my-trip'));
    writeFileSync(join(dir, 'my-trip', 'pond.png'), await png(300, 200, 120));
    writeFileSync(join(dir, 'my-trip.md'), '---\ntitle: Trip\n---\n{% asset_img pond.png "The pond" %}\n');
    const prefix = uniq('hexo');
    const result = await uploadAndWait([dir], prefix);
    expect(result.files.map((f) => [f.key, f.kind])).toEqual([[`${prefix}/my-trip.md`, 'article'], [`${prefix}/my-trip/pond.png`, 'asset']]);
    expect(result.articles![0]).toMatchObject({ outcome: 'published', imagesRehosted: 1, imagesFailed: 0 });
  });

  it('names the table, not the API, when /health answers but reading an article hangs', async () => {
    // A query API whose table hangs: /health needs no table and answers; article reads never do.
    const hanging = createServer((req, res) => {
      if (req.url === '/health') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((ok) => hanging.listen(0, '127.0.0.1', ok));
    const apiUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'upload-hang-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.md'), '# A\n');
    const run = (url: string) =>
      uploadAndWait([dir], uniq('hang'), { apiUrl: url, requestTimeoutMs: 500 }).catch((e) => e);
    try {
      const err = await run(apiUrl);
      expect(err).toMatchObject({ code: 'table_unreachable' });
      expect(err.message).toContain('is up (/health answers)');
      expect(err.message).toContain('DynamoDB');
      expect(err.message).not.toContain('does not answer at');
    } finally {
      hanging.closeAllConnections();
      await new Promise((ok) => hanging.close(ok));
    }
    // Nothing listening at all: then it is the API that is down.
    const gone = await run(apiUrl);
    expect(gone).toMatchObject({ code: 'stack_unreachable' });
    expect(gone.message).toContain(`The query API does not answer at ${apiUrl}`);
  });

  it('refuses a folder without articles, with a typed error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upload-empty-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'photo.png'), await png(10, 10, 0));
    await expect(uploadArticles({ paths: [dir], endpoint: stack.s3Endpoint, bucket: stack.incomingBucket, progress: null })).rejects.toMatchObject({
      name: 'ToolError',
      code: 'no_files',
    });
  });
});

describe('npm run reprocess', () => {
  it('re-runs every article under the prefix, and only those', async () => {
    const prefix = uniq('reprocess');
    const other = uniq('untouched');
    const keys = [`${prefix}/a.md`, `${prefix}/deep/b.md`];
    for (const key of [...keys, `${other}/c.md`]) await upload(key, `---\ntitle: ${key}\n---\nText.\n`);
    await upload(`${prefix}/image.png`, await png(8, 8, 1));
    await settle();
    const processedAt = async (key: string) => (await adminApi(`/admin/articles/${articleId(key)}`)).body.processedAt as string;
    const before = new Map(await Promise.all([...keys, `${other}/c.md`].map(async (k) => [k, await processedAt(k)] as const)));

    const progress = capture();
    const result = await reprocess({
      prefix: `${prefix}/`,
      endpoint: stack.s3Endpoint,
      bucket: stack.incomingBucket,
      queueUrl: stack.ingestQueueUrl,
      progress: progress.stream,
    });
    expect(result).toMatchObject({ listed: 2, enqueued: 2, failed: [], ok: true, queueUrl: stack.ingestQueueUrl });
    expect(progress.lines()).toHaveLength(2);
    await settle();

    for (const key of keys) {
      const now = await processedAt(key);
      expect(now > before.get(key)!).toBe(true);
    }
    expect(await processedAt(`${other}/c.md`)).toBe(before.get(`${other}/c.md`));
  });
});

describe('npm run dlq', () => {
  it('lists dead letters without consuming them and redrives them', async () => {
    const marker = uniq('dlq');
    // Always fails: not an S3 notification. Retried, then dead-lettered.
    const bad = JSON.stringify({ marker, note: 'not an S3 notification' });
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.ingestQueueUrl, MessageBody: bad }));
    // A readable notification parked directly in the DLQ: it succeeds once redriven (the object is gone).
    const ghostKey = `${marker}/ghost post.md`;
    const ghost = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          eventTime: new Date().toISOString(),
          s3: { bucket: { name: stack.incomingBucket }, object: { key: encodeS3Key(ghostKey), sequencer: '0A', size: 1 } },
        },
      ],
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.deadLetterQueueUrl, MessageBody: JSON.stringify(ghost) }));
    await settle();

    const mine = (letters: Awaited<ReturnType<typeof listDeadLetters>>['letters']) =>
      letters.filter((l) => l.body.includes(marker));
    const first = await listDeadLetters({ queueUrl: stack.deadLetterQueueUrl });
    const second = await listDeadLetters({ queueUrl: stack.deadLetterQueueUrl });
    expect(mine(second.letters).map((l) => l.messageId).sort()).toEqual(mine(first.letters).map((l) => l.messageId).sort());
    const unreadable = mine(first.letters).find((l) => l.unreadable);
    const readable = mine(first.letters).find((l) => !l.unreadable);
    expect(unreadable).toMatchObject({ body: bad, unreadable: expect.stringContaining('not an S3 notification'), receiveCount: 4 });
    expect(readable?.events).toEqual([{ event: 'ObjectCreated', key: ghostKey, reprocess: false }]);
    const text = formatDeadLetters(first.queueUrl, mine(first.letters));
    expect(text).toContain(`ObjectCreated  ${ghostKey}`);
    expect(text).toContain('received 4x  unreadable: not an S3 notification');

    const redriven = await redriveDeadLetters({ queueUrl: stack.deadLetterQueueUrl });
    expect(redriven.status).toBe('COMPLETED');
    expect(redriven.moved).toBeGreaterThanOrEqual(2);
    const right = await listDeadLetters({ queueUrl: stack.deadLetterQueueUrl });
    expect(right.letters.map((l) => l.messageId)).not.toContain(unreadable!.messageId);
    await settle();

    // The readable one was processed and is gone; the bad one failed again and is back, as a new message.
    const after = mine((await listDeadLetters({ queueUrl: stack.deadLetterQueueUrl })).letters);
    expect(after.map((l) => l.body)).toEqual([bad]);
    expect(after[0]!.messageId).not.toBe(unreadable!.messageId);
  });

  it('works the same from the command line', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/dlq.ts', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    const list = run(['list', '--queue-url', stack.deadLetterQueueUrl]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/dead letter|No dead letters/);
    const bad = run(['shred']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('usage: npm run dlq -- list|redrive');
  });
});
