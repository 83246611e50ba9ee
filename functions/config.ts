/**
 * Every environment variable, read and validated once at start-up. A bad value fails
 * fast with a ConfigError naming the variable, instead of surfacing mid-request.
 *
 * Not zod (declined, measured): the same rules as a zod schema (git log: "config.ts with
 * zod") cost 15 ms more CPU per cold start, zod already loaded (2.5 → 17.5 ms median,
 * Node 22, a loaded machine), against the API's 60 ms cold-start budget.
 */
import { parseArticleUrlTemplate, type ArticleUrlTemplate } from './core/article-url';
import { ConfigError } from './core/errors';
import { DEFAULTS, ENV } from './definitions';

type Env = Record<string, string | undefined>;

/** Seven days: longer than any page or CDN cache of a reader is expected to live. */
export const DEFAULT_MEDIA_GC_GRACE_SECONDS = 7 * 86_400;

export interface ImageConfig {
  widths: number[];
  formats: ('webp' | 'avif')[];
  maxBytes: number;
  maxPixels: number;
  fetchTimeoutMs: number;
  /** `host:port` pairs that may resolve to loopback/private addresses (tests, demos). */
  allowPrivateHosts: string[];
  /** When not empty, the only host names images are fetched from (besides allowPrivateHosts). */
  onlyHosts: string[];
}

export interface Config {
  incomingBucket: string;
  mediaBucket: string;
  tableName: string;
  mediaBaseUrl: string;
  defaultTimezone: string;
  articleMaxBytes: number;
  image: ImageConfig;
  cursorSecret: string | undefined;
  corsAllowedOrigins: string[];
  /** Scheduled posts in AWS: all three set, or none (then nothing is scheduled). */
  scheduler: { groupName: string; roleArn: string; queueArn: string } | undefined;
  /** Publish events in AWS (unset: none are sent). */
  eventBusName: string | undefined;
  /** Local stack only: publish events are also POSTed here. */
  localWebhookUrl: string | undefined;
  /** Front-matter keys public responses carry; every other key is operator data. */
  publicFrontMatterKeys: string[];
  /** ARTICLE_URL_TEMPLATE, parsed; null when not set (feeds then carry no links, the sitemap answers an error). */
  articleUrlTemplate: ArticleUrlTemplate | null;
  /**
   * How long the media sweeper (functions/gc) keeps a re-hosted image no article references,
   * and a body no article points to, before removing it: pages readers have cached keep working.
   */
  mediaGcGraceSeconds: number;
  /** The search cluster through the Data API; undefined when search is not deployed. */
  search: SearchConfig | undefined;
  /** Set only when talking to emulators (the local stack, tests). */
  s3Endpoint: string | undefined;
  dynamodbEndpoint: string | undefined;
}

export interface SearchConfig {
  resourceArn: string;
  secretArn: string;
  database: string;
  /** The local Data API stand-in (local/data-api.ts); unset in AWS. */
  endpoint: string | undefined;
}

const ARN = /^arn:[\w-]+:[\w-]+:[\w-]*:\d*:\S+$/;

function searchConfig(env: Env): SearchConfig | undefined {
  const resourceArn = env[ENV.SEARCH_CLUSTER_ARN]?.trim();
  const secretArn = env[ENV.SEARCH_SECRET_ARN]?.trim();
  if (!resourceArn && !secretArn) return undefined;
  if (!resourceArn || !secretArn) throw new ConfigError(`${ENV.SEARCH_CLUSTER_ARN} and ${ENV.SEARCH_SECRET_ARN} are set together (or neither, for no search)`);
  for (const [name, v] of [[ENV.SEARCH_CLUSTER_ARN, resourceArn], [ENV.SEARCH_SECRET_ARN, secretArn]] as const) {
    if (!ARN.test(v)) throw new ConfigError(`${name} must be an ARN, got "${v}"`);
  }
  return {
    resourceArn,
    secretArn,
    database: str(env, ENV.SEARCH_DATABASE, DEFAULTS.searchDatabase),
    endpoint: env[ENV.RDS_DATA_ENDPOINT]?.trim() ? url(env, ENV.RDS_DATA_ENDPOINT) : undefined,
  };
}

function str(env: Env, name: string, fallback?: string): string {
  const v = env[name]?.trim();
  if (v) return v;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${name} is required but not set`);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function list(env: Env, name: string, fallback: string): string[] {
  return str(env, name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function url(env: Env, name: string, fallback?: string): string {
  const v = str(env, name, fallback);
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${v}"`);
  }
  return v.replace(/\/+$/, '');
}

