/**
 * The embedded local stack in its own process, driven by bench/stack.ts: the sample
 * article end to end, the CPU of an unchanged re-upload, a 20-article batch.
 *
 * Everything talks to 127.0.0.1 only: the stack's emulators and a loopback image origin
 * served from memory. The handlers' log lines are kept in memory (not printed) and the
 * "article processed" lines give the per-step breakdown of the end-to-end time.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { articleId } from '../../functions/core/ingest';
import { FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';
import { S3ObjectStore } from '../../functions/adapters/s3-store';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import { DynamoImageRecords } from '../../functions/adapters/dynamo-image-records';
import { DynamoArticleIndex } from '../../functions/adapters/dynamo-index';
import { measure, serve } from '../lib/child';
import { record, summarize, wrap } from '../lib/trace';
import { photoPixels } from '../lib/images';
import { s3Client } from '../../scripts/lib';
import { mapLimit } from '../lib/stats';

const SAMPLE_PATH = new URL('../../test/fixtures/sample/000_c0ba3bdfef9b4790.txt', import.meta.url);
const SAMPLE_HOST = 'https://i.guancha.cn/';

/** The sample's four images, at the sizes the article shows them. */
const SAMPLE_IMAGES: { path: string; width: number; height: number; format: 'jpeg' | 'png' }[] = [
  { path: 'news/2022/03/02/20220302090322298.jpg', width: 970, height: 374, format: 'jpeg' },
  { path: 'news/mainland/2022/03/02/20220302105158839.png', width: 1200, height: 800, format: 'png' },
  { path: 'news/mainland/2022/03/02/20220302094939850.jpg', width: 530, height: 326, format: 'jpeg' },
  { path: 'news/mainland/2022/03/02/20220302111453614.png', width: 800, height: 600, format: 'png' },
];

// ------------------------------------------------------------------ log capture

const logLines: string[] = [];
process.stdout.write = ((chunk: string | Uint8Array) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  for (const line of text.split('\n')) if (line) logLines.push(line);
  if (logLines.length > 50_000) logLines.splice(0, 25_000);
  return true;
}) as typeof process.stdout.write;

/** `steps=read:2,parse:1,...` of the "article processed" line for a key. */
function stepsOf(key: string): Record<string, number> | null {
  const line = [...logLines].reverse().find((l) => l.includes('article processed') && l.includes(key));
  const m = line && /steps=(\S+)/.exec(line);
  if (!m) return null;
  return Object.fromEntries(m[1]!.split(',').map((kv) => kv.split(':')).map(([k, v]) => [k!, Number(v)]));
}

function outcomeOf(key: string): string | null {
  const line = [...logLines].reverse().find((l) => l.includes('event handled') && l.includes(key));
  return (line && /outcome=(\S+)/.exec(line)?.[1]) || null;
}

// ------------------------------------------------------------------ tracing

// The handlers use these classes' instances: wrapping the prototypes times their calls.
wrap(SharpEncoder.prototype, 'encode', 'encode');
wrap(S3ObjectStore.prototype, 'get', 's3.get');
wrap(S3ObjectStore.prototype, 'put', 's3.put');
wrap(DynamoImageRecords.prototype, 'getByUrl', 'ddb.imageRecords');
wrap(DynamoImageRecords.prototype, 'getByHash', 'ddb.imageRecords');
wrap(DynamoImageRecords.prototype, 'put', 'ddb.imageRecords');
wrap(DynamoArticleIndex.prototype, 'getState', 'ddb.index');
wrap(DynamoArticleIndex.prototype, 'save', 'ddb.index');

// ------------------------------------------------------------------ origin

const served = new Map<string, { bytes: Buffer; type: string }>();
const fetched = new Map<string, number>();
let origin: Server | null = null;
let originUrl = '';

async function startOrigin(): Promise<string> {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    fetched.set(path, (fetched.get(path) ?? 0) + 1);
    const hit = served.get(path);
    if (!hit) return void res.writeHead(404).end();
    const t0 = performance.now();
    res.on('finish', () => record('origin.serve', t0, performance.now()));
    res.writeHead(200, { 'content-type': hit.type, 'content-length': hit.bytes.length }).end(hit.bytes);
  });
  await new Promise<void>((ok) => origin!.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
}

