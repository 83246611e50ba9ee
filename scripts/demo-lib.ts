/**
 * The core of `npm run demo`: generate sample images, serve them from a loopback origin,
 * upload the articles in examples/ into a running local stack, wait until each one is
 * processed, and report what became of it. scripts/demo.ts is the command-line wrapper;
 * the integration test (test/integration/demo.test.ts) calls runDemo() directly.
 *
 * Images are generated at start-up (deterministically, so a re-run uploads byte-identical
 * articles and the pipeline can skip them) instead of being committed as binaries.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { load } from 'cheerio/slim';
import sharp from 'sharp';
import { articleId } from '../functions/core/ingest';
import type { Article } from '../functions/core/types';
import { DEFAULTS, isArticleKey } from '../functions/definitions';
import { seededRandom as prng } from '../local/seeded-random';
import { signedFetch } from '../local/sigv4';
import { headEtag } from './lib';

export type DemoErrorCode = 'origin_port_in_use' | 'origin_failed' | 'stack_unreachable' | 'bucket_missing' | 'api_error' | 'no_examples';

/** A problem that stops the demo before or while it runs; the message says what to do. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
  constructor(
    readonly code: DemoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const EXAMPLES_DIR = fileURLToPath(new URL('../examples/', import.meta.url));
/** The image host the example articles are written with: the contract's default origin. */
export const PLACEHOLDER_HOST = `127.0.0.1:${DEFAULTS.demoOriginPort}`;

export interface DemoOptions {
  /** `http://127.0.0.1:<S3_PORT>` */
  s3Endpoint: string;
  /** `http://127.0.0.1:<API_PORT>` */
  apiUrl: string;
  incomingBucket: string;
  originPort: number;
  log?: (line: string) => void;
  /** Where the examples go in the upload bucket. */
  prefix?: string;
  examplesDir?: string;
  /** How long to wait for all articles to be processed. */
  timeoutMs?: number;
}

export type DemoOutcome = 'new' | 'updated' | 'unchanged' | 'retried' | 'timeout';

export interface DemoRow {
  file: string;
  sourceKey: string;
  id: string;
  title: string;
  /** The article's status, or `missing` when it never appeared. */
  status: Article['status'] | 'missing';
  outcome: DemoOutcome;
  imagesRehosted: number;
  imagesFailed: number;
  cover: boolean;
  warnings: string[];
  error: { code: string; message: string } | null;
  apiUrl: string;
  /** Whether this example came out as the demo means it to. */
  ok: boolean;
}

export interface DemoResult {
  ok: boolean;
  rows: DemoRow[];
  /** One re-hosted image, to show what changed. */
  sample: { article: string; before: string; after: string } | null;
  urls: { viewer: string; list: string; drafts: string };
  originRequests: number;
}

// ---------------------------------------------------------------------------------
// Generated images
// ---------------------------------------------------------------------------------

export interface GeneratedFile {
  type: string;
  bytes: Buffer;
}

type Rgb = [number, number, number];

interface Palette {
  skyTop: Rgb;
  skyHorizon: Rgb;
  groundNear: Rgb;
  groundFar: Rgb;
  sun: string;
  hills: string[];
}

const PALETTES: Record<string, Palette> = {
  dawn: { skyTop: [96, 120, 168], skyHorizon: [236, 196, 170], groundNear: [40, 64, 72], groundFar: [120, 140, 150], sun: '#fff2d8', hills: ['#5d6f86', '#41506a'] },
  green: { skyTop: [150, 190, 220], skyHorizon: [226, 236, 228], groundNear: [40, 96, 40], groundFar: [110, 160, 90], sun: '#fffbe6', hills: ['#4f8a48', '#2f6a35'] },
  dusk: { skyTop: [34, 40, 90], skyHorizon: [240, 130, 80], groundNear: [20, 24, 40], groundFar: [70, 60, 90], sun: '#ffd27a', hills: ['#302a4a', '#1c1a30'] },
  night: { skyTop: [10, 12, 30], skyHorizon: [70, 40, 60], groundNear: [60, 20, 20], groundFar: [150, 70, 40], sun: '#ffb347', hills: ['#2a1620', '#40202a'] },
  autumn: { skyTop: [170, 160, 140], skyHorizon: [240, 220, 190], groundNear: [120, 60, 20], groundFar: [200, 140, 70], sun: '#fff0c8', hills: ['#9a5a2a', '#7a4020'] },
};


