/**
 * `npm run upload -- <files or folders> [--bucket B] [--endpoint URL] [--prefix P] [--wait] [--api URL] [--timeout S]`
 *
 * Uploads articles (.md .markdown .html .htm) and the images they reference by relative
 * path, to the local stack by default or, with `--bucket` and no `--endpoint`, to a
 * deployed upload bucket with the standard AWS credentials. A folder's files keep their
 * path relative to it as key (under `--prefix`); a file given by itself is keyed by its name.
 *
 * Which files are assets is decided exactly as the pipeline will decide it: each article is
 * parsed, rendered and searched for images with the pipeline's own code, and every
 * relative address that resolves to an object in the upload bucket is uploaded from the
 * matching local file, before the articles, so the ingest step finds them.
 *
 * With `--wait` it polls the query API until each article's outcome is known and prints a
 * summary (published, draft, failed with the reason); the exit status is 1 if any article
 * is failed, whether it failed now or earlier and was left unchanged, or timed out.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { baseName, decodeText } from '../functions/core/article';
import { parseFrontMatter } from '../functions/core/frontmatter';
import { discoverImages } from '../functions/core/images/discover';
import { articleId } from '../functions/core/ingest';
import { renderArticleBody } from '../functions/core/markdown';
import { sanitizeForProcessing } from '../functions/core/sanitize';
import type { Article, ArticleStatus } from '../functions/core/types';
import { isArticleKey } from '../functions/definitions';
import { signedFetch } from '../local/sigv4';
import {
  START_STACK,
  ToolError,
  checkUrl,
  describeError,
  headEtag,
  isConnectionRefused,
  isMain,
  localEndpoints,
  noProgress,
  operatorKey,
  parseCli,
  progressBar,
  runCli,
  s3Client,
  sleep,
  type ProgressOptions,
} from './lib';

type Env = Record<string, string | undefined>;

export interface UploadOptions {
  /** Files and folders. */
  paths: string[];
  /** Default: the local stack's upload bucket. Given without `endpoint`: a bucket in AWS. */
  bucket?: string;
  /** S3 endpoint; default the local stack's (unless `bucket` alone says AWS). */
  endpoint?: string;
  /** Put before every key (`blog` and `blog/` are the same). */
  prefix?: string;
  /** Poll the query API until every article's outcome is known. */
  wait?: boolean;
  /** The query API; default the local stack's. Required with `wait` in AWS. */
  apiUrl?: string;
  /** How long `wait` waits in all (default 120 s). */
  timeoutMs?: number;
  /** How long one query API request may take (default 10 s). */
  requestTimeoutMs?: number;
  /** Uploads at once (default 4). */
  concurrency?: number;
  /** Where the progress bar goes (default stderr); null for none. */
  progress?: ProgressOptions['stream'] | null;
  /** Environment for the local defaults (S3_PORT, API_PORT, INCOMING_BUCKET). */
  env?: Env;
}

export interface UploadedFile {
  key: string;
  path: string;
  kind: 'article' | 'asset';
  bytes: number;
  /** The bucket already held these exact bytes under this key. */
  sameBytes: boolean;
}

export interface MissingAsset {
  article: string;
  /** The address as written in the article. */
  ref: string;
  /** Where the file was looked for. */
  path: string;
}

export type ArticleOutcome = 'published' | 'scheduled' | 'draft' | 'failed' | 'unchanged' | 'timeout';

export interface ArticleReport {
  key: string;
  id: string;
  outcome: ArticleOutcome;
  /** The article's status now (for `unchanged`, the earlier result); null if never seen. */
  status: ArticleStatus | null;
  title: string | null;
  error: { code: string; message: string } | null;
  warnings: { code: string; message: string }[];
  imagesRehosted: number;
  imagesFailed: number;
}

export interface UploadResult {
  target: 'local' | 'aws';
  bucket: string;
  files: UploadedFile[];
  /** Local files that are neither articles nor referenced by one, so not uploaded. */
  skipped: string[];
  missingAssets: MissingAsset[];
  /** With `wait`: one report per article, in key order. */
  articles: ArticleReport[] | null;
  /**
   * False when an article is failed now (just processed, or unchanged since it failed) or
   * timed out: the state of the folder, not what this run happened to do.
   */
  ok: boolean;
}

