/**
 * `npm run soak`: the pipeline under faults and under load, checked item by item.
 *
 *   fault run  a local stack whose handlers reach S3 and DynamoDB through fault proxies
 *              (local/faults.ts, 10% of requests by default): uploads, updates and deletes
 *              over a set of keys, then every article must be in its final state: nothing
 *              lost or duplicated, exact counts, no orphaned or missing body, no half-written
 *              record. A few keys are unreachable throughout (every DynamoDB request about them
 *              fails): their events outlast the SDK's and the queue's retries and must show up
 *              as dead letters, which are redriven with faults off before a second check.
 *   load run   500 articles uploaded at once to a stack without faults: all indexed, counts
 *              exact; peak RSS of this process and throughput are reported.
 *
 * Handlers read their configuration once per process, so each run gets its own process
 * (this script spawns itself). Uploads go straight to s3rver, not through a proxy: the
 * pipeline is under test, not the test's own client.
 *
 *   npm run soak                         both runs
 *   npm run soak -- --small              a 40-upload fault run (what npm test runs)
 *   options: --rate 0.1 --seed 7 --uploads 300 --keys 120 --unreachable 5 --articles 500
 *            --keep (data dir) --log FILE (handler log lines)
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { facetKey } from '../functions/adapters/dynamo-index';
import { decodeS3Key } from '../functions/core/events';
import { articleId } from '../functions/core/ingest';
import { FAULT_KINDS, emptyCounts, seededRandom, sumCounts, totalFaults, type FaultCounts } from '../local/faults';
import { readDeadLetters, redriveDeadLetters } from '../local/queue';
import { FREE_PORTS, startLocalStack, type LocalStack } from '../local/stack';
import { signedFetch } from '../local/sigv4';

// ------------------------------------------------------------------ arguments

interface Args {
  run: 'both' | 'fault' | 'load';
  small: boolean;
  rate: number;
  seed: number;
  uploads: number;
  keys: number;
  articles: number;
  /** Keys whose every DynamoDB request fails until the redrive. */
  unreachable: number;
  keep: boolean;
  /** Where the handlers' JSON log lines go (default: dropped). */
  log: string | null;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number) => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got "${v}"`);
    return n;
  };
  const small = argv.includes('--small');
  const run = (get('run') ?? (small ? 'fault' : 'both')) as Args['run'];
  if (!['both', 'fault', 'load'].includes(run)) throw new Error(`--run must be fault, load or both`);
  return {
    run,
    small,
    rate: num('rate', 0.1),
    seed: num('seed', 7),
    uploads: num('uploads', small ? 40 : 300),
    keys: num('keys', small ? 16 : 120),
    articles: num('articles', 500),
    unreachable: num('unreachable', small ? 2 : 5),
    keep: argv.includes('--keep'),
    log: get('log') ?? null,
  };
}

// ------------------------------------------------------------------ the world outside the stack

const CATEGORIES = ['News', 'Tech', 'Travel', 'Food', 'Life'];
const TAGS = ['go', 'rust', 'aws', 'serverless', '中文', 'photo', 'howto', 'opinion'];
const AUTHORS = ['Ada', 'Grace', 'Linus', '王小明'];

/** A loopback image origin: three small images, fetched by articles that reference them. */
async function startImageOrigin(): Promise<{ url: string; hostPort: string; server: Server }> {
  const images = await Promise.all(
    ['#c83', '#38c', '#8c3'].map((bg, i) =>
      sharp({ create: { width: 400 + i * 40, height: 300, channels: 3, background: bg } }).png().toBuffer(),
    ),
  );
  const server = createServer((req, res) => {
    const m = /^\/img(\d)\.png$/.exec(req.url ?? '');
    const body = m ? images[Number(m[1])] : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hostPort: `127.0.0.1:${port}`, server };
}

/** What one upload should turn into. */
interface Expected {
  status: 'published' | 'draft' | 'failed';
  title: string;
  categories: string[];
  tags: string[];
  author: string | null;
  marker: string;
  errorCode: string | null;
  image: boolean;
}

function article(e: Expected, originUrl: string, n: number): string {
  if (e.status === 'failed') {
    // Unclosed flow sequence: invalid YAML, a failed article with a code.
    return `---\ntitle: ${e.title}\ncategories: [${e.categories.join(', ')}\n---\n${e.marker}\n`;
  }
  const fm = [
    '---',
    `title: "${e.title}"`,
    `date: 2024-01-${String((n % 28) + 1).padStart(2, '0')} 10:00:00`,
    `categories: [${e.categories.map((c) => JSON.stringify(c)).join(', ')}]`,
    `tags: [${e.tags.map((t) => JSON.stringify(t)).join(', ')}]`,
    ...(e.author ? [`author: ${JSON.stringify(e.author)}`] : []),
    ...(e.status === 'draft' ? ['draft: true'] : []),
    '---',
  ].join('\n');
  const img = e.image ? `\n![figure ${n}](${originUrl}/img${n % 3}.png)\n` : '';
  return `${fm}\n\n# ${e.title}\n\nParagraph with the marker ${e.marker}. 这是一段中文内容，用来计算字数。\n${img}\nMore text ${'lorem ipsum '.repeat(20)}\n`;
}

