/**
 * Every environment variable, read and validated once at start-up. A bad value fails
 * fast with a ConfigError naming the variable, instead of surfacing mid-request.
 */
import * as z from 'zod';
import { ConfigError } from './core/errors';
import { DEFAULTS, ENV } from './definitions';

type Env = Record<string, string | undefined>;

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
  /** Set only when talking to emulators (the local stack, tests). */
  s3Endpoint: string | undefined;
  dynamodbEndpoint: string | undefined;
}

/**
 * Each variable's text becomes a value through one zod schema: blank counts as unset, then
 * the fallback applies. The messages name the variable and quote the bad value.
 */
type Setting<T> = z.ZodType<T, string | undefined>;

/** Trimmed text; blank or missing is `fallback` (required when there is none). */
function text(name: string, fallback?: string): Setting<string> {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const v = raw?.trim();
      if (v) return v;
      if (fallback !== undefined) return fallback;
      ctx.addIssue({ code: 'custom', message: `${name} is required but not set` });
      return z.NEVER;
    });
}

function optionalText(name: string): Setting<string | undefined> {
  return text(name, '').transform((v) => v || undefined);
}

function int(name: string, fallback: number, min: number, max: number): Setting<number> {
  return text(name, String(fallback))
    .pipe(z.string().regex(/^\d+$/, { error: (iss) => `${name} must be a whole number, got "${iss.input}"` }))
    .transform(Number)
    .pipe(z.number().refine((n) => n >= min && n <= max, { error: (iss) => `${name} must be between ${min} and ${max}, got ${iss.input}` }));
}

/** A comma list, each entry checked by `item` (a schema whose messages name the variable). */
function list<T = string>(name: string, fallback: string, item: z.ZodType<T, string> = z.string() as never): Setting<T[]> {
  return text(name, fallback).transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)).pipe(z.array(item));
}

/** An http(s) URL without its trailing slashes. */
function httpUrl(name: string): z.ZodType<string, string> {
  return z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { error: (iss) => `${name} must be an http(s) URL, got "${iss.input}"` })
    .transform((v) => v.replace(/\/+$/, ''));
}

const oneOf = <T extends string>(values: readonly T[], error: (got: string) => string) =>
  z.string().transform((v, ctx) => {
    const lower = v.toLowerCase() as T;
    if (values.includes(lower)) return lower;
    ctx.addIssue({ code: 'custom', message: error(v) });
    return z.NEVER;
  });