export function isValidTimeZone(tz: string): boolean {
  // The first time-zone-aware DateTimeFormat loads ICU's zone data (~30 ms of every cold
  // start, the query API's included); the list of canonical zones is ~2 ms. Aliases
  // (Asia/Calcutta, Etc/GMT+8, ...) are not in that list: DateTimeFormat decides those.
  if (tz.toUpperCase() === 'UTC' || Intl.supportedValuesOf('timeZone').includes(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The function's AWS region and role credentials, as Lambda sets them in the environment,
 * for the query API's signed DynamoDB reads (adapters/dynamo-http.ts). The SDK clients
 * elsewhere find the same values through their own provider chain.
 */
export function lambdaCredentials(env: Env = process.env): {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
} {
  const region = env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim();
  const accessKeyId = env['AWS_ACCESS_KEY_ID']?.trim();
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY']?.trim();
  if (!region) throw new ConfigError('AWS_REGION is required (Lambda sets it)');
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required (Lambda sets them from the function role)');
  }
  const sessionToken = env['AWS_SESSION_TOKEN']?.trim() || undefined;
  return { region, credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } };
}

export function loadConfig(env: Env = process.env): Config {
  const incomingBucket = str(env, ENV.INCOMING_BUCKET, DEFAULTS.incomingBucket);
  const mediaBucket = str(env, ENV.MEDIA_BUCKET, DEFAULTS.mediaBucket);
  const s3Endpoint = env[ENV.S3_ENDPOINT]?.trim() ? url(env, ENV.S3_ENDPOINT) : undefined;
  const dynamodbEndpoint = env[ENV.DYNAMODB_ENDPOINT]?.trim() ? url(env, ENV.DYNAMODB_ENDPOINT) : undefined;
  // Locally the media bucket is served by the S3 emulator itself.
  const mediaBaseUrl = url(env, ENV.MEDIA_BASE_URL, s3Endpoint ? `${s3Endpoint}/${mediaBucket}` : undefined);

  const defaultTimezone = str(env, ENV.DEFAULT_TIMEZONE, 'UTC');
  if (!isValidTimeZone(defaultTimezone)) {
    throw new ConfigError(`${ENV.DEFAULT_TIMEZONE} must be an IANA time zone such as "Asia/Shanghai", got "${defaultTimezone}"`);
  }

  const widths = list(env, ENV.IMAGE_WIDTHS, '320,640,960,1280,1920').map((w) => {
    if (!/^\d+$/.test(w) || Number(w) < 16 || Number(w) > 8192) {
      throw new ConfigError(`${ENV.IMAGE_WIDTHS} must be a comma list of widths from 16 to 8192, got "${w}"`);
    }
    return Number(w);
  });
  const formats = list(env, ENV.IMAGE_FORMATS, 'webp').map((f) => {
    const lower = f.toLowerCase();
    if (lower !== 'webp' && lower !== 'avif') {
      throw new ConfigError(`${ENV.IMAGE_FORMATS} may list only webp and avif, got "${f}"`);
    }
    return lower;
  });

  const allowPrivateHosts = list(env, ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS, '').map((h) => {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/.test(h)) {
      throw new ConfigError(`${ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS} entries must be host:port, got "${h}"`);
    }
    return h.toLowerCase();
  });

  const schedulerNames = [ENV.SCHEDULE_GROUP_NAME, ENV.SCHEDULER_ROLE_ARN, ENV.INGEST_QUEUE_ARN] as const;
  const schedulerSet = schedulerNames.filter((n) => env[n]?.trim());
  if (schedulerSet.length && schedulerSet.length < schedulerNames.length) {
    throw new ConfigError(`scheduled posts need all of ${schedulerNames.join(', ')}; only ${schedulerSet.join(', ')} set`);
  }

  return {
    incomingBucket,
    mediaBucket,
    tableName: str(env, ENV.TABLE_NAME, DEFAULTS.tableName),
    mediaBaseUrl,
    defaultTimezone,
    articleMaxBytes: int(env, ENV.ARTICLE_MAX_BYTES, 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    image: {
      widths: [...new Set(widths)].sort((a, b) => a - b),
      formats: [...new Set(formats)] as ('webp' | 'avif')[],
      maxBytes: int(env, ENV.IMAGE_MAX_BYTES, 26_214_400, 1, 1024 * 1024 * 1024),
      maxPixels: int(env, ENV.IMAGE_MAX_PIXELS, 100_000_000, 1, 1_000_000_000),
      fetchTimeoutMs: int(env, ENV.IMAGE_FETCH_TIMEOUT_MS, 10_000, 1, 15 * 60 * 1000),
      allowPrivateHosts,
      onlyHosts: list(env, ENV.IMAGE_FETCH_HOSTS, '').map((h) => h.toLowerCase()),
    },
    // Only the query API signs cursors; it checks this is set (api/handler.ts). A random
    // per-process secret would break cursors across Lambda instances, so none is invented.
    cursorSecret: env[ENV.CURSOR_SECRET]?.trim() || undefined,
    corsAllowedOrigins: list(env, ENV.CORS_ALLOWED_ORIGINS, '*'),
    scheduler: schedulerSet.length
      ? { groupName: str(env, ENV.SCHEDULE_GROUP_NAME), roleArn: str(env, ENV.SCHEDULER_ROLE_ARN), queueArn: str(env, ENV.INGEST_QUEUE_ARN) }
      : undefined,
    eventBusName: env[ENV.EVENT_BUS_NAME]?.trim() || undefined,
    localWebhookUrl: env[ENV.LOCAL_WEBHOOK_URL]?.trim() ? url(env, ENV.LOCAL_WEBHOOK_URL) : undefined,
    publicFrontMatterKeys: list(env, ENV.PUBLIC_FRONT_MATTER_KEYS, '').map((k) => {
      // Keys as they are written in front matter; nothing that could name a nested path.
      if (!/^[\p{L}\p{N}_.:-]{1,100}$/u.test(k)) {
        throw new ConfigError(`${ENV.PUBLIC_FRONT_MATTER_KEYS} must be a comma list of front-matter keys, got "${k}"`);
      }
      return k;
    }),
    articleUrlTemplate: env[ENV.ARTICLE_URL_TEMPLATE]?.trim() ? parseArticleUrlTemplate(env[ENV.ARTICLE_URL_TEMPLATE]!.trim(), ENV.ARTICLE_URL_TEMPLATE) : null,
    // 0 (tests, `MEDIA_GC_GRACE_SECONDS=0 npm run gc`) is allowed; in AWS infra/settings.ts
    // refuses less than the ingest timeout (see docs/reliability.md, "Nothing left behind").
    mediaGcGraceSeconds: int(env, ENV.MEDIA_GC_GRACE_SECONDS, DEFAULT_MEDIA_GC_GRACE_SECONDS, 0, 3650 * 86_400),
    search: searchConfig(env),
    s3Endpoint,
    dynamodbEndpoint,
  };
}