function pickSome<T>(rnd: () => number, from: readonly T[], max: number): T[] {
  const n = Math.floor(rnd() * (max + 1));
  const pool = [...from];
  const out: T[] = [];
  for (let i = 0; i < n && pool.length; i++) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]!);
  return out;
}

type Op = { kind: 'put'; key: string; body: string; expected: Expected } | { kind: 'delete'; key: string };

/** Creates for every key first (in shuffled order), then updates and deletes at random. */
function plan(args: { uploads: number; keys: number; seed: number; prefix: string; originUrl: string }): Op[] {
  const rnd = seededRandom(args.seed * 7919 + 1);
  // Some keys need URL-encoding in the notifications: spaces, `+`, non-ASCII.
  const keyName = (i: number) =>
    i % 10 === 3 ? `${args.prefix}/文章 ${i}.md` : i % 10 === 7 ? `${args.prefix}/a+b ${i}.markdown` : `${args.prefix}/post-${i}.md`;
  const keys = Array.from({ length: args.keys }, (_, i) => keyName(i));
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const live = new Set<string>();
  const ops: Op[] = [];
  const put = (key: string, n: number): Op => {
    const r = rnd();
    const status: Expected['status'] = r < 0.06 ? 'failed' : r < 0.16 ? 'draft' : 'published';
    const expected: Expected = {
      status,
      title: `Soak ${n}`,
      categories: pickSome(rnd, CATEGORIES, 2),
      tags: pickSome(rnd, TAGS, 3),
      author: rnd() < 0.8 ? AUTHORS[Math.floor(rnd() * AUTHORS.length)]! : null,
      marker: `soak-op-${n}`,
      errorCode: status === 'failed' ? 'invalid_front_matter' : null,
      image: status !== 'failed' && rnd() < 0.15,
    };
    return { kind: 'put', key, body: article(expected, args.originUrl, n), expected };
  };
  for (let n = 0; n < args.uploads; n++) {
    let op: Op;
    if (n < keys.length) {
      op = put(keys[n]!, n);
    } else {
      const key = keys[Math.floor(rnd() * keys.length)]!;
      op = live.has(key) && rnd() < 0.3 ? { kind: 'delete', key } : put(key, n);
    }
    if (op.kind === 'put') live.add(op.key);
    else live.delete(op.key);
    ops.push(op);
  }
  return ops;
}

/** Each key's last operation decides its final state. */
function finalState(ops: Op[]): Map<string, Expected | null> {
  const out = new Map<string, Expected | null>();
  for (const op of ops) out.set(op.key, op.kind === 'put' ? op.expected : null);
  return out;
}

// ------------------------------------------------------------------ checking

interface Clients {
  s3: S3Client;
  doc: DynamoDBDocumentClient;
}

function clientsFor(stack: LocalStack): Clients {
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    s3: new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    doc: DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials })),
  };
}

