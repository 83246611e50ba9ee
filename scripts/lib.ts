/**
 * What the operator's tools (upload, reprocess, dlq) share: where the local stack is,
 * AWS clients that differ between the local stack and the cloud only in endpoint and
 * credentials, typed errors, a progress bar, and the command-line plumbing.
 *
 * Local or cloud: a tool talks to the local stack unless told otherwise. Cloud means
 * `--bucket` without `--endpoint` (S3), or a queue URL that is not on loopback (SQS); the
 * clients then use the standard AWS credential chain and region (AWS_PROFILE, AWS_REGION...).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULTS, ENV } from '../functions/definitions';
import { LOCAL_KEY, type SigningKey } from '../local/sigv4';

export type ToolErrorCode =
  | 'bad_arguments'
  | 'no_files'
  | 'duplicate_key'
  | 'stack_unreachable'
  | 'table_unreachable'
  | 'bucket_missing'
  | 'queue_url_required'
  | 'api_url_required'
  | 'queue_unreachable'
  | 'api_error'
  | 'aws_error';

/** A problem the user can fix; the message says how. CLIs exit with status 2 on it. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Env = Record<string, string | undefined>;

function envPort(env: Env, name: string, fallback: number): number {
  const v = env[name]?.trim();
  if (!v) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new ToolError('bad_arguments', `${name} must be a port number, got "${v}"`);
  return Number(v);
}

export interface LocalEndpoints {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  apiUrl: string;
  sqsEndpoint: string;
  incomingBucket: string;
  ingestQueueUrl: string;
  deadLetterQueueUrl: string;
}

/** Where `npm run dev` listens, from the same env names it reads (S3_PORT, API_PORT, SQS_PORT...). */
export function localEndpoints(env: Env = process.env): LocalEndpoints {
  const sqsEndpoint = `http://127.0.0.1:${envPort(env, ENV.SQS_PORT, DEFAULTS.sqsPort)}`;
  return {
    s3Endpoint: `http://127.0.0.1:${envPort(env, ENV.S3_PORT, DEFAULTS.s3Port)}`,
    dynamodbEndpoint: `http://127.0.0.1:${envPort(env, ENV.DYNAMODB_PORT, DEFAULTS.dynamodbPort)}`,
    apiUrl: `http://127.0.0.1:${envPort(env, ENV.API_PORT, DEFAULTS.apiPort)}`,
    sqsEndpoint,
    incomingBucket: env[ENV.INCOMING_BUCKET]?.trim() || DEFAULTS.incomingBucket,
    ingestQueueUrl: `${sqsEndpoint}/${DEFAULTS.localAccountId}/${DEFAULTS.ingestQueueName}`,
    deadLetterQueueUrl: `${sqsEndpoint}/${DEFAULTS.localAccountId}/${DEFAULTS.deadLetterQueueName}`,
  };
}