/** Raw pixels per shape, made once; each use stamps a unique mark so the bytes (and hash) are new. */
const pixelCache = new Map<string, Buffer>();
async function freshImage(width: number, height: number, format: 'jpeg' | 'png', mark: number): Promise<Buffer> {
  const id = `${width}x${height}`;
  let base = pixelCache.get(id);
  if (!base) {
    base = photoPixels(width, height, width * 31 + height);
    pixelCache.set(id, base);
  }
  const px = Buffer.from(base);
  // An 8-pixel stripe in the top row encodes the mark: different bytes, same content.
  for (let i = 0; i < 24; i++) px[i] = (mark >> (i % 24)) & 1 ? 255 : 0;
  const img = sharp(px, { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png({ compressionLevel: 6 }).toBuffer();
}

// ------------------------------------------------------------------ stack

let stack: LocalStack | null = null;
let dataDir = '';
let s3: S3Client;
let marks = 0;

async function start(): Promise<{ apiUrl: string }> {
  originUrl = await startOrigin();
  const hostPort = originUrl.replace('http://', '');
  dataDir = mkdtempSync(join(tmpdir(), 'article-pipeline-bench-'));
  stack = await startLocalStack({
    ...FREE_PORTS,
    dataDir,
    env: {
      IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: hostPort,
      IMAGE_FETCH_HOSTS: '127.0.0.1',
      DEFAULT_TIMEZONE: 'UTC',
    },
    log: (l) => logLines.push(`[stack] ${l}`),
  } as Parameters<typeof startLocalStack>[0]);
  s3 = s3Client(stack.s3Endpoint);
  return { apiUrl: stack.apiUrl };
}

async function put(key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: stack!.incomingBucket, Key: key, Body: body }));
}

/** Waits until the upload's notification reached the queue, then until the queue is idle. */
async function settleAfter(sentBefore: number): Promise<void> {
  while (stack!.queue.stats.sent <= sentBefore) await new Promise((r) => setTimeout(r, 1));
  await stack!.settle();
}

/** The sample article with fresh images (new bytes, new URLs) on the origin. */
async function freshSample(tag: string): Promise<{ key: string; text: string }> {
  const ns = `${tag}-${Date.now().toString(36)}-${++marks}`;
  for (const img of SAMPLE_IMAGES) {
    const bytes = await freshImage(img.width, img.height, img.format, marks);
    served.set(`/${ns}/${img.path}`, { bytes, type: img.format === 'jpeg' ? 'image/jpeg' : 'image/png' });
  }
  const text = readFileSync(SAMPLE_PATH, 'utf8').replaceAll(SAMPLE_HOST, `${originUrl}/${ns}/`);
  return { key: `bench/${ns}/sample.md`, text };
}

interface Article {
  images: { status: string }[];
  cover: unknown;
  status: string;
}

async function getArticle(id: string): Promise<Article | null> {
  const res = await fetch(`${stack!.apiUrl}/articles/${id}`);
  if (res.status === 404) {
    await res.arrayBuffer();
    return null;
  }
  if (res.status !== 200) throw new Error(`GET /articles/${id}: ${res.status}`);
  return (await res.json()) as Article;
}

/** Upload → the article returned by GET /articles/{id} with every image re-hosted. */
async function seed(arg: { warmup: number; runs: number }) {
  const runs: { ms: number; putMs: number; cpuS: number; jvmCpuS: number; steps: Record<string, number> | null; trace: ReturnType<typeof summarize> }[] = [];
  for (let i = 0; i < arg.warmup + arg.runs; i++) {
    const { key, text } = await freshSample('seed');
    const id = articleId(key);
    const sentBefore = stack!.queue.stats.sent;
    const jvm0 = childCpuS();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await put(key, text);
    const putMs = performance.now() - t0;
    // Polling GET /articles/{id} every few ms would load the very process (and JVM) doing
    // the work; the queue's idle signal comes a few ms after the article becomes visible,
    // so waiting for it and then reading once errs (slightly) on the slow side.
    await settleAfter(sentBefore);
    const article = await getArticle(id);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const jvmCpuS = childCpuS() - jvm0;
    if (!article) throw new Error(`seed run ${i}: the article is not in the API after processing`);
    if (article.status !== 'published' || article.images.length < 4 || !article.images.every((x) => x.status === 'rehosted') || !article.cover) {
      throw new Error(`seed run ${i}: article not fully re-hosted (${article.status}, ${JSON.stringify(article.images.map((x) => x.status))})`);
    }
    if (i >= arg.warmup) runs.push({ ms, putMs, cpuS, jvmCpuS, steps: stepsOf(key), trace: summarize(t0, t0 + ms) });
  }
  return runs;
}

