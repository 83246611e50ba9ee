/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`) and
 * validated at synth time, so a typo fails `cdk synth` instead of a Lambda cold start.
 * The function-level values (IMAGE_*, ARTICLE_MAX_BYTES, DEFAULT_TIMEZONE) are checked by
 * the functions' own loadConfig, so infra and runtime accept exactly the same values.
 */
import type { Node } from 'constructs';
import { DEFAULT_MEDIA_GC_GRACE_SECONDS, loadConfig } from '../functions/config';
import { MEDIA_GC_MAX_SECONDS } from '../functions/definitions';
import { ENV } from '../functions/definitions';

export type LambdaArchitecture = 'x86_64' | 'arm64';

export interface CustomDomain {
  domainName: string;
  certificateArn: string;
}

/** The search cluster (infra/constructs/search.ts). */
export interface SearchSettings {
  /** Aurora Serverless v2 capacity in ACUs: 0 lets it pause when idle. */
  minCapacity: number;
  maxCapacity: number;
  /** Idle time before a cluster at minimum 0 pauses (AWS allows 5 minutes to 24 hours). */
  autoPauseMinutes: number;
  deletionProtection: boolean;
}

export interface PipelineSettings {
  /** Part of the stack name: `ArticlePipeline-<stage>`. */
  stage: string;
  architecture: LambdaArchitecture;
  defaultTimezone: string;
  corsAllowedOrigins: string[];
  /** PUBLIC_FRONT_MATTER_KEYS of the query API: front-matter keys the public may see (default none). */
  publicFrontMatterKeys: string[];
  /** ARTICLE_URL_TEMPLATE for the query API (feeds, sitemap); undefined: not set. */
  articleUrlTemplate?: string;
  /** ARTICLE_MAX_BYTES and IMAGE_* env values given in context; unset ones keep the functions' defaults.
   * IMAGE_FETCH_ALLOW_PRIVATE_HOSTS is deliberately not settable: in AWS it would open the SSRF guard. */
  ingestTuning: Record<string, string>;
  ingestMemoryMb: number;
  ingestTimeoutSeconds: number;
  ingestBatchSize: number;
  ingestMaxConcurrency: number;
  apiThrottle: { rateLimit: number; burstLimit: number };
  apiDomain?: CustomDomain;
  /** The certificate must be in us-east-1 (CloudFront). */
  mediaDomain?: CustomDomain;
  alarmEmail?: string;
  logRetentionDays: number;
  /** MEDIA_GC_GRACE_SECONDS of the media sweeper; at least an ingest timeout plus a sweep's. */
  mediaGcGraceSeconds: number;
  /** A node_modules folder holding sharp for linux-<cpu> (see infra/bundling.ts). */
  sharpModulesDir?: string;
  /** Publish-event subscribers: one EventBridge API destination each (context `webhooks`). */
  webhooks: Webhook[];
  /** Full-text search; undefined when context `search` is false. */
  search?: SearchSettings;
}

export interface Webhook {
  url: string;
  /** Sent with every event (API_KEY auth of the connection); both or neither. */
  headerName?: string;
  headerValue?: string;
}

/** Context `webhooks`: a JSON list (a string with `-c`, or an array in cdk.json) of {url, headerName?, headerValue?}. */
export function readWebhooks(raw: unknown): Webhook[] {
  if (raw === undefined || raw === null || raw === '') return [];
  let list: unknown = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      throw new SettingsError('context webhooks must be a JSON list of {"url": "https://...", "headerName"?, "headerValue"?}');
    }
  }
  if (!Array.isArray(list)) throw new SettingsError('context webhooks must be a list');
  if (list.length > 20) throw new SettingsError(`context webhooks may list at most 20 subscribers, got ${list.length}`);
  return list.map((w: unknown, i) => {
    const o = (w ?? {}) as Record<string, unknown>;
    const url = typeof o.url === 'string' ? o.url : '';
    let ok = false;
    try {
      ok = new URL(url).protocol === 'https:';
    } catch {
      ok = false;
    }
    // API destinations call HTTPS endpoints only.
    if (!ok) throw new SettingsError(`context webhooks[${i}].url must be an https URL, got "${url}"`);
    const headerName = typeof o.headerName === 'string' && o.headerName.trim() ? o.headerName.trim() : undefined;
    const headerValue = typeof o.headerValue === 'string' && o.headerValue ? o.headerValue : undefined;
    if (!headerName !== !headerValue) throw new SettingsError(`context webhooks[${i}]: headerName and headerValue must be given together`);
    if (headerName && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,512}$/.test(headerName)) {
      throw new SettingsError(`context webhooks[${i}].headerName is not an HTTP header name: "${headerName}"`);
    }
    return { url, ...(headerName ? { headerName, headerValue } : {}) };
  });
}

export const DEFAULT_SETTINGS = {
  stage: 'dev',
  architecture: 'x86_64',
  defaultTimezone: 'UTC',
  corsAllowedOrigins: ['*'],
  publicFrontMatterKeys: [] as string[],
  ingestMemoryMb: 1792,
  ingestTimeoutSeconds: 120,
  ingestBatchSize: 5,
  ingestMaxConcurrency: 20,
  apiThrottle: { rateLimit: 50, burstLimit: 100 },
  logRetentionDays: 30,
  search: { minCapacity: 0, maxCapacity: 4, autoPauseMinutes: 10, deletionProtection: false },
} as const satisfies Partial<PipelineSettings>;

/** Context keys for the ingest function's tuning, and the env var each one sets. */
export const INGEST_TUNING_CONTEXT = {
  articleMaxBytes: ENV.ARTICLE_MAX_BYTES,
  imageWidths: ENV.IMAGE_WIDTHS,
  imageFormats: ENV.IMAGE_FORMATS,
  imageMaxBytes: ENV.IMAGE_MAX_BYTES,
  imageMaxPixels: ENV.IMAGE_MAX_PIXELS,
  imageFetchTimeoutMs: ENV.IMAGE_FETCH_TIMEOUT_MS,
  /** Comma list: when set, the only hosts images are fetched from. */
  imageFetchHosts: ENV.IMAGE_FETCH_HOSTS,
} as const;

/** Every context key the app reads. Any other key of ours (no `:`, no `@`) fails synth. */
export const CONTEXT_KEYS = [
  'stage',
  'architecture',
  'defaultTimezone',
  'corsAllowedOrigins',
  ...Object.keys(INGEST_TUNING_CONTEXT),
  'ingestMemoryMb',
  'ingestTimeoutSeconds',
  'ingestBatchSize',
  'ingestMaxConcurrency',
  'apiThrottleRate',
  'apiThrottleBurst',
  'apiDomainName',
  'apiCertificateArn',
  'mediaDomainName',
  'mediaCertificateArn',
  'alarmEmail',
  'logRetentionDays',
  'sharpModulesDir',
  'publicFrontMatterKeys',
  'articleUrlTemplate',
  'mediaGcGraceSeconds',
  'search',
  'searchMinAcu',
  'searchMaxAcu',
  'searchAutoPauseMinutes',
  'searchDeletionProtection',
  'webhooks',
] as const;

/**
 * Context keys the CDK itself and its CLI use: feature flags (`@aws-cdk/…`), the CLI's
 * own (`aws:cdk:…`) and cached lookups (`availability-zones:…`). Ours are plain words.
 */
function isCdkOwnKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':');
}

/** Levenshtein distance, for "did you mean" (keys are short, so the table is tiny). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/** Throws SettingsError for a context key the app does not read (a typo would otherwise be ignored). */
export function checkContextKeys(keys: Iterable<string>): void {
  const known = new Set<string>(CONTEXT_KEYS);
  const unknown = [...keys].filter((k) => !isCdkOwnKey(k) && !known.has(k));
  if (unknown.length === 0) return;
  const hints = unknown.map((k) => {
    const near = CONTEXT_KEYS.map((c) => ({ c, d: distance(k.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0]!;
    return near.d <= Math.max(2, Math.floor(k.length / 4)) ? `"${k}" (did you mean "${near.c}"?)` : `"${k}"`;
  });
  throw new SettingsError(
    `unknown context key${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; the valid keys are: ${CONTEXT_KEYS.join(', ')}`,
  );
}

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  readonly code = 'invalid_context';
}

type Context = (key: string) => unknown;

function text(ctx: Context, key: string): string | undefined {
  const v = ctx(key);
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map(String).join(',');
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function whole(ctx: Context, key: string, fallback: number, min: number, max: number): number {
  const raw = text(ctx, key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new SettingsError(`context ${key} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function domain(ctx: Context, prefix: 'api' | 'media'): CustomDomain | undefined {
  const nameKey = `${prefix}DomainName`;
  const certKey = `${prefix}CertificateArn`;
  const domainName = text(ctx, nameKey)?.toLowerCase();
  const certificateArn = text(ctx, certKey);
  if (!domainName && !certificateArn) return undefined;
  if (!domainName || !certificateArn) {
    throw new SettingsError(`context ${nameKey} and ${certKey} must be given together`);
  }
  if (!DOMAIN.test(domainName)) throw new SettingsError(`context ${nameKey} is not a domain name: "${domainName}"`);
  const m = ACM_ARN.exec(certificateArn);
  if (!m) throw new SettingsError(`context ${certKey} is not an ACM certificate ARN: "${certificateArn}"`);
  if (prefix === 'media' && m[1] !== 'us-east-1') {
    throw new SettingsError(`context ${certKey} must be a certificate in us-east-1 (CloudFront requires it), got region ${m[1]}`);
  }
  return { domainName, certificateArn };
}

/**
 * Reads and validates every setting; throws SettingsError naming the context key. With
 * `getAllContext` (a construct's node), an unknown key fails too, listing the valid ones.
 */
export function readSettings(node: Pick<Node, 'tryGetContext'> & Partial<Pick<Node, 'getAllContext'>>): PipelineSettings {
  const ctx: Context = (key) => node.tryGetContext(key);
  if (node.getAllContext) checkContextKeys(Object.keys(node.getAllContext()));

  const stage = text(ctx, 'stage') ?? DEFAULT_SETTINGS.stage;
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    throw new SettingsError(`context stage must be lower-case letters, digits and dashes (at most 20), got "${stage}"`);
  }

  const architecture = text(ctx, 'architecture') ?? DEFAULT_SETTINGS.architecture;
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw new SettingsError(`context architecture must be x86_64 or arm64, got "${architecture}"`);
  }

  const corsAllowedOrigins = (text(ctx, 'corsAllowedOrigins') ?? '*')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsAllowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new SettingsError(`context corsAllowedOrigins entries must be "*" or scheme://host[:port], got "${origin}"`);
    }
  }

  const publicKeysText = text(ctx, 'publicFrontMatterKeys') ?? '';
  let publicFrontMatterKeys: string[];
  try {
    publicFrontMatterKeys = loadConfig({ [ENV.PUBLIC_FRONT_MATTER_KEYS]: publicKeysText, [ENV.MEDIA_BASE_URL]: 'https://media.invalid' }).publicFrontMatterKeys;
  } catch (err) {
    throw new SettingsError(`invalid CDK context: ${(err as Error).message}`);
  }

  const ingestTuning: Record<string, string> = {};
  for (const [key, envName] of Object.entries(INGEST_TUNING_CONTEXT)) {
    const v = text(ctx, key);
    if (v !== undefined) ingestTuning[envName] = v;
  }
  const defaultTimezone = text(ctx, 'defaultTimezone') ?? DEFAULT_SETTINGS.defaultTimezone;
  const articleUrlTemplate = text(ctx, 'articleUrlTemplate');
  try {
    // The placeholder URL stands in for the CDN domain, unknown until deploy.
    loadConfig({
      ...ingestTuning,
      [ENV.DEFAULT_TIMEZONE]: defaultTimezone,
      [ENV.MEDIA_BASE_URL]: 'https://media.invalid',
      ...(articleUrlTemplate ? { [ENV.ARTICLE_URL_TEMPLATE]: articleUrlTemplate } : {}),
    });
  } catch (err) {
    throw new SettingsError(`invalid CDK context: ${(err as Error).message}`);
  }

  const logRetentionDays = whole(ctx, 'logRetentionDays', DEFAULT_SETTINGS.logRetentionDays, 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new SettingsError(`context logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }

  const alarmEmail = text(ctx, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new SettingsError(`context alarmEmail is not an e-mail address: "${alarmEmail}"`);
  }

  const searchOn = (text(ctx, 'search') ?? 'true').toLowerCase();
  if (searchOn !== 'true' && searchOn !== 'false') throw new SettingsError(`context search must be true or false, got "${searchOn}"`);
  let search: SearchSettings | undefined;
  if (searchOn === 'true') {
    const d = DEFAULT_SETTINGS.search;
    const capacity = (key: string, fallback: number) => {
      const raw = text(ctx, key);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      // Serverless v2 capacity: 0 to 256 ACUs in steps of 0.5.
      if (!/^\d+(\.[05])?$/.test(raw) || n > 256) throw new SettingsError(`context ${key} must be 0 to 256 ACUs in steps of 0.5, got "${raw}"`);
      return n;
    };
    const minCapacity = capacity('searchMinAcu', d.minCapacity);
    const maxCapacity = capacity('searchMaxAcu', d.maxCapacity);
    if (maxCapacity < Math.max(minCapacity, 1)) throw new SettingsError(`context searchMaxAcu must be at least 1 and at least searchMinAcu, got ${maxCapacity}`);
    const protect = (text(ctx, 'searchDeletionProtection') ?? String(d.deletionProtection)).toLowerCase();
    if (protect !== 'true' && protect !== 'false') throw new SettingsError(`context searchDeletionProtection must be true or false, got "${protect}"`);
    search = {
      minCapacity,
      maxCapacity,
      autoPauseMinutes: whole(ctx, 'searchAutoPauseMinutes', d.autoPauseMinutes, 5, 1440),
      deletionProtection: protect === 'true',
    };
  }

  const rateLimit = whole(ctx, 'apiThrottleRate', DEFAULT_SETTINGS.apiThrottle.rateLimit, 1, 10_000);
  const burstLimit = whole(ctx, 'apiThrottleBurst', DEFAULT_SETTINGS.apiThrottle.burstLimit, 1, 5_000);

  const ingestTimeoutSeconds = whole(ctx, 'ingestTimeoutSeconds', DEFAULT_SETTINGS.ingestTimeoutSeconds, 10, 900);
  // Shorter, and a sweep could take an image or body an event is still working with
  // (docs/reliability.md, "Nothing left behind").
  const mediaGcGraceSeconds = whole(
    ctx,
    'mediaGcGraceSeconds',
    DEFAULT_MEDIA_GC_GRACE_SECONDS,
    ingestTimeoutSeconds + MEDIA_GC_MAX_SECONDS,
    3650 * 86_400,
  );

  return {
    stage,
    architecture,
    defaultTimezone,
    corsAllowedOrigins,
    publicFrontMatterKeys,
    articleUrlTemplate,
    ingestTuning,
    // sharp wants a full vCPU (1769 MB); Lambda allows 128..10240.
    ingestMemoryMb: whole(ctx, 'ingestMemoryMb', DEFAULT_SETTINGS.ingestMemoryMb, 128, 10_240),
    // The queue's visibility timeout is 6x this (at most 12 h, the SQS limit).
    ingestTimeoutSeconds,
    mediaGcGraceSeconds,
    // With a batching window, SQS event sources take batches of up to 10 000; kept small
    // because one Lambda works through a batch within one timeout.
    ingestBatchSize: whole(ctx, 'ingestBatchSize', DEFAULT_SETTINGS.ingestBatchSize, 1, 100),
    // SQS event sources accept a maximum concurrency from 2 to 1000.
    ingestMaxConcurrency: whole(ctx, 'ingestMaxConcurrency', DEFAULT_SETTINGS.ingestMaxConcurrency, 2, 1000),
    apiThrottle: { rateLimit, burstLimit },
    apiDomain: domain(ctx, 'api'),
    mediaDomain: domain(ctx, 'media'),
    alarmEmail,
    logRetentionDays,
    sharpModulesDir: text(ctx, 'sharpModulesDir'),
    webhooks: readWebhooks(ctx('webhooks')),
    search,
  };
}
