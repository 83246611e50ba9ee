/**
 * One signed AWS request over `fetch`, with the SDK's retry rules: what the query API uses
 * instead of the AWS SDK (DynamoDB reads, S3 body reads, Data API search).
 *
 * Why (measured, bench/bundle.ts; docs/performance.md "Cold start"): the SDK clients cost
 * the API ~75 ms of every cold start for DynamoDB alone, and ~50 ms more only by being in
 * the bundle for the routes that load S3 or the Data API lazily; aws4fetch (SigV4 over
 * WebCrypto, 7 kB) and this file cost ~3 ms. Each protocol's requests are checked against
 * the SDK's own on the same inputs (test/unit/aws-http.test.ts) and run against the
 * emulators (DynamoDB Local, s3rver, the Data API stand-in) in the integration tests.
 *
 * The SDK's behaviour kept:
 * - credentials and region from the environment, as Lambda sets them (config.ts);
 * - retries of throttling, 5xx, reset connections and timeouts, with full jitter, up to
 *   `maxAttempts`; any other error is thrown at once;
 * - a time limit per attempt, so a lost answer is retried rather than waited on;
 * - errors named as the SDK names them (`ResourceNotFoundException`, ...), with
 *   `$metadata.httpStatusCode`, `requestId` and `attempts`.
 */
import { AwsClient } from 'aws4fetch';
import { backoffDelay, sleep, type Backoff } from '../core/backoff';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsHttpOptions {
  region: string;
  /**
   * Lambda's (config.ts `lambdaCredentials`), or a provider for tools run by a person: an
   * SDK client's `config.credentials` (profiles, SSO), asked before every request.
   */
  credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** The signing name: `dynamodb`, `s3`, `rds-data`. */
  service: string;
  maxAttempts?: number;
  attemptTimeoutMs?: number;
  /** Full jitter between attempts (core/backoff.ts). */
  backoff?: Backoff;
  fetch?: typeof fetch;
  random?: () => number;
}

/** Names the SDK treats as throttling (and retries), over every service. */
const THROTTLES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'Throttling',
]);

export class AwsHttpError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly $metadata: { httpStatusCode?: number; requestId?: string; attempts: number },
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * The exception's name and message from an error answer, as the SDK reads them: the
 * `x-amzn-errortype` header (REST-JSON), `__type` or `code` in a JSON body (DynamoDB's
 * `com.amazonaws.dynamodb.v20120810#Name`), `<Code>` in an XML body (S3).
 */
export function errorOf(status: number, headers: Headers, text: string): { name: string; message: string } {
  let name = headers.get('x-amzn-errortype') ?? '';
  let message = '';
  try {
    const body = JSON.parse(text) as { __type?: string; code?: string; message?: string; Message?: string };
    name ||= body.__type ?? body.code ?? '';
    message = body.message ?? body.Message ?? '';
  } catch {
    name ||= /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
    message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
  }
  // `Name:http://internal.amazon.com/...` (header) and `namespace#Name` (body) both mean Name.
  name = name.split(':')[0]!.split('#').pop()!.trim();
  return { name: name || (status >= 500 ? 'InternalServerError' : `Http${status}`), message: message || `answered HTTP ${status}` };
}

export type AwsSend = (
  url: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  /** True for an answer the caller handles itself (e.g. S3's 404), instead of an error. */
  accept?: (status: number) => boolean,
) => Promise<{ status: number; text: string; headers: Headers }>;

/** A signed, retried request function for one service. */
export function createAwsSend(o: AwsHttpOptions): AwsSend {
  let signer: { creds: AwsCredentials; client: AwsClient } | undefined;
  const signerFor = async () => {
    const creds = typeof o.credentials === 'function' ? await o.credentials() : o.credentials;
    if (signer?.creds !== creds) {
      const { accessKeyId, secretAccessKey, sessionToken } = creds;
      signer = { creds, client: new AwsClient({ accessKeyId, secretAccessKey, sessionToken, service: o.service, region: o.region, retries: 0 }) };
    }
    return signer.client;
  };
  const maxAttempts = o.maxAttempts ?? 5;
  const timeoutMs = o.attemptTimeoutMs ?? 5_000;
  const backoff = o.backoff ?? { baseMs: 50, capMs: 1_000 };
  const doFetch = o.fetch ?? fetch;
  const random = o.random ?? Math.random;

  return async (url, init, accept) => {
    for (let attempt = 1; ; attempt++) {
      let err: AwsHttpError;
      try {
        const req = await (await signerFor()).sign(url, init);
        const res = await doFetch(req, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.ok || accept?.(res.status)) return { status: res.status, text, headers: res.headers };
        const { name, message } = errorOf(res.status, res.headers, text);
        const requestId = res.headers.get('x-amzn-requestid') ?? res.headers.get('x-amz-request-id') ?? undefined;
        const retryable = res.status >= 500 || res.status === 429 || THROTTLES.has(name);
        err = new AwsHttpError(name, message, { httpStatusCode: res.status, requestId, attempts: attempt }, retryable);
      } catch (e) {
        if (e instanceof AwsHttpError) throw e;
        // fetch's TypeError (refused, reset, DNS) or the attempt's timeout: no answer, ask again.
        const name = (e as Error)?.name === 'TimeoutError' ? 'TimeoutError' : 'NetworkError';
        err = new AwsHttpError(name, `${o.service} ${url}: ${(e as Error)?.message ?? e}`, { attempts: attempt }, true);
      }
      if (!err.retryable || attempt >= maxAttempts) throw err;
      await sleep(backoffDelay(attempt, backoff, random));
    }
  };
}