/** Process CPU (this Node process) and the emulators' child processes (DynamoDB Local's JVM). */
function childCpuS(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue; // ppid
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** CPU of a first processing vs the re-upload of identical bytes. */
async function unchanged(arg: { runs: number }) {
  const out: { firstCpuS: number; againCpuS: number; firstJvmCpuS: number; againJvmCpuS: number; outcome: string | null }[] = [];
  for (let i = 0; i < arg.runs; i++) {
    const { key, text } = await freshSample('again');
    const upload = async () => {
      const jvm0 = childCpuS();
      const sent = stack!.queue.stats.sent;
      const m = await measure(async () => {
        await put(key, text);
        await settleAfter(sent);
      });
      return { cpuS: m.cpuS, jvmS: childCpuS() - jvm0 };
    };
    const first = await upload();
    const again = await upload();
    out.push({ firstCpuS: first.cpuS, againCpuS: again.cpuS, firstJvmCpuS: first.jvmS, againJvmCpuS: again.jvmS, outcome: outcomeOf(key) });
  }
  return out;
}

/** A batch of articles, each with its own five fresh images, uploaded together. */
async function batch(arg: { articles: number; images: number }) {
  const shapes: { width: number; height: number; format: 'jpeg' | 'png' }[] = [
    { width: 970, height: 374, format: 'jpeg' },
    { width: 1200, height: 800, format: 'png' },
    { width: 530, height: 326, format: 'jpeg' },
    { width: 800, height: 600, format: 'png' },
    { width: 1600, height: 1067, format: 'jpeg' },
  ];
  const docs: { key: string; text: string }[] = [];
  for (let a = 0; a < arg.articles; a++) {
    const ns = `batch-${Date.now().toString(36)}-${++marks}`;
    const imgs: string[] = [];
    for (let k = 0; k < arg.images; k++) {
      const s = shapes[k % shapes.length]!;
      const path = `/${ns}/img${k}.${s.format === 'jpeg' ? 'jpg' : 'png'}`;
      served.set(path, { bytes: await freshImage(s.width, s.height, s.format, marks * 10 + k), type: `image/${s.format}` });
      imgs.push(`![figure ${k}](${originUrl}${path})`);
    }
    const text = `---\ntitle: Batch article ${a}\ndate: 2024-05-0${1 + (a % 9)}T08:00:00Z\ncategories: [bench]\ntags: [batch]\n---\n\n${imgs
      .map((img, k) => `Paragraph ${k} of article ${a}, some words to read.\n\n${img}\n`)
      .join('\n')}`;
    docs.push({ key: `bench/${ns}/article.md`, text });
  }
  const sent = stack!.queue.stats.sent;
  const m = await measure(async () => {
    await mapLimit(docs, 4, (d) => put(d.key, d.text));
    while (stack!.queue.stats.sent < sent + docs.length) await new Promise((r) => setTimeout(r, 2));
    await stack!.settle();
  });
  const outcomes = docs.map((d) => outcomeOf(d.key));
  if (!outcomes.every((o) => o === 'published')) throw new Error(`batch: outcomes ${JSON.stringify(outcomes)}`);
  return { ms: m.wallMs, cpuS: m.cpuS, articles: docs.length, images: docs.length * arg.images };
}

async function stop() {
  await stack?.stop();
  await new Promise<void>((ok) => (origin ? origin.close(() => ok()) : ok()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  return true;
}

// The parent went away (crashed, interrupted): do not leave DynamoDB Local's JVM behind.
process.on('disconnect', () => void stop().finally(() => process.exit(1)));

serve({
  start,
  seed,
  unchanged,
  batch,
  stop,
  origin: () => ({ distinctPaths: fetched.size, maxFetchesPerPath: Math.max(0, ...fetched.values()) }),
  errors: () => logLines.filter((l) => /\b(ERROR|WARN)\b/.test(l)).slice(-20),
});