// ---------------------------------------------------------------------------------
// Which files
// ---------------------------------------------------------------------------------

/** `blog`, `/blog/`, `blog//` -> `blog/`; empty stays empty. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/\\/g, '/').replace(/^\/+/, '').replace(/\/{2,}/g, '/');
  return p && !p.endsWith('/') ? `${p}/` : p;
}

interface LocalFile {
  key: string;
  path: string;
}

/** Every file under the given paths (dot files and folders skipped), keyed relative to its root. */
export function collectFiles(paths: string[], prefix: string): LocalFile[] {
  const out: LocalFile[] = [];
  const walk = (root: string, dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(root, full);
      else if (entry.isFile()) out.push({ key: prefix + relative(root, full).split(sep).join('/'), path: full });
    }
  };
  for (const given of paths) {
    const abs = resolve(given);
    if (!existsSync(abs)) throw new ToolError('no_files', `There is no file or folder "${given}".`);
    if (statSync(abs).isDirectory()) walk(abs, abs);
    else out.push({ key: prefix + basename(abs), path: abs });
  }
  const seen = new Map<string, string>();
  for (const f of out) {
    const other = seen.get(f.key);
    if (other && other !== f.path) {
      throw new ToolError('duplicate_key', `"${other}" and "${f.path}" would both be uploaded as "${f.key}". Upload them separately with different --prefix values.`);
    }
    seen.set(f.key, f.path);
  }
  return [...new Map(out.map((f) => [f.key, f])).values()];
}

/**
 * The objects in the upload bucket an article's relative image addresses point to,
 * found as the pipeline finds them (front matter, body images, srcsets, lazy attributes).
 * Unreadable articles have none: the pipeline will report what is wrong with them.
 */
export function relativeAssetRefs(text: string, articleKey: string): { ref: string; objectKey: string }[] {
  let html: string;
  let frontMatter: Record<string, unknown>;
  try {
    const fm = parseFrontMatter(text);
    frontMatter = fm.data;
    // Generator tags too: Hexo's `{% asset_img %}` names a file in the post's asset folder.
    const kind = /\.html?$/i.test(articleKey) ? 'html' : 'markdown';
    html = sanitizeForProcessing(renderArticleBody(fm.body, kind, { postName: baseName(articleKey) }).html);
  } catch {
    return [];
  }
  const found = discoverImages(html, frontMatter, { articleKey, incomingBucket: 'upload' });
  const out = new Map<string, { ref: string; objectKey: string }>();
  const candidates = [...found.body.flatMap((b) => b.candidates), ...found.cover];
  for (const c of candidates) {
    // Relative only: a leading `/` means the bucket root, which has no local counterpart.
    if (c.source?.kind === 'object' && !c.raw.trim().startsWith('/')) {
      out.set(c.source.objectKey, { ref: c.raw, objectKey: c.source.objectKey });
    }
  }
  return [...out.values()];
}

interface Plan {
  articles: LocalFile[];
  assets: LocalFile[];
  skipped: string[];
  missingAssets: MissingAsset[];
}

export function planUpload(paths: string[], prefix: string): Plan {
  const files = collectFiles(paths, prefix);
  const articles = files.filter((f) => isArticleKey(f.key)).sort((a, b) => a.key.localeCompare(b.key));
  if (articles.length === 0) {
    throw new ToolError('no_files', `No articles (.md, .markdown, .html, .htm) in ${paths.map((p) => `"${p}"`).join(', ')}.`);
  }
  const assets = new Map<string, LocalFile>();
  const missingAssets: MissingAsset[] = [];
  for (const article of articles) {
    let text: string;
    try {
      text = decodeText(readFileSync(article.path));
    } catch {
      continue;
    }
    for (const { ref, objectKey } of relativeAssetRefs(text, article.key)) {
      if (isArticleKey(objectKey)) continue;
      // The key is relative to the article's key; the file is relative to the article's file.
      const rel = posix.relative(posix.dirname(article.key), objectKey);
      const path = resolve(dirname(article.path), ...rel.split('/'));
      if (!existsSync(path) || !statSync(path).isFile()) {
        missingAssets.push({ article: article.key, ref, path });
        continue;
      }
      const other = assets.get(objectKey);
      if (other && other.path !== path) {
        throw new ToolError('duplicate_key', `"${other.path}" and "${path}" would both be uploaded as "${objectKey}".`);
      }
      assets.set(objectKey, { key: objectKey, path });
    }
  }
  const used = new Set([...articles, ...assets.values()].map((f) => f.path));
  return {
    articles,
    assets: [...assets.values()].sort((a, b) => a.key.localeCompare(b.key)),
    skipped: files.filter((f) => !used.has(f.path)).map((f) => f.path),
    missingAssets,
  };
}