const mix = (a: number, b: number, t: number) => a + (b - a) * t;

/** A photo-like landscape: gradient sky and ground, a wavy horizon, soft shapes, film grain. */
async function landscape(width: number, height: number, palette: Palette, seed: number): Promise<sharp.Sharp> {
  const rand = prng(seed);
  const phase = rand() * Math.PI * 2;
  const horizon = new Float64Array(width);
  const texX = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const u = x / width;
    horizon[x] = height * (0.58 + 0.05 * Math.sin(u * 7.5 + phase) + 0.02 * Math.sin(u * 31 + phase * 2));
    texX[x] = Math.sin(u * 23 + phase) * Math.sin(u * 5.3);
  }
  const raw = Buffer.alloc(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    const texY = Math.sin((y / height) * 17 + phase);
    for (let x = 0; x < width; x++) {
      const h = horizon[x]!;
      const sky = y < h;
      const t = sky ? y / h : (y - h) / (height - h);
      const [from, to] = sky ? [palette.skyTop, palette.skyHorizon] : [palette.groundFar, palette.groundNear];
      // Low-frequency texture (clouds, fields) and fine grain, so encoders have real work.
      const texture = texX[x]! * texY * (sky ? 10 : 22);
      const grain = (rand() - 0.5) * 26;
      for (let c = 0; c < 3; c++) raw[i++] = Math.max(0, Math.min(255, mix(from[c]!, to[c]!, t) + texture + grain));
    }
  }
  const shapes: string[] = [];
  const sunX = width * (0.2 + rand() * 0.6);
  const sunY = height * (0.25 + rand() * 0.15);
  const sunR = Math.min(width, height) * 0.08;
  shapes.push(
    `<defs><radialGradient id="sun"><stop offset="0" stop-color="${palette.sun}" stop-opacity="1"/><stop offset="1" stop-color="${palette.sun}" stop-opacity="0"/></radialGradient></defs>`,
    `<circle cx="${sunX}" cy="${sunY}" r="${sunR * 3}" fill="url(#sun)" opacity="0.5"/>`,
    `<circle cx="${sunX}" cy="${sunY}" r="${sunR}" fill="${palette.sun}" opacity="0.9"/>`,
  );
  for (const [n, colour] of palette.hills.entries()) {
    const base = height * (0.62 + n * 0.1);
    const pts = [`0,${height}`];
    for (let k = 0; k <= 8; k++) pts.push(`${(width * k) / 8},${base - rand() * height * 0.18}`);
    pts.push(`${width},${height}`);
    shapes.push(`<polygon points="${pts.join(' ')}" fill="${colour}" opacity="${0.55 + n * 0.2}"/>`);
  }
  for (let k = 0; k < 14; k++) {
    const r = Math.min(width, height) * (0.01 + rand() * 0.04);
    shapes.push(`<circle cx="${rand() * width}" cy="${rand() * height}" r="${r}" fill="#ffffff" opacity="${(0.05 + rand() * 0.12).toFixed(2)}"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
  return sharp(raw, { raw: { width, height, channels: 3 } }).composite([{ input: Buffer.from(svg) }]);
}

async function photo(width: number, height: number, palette: Palette, seed: number): Promise<Buffer> {
  return (await landscape(width, height, palette, seed)).jpeg({ quality: 90 }).toBuffer();
}

/** A sticker on a transparent background: the PNG keeps its alpha channel. */
async function sticker(size: number): Promise<Buffer> {
  const c = size / 2;
  const star = Array.from({ length: 10 }, (_, k) => {
    const r = k % 2 === 0 ? size * 0.46 : size * 0.3;
    const a = (Math.PI * k) / 5 - Math.PI / 2;
    return `${c + r * Math.cos(a)},${c + r * Math.sin(a)}`;
  }).join(' ');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#ff8a3d"/><stop offset="1" stop-color="#d6246e"/></linearGradient></defs>
    <polygon points="${star}" fill="url(#g)" stroke="#ffffff" stroke-width="${size * 0.03}"/>
    <circle cx="${c}" cy="${c}" r="${size * 0.16}" fill="#ffe08a" opacity="0.9"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Steam rising over a pot: a few frames of soft blobs, as an animated GIF. */
async function steam(width: number, height: number, frames: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * frames * 3);
  const rand = prng(7);
  const blobs = Array.from({ length: 6 }, () => ({ x: width * (0.3 + rand() * 0.4), r: width * (0.06 + rand() * 0.05), off: rand() }));
  let i = 0;
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = 0;
        for (const b of blobs) {
          const by = height * (1 - ((b.off + f / frames) % 1)) * 0.8;
          const bx = b.x + Math.sin((by / height) * 6) * width * 0.05;
          const d = ((x - bx) ** 2 + (y - by) ** 2) / (b.r * b.r);
          v += Math.exp(-d);
        }
        const pot = y > height * 0.82 && x > width * 0.2 && x < width * 0.8;
        const base = pot ? [70, 70, 80] : [40 + (y / height) * 60, 30, 40];
        const s = Math.min(1, v) * 200;
        raw[i++] = Math.min(255, base[0]! + s);
        raw[i++] = Math.min(255, base[1]! + s);
        raw[i++] = Math.min(255, base[2]! + s);
      }
    }
  }
  return sharp(raw, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ delay: 120, loop: 0 })
    .toBuffer();
}

const jpeg = (bytes: Buffer, width: number) => sharp(bytes).resize({ width }).jpeg({ quality: 88 }).toBuffer();
const webp = (bytes: Buffer, width: number) => sharp(bytes).resize({ width }).webp({ quality: 80 }).toBuffer();

/**
 * Everything the examples reference: `origin` is served over HTTP (paths without the
 * leading slash), `assets` are uploaded next to the articles (relative image paths).
 */
export function generateImages(): Promise<GeneratedImages> {
  // The same bytes every time: made once per process (tests run the demo several times).
  generated ??= makeImages();
  return generated;
}

export interface GeneratedImages {
  origin: Map<string, GeneratedFile>;
  assets: Map<string, GeneratedFile>;
}

let generated: Promise<GeneratedImages> | undefined;

async function makeImages(): Promise<GeneratedImages> {
  const J = 'image/jpeg';
  const [westLake, tea, harbour, garden, leaves, lanterns, noodles, autumn] = await Promise.all([
    photo(2400, 1600, PALETTES.dawn!, 1),
    photo(1800, 1200, PALETTES.green!, 2),
    photo(2400, 1350, PALETTES.dusk!, 3),
    photo(1600, 1067, PALETTES.green!, 4),
    photo(2000, 1333, PALETTES.autumn!, 5),
    photo(2000, 1333, PALETTES.night!, 6),
    photo(1600, 1067, PALETTES.night!, 8),
    photo(1200, 800, PALETTES.autumn!, 9),
  ]);
  const origin = new Map<string, GeneratedFile>([
    ['photos/west-lake-dawn.jpg', { type: J, bytes: westLake }],
    ['photos/tea-terraces.jpg', { type: J, bytes: tea }],
    ['photos/harbour-dusk-2400.jpg', { type: J, bytes: harbour }],
    ['photos/harbour-dusk-1200.jpg', { type: J, bytes: await jpeg(harbour, 1200) }],
    ['photos/harbour-dusk-2400.webp', { type: 'image/webp', bytes: await webp(harbour, 2400) }],
    ['photos/harbour-dusk-1200.webp', { type: 'image/webp', bytes: await webp(harbour, 1200) }],
    ['photos/garden-macro.jpg', { type: J, bytes: garden }],
    ['photos/leaves-full.jpg', { type: J, bytes: leaves }],
    ['photos/leaves-thumb.jpg', { type: J, bytes: await jpeg(leaves, 320) }],
    ['photos/lanterns.jpg', { type: J, bytes: lanterns }],
    ['photos/noodles-1600.jpg', { type: J, bytes: noodles }],
    ['photos/noodles-800.jpg', { type: J, bytes: await jpeg(noodles, 800) }],
    ['photos/autumn-sketch.jpg', { type: J, bytes: autumn }],
    ['graphics/sticker.png', { type: 'image/png', bytes: await sticker(600) }],
    ['graphics/steam.gif', { type: 'image/gif', bytes: await steam(240, 180, 8) }],
    [
      'placeholder/spinner.svg',
      { type: 'image/svg+xml', bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="6" fill="none" stroke="#999"/></svg>') },
    ],
  ]);
  const seedTray = await (await landscape(480, 320, PALETTES.green!, 10)).png({ compressionLevel: 9 }).toBuffer();
  const [lotus, lighthouse] = await Promise.all([photo(1600, 1067, PALETTES.green!, 11), photo(1600, 1067, PALETTES.dusk!, 12)]);
  const assets = new Map<string, GeneratedFile>([
    ['images/seed-tray.png', { type: 'image/png', bytes: seedTray }],
    // Hexo's post asset folder (`{% asset_img %}`) and a Hugo page bundle (`{{< figure >}}`).
    ['hexo-lotus-pond/lotus.jpg', { type: J, bytes: lotus }],
    ['hugo-lighthouse/lighthouse.jpg', { type: J, bytes: lighthouse }],
  ]);
  return { origin, assets };
}

// ---------------------------------------------------------------------------------
// The image origin
// ---------------------------------------------------------------------------------

export interface DemoOrigin {
  url: string;
  /** Requests served (the stack's downloads). */
  requests(): number;
  stop(): Promise<void>;
}

/** Serves `files` (read on each request, so they may be added later) on 127.0.0.1:port, GET and HEAD only. */
export async function startDemoOrigin(port: number, files: Map<string, GeneratedFile>): Promise<DemoOrigin> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://origin').pathname).replace(/^\/+/, '');
    const file = files.get(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } else {
      served++;
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.bytes.length, 'cache-control': 'public, max-age=3600' });
      res.end(req.method === 'HEAD' ? undefined : file.bytes);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        fail(
          new DemoError(
            'origin_port_in_use',
            `Port ${port} on 127.0.0.1 is already in use, so the demo cannot serve its images there. ` +
              `Stop whatever holds it (another npm run demo?), or pick a free port and set DEMO_ORIGIN_PORT to it ` +
              `for both npm run dev and npm run demo (the local stack only allows the demo origin on that port).`,
          ),
        );
      } else {
        fail(new DemoError('origin_failed', `The demo image origin could not start on 127.0.0.1:${port}: ${err.message}`));
      }
    });
    server.listen(port, '127.0.0.1', ok);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => served,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

// ---------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------

export interface ExampleFile {
  /** Path relative to the examples folder, with `/`. */
  file: string;
  text: string;
}

/** The article files of the examples folder (README.md excluded), image host rewritten to the origin. */
export function loadExamples(dir: string, originPort: number): ExampleFile[] {
  const out: ExampleFile[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (isArticleKey(entry.name) && entry.name.toLowerCase() !== 'readme.md') {
        const text = readFileSync(full, 'utf8').replaceAll(PLACEHOLDER_HOST, `127.0.0.1:${originPort}`);
        out.push({ file: relative(dir, full).split(sep).join('/'), text });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

// ---------------------------------------------------------------------------------
// Talking to the stack
// ---------------------------------------------------------------------------------

export function demoS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: DEFAULTS.localRegion,
    credentials: { accessKeyId: DEFAULTS.localAccessKeyId, secretAccessKey: DEFAULTS.localSecretAccessKey },
    // Plain bodies: the S3 ETag is then the MD5 of the bytes, which tells us what is unchanged.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
}

const START_STACK = 'Start the local stack first, in another terminal: npm run dev (with the same S3_PORT, API_PORT and bucket names as this command).';

async function checkStack(s3: S3Client, apiUrl: string, s3Endpoint: string, bucket: string): Promise<void> {
  let health: Response;
  try {
    health = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw new DemoError('stack_unreachable', `The query API does not answer at ${apiUrl}. ${START_STACK}`);
  }
  if (!health.ok) throw new DemoError('stack_unreachable', `${apiUrl}/health answered ${health.status}, not 200. ${START_STACK}`);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(5000) });
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) {
      throw new DemoError('bucket_missing', `The local S3 at ${s3Endpoint} has no bucket "${bucket}". Use the same INCOMING_BUCKET for npm run dev and npm run demo.`);
    }
    throw new DemoError('stack_unreachable', `The local S3 does not answer at ${s3Endpoint}. ${START_STACK}`);
  }
}

async function getArticle(apiUrl: string, id: string): Promise<Article | null> {
  let res: Response;
  try {
    // The operator route: the demo waits for drafts and failures too, which the public API never shows.
    res = await signedFetch(`${apiUrl}/admin/articles/${id}`, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw new DemoError('stack_unreachable', `The query API stopped answering at ${apiUrl}. Is npm run dev still running?`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new DemoError('api_error', `GET ${apiUrl}/admin/articles/${id} (signed) answered ${res.status}`);
  return (await res.json()) as Article;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Polls until `probe` gives a value, or the deadline passes (then null). */
async function until<T>(deadline: number, probe: () => Promise<T | null>): Promise<T | null> {
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() >= deadline) return null;
    await sleep(250);
  }
}

/** Processed as the demo means it: nothing failed, every image re-hosted. */
function healthy(a: Article): boolean {
  return a.status !== 'failed' && a.images.every((i) => i.status === 'rehosted') && !a.warnings.some((w) => w.code.startsWith('image_'));
}

const contentType = (file: string) => (/\.html?$/i.test(file) ? 'text/html; charset=utf-8' : 'text/markdown; charset=utf-8');

// ---------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => {});
  const prefix = opts.prefix ?? 'demo/';
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const examples = loadExamples(opts.examplesDir ?? EXAMPLES_DIR, opts.originPort);
  if (examples.length === 0) throw new DemoError('no_examples', `No article files (.md, .markdown, .html, .htm) in ${opts.examplesDir ?? EXAMPLES_DIR}`);

  const s3 = demoS3Client(opts.s3Endpoint);
  try {
    await checkStack(s3, apiUrl, opts.s3Endpoint, opts.incomingBucket);
    // Claimed before the images are generated, so a busy port fails fast.
    const served = new Map<string, GeneratedFile>();
    const origin = await startDemoOrigin(opts.originPort, served);
    try {
      const started = Date.now();
      const images = await generateImages();
      for (const [path, file] of images.origin) served.set(path, file);
      const bytes = [...images.origin.values()].reduce((n, f) => n + f.bytes.length, 0);
      log(`generated ${images.origin.size + images.assets.size} images (${(bytes / 1048576).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      log(`image origin serving on ${origin.url}`);
      // Assets first: articles read them while they are processed.
      for (const [path, file] of images.assets) {
        await s3.send(new PutObjectCommand({ Bucket: opts.incomingBucket, Key: prefix + path, Body: file.bytes, ContentType: file.type }));
        log(`uploaded asset  s3://${opts.incomingBucket}/${prefix}${path}`);
      }
      const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
      const rows = await Promise.all(examples.map((ex) => processExample(ex, { s3, apiUrl, bucket: opts.incomingBucket, prefix, deadline, log })));
      const sample = await pickSample(rows, examples, apiUrl);
      return {
        ok: rows.every((r) => r.ok),
        rows,
        sample,
        urls: { viewer: `${apiUrl}/`, list: `${apiUrl}/articles`, drafts: `${apiUrl}/admin/articles?status=draft` },
        originRequests: origin.requests(),
      };
    } finally {
      await origin.stop();
    }
  } finally {
    s3.destroy();
  }
}

interface Ctx {
  s3: S3Client;
  apiUrl: string;
  bucket: string;
  prefix: string;
  deadline: number;
  log: (line: string) => void;
}

async function processExample(ex: ExampleFile, ctx: Ctx): Promise<DemoRow> {
  const key = ctx.prefix + ex.file;
  const id = articleId(key);
  const body = Buffer.from(ex.text, 'utf8');
  const md5 = createHash('md5').update(body).digest('hex');
  let previous = await getArticle(ctx.apiUrl, id);
  const sameBytes = (await headEtag(ctx.s3, ctx.bucket, key)) === md5;

  let outcome: DemoOutcome;
  let article: Article | null;
  if (previous && sameBytes && healthy(previous)) {
    // The pipeline would skip identical bytes anyway; nothing to upload or wait for.
    outcome = 'unchanged';
    article = previous;
    ctx.log(`unchanged       ${key}`);
  } else {
    outcome = previous ? 'updated' : 'new';
    if (previous && sameBytes) {
      // Same bytes but a bad last result (the origin was not reachable then?): the pipeline
      // skips identical uploads, so remove the article and upload it afresh.
      outcome = 'retried';
      await ctx.s3.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: key }));
      await until(ctx.deadline, async () => ((await getArticle(ctx.apiUrl, id)) === null ? true : null));
      previous = null;
    }
    await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: key, Body: body, ContentType: contentType(ex.file) }));
    ctx.log(`uploaded        s3://${ctx.bucket}/${key}`);
    const before = previous?.processedAt ?? null;
    article = await until(ctx.deadline, async () => {
      const a = await getArticle(ctx.apiUrl, id);
      return a && a.processedAt !== before ? a : null;
    });
    if (article) ctx.log(`processed       ${key} -> ${article.status}`);
    else {
      ctx.log(`timed out       ${key}`);
      outcome = 'timeout';
    }
  }
  return row(ex, key, id, ctx.apiUrl, outcome, article);
}

