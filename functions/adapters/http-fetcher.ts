/**
 * Downloads images from URLs strangers wrote, without letting them reach our own network
 * (SSRF). Built on node:http/node:https (undici alone would double the Lambda bundle).
 *
 * The address check sits where sockets are born: each agent's `createConnection` refuses
 * literal addresses and ports outright, and hands net/tls a `lookup` that resolves the
 * name, checks EVERY answer and only then gives the answers to the socket. Each new
 * connection runs that lookup again, so a name that resolves differently the second time
 * (DNS rebinding) gains nothing. Redirects are followed by hand so every hop is checked
 * again, and never from https to http.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
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

export interface SocketConnectOptions {
  /** The URL's host name, or a literal address that has already been checked. */
  host: string;
  port: number;
  /** TLS server name (SNI, and the name the certificate must match); unset for literal addresses. */
  servername?: string;
  tls: boolean;
  /**
   * The guarded lookup: resolves `host`, refuses if any answer is forbidden, and hands back
   * only checked addresses. Whatever opens the socket must resolve through it.
   */
  lookup: net.LookupFunction;
}

/** Opens a socket the way net.connect/tls.connect do. Throwing refuses the connection. */
export type SocketConnect = (opts: SocketConnectOptions) => Duplex;

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
  /** Test seam: opens the raw socket, after the port/literal checks. Defaults to net/tls.connect. */
  connect?: SocketConnect;
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
/** How long an idle pooled connection is kept (Node's global agent uses the same). */
const IDLE_SOCKET_MS = 5000;

const defaultLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const defaultConnect: SocketConnect = ({ host, port, servername, tls: secure, lookup }) =>
  secure ? tls.connect({ host, port, servername, lookup }) : net.connect({ host, port, lookup });

/** Raised inside the socket lookup; reaches the request's 'error' event unchanged. */
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