const CONTENT_TYPES: Record<string, string> = {
  md: 'text/markdown; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jfif: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
};

export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[/\.([^./]+)$/.exec(key)?.[1]?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

// ---------------------------------------------------------------------------------
// Talking to S3 and the API
// ---------------------------------------------------------------------------------

async function checkBucket(s3: S3Client, bucket: string, where: string, local: boolean): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) throw new ToolError('bucket_missing', `There is no bucket "${bucket}" at ${where}.`);
    if (local && isConnectionRefused(err)) throw new ToolError('stack_unreachable', `Nothing answers at ${where}. ${START_STACK}`);
    throw new ToolError('aws_error', `Cannot reach bucket "${bucket}" at ${where}: ${describeError(err)}`);
  }
}

/** How long one query API request may take before the tool looks for what is down. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Through the operator route (signed): --wait reports drafts and failures, which the public API never shows. */
async function getArticle(apiUrl: string, id: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Article | null> {
  let res: Response;
  try {
    res = await signedFetch(`${apiUrl}/admin/articles/${encodeURIComponent(id)}`, { key: await operatorKey(apiUrl), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw await diagnose(apiUrl, `GET /admin/articles/${id} got no answer (${describeError(err)})`, timeoutMs);
  }
  if (res.status === 404) return null;
  if (res.status === 403) throw new ToolError('api_error', `GET ${apiUrl}/admin/articles/${id} answered 403: the operator routes need IAM credentials allowed to call execute-api:Invoke on them.`);
  if (res.status >= 500) throw await diagnose(apiUrl, `GET /admin/articles/${id} answered ${res.status}`, timeoutMs);
  if (!res.ok) throw new ToolError('api_error', `GET ${apiUrl}/admin/articles/${id} answered ${res.status}.`);
  return (await res.json()) as Article;
}

/**
 * Names what is down when reading an article fails: the API itself (nothing answers
 * /health either), or what stands behind it (/health answers, which needs no table).
 */
export async function diagnose(apiUrl: string, what: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ToolError> {
  let health: Response | null = null;
  try {
    health = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(Math.min(timeoutMs, 5000)) });
  } catch {
    health = null;
  }
  if (!health?.ok) {
    const why = health ? `/health answered ${health.status}` : 'neither does /health';
    return new ToolError('stack_unreachable', `The query API does not answer at ${apiUrl}: ${what}, and ${why}.`);
  }
  return new ToolError(
    'table_unreachable',
    `The query API at ${apiUrl} is up (/health answers), but ${what}: the article table (DynamoDB) behind it does not answer. ` +
      'Locally, check that DynamoDB Local (Java) is running, or restart npm run dev; in AWS, see the query API function\'s logs.',
  );
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  await pLimit(Math.max(1, limit)).map(items, (item) => fn(item));
}

function report(key: string, id: string, outcome: ArticleOutcome, a: Article | null): ArticleReport {
  return {
    key,
    id,
    outcome,
    status: a?.status ?? null,
    title: a?.title ?? null,
    error: a?.error ?? null,
    warnings: a?.warnings.map((w) => ({ code: w.code, message: w.message })) ?? [],
    imagesRehosted: a?.images.filter((i) => i.status === 'rehosted').length ?? 0,
    imagesFailed: a?.images.filter((i) => i.status === 'failed').length ?? 0,
  };
}

// ---------------------------------------------------------------------------------
// The tool
// ---------------------------------------------------------------------------------

export async function uploadArticles(opts: UploadOptions): Promise<UploadResult> {
  const local = localEndpoints(opts.env);
  const aws = Boolean(opts.bucket) && !opts.endpoint;
  const endpoint = opts.endpoint ? checkUrl('--endpoint', opts.endpoint) : aws ? undefined : local.s3Endpoint;
  const bucket = opts.bucket ?? local.incomingBucket;
  const apiUrl = opts.apiUrl ? checkUrl('--api', opts.apiUrl) : aws ? undefined : local.apiUrl;
  if (opts.wait && !apiUrl) {
    throw new ToolError('api_url_required', 'With --wait and a bucket in AWS, give the query API with --api (the stack output ApiUrl).');
  }
  const plan = planUpload(opts.paths, normalizePrefix(opts.prefix));
  const where = endpoint ?? 'AWS';
  const s3 = s3Client(endpoint);
  try {
    await checkBucket(s3, bucket, endpoint ?? `s3://${bucket}`, !aws);

    // Before uploading: what each article is now, so `wait` can tell a new result from an old one.
    const before = new Map<string, Article | null>();
    if (opts.wait) {
      await eachLimit(plan.articles, 8, async (a) => {
        before.set(a.key, await getArticle(apiUrl!, articleId(a.key), opts.requestTimeoutMs));
      });
    }

    const files: UploadedFile[] = [];
    const total = plan.assets.length + plan.articles.length;
    const progress = opts.progress === null ? noProgress : progressBar({ total, label: 'uploading', stream: opts.progress });
    const put = async (f: LocalFile, kind: UploadedFile['kind']) => {
      const body = readFileSync(f.path);
      const md5 = createHash('md5').update(body).digest('hex');
      const sameBytes = (await headEtag(s3, bucket, f.key)) === md5;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: body, ContentType: contentTypeOf(f.key) }));
      files.push({ key: f.key, path: f.path, kind, bytes: body.length, sameBytes });
      progress.tick(f.key);
    };
    try {
      // Assets first: an article is processed as soon as it lands, and reads them then.
      await eachLimit(plan.assets, opts.concurrency ?? 4, (f) => put(f, 'asset'));
      await eachLimit(plan.articles, opts.concurrency ?? 4, (f) => put(f, 'article'));
    } catch (err) {
      throw err instanceof ToolError ? err : new ToolError('aws_error', `Upload to s3://${bucket} (${where}) failed: ${describeError(err)}`);
    } finally {
      progress.done();
    }

    let articles: ArticleReport[] | null = null;
    if (opts.wait) articles = await waitForArticles(plan.articles, files, before, apiUrl!, opts.timeoutMs ?? 120_000, opts.requestTimeoutMs);
    return {
      target: aws ? 'aws' : 'local',
      bucket,
      files: files.sort((a, b) => a.key.localeCompare(b.key)),
      skipped: plan.skipped,
      missingAssets: plan.missingAssets,
      articles,
      ok: !articles || articles.every((a) => a.status !== 'failed' && a.outcome !== 'timeout'),
    };
  } finally {
    s3.destroy();
  }
}