function row(ex: ExampleFile, key: string, id: string, apiUrl: string, outcome: DemoOutcome, a: Article | null): DemoRow {
  return {
    file: ex.file,
    sourceKey: key,
    id,
    title: a?.title ?? ex.file,
    status: a?.status ?? 'missing',
    outcome,
    imagesRehosted: a?.images.filter((i) => i.status === 'rehosted').length ?? 0,
    imagesFailed: a?.images.filter((i) => i.status === 'failed').length ?? 0,
    cover: Boolean(a?.cover),
    warnings: [...new Set(a?.warnings.map((w) => w.code) ?? [])],
    error: a?.error ?? null,
    apiUrl: a?.status === 'published' ? `${apiUrl}/articles/${id}` : `${apiUrl}/admin/articles/${id}`,
    ok: outcome !== 'timeout' && a !== null && healthy(a),
  };
}

/** One re-hosted body image of a published article (else any): its tag before, and after with long srcsets shortened. */
async function pickSample(rows: DemoRow[], examples: ExampleFile[], apiUrl: string): Promise<DemoResult['sample']> {
  const candidates = [...rows.filter((r) => r.status === 'published'), ...rows.filter((r) => r.status !== 'published')];
  for (const r of candidates) {
    if (r.imagesRehosted === 0) continue;
    const a = await getArticle(apiUrl, r.id);
    const img = a?.images.find((i) => i.status === 'rehosted');
    if (!a || !img?.url) continue;
    const text = examples.find((e) => e.file === r.file)?.text ?? '';
    const at = escapeRegExp(img.original);
    const before = new RegExp(`<img\\b[^>]*${at}[^>]*>|!\\[[^\\]]*\\]\\(${at}[^)]*\\)`).exec(text)?.[0] ?? img.original;
    return { article: r.file, before: before.replace(/\s*\n\s*/g, ' '), after: shortTag(a.html, img.url) ?? img.url };
  }
  return null;
}

