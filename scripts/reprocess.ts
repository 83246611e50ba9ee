/**
 * `npm run reprocess [-- --prefix P] [--bucket B] [--endpoint URL] [--queue-url URL]`
 *
 * Runs articles through the pipeline again although their files did not change (after a
 * pipeline upgrade, new image settings, an asset replaced): lists the article objects in
 * the upload bucket (all, or those whose key starts with P) and sends the ingest queue one
 * synthetic S3 `ObjectCreated` notification per article, 10 per SendMessageBatch.
 *
 * The notifications carry `reprocess: true` (functions/core/events.ts), which makes the
 * ingest step skip its "unchanged" shortcuts while keeping its ordering: an article is
 * re-run at the position of the last event the index applied, so a reprocess never
 * overwrites a newer upload and never brings back a deleted article.
 *
 * Local stack by default; in AWS: `--bucket` (the UploadBucketName output) and
 * `--queue-url` (the IngestQueueUrl output, or INGEST_QUEUE_URL).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { reprocessNotification, type ListedObject } from '../functions/core/events';
import { ENV, isArticleKey } from '../functions/definitions';
import {
  START_STACK,
  ToolError,
  checkUrl,
  describeError,
  isConnectionRefused,
  isLoopback,
  isMain,
  localEndpoints,
  noProgress,
  parseCli,
  progressBar,
  runCli,
  s3Client,
  sqsClient,
  type ProgressOptions,
} from './lib';

type Env = Record<string, string | undefined>;

export interface ReprocessOptions {
  /** Only keys starting with this (a folder `blog/`, or one article's key). */
  prefix?: string;
  /** Default: the local stack's upload bucket. Given without `endpoint`: a bucket in AWS. */
  bucket?: string;
  endpoint?: string;
  /** The ingest queue; default INGEST_QUEUE_URL, else the local stack's. Required in AWS. */
  queueUrl?: string;
  progress?: ProgressOptions['stream'] | null;
  env?: Env;
}

export interface ReprocessResult {
  target: 'local' | 'aws';
  bucket: string;
  queueUrl: string;
  /** Article objects found. */
  listed: number;
  enqueued: number;
  failed: { key: string; reason: string }[];
  ok: boolean;
}

const BATCH = 10;

export async function listArticles(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}), ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || !isArticleKey(o.Key)) continue;
      out.push({ key: o.Key, etag: o.ETag ?? null, size: o.Size ?? null, lastModified: o.LastModified?.toISOString() ?? null });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Sends one batch; entries SQS refused for its own reasons are tried once more. */
async function sendBatch(sqs: SQSClient, queueUrl: string, bucket: string, objects: ListedObject[]): Promise<{ key: string; reason: string }[]> {
  let entries = objects.map((o, i) => ({ Id: `m${i}`, MessageBody: JSON.stringify(reprocessNotification(bucket, o)), key: o.key }));
  const failed: { key: string; reason: string }[] = [];
  for (let attempt = 0; attempt < 2 && entries.length; attempt++) {
    const res = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries.map(({ Id, MessageBody }) => ({ Id, MessageBody })) }));
    const retry: typeof entries = [];
    for (const f of res.Failed ?? []) {
      const entry = entries.find((e) => e.Id === f.Id);
      if (!entry) continue;
      if (!f.SenderFault && attempt === 0) retry.push(entry);
      else failed.push({ key: entry.key, reason: `${f.Code ?? 'error'}: ${f.Message ?? ''}`.trim() });
    }
    entries = retry;
  }
  return failed;
}

export async function reprocess(opts: ReprocessOptions = {}): Promise<ReprocessResult> {
  const env = opts.env ?? process.env;
  const local = localEndpoints(env);
  const aws = Boolean(opts.bucket) && !opts.endpoint;
  const endpoint = opts.endpoint ? checkUrl('--endpoint', opts.endpoint) : aws ? undefined : local.s3Endpoint;
  const bucket = opts.bucket ?? local.incomingBucket;
  const givenQueue = opts.queueUrl ?? env[ENV.INGEST_QUEUE_URL]?.trim();
  if (aws && !givenQueue) {
    throw new ToolError(
      'queue_url_required',
      'For a bucket in AWS, give the ingest queue with --queue-url (the stack output IngestQueueUrl), or set INGEST_QUEUE_URL.',
    );
  }
  const queueUrl = givenQueue ? checkUrl('--queue-url', givenQueue) : local.ingestQueueUrl;
  const prefix = (opts.prefix ?? '').replace(/^\/+/, '');

  const s3 = s3Client(endpoint);
  const sqs = sqsClient(queueUrl);
  try {
    let objects: ListedObject[];
    try {
      objects = await listArticles(s3, bucket, prefix);
    } catch (err) {
      if (!aws && isConnectionRefused(err)) throw new ToolError('stack_unreachable', `Nothing answers at ${endpoint}. ${START_STACK}`);
      throw new ToolError('aws_error', `Cannot list s3://${bucket}: ${describeError(err)}`);
    }
    const progress = opts.progress === null || objects.length === 0 ? noProgress : progressBar({ total: objects.length, label: 'enqueuing', stream: opts.progress });
    const failed: { key: string; reason: string }[] = [];
    try {
      for (let i = 0; i < objects.length; i += BATCH) {
        const batch = objects.slice(i, i + BATCH);
        failed.push(...(await sendBatch(sqs, queueUrl, bucket, batch)));
        for (const o of batch) progress.tick(o.key);
      }
    } catch (err) {
      if (isLoopback(queueUrl) && isConnectionRefused(err)) throw new ToolError('stack_unreachable', `Nothing answers at ${queueUrl}. ${START_STACK}`);
      throw new ToolError('queue_unreachable', `Cannot send to ${queueUrl}: ${describeError(err)}`);
    } finally {
      progress.done();
    }
    return {
      target: aws ? 'aws' : 'local',
      bucket,
      queueUrl,
      listed: objects.length,
      enqueued: objects.length - failed.length,
      failed,
      ok: failed.length === 0,
    };
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

const USAGE = `usage: npm run reprocess [-- --prefix P]
         local stack (default): [--endpoint URL] [--queue-url URL]
         AWS:                   --bucket B --queue-url URL   (or INGEST_QUEUE_URL)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    {
      prefix: { type: 'string' },
      bucket: { type: 'string' },
      endpoint: { type: 'string' },
      'queue-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length) throw new ToolError('bad_arguments', `Unexpected "${positionals[0]}".\n\n${USAGE}`);
  const r = await reprocess({ prefix: values.prefix, bucket: values.bucket, endpoint: values.endpoint, queueUrl: values['queue-url'] });
  const scope = values.prefix ? ` under "${values.prefix}"` : '';
  if (r.listed === 0) {
    console.log(`No articles${scope} in s3://${r.bucket}: nothing to reprocess.`);
    return 0;
  }
  console.log(`Queued ${r.enqueued} of ${r.listed} article(s)${scope} in s3://${r.bucket} for reprocessing (${r.queueUrl}).`);
  for (const f of r.failed) console.error(`  ! ${f.key}: ${f.reason}`);
  console.log('They are processed in the background; watch the API (processedAt) or npm run dlq -- list for failures.');
  return r.ok ? 0 : 1;
}

if (isMain(import.meta.url)) await runCli('reprocess', () => main(process.argv.slice(2)));