async function waitForArticles(
  articles: LocalFile[],
  files: UploadedFile[],
  before: Map<string, Article | null>,
  apiUrl: string,
  timeoutMs: number,
  requestTimeoutMs?: number,
): Promise<ArticleReport[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, ArticleReport>();
  const pending = new Set<string>();
  for (const a of articles) {
    const previous = before.get(a.key) ?? null;
    const sameBytes = files.find((f) => f.key === a.key)?.sameBytes ?? false;
    // The pipeline skips bytes it has already processed, so the earlier result stands;
    // unless that result had image warnings, which a re-upload retries.
    const retriesImages = previous?.warnings.some((w) => w.code.startsWith('image_')) ?? false;
    if (previous && sameBytes && !retriesImages) done.set(a.key, report(a.key, previous.id, 'unchanged', previous));
    else pending.add(a.key);
  }
  while (pending.size > 0) {
    await eachLimit([...pending], 8, async (key) => {
      const id = articleId(key);
      const now = await getArticle(apiUrl, id, requestTimeoutMs);
      if (now && now.processedAt !== before.get(key)?.processedAt) {
        done.set(key, report(key, id, now.status, now));
        pending.delete(key);
      }
    });
    if (pending.size === 0) break;
    if (Date.now() >= deadline) {
      for (const key of pending) done.set(key, report(key, articleId(key), 'timeout', null));
      break;
    }
    await sleep(300);
  }
  return articles.map((a) => done.get(a.key)!);
}