/** The `<picture>` (or `<img>`) showing `src`, each srcset written as "(N widths)". */
export function shortTag(html: string, src: string): string | null {
  const $ = load(html, null, false);
  const img = $('img').filter((_, el) => $(el).attr('src') === src).first();
  if (!img.length) return null;
  const pic = img.parent('picture');
  const el = pic.length ? pic : img;
  (pic.length ? pic.children('source, img') : img).each((_, node) => {
    const set = $(node).attr('srcset');
    if (set) $(node).attr('srcset', `(${set.split(',').length} widths)`);
  });
  return $.html(el);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------

/** Terminal columns of a string: CJK and other wide characters take two. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return w;
}

function fit(s: string, width: number): string {
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > width - (displayWidth(s) > width ? 1 : 0)) {
      out += '…';
      break;
    }
    out += ch;
  }
  return out + ' '.repeat(Math.max(0, width - displayWidth(out)));
}

export function formatReport(result: DemoResult): string {
  const header = ['article', 'status', 'result', 'images', 'cover', 'warnings'];
  const cells = result.rows.map((r) => [
    r.title,
    r.status,
    r.outcome,
    `${r.imagesRehosted} re-hosted${r.imagesFailed ? `, ${r.imagesFailed} failed` : ''}`,
    r.cover ? 'yes' : 'no',
    r.error ? `${r.error.code}: ${r.error.message}` : r.warnings.join(', ') || '-',
  ]);
  const widths = header.map((h, c) => Math.min(c === 0 ? 36 : 60, Math.max(displayWidth(h), ...cells.map((row) => displayWidth(row[c]!)))));
  const line = (row: string[]) => row.map((v, c) => (c === row.length - 1 ? v : fit(v, widths[c]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line), ''];
  if (result.originRequests > 0) {
    out.push(`The stack downloaded ${result.originRequests} images from the demo origin; the articles now show their re-hosted copies.`, '');
  }
  if (result.sample) {
    out.push(`One image, before and after (${result.sample.article}):`, `  before: ${result.sample.before}`, `  after:  ${result.sample.after}`, '');
  }
  out.push('Open:', `  viewer          ${result.urls.viewer}`, `  published list  ${result.urls.list}`, `  drafts          ${result.urls.drafts}   (operator route: curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user S3RVER:S3RVER ...)`);
  for (const r of result.rows) out.push(`  ${fit(r.file, 26)}  ${r.apiUrl}`);
  return out.join('\n');
}

/** What to do about the failures in a result (empty when there are none). */
export function failureHints(result: DemoResult): string[] {
  const hints: string[] = [];
  const codes = new Set(result.rows.flatMap((r) => r.warnings));
  if (result.rows.some((r) => r.outcome === 'timeout')) {
    hints.push('Some articles were not processed in time: is npm run dev still running? Its terminal shows ingest errors.');
  }
  if (codes.has('image_blocked_address') || codes.has('image_unsupported_url')) {
    hints.push(
      'The local stack refused to fetch from the demo origin. Start npm run dev and npm run demo with the same DEMO_ORIGIN_PORT, ' +
        'and leave IMAGE_FETCH_ALLOW_PRIVATE_HOSTS unset (or include 127.0.0.1:<DEMO_ORIGIN_PORT> in it if you set it).',
    );
  }
  if ([...codes].some((c) => c.startsWith('image_') && c !== 'image_blocked_address' && c !== 'image_unsupported_url')) {
    hints.push('Some images could not be re-hosted: see each article\'s "warnings" in the API for the reason.');
  }
  if (result.rows.some((r) => r.status === 'failed')) hints.push('Some examples failed to process: see "error" in the table above.');
  return hints;
}
