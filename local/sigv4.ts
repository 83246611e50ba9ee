/**
 * AWS SigV4 for the operator routes (`/admin/*`), on the AWS SDK's own signer
 * (@smithy/signature-v4): no hand-written crypto.
 *
 * - `signedFetch`: what an operator's tool sends (scripts, tests, the local viewer's
 *   operator proxy). In AWS it needs the caller's IAM credentials; locally the key pair.
 * - `verifySigV4`: what the local stack does in place of API Gateway's IAM authorization.
 *   It recomputes the signature from the request as received (the headers the client
 *   says it signed, the path, the query) with the local secret, compares the two in
 *   constant time, and refuses a date more than 5 minutes off (API Gateway's window).
 */
import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULTS } from '../functions/definitions';

export interface SigningKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export const SERVICE = 'execute-api';
/** How far the signed date may be from now, either way (what API Gateway allows). */
export const MAX_SKEW_MS = 5 * 60 * 1000;

/** The local stack's key pair (the same as s3rver's). */
export const LOCAL_KEY: SigningKey = {
  accessKeyId: DEFAULTS.localAccessKeyId,
  secretAccessKey: DEFAULTS.localSecretAccessKey,
  region: DEFAULTS.localRegion,
};

function signer(key: SigningKey): SignatureV4 {
  return new SignatureV4({
    service: SERVICE,
    region: key.region,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken },
    sha256: Sha256,
    // API Gateway does not need x-amz-content-sha256; adding it would only be one more header to sign.
    applyChecksum: false,
  });
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** The headers of a GET signed for `url` (service execute-api). */
export async function signedHeaders(url: string | URL, key: SigningKey = LOCAL_KEY, opts: { method?: string; date?: Date } = {}): Promise<Record<string, string>> {
  const u = new URL(url);
  const signed = await signer(key).sign(
    {
      method: opts.method ?? 'GET',
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      path: u.pathname,
      query: queryRecord(u.searchParams),
      headers: { host: u.host },
    },
    { signingDate: opts.date },
  );
  return signed.headers as Record<string, string>;
}

/** fetch() with a SigV4 signature (GET and HEAD: the operator routes take no body). */
export async function signedFetch(url: string | URL, init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; key?: SigningKey; signal?: AbortSignal } = {}): Promise<Response> {
  const headers = await signedHeaders(url, init.key ?? LOCAL_KEY, { method: init.method });
  // fetch sets Host itself, to the same value.
  const { host: _host, ...rest } = headers;
  return fetch(url, { method: init.method ?? 'GET', headers: { ...init.headers, ...rest }, signal: init.signal });
}

export interface IncomingSigned {
  method: string;
  /** The path exactly as received (still percent-encoded). */
  rawPath: string;
  rawQuery: string;
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | undefined>;
  body: Uint8Array;
}

export type Verdict = { ok: true; accessKey: string } | { ok: false; reason: string };

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export async function verifySigV4(req: IncomingSigned, key: SigningKey = LOCAL_KEY, now = Date.now()): Promise<Verdict> {
  const auth = req.headers.authorization;
  if (!auth) return { ok: false, reason: 'the request is not signed (no Authorization header)' };
  const m = AUTH.exec(auth.trim());
  if (!m) return { ok: false, reason: 'the Authorization header is not an AWS4-HMAC-SHA256 signature' };
  const [, accessKey, day, region, service, signedList, signature] = m as unknown as string[];
  if (accessKey !== key.accessKeyId) return { ok: false, reason: 'the signing key is not one this API knows' };
  if (region !== key.region || service !== SERVICE) {
    return { ok: false, reason: `the credential scope must be ${key.region}/${SERVICE}, got ${region}/${service}` };
  }
  const amzDate = req.headers['x-amz-date'];
  const d = amzDate ? AMZ_DATE.exec(amzDate) : null;
  if (!d) return { ok: false, reason: 'the signed request needs an X-Amz-Date header (YYYYMMDDTHHMMSSZ)' };
  const date = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  if (Number.isNaN(date.getTime()) || amzDate!.slice(0, 8) !== day) return { ok: false, reason: 'X-Amz-Date does not match the credential scope' };
  if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) return { ok: false, reason: 'the signature has expired (or is dated in the future): sign again' };

  const names = signedList!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { ok: false, reason: 'the signature must cover the host and x-amz-date headers' };
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) return { ok: false, reason: `the signed header ${name} is missing` };
    headers[name] = value;
  }
  let expected: string;
  try {
    const signed = await signer(key).sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname: headers.host!,
        path: req.rawPath,
        query: queryRecord(new URLSearchParams(req.rawQuery)),
        headers,
        body: req.body.length ? req.body : undefined,
      },
      { signingDate: date, signableHeaders: new Set(names) },
    );
    expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  } catch {
    return { ok: false, reason: 'the request cannot be canonicalized for SigV4' };
  }
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(signature!, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return { ok: false, reason: 'the signature does not match: check the key pair, region us-east-1 and service execute-api' };
  }
  return { ok: true, accessKey: accessKey! };
}