/** URL.hostname keeps IPv6 brackets; sockets want the bare address. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function header(headers: http.IncomingHttpHeaders, name: string): string | null {
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

/** Hangs up on a response we will not read (closing the connection rather than draining it). */
function discard(req: http.ClientRequest, res: http.IncomingMessage): void {
  res.destroy();
  req.destroy();
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
  const resolveName = opts.lookup ?? defaultLookup;
  const connect = opts.connect ?? defaultConnect;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  const retryDelayMs = opts.retryDelayMs ?? 200;
  const allowed = new Set(opts.allowPrivateHosts.map(canonicalHostPort));
  const onlyHosts = new Set((opts.onlyHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));

  /** Resolves and checks every answer; one forbidden answer refuses the name. */
  async function checkedAnswers(hostname: string, isAllowed: boolean): Promise<ResolvedAddress[]> {
    let answers: readonly ResolvedAddress[];
    try {
      answers = await resolveName(hostname);
    } catch (err) {
      const code = errorCode(err);
      throw new ImageError('image_fetch_failed', `cannot resolve ${hostname}${code ? ` (${code})` : ''}`);
    }
    if (answers.length === 0) throw new ImageError('image_fetch_failed', `cannot resolve ${hostname}`);
    // Which answer the socket picks (Happy Eyeballs tries several) is not ours to choose,
    // so all of them must pass. The address stays out of the message: it ends up in a
    // public warning.
    if (!isAllowed && answers.some((a) => isForbiddenAddress(a.address))) throw blocked(hostname);
    // The family comes from the address itself, not from the resolver's say-so.
    return answers.map((a) => ({ address: a.address, family: net.isIP(a.address) }));
  }

  /**
   * The `lookup` net/tls.connect call for a name. Node calls it as `(host, { all: true })`
   * and expects `(err, addresses[])` when autoSelectFamily is on (the default since Node
   * 20), and expects `(err, address, family)` otherwise: both are served.
   */
  function guardedLookup(isAllowed: boolean): net.LookupFunction {
    return (hostname, options, callback) => {
      checkedAnswers(hostname, isAllowed).then(
        (answers) => {
          const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
          const usable = family ? answers.filter((a) => a.family === family) : answers;
          const first = usable[0];
          if (!first) return callback(new ImageError('image_fetch_failed', `cannot resolve ${hostname}`), options.all ? [] : '');
          if (options.all) callback(null, usable);
          else callback(null, first.address, first.family);
        },
        (err: Error) => callback(err, options.all ? [] : ''),
      );
    };
  }

  /** The agents' `createConnection`: the one place our sockets are opened. */
  function openSocket(secure: boolean, options: http.ClientRequestArgs, done: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    const host = bareHost(String(options.host ?? options.hostname ?? ''));
    const port = Number(options.port) || (secure ? 443 : 80);
    const isAllowed = allowed.has(hostKey(host, port));
    const literal = net.isIP(host) !== 0;
    try {
      // validateUrl has checked all of this already; it is checked again where it counts.
      if (!isAllowed && !ALLOWED_PORTS.has(port)) throw blocked(`port ${port}`);
      if (!isAllowed && literal && isForbiddenAddress(host)) throw blocked(host);
      if (!isAllowed && !literal && onlyHosts.size && !onlyHosts.has(host.toLowerCase())) throw blocked(host);
      return connect({
        host,
        port,
        // SNI and certificate verification use the name; a literal address gets no SNI.
        servername: secure && !literal ? host : undefined,
        tls: secure,
        lookup: guardedLookup(isAllowed),
      });
    } catch (err) {
      done(err as Error, undefined as unknown as Duplex);
      return undefined;
    }
  }

  // One pair of agents per fetcher, so pooled connections are never shared with other
  // code. Node pools by host name and port: a kept-alive socket is reused only for the
  // name it was checked for.
  const agentOptions = { keepAlive: true, scheduling: 'lifo' as const, timeout: IDLE_SOCKET_MS };
  const httpAgent = new http.Agent(agentOptions);
  httpAgent.createConnection = (options, done) => openSocket(false, options, done!);
  const httpsAgent = new https.Agent(agentOptions);
  httpsAgent.createConnection = (options, done) => openSocket(true, options, done!);

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

  /** Sends the GET; resolves with the response head. Errors before it reject. */
  function send(url: URL, signal: AbortSignal): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      let req: http.ClientRequest;
      try {
        req = (secure ? https : http).request(
          {
            protocol: url.protocol,
            hostname: bareHost(url.hostname),
            port: url.port ? Number(url.port) : defaultPort(url.protocol),
            path: `${url.pathname}${url.search}`,
            method: 'GET',
            agent: secure ? httpsAgent : httpAgent,
            signal,
            // No Referer: the article's location is none of the origin's business.
            headers: { 'user-agent': userAgent, accept: ACCEPT },
          },
          (res) => {
            // Later errors surface through the body reader; this keeps them from being unhandled.
            res.on('error', () => {});
            resolve({ req, res });
          },
        );
      } catch (err) {
        reject(new ImageError('image_fetch_failed', networkErrorMessage(err)));
        return;
      }
      // Stays attached: after the head arrives, a reject is a no-op but the event must be heard.
      req.on('error', reject);
      req.end();
    });
  }

  function tooLarge(): ImageError {
    return new ImageError('image_too_large', `the image is larger than ${opts.maxBytes} bytes`);
  }

  /** Reads the body, counting what actually arrives against the limit and the declared length. */
  function readBody(req: http.ClientRequest, res: http.IncomingMessage, signal: AbortSignal): Promise<Buffer> {
    const declaredHeader = header(res.headers, 'content-length');
    const declared = declaredHeader === null ? null : Number(declaredHeader);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const finish = (err: Error | null) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (!err) return resolve(Buffer.concat(chunks, size));
        discard(req, res);
        reject(err);
      };
      const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > opts.maxBytes) return finish(tooLarge());
        chunks.push(chunk);
      });
      res.on('end', () => {
        // Node already fails a body cut short of its Content-Length; the count is a second opinion.
        if (!res.complete || (declared !== null && Number.isFinite(declared) && size !== declared)) {
          finish(new TransientError('the download broke off: the body is shorter than announced'));
        } else finish(null);
      });
      res.on('error', (err) => finish(new TransientError(`the download broke off: ${networkErrorMessage(err)}`)));
      res.on('close', () => finish(new TransientError('the download broke off: connection closed')));
    });
  }

  /** One request, no redirects followed. Returns the body for 2xx, the next URL for 3xx. */
  async function fetchOnce(url: URL, signal: AbortSignal): Promise<{ next: URL } | { image: FetchedImage }> {
    let exchange;
    try {
      exchange = await send(url, signal);
    } catch (err) {
      if (err instanceof ImageError || signal.aborted) throw err;
      throw new TransientError(networkErrorMessage(err));
    }
    const { req, res } = exchange;
    const statusCode = res.statusCode ?? 0;

    if (REDIRECT_STATUSES.has(statusCode)) {
      discard(req, res);
      const location = header(res.headers, 'location');
      if (!location) throw new ImageError('image_fetch_failed', `redirect ${statusCode} without a Location`);
      try {
        return { next: new URL(location, url) };
      } catch {
        throw new ImageError('image_unsupported_url', 'the redirect points to an invalid URL');
      }
    }
    if (statusCode < 200 || statusCode > 299) {
      discard(req, res);
      if (statusCode === 404 || statusCode === 410) throw new ImageError('image_not_found', `the image is gone (HTTP ${statusCode})`);
      if (statusCode >= 500) throw new TransientError(`the origin answered HTTP ${statusCode}`);
      throw new ImageError('image_fetch_failed', `the origin answered HTTP ${statusCode}`);
    }

    const declared = Number(header(res.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(req, res);
      throw tooLarge();
    }

    const bytes = await readBody(req, res, signal);
    return {
      image: {
        bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        finalUrl: url.href,
        contentType: header(res.headers, 'content-type'),
      },
    };
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
        if (!(err instanceof TransientError) || signal.aborted) throw err;
        const timeLeft = deadline - Date.now();
        if (retried || timeLeft < retryDelayMs * 2) throw new ImageError('image_fetch_failed', err.message);
        retried = true;
        await sleep(retryDelayMs, signal);
        continue;
      }
      if ('image' in outcome) return outcome.image;
      redirects++;
      if (redirects > MAX_REDIRECTS) throw new ImageError('image_fetch_failed', 'too many redirects');
      // What was asked for over TLS is never fetched in the clear (anyone on the path could swap it).
      if (url.protocol === 'https:' && outcome.next.protocol === 'http:') {
        throw new ImageError('image_unsupported_url', `the origin redirects from https to http (${outcome.next.host}): a downgrade is never followed`);
      }
      url = validateUrl(outcome.next);
    }
  }

  /** Every download in flight, so destroy() can abort them and close() can wait for them. */
  const inFlight = new Map<AbortController, Promise<unknown>>();
  let closed = false;

  function shutDownAgents(): void {
    httpAgent.destroy();
    httpsAgent.destroy();
  }

  return {
    async fetch(url, fetchOpts) {
      if (closed) throw new ImageError('image_fetch_failed', 'the fetcher is closed');
      // One controller per download, fed by the overall timeout and the caller's signal.
      const ctl = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort(new Error('timeout'));
      }, opts.timeoutMs);
      const callerSignal = fetchOpts?.signal;
      const onCallerAbort = () => ctl.abort(new Error('cancelled'));
      if (callerSignal?.aborted) onCallerAbort();
      else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

      const work = download(url, ctl.signal, Date.now() + opts.timeoutMs);
      inFlight.set(ctl, work);
      let image: FetchedImage;
      try {
        image = await work;
      } catch (err) {
        if (err instanceof ImageError) throw err;
        if (timedOut) throw new ImageError('image_timeout', `the download took longer than ${opts.timeoutMs} ms`);
        if (ctl.signal.aborted) throw new ImageError('image_fetch_failed', 'the download was cancelled');
        throw new ImageError('image_fetch_failed', networkErrorMessage(err));
      } finally {
        clearTimeout(timer);
        callerSignal?.removeEventListener('abort', onCallerAbort);
        inFlight.delete(ctl);
      }
      if (!sniffImageType(image.bytes)) {
        throw new ImageError('image_not_an_image', 'the URL did not return an image');
      }
      return image;
    },
    async close() {
      closed = true;
      await Promise.allSettled(inFlight.values());
      shutDownAgents();
    },
    async destroy() {
      closed = true;
      const pending = [...inFlight.values()];
      for (const ctl of inFlight.keys()) ctl.abort(new Error('cancelled'));
      shutDownAgents();
      await Promise.allSettled(pending);
    },
  };
}