export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** `value` without trailing slashes, or ToolError('bad_arguments') when it is no http(s) URL. */
export function checkUrl(name: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ToolError('bad_arguments', `${name} must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

const localCredentials = { accessKeyId: DEFAULTS.localAccessKeyId, secretAccessKey: DEFAULTS.localSecretAccessKey };

/** An S3 client: for `endpoint` (an emulator: path-style, its credentials) or, without one, AWS. */
export function s3Client(endpoint?: string): S3Client {
  if (!endpoint) return new S3Client({ maxAttempts: 5 });
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: DEFAULTS.localRegion,
    ...(isLoopback(endpoint) ? { credentials: localCredentials } : {}),
    // Plain bodies: the emulator's ETag is then the MD5 of the bytes, as in AWS.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/** `https://sqs.eu-west-1.amazonaws.com/...` -> `eu-west-1` (also the legacy `<region>.queue` hosts). */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  try {
    const host = new URL(queueUrl).hostname;
    return /^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com$/.exec(host)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * An SQS client for a queue URL. On loopback (the local stack) the URL's origin is the
 * endpoint; in AWS the region comes from the URL, so every call (also those without a
 * queue URL, such as StartMessageMoveTask) goes to the queue's region.
 */
export function sqsClient(queueUrl: string): SQSClient {
  if (isLoopback(queueUrl)) {
    return new SQSClient({ endpoint: new URL(queueUrl).origin, region: DEFAULTS.localRegion, credentials: localCredentials, maxAttempts: 3 });
  }
  const region = regionFromQueueUrl(queueUrl);
  return new SQSClient({ ...(region ? { region } : {}), maxAttempts: 5 });
}

/** A one-line description of any error, never a stack: AWS errors by their name. */
export function describeError(err: unknown): string {
  if (err instanceof ToolError) return err.message;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e?.$metadata) {
    const status = e.$metadata.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    return `${e.name ?? 'AWS error'}${status}: ${e.message ?? ''}`.trim();
  }
  if (isConnectionRefused(err)) return 'connection refused';
  return e?.message ?? String(err);
}

/** True when the error says nothing listens there (the local stack is not running). */
export function isConnectionRefused(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const x = e as { code?: string; errors?: unknown[]; cause?: unknown };
    if (x.code === 'ECONNREFUSED') return true;
    if (Array.isArray(x.errors) && x.errors.some(isConnectionRefused)) return true;
    e = x.cause;
  }
  return false;
}

export const START_STACK = 'Is the local stack running? Start it in another terminal with: npm run dev';

// ---------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------

export interface Progress {
  /** One more item done; `detail` names it. */
  tick(detail?: string): void;
  done(): void;
}

export interface ProgressOptions {
  total: number;
  label: string;
  /** Default stderr. A TTY gets a redrawn bar, anything else one plain line per item. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const noProgress: Progress = { tick() {}, done() {} };

export function progressBar(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  let n = 0;
  let last = 0;
  const width = 24;
  const draw = (detail: string) => {
    const filled = opts.total ? Math.round((n / opts.total) * width) : width;
    const line = `${opts.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${opts.total} ${detail}`;
    const cols = stream.columns ?? 100;
    stream.write(`\r\x1b[2K${line.length > cols - 1 ? line.slice(0, cols - 2) + '…' : line}`);
  };
  return {
    tick(detail = '') {
      n++;
      if (!tty) {
        stream.write(`${opts.label} ${n}/${opts.total} ${detail}`.trimEnd() + '\n');
        return;
      }
      // Redrawing more than ~20 times a second only costs time.
      const now = Date.now();
      if (now - last >= 50 || n === opts.total) {
        last = now;
        draw(detail);
      }
    },
    done() {
      if (tty && n > 0) stream.write('\n');
    },
  };
}

// ---------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------

/** node:util parseArgs, with its errors as ToolError('bad_arguments'). */
export function parseCli<T extends ParseArgsConfig['options']>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ToolError('bad_arguments', `${(err as Error).message}\n\n${usage}`);
  }
}

/** Whether the module at `moduleUrl` is the program being run (not imported, e.g. by a test). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs a CLI: its exit code, 2 for a ToolError (with its message), 1 for anything else. */
export async function runCli(name: string, main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof ToolError) {
      console.error(`${name}: ${err.message}`);
      code = 2;
    } else {
      console.error(`${name} failed: ${describeError(err)}`);
      code = 1;
    }
  }
  process.exit(code);
}

export const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** The object's ETag (quotes removed), or null when it does not exist. */
export async function headEtag(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ETag?.replace(/"/g, '') ?? null;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

/**
 * The key to sign operator-route calls (`/admin/...`) with: the local key pair for the
 * local stack; in AWS the caller's own IAM credentials (the SDK's default chain: env,
 * profile, SSO, role), for the region in the API's host name or AWS_REGION.
 */
export async function operatorKey(apiUrl: string, env: Record<string, string | undefined> = process.env): Promise<SigningKey> {
  if (isLoopback(apiUrl)) return LOCAL_KEY;
  const region = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(apiUrl).hostname)?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new ToolError('api_url_required', `Cannot tell the region of ${apiUrl}: set AWS_REGION.`);
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  const c = await defaultProvider()();
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, region };
}