async function apiGet(stack: LocalStack, path: string): Promise<any> {
  // Operator routes are signed (local key pair), as API Gateway's IAM authorization wants.
  const res = path.startsWith('/admin/') ? await signedFetch(stack.apiUrl + path) : await fetch(stack.apiUrl + path);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function listAll(stack: LocalStack, status: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ status, limit: '100', ...(cursor ? { cursor } : {}) });
    const page: any = await apiGet(stack, `/admin/articles?${q}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/**
 * Every way the final state can be wrong, as one line each (empty: all good). `keyOf`
 * names the key a problem belongs to, to match problems against dead letters.
 */
async function verify(stack: LocalStack, c: Clients, expected: Map<string, Expected | null>): Promise<{ problem: string; key: string | null }[]> {
  const problems: { problem: string; key: string | null }[] = [];
  const bad = (problem: string, key: string | null = null) => problems.push({ problem, key });

  // 1. The API: each live key exactly once, with the status of its last upload.
  const seen = new Map<string, any[]>();
  for (const status of ['published', 'draft', 'failed']) {
    for (const s of await listAll(stack, status)) seen.set(s.sourceKey, [...(seen.get(s.sourceKey) ?? []), s]);
  }
  for (const [key, list] of seen) {
    if (list.length > 1) bad(`duplicated: ${key} listed ${list.length} times`, key);
    if (!expected.has(key)) bad(`unexpected article: ${key}`, key);
  }
  const live = [...expected].filter((e): e is [string, Expected] => e[1] !== null);
  for (const [key, exp] of expected) {
    const got = seen.get(key)?.[0];
    if (!exp) {
      if (got) bad(`deleted but still listed: ${key}`, key);
      continue;
    }
    if (!got) bad(`lost: ${key} (expected ${exp.status})`, key);
    else if (got.status !== exp.status) bad(`wrong status: ${key} is ${got.status}${got.error ? ` (${got.error.code})` : ''}, expected ${exp.status}`, key);
  }

  // 2. Each live article carries its last upload's content.
  await pLimit(8).map(live, async ([key, exp]) => {
    const id = articleId(key);
    // The operator route: drafts and failed articles are not public, nor is sourceKey.
    const res = await signedFetch(`${stack.apiUrl}/admin/articles/${id}`);
    if (res.status !== 200) return void bad(`GET /admin/articles/${id} (${key}): HTTP ${res.status}`, key);
    const a: any = await res.json();
    if (a.sourceKey !== key) bad(`sourceKey ${JSON.stringify(a.sourceKey)} for ${JSON.stringify(key)}`, key);
    if (exp.status === 'failed') {
      if (a.error?.code !== exp.errorCode) bad(`${key}: error ${a.error?.code}, expected ${exp.errorCode}`, key);
      return;
    }
    if (a.title !== exp.title) bad(`stale content: ${key} has "${a.title}", expected "${exp.title}"`, key);
    if (!a.html?.includes(exp.marker)) bad(`stale body: ${key} lacks ${exp.marker}`, key);
    if (JSON.stringify(a.categories) !== JSON.stringify(exp.categories)) bad(`${key}: categories ${a.categories}`, key);
    if (JSON.stringify(a.tags) !== JSON.stringify(exp.tags)) bad(`${key}: tags ${a.tags}`, key);
    if (exp.image) {
      const img = a.images?.[0];
      if (img?.status !== 'rehosted') bad(`${key}: image ${img?.status ?? 'missing'} ${img?.error?.code ?? ''}`, key);
      else if ((await fetch(img.url)).status !== 200) bad(`${key}: re-hosted image ${img.url} is not there`, key);
    }
  });

  // 3. Counts, recomputed from the expected final state.
  const facets: [string, (e: Expected) => string[]][] = [
    ['categories', (e) => e.categories],
    ['tags', (e) => e.tags],
    ['authors', (e) => (e.author ? [e.author] : [])],
  ];
  for (const [route, values] of facets) {
    const want = new Map<string, number>();
    for (const [, e] of live) {
      if (e.status !== 'published') continue;
      for (const v of new Set(values(e).map(facetKey))) want.set(v, (want.get(v) ?? 0) + 1);
    }
    const got = new Map<string, number>(((await apiGet(stack, `/${route}`)).items as any[]).map((i) => [facetKey(i.name), i.count]));
    for (const k of new Set([...want.keys(), ...got.keys()])) {
      if ((want.get(k) ?? 0) !== (got.get(k) ?? 0)) bad(`count /${route} "${k}": ${got.get(k) ?? 0}, expected ${want.get(k) ?? 0}`);
    }
  }

  // 4. The table itself: no replaced body left to release, listings in step with each record.
  const bodyKeys = new Set<string>();
  const delivered = deliveredEvents(stack);
  await pLimit(8).map([...expected], async ([key, exp]) => {
    const pk = `A#${articleId(key)}`;
    const item = (await c.doc.send(new GetCommand({ TableName: stack.tableName, Key: { pk, sk: 'A' }, ConsistentRead: true }))).Item;
    if (!item) {
      // A key that was only ever deleted before its create was processed has no item; fine.
      if (exp) bad(`no article item for ${key}`, key);
      return;
    }
    if (Array.isArray(item.supersededBodyKeys) && item.supersededBodyKeys.length) bad(`bodies replaced but not released: ${key}`, key);
    if (item.pendingEvent && !delivered.ids.has(String(item.pendingEvent.idempotencyId))) bad(`${key}: event ${item.pendingEvent.idempotencyId} never delivered`, key);
    if (!exp !== (item.deleted === true)) bad(`${key}: deleted=${item.deleted === true}, expected ${!exp}`, key);
    if (item.bodyKey) bodyKeys.add(String(item.bodyKey));
    const listings = (
      await c.doc.send(
        new QueryCommand({
          TableName: stack.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)',
          ExpressionAttributeValues: { ':pk': pk, ':l': 'L#' },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];
    const want = new Set<string>();
    if (exp && item.deleted !== true) {
      want.add('L#all#');
      for (const v of item.categories ?? []) want.add(`L#category#${facetKey(v)}`);
      for (const v of item.tags ?? []) want.add(`L#tag#${facetKey(v)}`);
      for (const v of item.authors ?? []) want.add(`L#author#${facetKey(v)}`);
      if (item.slug) want.add(`L#slug#${facetKey(item.slug)}`);
    }
    const have = new Set(listings.map((l) => String(l.sk)));
    for (const sk of want) if (!have.has(sk)) bad(`${key}: listing ${sk} missing`, key);
    for (const l of listings) {
      if (!want.has(String(l.sk))) bad(`${key}: stray listing ${l.sk}`, key);
      // A listing keeps the sequencer of the event that wrote it (a later unchanged upload only
      // moves the article's); its status and summary must be the article's.
      else if (l.status !== item.status || l.summary?.processedAt !== item.processedAt) {
        bad(`${key}: listing ${l.sk} out of step (${l.status}, ${l.summary?.processedAt} vs ${item.status}, ${item.processedAt})`, key);
      }
    }
  });

  // 5. Bodies: every stored body belongs to a live article, every live article's body exists.
  const stored = new Set<string>();
  let token: string | undefined;
  do {
    const page = await c.s3.send(new ListObjectsV2Command({ Bucket: stack.mediaBucket, Prefix: 'bodies/', ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) stored.add(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const keyById = new Map([...expected.keys()].map((k) => [articleId(k), k]));
  for (const k of stored) if (!bodyKeys.has(k)) bad(`orphaned body: ${k}`, keyById.get(k.split('/')[1] ?? '') ?? null);
  for (const k of bodyKeys) if (!stored.has(k)) bad(`missing body: ${k}`, keyById.get(k.split('/')[1] ?? '') ?? null);

  // 6. Publish events: one per state change. Redeliveries carry the same idempotency id and
  // the same content; in rev order, every change into or out of `published` has its event
  // (so none is lost and none doubled), and the last one matches the article's final state.
  for (const [key, exp] of expected) {
    const events = [...(delivered.byArticle.get(articleId(key)) ?? new Map<string, EventLine[]>()).values()];
    const distinct: EventLine[] = [];
    for (const copies of events) {
      // Compared field by field: the outbox's copy comes back from DynamoDB in another key order.
      if (new Set(copies.map((e) => JSON.stringify(e, Object.keys(e).sort()))).size > 1) bad(`${key}: event ${copies[0]!.idempotencyId} delivered with different contents`, key);
      distinct.push(copies[0]!);
    }
    distinct.sort((a, b) => a.rev - b.rev);
    for (let i = 1; i < distinct.length; i++) {
      const [a, b] = [distinct[i - 1]!, distinct[i]!];
      if ((a.status === 'published') !== (b.previousStatus === 'published')) {
        bad(`${key}: events ${a.idempotencyId} (${a.type} -> ${a.status}) and ${b.idempotencyId} (${b.type}, from ${b.previousStatus}) do not chain`, key);
      }
    }
    const last = distinct[distinct.length - 1];
    if ((exp?.status === 'published') !== (last?.status === 'published')) {
      bad(`${key}: last event ${last?.idempotencyId ?? '(none)'} says ${last?.status ?? 'nothing'}, the article is ${exp?.status ?? 'deleted'}`, key);
    }
  }
  return problems;
}

interface EventLine {
  idempotencyId: string;
  rev: number;
  type: string;
  status: string | null;
  previousStatus: string | null;
}

/** The events file, by article id, then idempotency id (every delivery of it). */
function deliveredEvents(stack: LocalStack): { byArticle: Map<string, Map<string, EventLine[]>>; ids: Set<string> } {
  const byArticle = new Map<string, Map<string, EventLine[]>>();
  const ids = new Set<string>();
  const text = existsSync(stack.eventsFile) ? readFileSync(stack.eventsFile, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line) continue;
    const d = JSON.parse(line).detail as EventLine & { id: string };
    const e = { ...d, rev: Number(d.idempotencyId.split(':').pop()) };
    ids.add(d.idempotencyId);
    const m = byArticle.get(d.id) ?? new Map<string, EventLine[]>();
    m.set(d.idempotencyId, [...(m.get(d.idempotencyId) ?? []), e]);
    byArticle.set(d.id, m);
  }
  return { byArticle, ids };
}

// ------------------------------------------------------------------ runs

function formatCounts(c: FaultCounts): string {
  return FAULT_KINDS.map((k) => `${k} ${c[k].before + c[k].after} (${c[k].before} before / ${c[k].after} after)`).join(', ');
}

async function withStack<T>(opts: { faults?: { rate: number; seed: number }; keep: boolean; log: string | null }, fn: (stack: LocalStack, originUrl: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'article-pipeline-soak-'));
  const origin = await startImageOrigin();
  const stack = await startLocalStack({
    ...FREE_PORTS,
    dataDir,
    env: {
      IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: origin.hostPort,
      IMAGE_FETCH_HOSTS: '127.0.0.1',
      IMAGE_FETCH_TIMEOUT_MS: '5000',
      IMAGE_WIDTHS: '320,640',
      DEFAULT_TIMEZONE: 'UTC',
    },
    faults: opts.faults,
    // Quick queue retries: a message that keeps failing reaches the dead-letter file sooner.
    queue: { retryDelayMs: 100 },
  });
  // The handlers log a line per event (JSON, or Powertools' dev format); the figures are
  // what matters here, so those lines go to --log or nowhere.
  const write = process.stdout.write.bind(process.stdout);
  const handlerLine = /^(?:\{"level"|\{"cold_start"|\{"timestamp"|\d\d:\d\d:\d\d\.\d{3} +(?:DEBUG|INFO|WARN|ERROR))/;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' && handlerLine.test(chunk)
      ? (opts.log && appendFileSync(opts.log, chunk), true)
      : write(chunk, ...(rest as []))) as typeof process.stdout.write;
  try {
    return await fn(stack, origin.url);
  } finally {
    process.stdout.write = write;
    await stack.stop();
    origin.server.close();
    if (opts.keep) console.log(`data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

async function faultRun(args: Args): Promise<boolean> {
  const started = Date.now();
  return withStack({ faults: { rate: args.rate, seed: args.seed }, keep: args.keep, log: args.log }, async (stack, originUrl) => {
    const c = clientsFor(stack);
    const ops = plan({ uploads: args.uploads, keys: args.keys, seed: args.seed, prefix: 'soak', originUrl });
    // A few keys are unreachable: every DynamoDB request about them fails (a lasting partial
    // outage), so their events outlast the SDK's and the queue's retries and end as dead
    // letters, which are redriven below once the outage is over.
    const keys = [...new Set(ops.map((o) => o.key))];
    const unreachable = keys.slice(0, args.unreachable);
    for (const key of unreachable) {
      const pk = `"A#${articleId(key)}"`;
      stack.faults!.dynamodb.inject({ match: (r) => r.body.includes(pk), kind: 'error', phase: 'before', times: Number.MAX_SAFE_INTEGER });
    }
    // One at a time, so each key's operations reach S3 in plan order (its final state is known).
    for (const op of ops) {
      if (op.kind === 'put') await c.s3.send(new PutObjectCommand({ Bucket: stack.incomingBucket, Key: op.key, Body: op.body }));
      else await c.s3.send(new DeleteObjectCommand({ Bucket: stack.incomingBucket, Key: op.key }));
    }
    await stack.settle();
    const processedIn = (Date.now() - started) / 1000;
    // Checks read through the API, whose handler also goes through the proxies: faults off.
    stack.faults!.configure({ rate: 0 });
    stack.faults!.dynamodb.clearRules();
    // Random faults only; the unreachable keys' are reported on their own line.
    const all = stack.faults!.counts();
    const byRule = sumCounts(stack.faults!.s3.ruleCounts(), stack.faults!.dynamodb.ruleCounts());
    const faults = emptyCounts();
    for (const k of FAULT_KINDS) for (const ph of ['before', 'after'] as const) faults[k][ph] = all[k][ph] - byRule[k][ph];
    const traffic = [stack.faults!.s3.traffic(), stack.faults!.dynamodb.traffic()];
    const queue = { ...stack.queue.stats };
    const expected = finalState(ops);

    let problems = await verify(stack, c, expected);
    const letters = readDeadLetters(stack.deadLetterFile);
    const firstProblems = problems.length;
    const letterKeys = letters.flatMap((l) => {
      try {
        return (JSON.parse(l.body).Records as any[]).map((r) => decodeS3Key(String(r.s3.object.key)));
      } catch {
        return [];
      }
    });
    // Every event of an unreachable key failed for good: each must be a dead letter.
    const cut = ops.filter((o) => unreachable.includes(o.key)).length;
    const cutLettered = letterKeys.filter((k) => unreachable.includes(k)).length;
    const unexplained: string[] = cutLettered === cut ? [] : [`${cut - cutLettered} events of unreachable keys are not in the dead-letter file`];
    if (letters.length) {
      // Whatever is wrong now must be explained by a dead letter: nothing silently dropped.
      const dead = new Set(letterKeys);
      // Counts are aggregates: they are judged after the redrive, like everything else.
      unexplained.push(...problems.filter((p) => p.key !== null && !dead.has(p.key)).map((p) => p.problem));
      redriveDeadLetters(stack.deadLetterFile, stack.queue);
      await stack.settle();
      problems = await verify(stack, c, expected);
    }

    const puts = ops.filter((o) => o.kind === 'put').length;
    console.log(`\n== fault run (${args.uploads} operations over ${args.keys} keys, fault rate ${args.rate}, seed ${args.seed})`);
    console.log(`operations          ${puts} uploads, ${ops.length - puts} deletes; final state: ${[...expected.values()].filter(Boolean).length} live articles`);
    if (unreachable.length) console.log(`unreachable keys    ${unreachable.length} (${cut} operations): all ${totalFaults(byRule)} DynamoDB requests about them failed until the redrive`);
    console.log(`requests            S3 ${traffic[0]!.requests}, DynamoDB ${traffic[1]!.requests} (through the fault proxies)`);
    console.log(`random faults       ${totalFaults(faults)}: ${formatCounts(faults)}`);
    console.log(`queue               sent ${queue.sent}, delivered ${queue.delivered}, retried ${queue.retried}, dead-lettered ${queue.deadLettered}`);
    console.log(`dead letters        ${letters.length}${letters.length ? ` (${cutLettered} of the unreachable keys' ${cut} events; redriven with faults off; ${firstProblems} mismatches before, ${unexplained.length} not explained by a dead letter)` : ''}`);
    console.log(`processed in        ${processedIn.toFixed(1)} s`);
    const ev = deliveredEvents(stack);
    const deliveries = [...ev.byArticle.values()].reduce((n, m) => n + [...m.values()].reduce((k, l) => k + l.length, 0), 0);
    console.log(`publish events      ${ev.ids.size} state changes, ${deliveries} deliveries (one event per state change, checked)`);
    console.log(`final mismatches    ${problems.length + unexplained.length}`);
    for (const p of [...unexplained.map((u) => `silently dropped: ${u}`), ...problems.map((p) => p.problem)].slice(0, 40)) console.log(`  - ${p}`);
    // The history of each key that went wrong, to reproduce it.
    for (const key of [...new Set(problems.flatMap((p) => (p.key ? [p.key] : [])))].slice(0, 5)) {
      const history = ops.flatMap((o, i) => (o.key === key ? [`#${i} ${o.kind === 'put' ? o.expected.status : 'delete'}`] : []));
      console.log(`  history of ${key}: ${history.join(', ')}`);
    }
    c.s3.destroy();
    c.doc.destroy();
    return problems.length === 0 && unexplained.length === 0;
  });
}

async function loadRun(args: Args): Promise<boolean> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    return await withStack({ keep: args.keep, log: args.log }, async (stack, originUrl) => {
      const c = clientsFor(stack);
      const rnd = seededRandom(args.seed);
      const expected = new Map<string, Expected | null>();
      const files: [string, string][] = [];
      for (let n = 0; n < args.articles; n++) {
        const e: Expected = {
          status: 'published',
          title: `Load ${n}`,
          categories: pickSome(rnd, CATEGORIES, 2),
          tags: pickSome(rnd, TAGS, 3),
          author: AUTHORS[n % AUTHORS.length]!,
          marker: `load-${n}`,
          errorCode: null,
          image: n % 5 === 0,
        };
        const key = `load/${String(n).padStart(4, '0')}.md`;
        expected.set(key, e);
        files.push([key, article(e, originUrl, n)]);
      }
      const started = Date.now();
      // "At once": as many parallel uploads as the S3 emulator takes comfortably.
      await pLimit(32).map(files, ([key, body]) => c.s3.send(new PutObjectCommand({ Bucket: stack.incomingBucket, Key: key, Body: body })));
      const uploadedIn = (Date.now() - started) / 1000;
      await stack.settle();
      const seconds = (Date.now() - started) / 1000;
      const problems = await verify(stack, c, expected);
      const letters = readDeadLetters(stack.deadLetterFile);
      console.log(`\n== load run (${args.articles} articles uploaded at once, no faults)`);
      console.log(`uploaded in         ${uploadedIn.toFixed(1)} s`);
      console.log(`all processed in    ${seconds.toFixed(1)} s`);
      console.log(`throughput          ${(args.articles / seconds).toFixed(1)} articles/s (${args.articles / 5} with an image, 3 distinct images)`);
      console.log(`peak RSS            ${(peakRss / 1048576).toFixed(0)} MiB (this Node process: handlers, s3rver, API; DynamoDB Local runs in its own JVM)`);
      console.log(`dead letters        ${letters.length}`);
      console.log(`final mismatches    ${problems.length + letters.length}`);
      for (const p of problems.slice(0, 40)) console.log(`  - ${p.problem}`);
      c.s3.destroy();
      c.doc.destroy();
      return problems.length === 0 && letters.length === 0;
    });
  } finally {
    clearInterval(sampler);
  }
}

/** Runs this script again for one run: handlers configure themselves once per process. */
function child(run: 'fault' | 'load', argv: string[]): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...process.execArgv, script, ...argv, '--run', run], { stdio: 'inherit' });
    p.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.run === 'both') {
    const started = Date.now();
    const rest = process.argv.slice(2);
    const fault = await child('fault', rest);
    const load = await child('load', rest);
    console.log(`\nsoak ${fault === 0 && load === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return fault === 0 && load === 0 ? 0 : 1;
  }
  const ok = args.run === 'fault' ? await faultRun(args) : await loadRun(args);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak failed to run: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
