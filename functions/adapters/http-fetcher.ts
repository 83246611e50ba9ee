/**
 * Downloads images from URLs strangers wrote, without letting them reach our own network
 * (SSRF). The address check happens inside the connector, on the very address the socket
 * is opened to, so a name that resolves differently the second time (DNS rebinding) gains
 * nothing. Redirects are followed by hand so every hop is checked again.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { ImageError } from '../core/errors';
import { sniffImageType } from '../core/sniff';
import { classifyHost, isForbiddenAddress } from '../core/ssrf';
import type { FetchedImage, ImageFetcher } from '../ports';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has (like `dns.lookup(name, { all: true })`). */
export type LookupFn = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** Opens a socket; receives an already checked IP address as `hostname`. */
export type SocketConnector = buildConnector.connector;

export interface HttpFetcherOptions {
  maxBytes: number;
  /** Bounds the whole download: every redirect, the retry and the body. */
  timeoutMs: number;
  /** `host:port` pairs that may use any port and resolve to loopback/private addresses. */
  allowPrivateHosts: string[];
  /**
   * When not empty, only these host names (and the allowPrivateHosts) are fetched at all:
   * IMAGE_FETCH_HOSTS, for deployments that re-host from known origins only, and for test
   * stacks that must never resolve an outside name.
   */
  onlyHosts?: string[];
  lookup?: LookupFn;
  userAgent?: string;
  /** Pause before the single retry of a 5xx or a dropped connection. */
  retryDelayMs?: number;
  /** Test seam: the raw connector, after the guard. Defaults to undici's. */
  connector?: SocketConnector;
}

export interface HttpImageFetcher extends ImageFetcher {
  /** Waits for open requests, then closes pooled connections. */
  close(): Promise<void>;
  /** Aborts everything at once. */
  destroy(): Promise<void>;
}

export const DEFAULT_USER_AGENT = 'article-pipeline/0.1 (+image re-hosting)';
const ACCEPT = 'image/avif,image/webp,image/*;q=0.8';
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ALLOWED_PORTS = new Set([80, 443]);

const defaultLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Raised inside the connector; carried through undici to the caller unchanged. */
function blocked(what: string): ImageError {
  return new ImageError('image_blocked_address', `refusing to connect to ${what}: not a public address`);
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** `host:port` in the spelling `new URL()` gives, so "127.1:80" and "127.0.0.1:80" match. */
function canonicalHostPort(entry: string): string {
  try {
    const u = new URL(`http://${entry}`);
    return `${u.hostname}:${u.port || '80'}`;
  } catch {
    return entry.toLowerCase();
  }
}

function hostKey(hostname: string, port: number): string {
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `${host.toLowerCase()}:${port}`;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  if (Array.isArray(v)) return v[0] ?? null;
  return v ?? null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Drops a response body we will not read; destroying it emits an error nobody needs. */
function discard(body: NodeJS.ReadableStream & { destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

/** Errors worth one more try: the origin or the path to it hiccuped. */
class TransientError extends Error {
  override readonly name = 'TransientError';
}

function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** Names the failure without echoing a raw message (which may carry internal detail). */
function networkErrorMessage(err: unknown): string {
  const code = errorCode(err);
  return code ? `connection failed (${code})` : 'connection failed';
}

export function createHttpFetcher(opts: HttpFetcherOptions): HttpImageFetcher {
  const lookup = opts.lookup ?? defaultLookup;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  const retryDelayMs = opts.retryDelayMs ?? 200;
  const allowed = new Set(opts.allowPrivateHosts.map(canonicalHostPort));
  const onlyHosts = new Set((opts.onlyHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));
  const rawConnect = opts.connector ?? buildConnector({ timeout: opts.timeoutMs });

  /** Resolves, checks every answer, and returns the one address to connect to. */
  async function checkedAddress(hostname: string, port: number): Promise<string> {
    const isAllowed = allowed.has(hostKey(hostname, port));
    if (!isAllowed && !ALLOWED_PORTS.has(port)) throw blocked(`port ${port}`);
    if (isIP(hostname)) {
      if (!isAllowed && isForbiddenAddress(hostname)) throw blocked(hostname);
      return hostname;
    }
    let answers: readonly ResolvedAddress[];
    try {
      answers = await lookup(hostname);
    } catch (err) {
      const code = errorCode(err);
      throw new ImageError('image_fetch_failed', `cannot resolve ${hostname}${code ? ` (${code})` : ''}`);
    }
    if (answers.length === 0) throw new ImageError('image_fetch_failed', `cannot resolve ${hostname}`);
    if (!isAllowed) {
      // One private answer is enough to refuse: which one the socket gets is not ours to pick.
      // The address itself stays out of the message, which ends up in a public warning.
      if (answers.some((a) => isForbiddenAddress(a.address))) throw blocked(hostname);
    }
    return answers[0]!.address;
  }

  const guardedConnect: SocketConnector = (connectOpts, callback) => {
    const port = Number(connectOpts.port) || defaultPort(connectOpts.protocol);
    checkedAddress(connectOpts.hostname, port).then(
      (address) => {
        // Connect to the checked address itself; TLS still verifies the certificate
        // against the name (servername), and the Host header is unchanged.
        const servername = isIP(connectOpts.hostname) ? connectOpts.servername : connectOpts.hostname;
        rawConnect({ ...connectOpts, hostname: address, servername }, callback);
      },
      (err: Error) => callback(err, null),
    );
  };

  const agent = new Agent({
    connect: guardedConnect,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });

  /** Scheme, credentials, port and literal address; names are checked again at connect time. */
  function validateUrl(raw: string | URL): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ImageError('image_unsupported_url', 'not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImageError('image_unsupported_url', `the ${url.protocol} scheme is not fetched; only http and https are`);
    }
    if (url.username || url.password) {
      throw new ImageError('image_unsupported_url', 'URLs with a user name or password are not fetched');
    }
    const port = url.port ? Number(url.port) : defaultPort(url.protocol);
    const isAllowed = allowed.has(hostKey(url.hostname, port));
    const host = classifyHost(url.hostname);
    if (host.kind === 'invalid') throw new ImageError('image_unsupported_url', 'the URL has an invalid host');
    if (isAllowed) return url;
    if (onlyHosts.size && !onlyHosts.has(url.hostname.toLowerCase())) {
      throw new ImageError('image_blocked_address', `${url.hostname} is not among the hosts images may be fetched from (IMAGE_FETCH_HOSTS)`);
    }
    if (!ALLOWED_PORTS.has(port)) throw blocked(`port ${port}`);
    if (host.forbidden) throw blocked(url.hostname);
    return url;
  }

  /** One request, no redirects followed. Returns the body for 2xx, the next URL for 3xx. */
  async function fetchOnce(url: URL, signal: AbortSignal): Promise<{ next: URL } | { image: FetchedImage }> {
    let res;
    try {
      res = await request(url, {
        dispatcher: agent,
        method: 'GET',
        signal,
        // No Referer: the article's location is none of the origin's business.
        headers: { 'user-agent': userAgent, accept: ACCEPT },
      });
    } catch (err) {
      if (err instanceof ImageError || signal.aborted) throw err;
      throw new TransientError(networkErrorMessage(err));
    }
    const { statusCode, headers, body } = res;

    if (REDIRECT_STATUSES.has(statusCode)) {
      discard(body);
      const location = header(headers, 'location');
      if (!location) throw new ImageError('image_fetch_failed', `redirect ${statusCode} without a Location`);
      try {
        return { next: new URL(location, url) };
      } catch {
        throw new ImageError('image_unsupported_url', 'the redirect points to an invalid URL');
      }
    }
    if (statusCode < 200 || statusCode > 299) {
      discard(body);
      if (statusCode === 404 || statusCode === 410) throw new ImageError('image_not_found', `the image is gone (HTTP ${statusCode})`);
      if (statusCode >= 500) throw new TransientError(`the origin answered HTTP ${statusCode}`);
      throw new ImageError('image_fetch_failed', `the origin answered HTTP ${statusCode}`);
    }

    const declared = Number(header(headers, 'content-length'));
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(body);
      throw tooLarge();
    }

    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        // The declared length is a claim; count what actually arrives.
        if (size > opts.maxBytes) {
          discard(body);
          throw tooLarge();
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof ImageError || signal.aborted) throw err;
      throw new TransientError(`the download broke off: ${networkErrorMessage(err)}`);
    }
    const bytes = Buffer.concat(chunks, size);
    return {
      image: { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), finalUrl: url.href, contentType: header(headers, 'content-type') },
    };
  }

  function tooLarge(): ImageError {
    return new ImageError('image_too_large', `the image is larger than ${opts.maxBytes} bytes`);
  }

  async function download(startUrl: string, signal: AbortSignal, deadline: number): Promise<FetchedImage> {
    let url = validateUrl(startUrl);
    let redirects = 0;
    let retried = false;
    for (;;) {
      let outcome;
      try {
        outcome = await fetchOnce(url, signal);
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        const timeLeft = deadline - Date.now();
        if (retried || timeLeft < retryDelayMs * 2) throw new ImageError('image_fetch_failed', err.message);
        retried = true;
        await sleep(retryDelayMs, signal);
        continue;
      }
      if ('image' in outcome) return outcome.image;
      redirects++;
      if (redirects > MAX_REDIRECTS) throw new ImageError('image_fetch_failed', 'too many redirects');
      url = validateUrl(outcome.next);
    }
  }

  return {
    async fetch(url, fetchOpts) {
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = fetchOpts?.signal ? AbortSignal.any([timeout, fetchOpts.signal]) : timeout;
      const deadline = Date.now() + opts.timeoutMs;
      let image: FetchedImage;
      try {
        image = await download(url, signal, deadline);
      } catch (err) {
        if (err instanceof ImageError) throw err;
        if (timeout.aborted) throw new ImageError('image_timeout', `the download took longer than ${opts.timeoutMs} ms`);
        if (signal.aborted) throw new ImageError('image_fetch_failed', 'the download was cancelled');
        throw new ImageError('image_fetch_failed', networkErrorMessage(err));
      }
      if (!sniffImageType(image.bytes)) {
        throw new ImageError('image_not_an_image', 'the URL did not return an image');
      }
      return image;
    },
    close: () => agent.close(),
    destroy: () => agent.destroy(),
  };
}