/** The environment, one line per variable. */
const ENV_SCHEMA = z.object({
  [ENV.INCOMING_BUCKET]: text(ENV.INCOMING_BUCKET, DEFAULTS.incomingBucket),
  [ENV.MEDIA_BUCKET]: text(ENV.MEDIA_BUCKET, DEFAULTS.mediaBucket),
  [ENV.TABLE_NAME]: text(ENV.TABLE_NAME, DEFAULTS.tableName),
  [ENV.S3_ENDPOINT]: optionalText(ENV.S3_ENDPOINT).pipe(httpUrl(ENV.S3_ENDPOINT).optional()),
  [ENV.DYNAMODB_ENDPOINT]: optionalText(ENV.DYNAMODB_ENDPOINT).pipe(httpUrl(ENV.DYNAMODB_ENDPOINT).optional()),
  // Required unless S3_ENDPOINT is set (loadConfig fills it in then).
  [ENV.MEDIA_BASE_URL]: optionalText(ENV.MEDIA_BASE_URL).pipe(httpUrl(ENV.MEDIA_BASE_URL).optional()),
  [ENV.DEFAULT_TIMEZONE]: text(ENV.DEFAULT_TIMEZONE, 'UTC').refine(isValidTimeZone, {
    error: (iss) => `${ENV.DEFAULT_TIMEZONE} must be an IANA time zone such as "Asia/Shanghai", got "${iss.input}"`,
  }),
  [ENV.ARTICLE_MAX_BYTES]: int(ENV.ARTICLE_MAX_BYTES, 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  [ENV.IMAGE_WIDTHS]: list(ENV.IMAGE_WIDTHS, '320,640,960,1280,1920', z.string().refine((w) => /^\d+$/.test(w) && Number(w) >= 16 && Number(w) <= 8192, {
    error: (iss) => `${ENV.IMAGE_WIDTHS} must be a comma list of widths from 16 to 8192, got "${iss.input}"`,
  }).transform(Number)),
  [ENV.IMAGE_FORMATS]: list(ENV.IMAGE_FORMATS, 'webp', oneOf(['webp', 'avif'] as const, (f) => `${ENV.IMAGE_FORMATS} may list only webp and avif, got "${f}"`)),
  [ENV.IMAGE_MAX_BYTES]: int(ENV.IMAGE_MAX_BYTES, 26_214_400, 1, 1024 * 1024 * 1024),
  [ENV.IMAGE_MAX_PIXELS]: int(ENV.IMAGE_MAX_PIXELS, 100_000_000, 1, 1_000_000_000),
  [ENV.IMAGE_FETCH_TIMEOUT_MS]: int(ENV.IMAGE_FETCH_TIMEOUT_MS, 10_000, 1, 15 * 60 * 1000),
  [ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS]: list(ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS, '', z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, {
    error: (iss) => `${ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS} entries must be host:port, got "${iss.input}"`,
  }).transform((h) => h.toLowerCase())),
  [ENV.IMAGE_FETCH_HOSTS]: list(ENV.IMAGE_FETCH_HOSTS, '', z.string().transform((h) => h.toLowerCase())),
  [ENV.CURSOR_SECRET]: optionalText(ENV.CURSOR_SECRET),
  [ENV.CORS_ALLOWED_ORIGINS]: list(ENV.CORS_ALLOWED_ORIGINS, '*'),
});

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

export function loadConfig(env: Env = process.env): Config {
  const parsed = ENV_SCHEMA.safeParse(env);
  // The first problem, in the order above, as one ConfigError naming the variable.
  if (!parsed.success) throw new ConfigError(parsed.error.issues[0]!.message);
  const e = parsed.data;
  const s3Endpoint = e[ENV.S3_ENDPOINT];
  // Locally the media bucket is served by the S3 emulator itself.
  const mediaBaseUrl = e[ENV.MEDIA_BASE_URL] ?? (s3Endpoint ? `${s3Endpoint}/${e[ENV.MEDIA_BUCKET]}` : undefined);
  if (!mediaBaseUrl) throw new ConfigError(`${ENV.MEDIA_BASE_URL} is required but not set`);
  return {
    incomingBucket: e[ENV.INCOMING_BUCKET],
    mediaBucket: e[ENV.MEDIA_BUCKET],
    tableName: e[ENV.TABLE_NAME],
    mediaBaseUrl,
    defaultTimezone: e[ENV.DEFAULT_TIMEZONE],
    articleMaxBytes: e[ENV.ARTICLE_MAX_BYTES],
    image: {
      widths: [...new Set(e[ENV.IMAGE_WIDTHS])].sort((a, b) => a - b),
      formats: [...new Set(e[ENV.IMAGE_FORMATS])],
      maxBytes: e[ENV.IMAGE_MAX_BYTES],
      maxPixels: e[ENV.IMAGE_MAX_PIXELS],
      fetchTimeoutMs: e[ENV.IMAGE_FETCH_TIMEOUT_MS],
      allowPrivateHosts: e[ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS],
      onlyHosts: e[ENV.IMAGE_FETCH_HOSTS],
    },
    // Only the query API signs cursors; it checks this is set (api/handler.ts). A random
    // per-process secret would break cursors across Lambda instances, so none is invented.
    cursorSecret: e[ENV.CURSOR_SECRET],
    corsAllowedOrigins: e[ENV.CORS_ALLOWED_ORIGINS],
    s3Endpoint,
    dynamodbEndpoint: e[ENV.DYNAMODB_ENDPOINT],
  };
}