// ---------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------

export function formatSummary(r: UploadResult, timeoutMs = 120_000): string {
  const lines: string[] = [];
  const n = (k: UploadedFile['kind']) => r.files.filter((f) => f.kind === k).length;
  lines.push(`Uploaded ${r.files.length} file(s) to s3://${r.bucket}${r.target === 'aws' ? '' : ' (local stack)'}: ${n('article')} article(s), ${n('asset')} asset(s).`);
  for (const m of r.missingAssets) lines.push(`  ! ${m.article} references "${m.ref}", but there is no ${m.path}`);
  if (r.skipped.length) lines.push(`  ${r.skipped.length} other file(s) skipped: neither articles nor referenced by one.`);
  if (!r.articles) return lines.join('\n');

  lines.push('');
  const width = Math.min(60, Math.max(...r.articles.map((a) => a.key.length)));
  for (const a of r.articles) {
    const head = `  ${a.outcome.padEnd(9)} ${a.key.padEnd(width)}`;
    if (a.outcome === 'timeout') {
      lines.push(`${head}  not processed within ${Math.round(timeoutMs / 1000)} s (see npm run dlq -- list)`);
    } else if (a.outcome === 'failed' && a.error) {
      lines.push(`${head}  ${a.error.code}: ${a.error.message}`);
    } else {
      const images = a.imagesRehosted || a.imagesFailed ? `  images ${a.imagesRehosted} re-hosted, ${a.imagesFailed} failed` : '';
      const status = a.outcome === 'unchanged' ? `  (still ${a.status})` : '';
      lines.push(`${head}  "${a.title ?? ''}"${status}${images}`);
    }
    for (const w of a.warnings) lines.push(`      warning ${w.code}: ${w.message}`);
  }
  const count = (o: ArticleOutcome) => r.articles!.filter((a) => a.outcome === o).length;
  lines.push('');
  lines.push(`${count('published')} published, ${count('draft')} draft, ${count('failed')} failed, ${count('unchanged')} unchanged, ${count('timeout')} timed out.`);
  const stillFailed = r.articles.filter((a) => a.outcome === 'unchanged' && a.status === 'failed').length;
  if (stillFailed) lines.push(`${stillFailed} unchanged article(s) are still failed: fix them and upload again.`);
  if (count('unchanged')) lines.push('Unchanged articles were not processed again; to re-run them anyway (new settings?), use npm run reprocess -- --prefix <key>.');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------

const USAGE = `usage: npm run upload -- <files or folders> [--prefix P] [--wait] [--timeout SECONDS]
         local stack (default): [--endpoint URL] [--api URL]
         AWS:                   --bucket B [--wait --api URL]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      bucket: { type: 'string' },
      endpoint: { type: 'string' },
      prefix: { type: 'string' },
      wait: { type: 'boolean' },
      api: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new ToolError('bad_arguments', `Name the files or folders to upload.\n\n${USAGE}`);
  const timeoutMs = values.timeout === undefined ? 120_000 : Number(values.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new ToolError('bad_arguments', `--timeout must be a number of seconds, got "${values.timeout}"`);
  const result = await uploadArticles({
    paths: positionals,
    bucket: values.bucket,
    endpoint: values.endpoint,
    prefix: values.prefix,
    wait: values.wait,
    apiUrl: values.api,
    timeoutMs,
  });
  console.log(formatSummary(result, timeoutMs));
  return result.ok ? 0 : 1;
}

if (isMain(import.meta.url)) await runCli('upload', () => main(process.argv.slice(2)));
