/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`) and
 * validated at synth time, so a typo fails `cdk synth` instead of a Lambda cold start.
 * The function-level values (IMAGE_*, ARTICLE_MAX_BYTES, DEFAULT_TIMEZONE) are checked by
 * the functions' own loadConfig, so infra and runtime accept exactly the same values.
 */
import type { Node } from 'constructs';
import { loadConfig } from '../functions/config';
import { ENV } from '../functions/definitions';

export type LambdaArchitecture = 'x86_64' | 'arm64';

export interface CustomDomain {
  domainName: string;
  certificateArn: string;
}

export interface PipelineSettings {
  /** Part of the stack name: `ArticlePipeline-<stage>`. */
  stage: string;
  architecture: LambdaArchitecture;
  defaultTimezone: string;
  corsAllowedOrigins: string[];
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
  /** A node_modules folder holding sharp for linux-<cpu> (see infra/bundling.ts). */
  sharpModulesDir?: string;
  /** Publish-event subscribers: one EventBridge API destination each (context `webhooks`). */
  webhooks: Webhook[];
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
  ingestMemoryMb: 1792,
  ingestTimeoutSeconds: 120,
  ingestBatchSize: 5,
  ingestMaxConcurrency: 20,
  apiThrottle: { rateLimit: 50, burstLimit: 100 },
  logRetentionDays: 30,
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

/** Reads and validates every setting; throws SettingsError naming the context key. */
export function readSettings(node: Pick<Node, 'tryGetContext'>): PipelineSettings {
  const ctx: Context = (key) => node.tryGetContext(key);

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

  const ingestTuning: Record<string, string> = {};
  for (const [key, envName] of Object.entries(INGEST_TUNING_CONTEXT)) {
    const v = text(ctx, key);
    if (v !== undefined) ingestTuning[envName] = v;
  }
  const defaultTimezone = text(ctx, 'defaultTimezone') ?? DEFAULT_SETTINGS.defaultTimezone;
  try {
    // The placeholder URL stands in for the CDN domain, unknown until deploy.
    loadConfig({ ...ingestTuning, [ENV.DEFAULT_TIMEZONE]: defaultTimezone, [ENV.MEDIA_BASE_URL]: 'https://media.invalid' });
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

  const rateLimit = whole(ctx, 'apiThrottleRate', DEFAULT_SETTINGS.apiThrottle.rateLimit, 1, 10_000);
  const burstLimit = whole(ctx, 'apiThrottleBurst', DEFAULT_SETTINGS.apiThrottle.burstLimit, 1, 5_000);

  return {
    stage,
    architecture,
    defaultTimezone,
    corsAllowedOrigins,
    ingestTuning,
    // sharp wants a full vCPU (1769 MB); Lambda allows 128..10240.
    ingestMemoryMb: whole(ctx, 'ingestMemoryMb', DEFAULT_SETTINGS.ingestMemoryMb, 128, 10_240),
    // The queue's visibility timeout is 6x this (at most 12 h, the SQS limit).
    ingestTimeoutSeconds: whole(ctx, 'ingestTimeoutSeconds', DEFAULT_SETTINGS.ingestTimeoutSeconds, 10, 900),
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
  };
}
