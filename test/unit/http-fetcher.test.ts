/**
 * The image fetcher against real HTTP servers on 127.0.0.1 (and 127.0.0.2 as "another
 * machine"). Nothing here ever opens a socket to a non-loopback address: the SSRF table
 * uses a stubbed DNS lookup and a stubbed socket opener that resolves through the
 * fetcher's guarded lookup and only dials loopback, mapping one pretend public address
 * onto the local origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createSecureServer, type Server as TlsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createHttpFetcher,
  DEFAULT_USER_AGENT,
  type HttpImageFetcher,
  type LookupFn,
  type SocketConnect,
} from '../../functions/adapters/http-fetcher';
import { ImageError } from '../../functions/core/errors';

const MAX_BYTES = 64 * 1024;

interface Origin {
  server: Server;
  port: number;
  hits: string[];
  connections: number;
  lastHeaders: Map<string, IncomingMessage['headers']>;
}

async function listen(host: string, handler: (req: IncomingMessage, res: ServerResponse, origin: Origin) => void): Promise<Origin> {
  const origin: Origin = { server: undefined as unknown as Server, port: 0, hits: [], connections: 0, lastHeaders: new Map() };
  origin.server = createServer((req, res) => {
    res.on('error', () => {});
    origin.hits.push(req.url ?? '');
    origin.lastHeaders.set(new URL(req.url ?? '/', 'http://x').pathname, req.headers);
    handler(req, res, origin);
  });
  origin.server.on('connection', (socket) => {
    origin.connections++;
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => origin.server.listen(0, host, resolve));
  origin.port = (origin.server.address() as AddressInfo).port;
  return origin;
}

function close(origin: Origin): Promise<void> {
  origin.server.closeAllConnections();
  return new Promise((resolve) => origin.server.close(() => resolve()));
}

async function failure(p: Promise<unknown>): Promise<ImageError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return err as ImageError;
  }
  throw new Error('expected the fetch to fail');
}

let png: Buffer;
let jpeg: Buffer;
let origin: Origin;
let other: Origin; // "another machine" on 127.0.0.2, never in the allow list
const flakyHits = new Map<string, number>();
let bigClosed: Promise<void> = Promise.resolve();

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  // Pretend-public hosts (the SSRF table maps them here) get a fresh connection per
  // request, so every request makes the fetcher resolve and check again.
  if (req.headers.host !== `127.0.0.1:${origin.port}`) res.setHeader('connection', 'close');

  if (path === '/img.png' || path === '/close/img.png') {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  } else if (path === '/img.jpg') {
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
  } else if (path === '/png-labelled-html') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(png);
  } else if (path === '/html-labelled-png') {
    res.writeHead(200, { 'content-type': 'image/png' }).end('<!DOCTYPE html><html><body>not an image</body></html>');
  } else if (path === '/exact' || path === '/exact-plus-one') {
    const size = path === '/exact' ? MAX_BYTES : MAX_BYTES + 1;
    const body = Buffer.alloc(size);
    png.copy(body);
    res.writeHead(200).end(body);
  } else if (path === '/missing') {
    res.writeHead(404).end('no');
  } else if (path === '/gone') {
    res.writeHead(410).end('gone');
  } else if (path === '/forbidden') {
    res.writeHead(403).end('no');
  } else if (path === '/down') {
    res.writeHead(500).end('down');
  } else if (path.startsWith('/flaky/')) {
    const n = (flakyHits.get(path) ?? 0) + 1;
    flakyHits.set(path, n);
    if (n === 1) res.writeHead(503).end('try again');
    else res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  } else if (path === '/big-chunked') {
    // No Content-Length, and no end: only the size limit can stop this.
    bigClosed = new Promise((resolve) => res.on('close', () => resolve()));
    res.writeHead(200, { 'content-type': 'image/png' });
    res.write(png);
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  } else if (path === '/big-declared') {
    // Says it is too big and then sends nothing: only believing the header ends this early.
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10 * MAX_BYTES });
    res.flushHeaders();
  } else if (path === '/lying') {
    // Promises 1000 bytes, sends 100, closes.
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 1000 });
    res.write(png.subarray(0, 100), () => res.socket?.end());
  } else if (path === '/reset') {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10_000 });
    res.write(png.subarray(0, 100), () => res.socket?.resetAndDestroy());
  } else if (path === '/drip') {
    // One byte at a time, forever: each read is quick, the whole never ends.
    res.writeHead(200, { 'content-type': 'image/png' });
    let i = 0;
    const timer = setInterval(() => res.write(png.subarray(i % png.length, (i++ % png.length) + 1)), 20);
    res.on('close', () => clearInterval(timer));
  } else if (path.startsWith('/slow-chain/')) {
    const n = Number(path.slice('/slow-chain/'.length));
    setTimeout(() => {
      if (n === 0) res.writeHead(200).end(png);
      else res.writeHead(302, { location: `/slow-chain/${n - 1}` }).end();
    }, 200);
  } else if (path === '/loop') {
    res.writeHead(302, { location: '/loop' }).end();
  } else if (path.startsWith('/chain/')) {
    const n = Number(path.slice('/chain/'.length));
    // A relative Location: resolves against the current URL to /chain/<n-1>.
    if (n === 0) res.writeHead(200).end(png);
    else res.writeHead(n % 2 ? 301 : 307, { location: String(n - 1) }).end();
  } else if (path === '/to') {
    res.writeHead(302, { location: url.searchParams.get('url') ?? '/' }).end();
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  const base = () => sharp({ create: { width: 8, height: 6, channels: 3, background: '#c83' } });
  png = await base().png().toBuffer();
  jpeg = await base().jpeg().toBuffer();
  origin = await listen('127.0.0.1', route);
  other = await listen('127.0.0.2', (_req, res) => res.writeHead(200).end(png));
});

afterAll(async () => {
  await close(origin);
  await close(other);
});

beforeEach(() => {
  origin.hits.length = 0;
  other.hits.length = 0;
  other.connections = 0;
});

describe('end to end against a local origin', () => {
  let fetcher: HttpImageFetcher;
  let fast: HttpImageFetcher; // a short overall timeout
  const at = (path: string) => `http://127.0.0.1:${origin.port}${path}`;

  beforeAll(() => {
    fetcher = createHttpFetcher({ maxBytes: MAX_BYTES, timeoutMs: 2000, allowPrivateHosts: [`127.0.0.1:${origin.port}`], retryDelayMs: 50 });
    fast = createHttpFetcher({ maxBytes: MAX_BYTES, timeoutMs: 500, allowPrivateHosts: [`127.0.0.1:${origin.port}`], retryDelayMs: 50 });
  });
  afterAll(async () => {
    await fetcher.destroy();
    await fast.destroy();
  });

  it('fetches a PNG and a JPEG, byte for byte', async () => {
    const a = await fetcher.fetch(at('/img.png'));
    expect(Buffer.from(a.bytes).equals(png)).toBe(true);
    expect(a.finalUrl).toBe(at('/img.png'));
    expect(a.contentType).toBe('image/png');
    const b = await fetcher.fetch(at('/img.jpg'));
    expect(Buffer.from(b.bytes).equals(jpeg)).toBe(true);
  });

  it('sends an honest User-Agent and Accept, and no Referer', async () => {
    await fetcher.fetch(at('/img.png'));
    const headers = origin.lastHeaders.get('/img.png')!;
    expect(headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(headers.accept).toBe('image/avif,image/webp,image/*;q=0.8');
    expect(headers.referer).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
  });

  it('uses a configured User-Agent', async () => {
    const custom = createHttpFetcher({ maxBytes: MAX_BYTES, timeoutMs: 2000, allowPrivateHosts: [`127.0.0.1:${origin.port}`], userAgent: 'test-agent/1' });
    try {
      await custom.fetch(at('/img.png'));
      expect(origin.lastHeaders.get('/img.png')!['user-agent']).toBe('test-agent/1');
    } finally {
      await custom.destroy();
    }
  });

  it('judges the type by the bytes, not the Content-Type', async () => {
    const ok = await fetcher.fetch(at('/png-labelled-html'));
    expect(ok.contentType).toBe('text/html');
    expect(Buffer.from(ok.bytes).equals(png)).toBe(true);
    expect((await failure(fetcher.fetch(at('/html-labelled-png')))).code).toBe('image_not_an_image');
  });

  it('404 and 410 are not found, without a retry', async () => {
    expect((await failure(fetcher.fetch(at('/missing')))).code).toBe('image_not_found');
    expect((await failure(fetcher.fetch(at('/gone')))).code).toBe('image_not_found');
    expect(origin.hits).toEqual(['/missing', '/gone']);
  });

  it('another 4xx fails without a retry', async () => {
    const err = await failure(fetcher.fetch(at('/forbidden')));
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('403');
    expect(origin.hits).toEqual(['/forbidden']);
  });

  it('a 5xx that succeeds when retried works', async () => {
    const got = await fetcher.fetch(at('/flaky/one'));
    expect(Buffer.from(got.bytes).equals(png)).toBe(true);
    expect(origin.hits).toEqual(['/flaky/one', '/flaky/one']);
  });

  it('a lasting 5xx is retried exactly once', async () => {
    expect((await failure(fetcher.fetch(at('/down')))).code).toBe('image_fetch_failed');
    expect(origin.hits).toEqual(['/down', '/down']);
  });

  it('a body of exactly the limit is fine; one byte more is too large', async () => {
    expect((await fetcher.fetch(at('/exact'))).bytes.byteLength).toBe(MAX_BYTES);
    expect((await failure(fetcher.fetch(at('/exact-plus-one')))).code).toBe('image_too_large');
  });

  it('stops reading an endless body as soon as it passes the limit', async () => {
    expect((await failure(fetcher.fetch(at('/big-chunked')))).code).toBe('image_too_large');
    // The fetcher hung up: the server saw its response closed.
    await bigClosed;
  });

  it('rejects early when Content-Length already says too big', async () => {
    // The body never comes, so waiting for it would end in a timeout instead.
    expect((await failure(fetcher.fetch(at('/big-declared')))).code).toBe('image_too_large');
  });

  it('a lying Content-Length (shorter body) fails instead of hanging', async () => {
    expect((await failure(fetcher.fetch(at('/lying')))).code).toBe('image_fetch_failed');
  });

  it('a connection reset mid-body fails after one retry', async () => {
    expect((await failure(fetcher.fetch(at('/reset')))).code).toBe('image_fetch_failed');
    expect(origin.hits).toEqual(['/reset', '/reset']);
  });

  it('a slowly dripping body hits the overall timeout', async () => {
    expect((await failure(fast.fetch(at('/drip')))).code).toBe('image_timeout');
  });

  it('the timeout covers the redirects too', async () => {
    // Each hop answers well within the timeout; all four together do not.
    expect((await failure(fast.fetch(at('/slow-chain/3')))).code).toBe('image_timeout');
  });

  it('the caller can cancel', async () => {
    const ctl = new AbortController();
    const p = fetcher.fetch(at('/drip'), { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    const err = await failure(p);
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('cancelled');
  });

  it('follows 3 redirects, resolving relative Locations', async () => {
    const got = await fetcher.fetch(at('/chain/3'));
    expect(got.finalUrl).toBe(at('/chain/0'));
    expect(origin.hits).toEqual(['/chain/3', '/chain/2', '/chain/1', '/chain/0']);
  });

  it('refuses a 4th redirect', async () => {
    const err = await failure(fetcher.fetch(at('/chain/4')));
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toBe('too many redirects');
    expect(origin.hits).not.toContain('/chain/0');
  });

  it('a redirect loop ends', async () => {
    const err = await failure(fetcher.fetch(at('/loop')));
    expect(err.message).toBe('too many redirects');
    expect(origin.hits).toEqual(['/loop', '/loop', '/loop', '/loop']);
  });

  it('an allowed origin cannot redirect to another loopback machine', async () => {
    const target = `http://127.0.0.2:${other.port}/img.png`;
    expect((await failure(fetcher.fetch(at(`/to?url=${encodeURIComponent(target)}`)))).code).toBe('image_blocked_address');
    expect(other.connections).toBe(0);
  });

  it('...which is reachable, so the block above was the guard and not the network', async () => {
    const allowsOther = createHttpFetcher({
      maxBytes: MAX_BYTES,
      timeoutMs: 2000,
      allowPrivateHosts: [`127.0.0.1:${origin.port}`, `127.0.0.2:${other.port}`],
    });
    try {
      const target = `http://127.0.0.2:${other.port}/img.png`;
      const got = await allowsOther.fetch(at(`/to?url=${encodeURIComponent(target)}`));
      expect(got.finalUrl).toBe(target);
      expect(other.hits).toEqual(['/img.png']);
    } finally {
      await allowsOther.destroy();
    }
  });

  it('the same origin on a port not in the allow list is blocked', async () => {
    expect((await failure(fetcher.fetch(`http://127.0.0.1:${other.port}/img.png`))).code).toBe('image_blocked_address');
  });
});

describe('SSRF guard through the whole fetcher (stubbed DNS and socket opener)', () => {
  /** The one "public" address; the stub socket opener sends it to the local origin. */
  const PUBLIC = '93.184.216.34';
  /** Every address a socket was about to dial (the port is the one the fetcher asked for). */
  const connects: { hostname: string; port: number }[] = [];
  const lookups: string[] = [];
  const rebindAnswers = new Map<string, number>();
  let fetcher: HttpImageFetcher;

  const dns: Record<string, string[]> = {
    'public.test': [PUBLIC],
    'private.test': ['10.1.2.3'],
    'cgnat.test': ['100.64.0.7'],
    'loopback6.test': ['::1'],
    'mapped.test': ['::ffff:192.168.0.1'],
    'nat64.test': ['64:ff9b::a9fe:a9fe'],
    'sixtofour.test': ['2002:7f00:1::1'],
    'ula.test': ['fd00::1'],
    'mixed.test': [PUBLIC, '10.0.0.5'],
    'mixed6.test': [PUBLIC, 'fe80::1'],
    'other.test': ['127.0.0.2'],
    'metadata.test': ['169.254.169.254'],
  };

  const lookup: LookupFn = async (name) => {
    lookups.push(name);
    if (name.startsWith('rebind')) {
      // Public the first time, the other machine afterwards.
      const n = (rebindAnswers.get(name) ?? 0) + 1;
      rebindAnswers.set(name, n);
      return [{ address: n === 1 ? PUBLIC : '127.0.0.2', family: 4 }];
    }
    const answers = dns[name];
    if (!answers) throw Object.assign(new Error(`stub: no such name ${name}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  /**
   * Dials loopback only. A name is resolved through the fetcher's guarded lookup (as
   * net.connect does), and only what that lookup hands back is dialled: PUBLIC on port 80
   * becomes the local origin; anything else not on loopback is never dialled.
   */
  const dialable = (address: string, port: number) => address.startsWith('127.') || (address === PUBLIC && port === 80);
  const connect: SocketConnect = (opts) => {
    const port = opts.port === 80 ? origin.port : opts.port;
    if (net.isIP(opts.host)) {
      connects.push({ hostname: opts.host, port: opts.port });
      if (!dialable(opts.host, opts.port)) throw new Error(`test connector: never dials ${opts.host}`);
      return opts.host === PUBLIC ? net.connect({ host: '127.0.0.1', port }) : net.connect({ host: opts.host, port: opts.port });
    }
    return net.connect({
      host: opts.host,
      port,
      lookup: (hostname, options, cb) =>
        opts.lookup(hostname, options, (err, result, family) => {
          if (err) return cb(err, result, family);
          const answers = Array.isArray(result) ? result : [{ address: result, family: family ?? 4 }];
          for (const a of answers) connects.push({ hostname: a.address, port: opts.port });
          const refused = answers.find((a) => !dialable(a.address, opts.port));
          if (refused) return cb(new Error(`test connector: never dials ${refused.address}`), '');
          const mapped = answers.map((a) => (a.address === PUBLIC ? { address: '127.0.0.1', family: 4 } : a));
          if (Array.isArray(result)) cb(null, mapped);
          else cb(null, mapped[0]!.address, mapped[0]!.family);
        }),
    });
  };

  beforeAll(() => {
    fetcher = createHttpFetcher({
      maxBytes: MAX_BYTES,
      timeoutMs: 2000,
      allowPrivateHosts: [`127.0.0.1:${origin.port}`],
      lookup,
      connect,
      retryDelayMs: 50,
    });
  });
  afterAll(() => fetcher.destroy());
  beforeEach(() => {
    connects.length = 0;
    lookups.length = 0;
  });

  it('control: a public name is fetched, and the socket goes to the checked address', async () => {
    const got = await fetcher.fetch('http://public.test/img.png');
    expect(Buffer.from(got.bytes).equals(png)).toBe(true);
    expect(lookups).toEqual(['public.test']);
    expect(connects).toEqual([{ hostname: PUBLIC, port: 80 }]);
  });

  const blockedDirect: [string, string][] = [
    ['decimal IPv4', 'http://2130706433/img.png'],
    ['octal IPv4', 'http://0177.0.0.1/img.png'],
    ['hex IPv4', 'http://0x7f.0.0.1/img.png'],
    ['single hex number', 'http://0x7f000001/img.png'],
    ['short form 127.1', 'http://127.1/img.png'],
    ['0.0.0.0', 'http://0.0.0.0/img.png'],
    ['0', 'http://0/img.png'],
    ['[::]', 'http://[::]/img.png'],
    ['[::1]', 'http://[::1]/img.png'],
    ['[::ffff:127.0.0.1]', 'http://[::ffff:127.0.0.1]/img.png'],
    ['[::ffff:7f00:1]', 'http://[::ffff:7f00:1]/img.png'],
    ['IPv4-compatible [::127.0.0.1]', 'http://[::127.0.0.1]/img.png'],
    ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/img.png'],
    ['NAT64 of the metadata service', 'http://[64:ff9b::169.254.169.254]/img.png'],
    ['local-use NAT64', 'http://[64:ff9b:1::a00:1]/img.png'],
    ['6to4 of loopback', 'http://[2002:7f00:1::]/img.png'],
    ['6to4 of 192.168.1.1', 'http://[2002:c0a8:101::1]/img.png'],
    ['Teredo', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/img.png'],
    ['IPv6 link-local', 'http://[fe80::1]/img.png'],
    ['IPv6 unique-local', 'http://[fd12:3456::1]/img.png'],
    ['IPv6 site-local', 'http://[fec0::1]/img.png'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
    ['metadata service, decimal', 'http://2852039166/latest/meta-data/'],
    ['10/8', 'http://10.0.0.1/img.png'],
    ['172.16/12', 'http://172.16.5.4/img.png'],
    ['192.168/16', 'http://192.168.1.1/img.png'],
    ['CGNAT', 'http://100.64.0.1/img.png'],
    ['broadcast', 'http://255.255.255.255/img.png'],
    ['localhost by name', 'http://localhost/img.png'],
    ['a subdomain of localhost', 'http://evil.localhost/img.png'],
    ['the other machine on port 80', 'http://127.0.0.2/img.png'],
    ['a name resolving to 10/8', 'http://private.test/img.png'],
    ['a name resolving to CGNAT', 'http://cgnat.test/img.png'],
    ['a name resolving to ::1', 'http://loopback6.test/img.png'],
    ['a name resolving to IPv4-mapped private', 'http://mapped.test/img.png'],
    ['a name resolving to NAT64 metadata', 'http://nat64.test/img.png'],
    ['a name resolving to 6to4 loopback', 'http://sixtofour.test/img.png'],
    ['a name resolving to unique-local', 'http://ula.test/img.png'],
    ['a name resolving to the other machine', 'http://other.test/img.png'],
    ['a name resolving to the metadata service', 'http://metadata.test/latest/meta-data/'],
    ['several A records, one private', 'http://mixed.test/img.png'],
    ['several records, one link-local IPv6', 'http://mixed6.test/img.png'],
    ['a public name on port 8080', 'http://public.test:8080/img.png'],
    ['a public name on port 22', 'https://public.test:22/img.png'],
  ];

  it.each(blockedDirect)('%s is blocked before any socket is opened', async (_name, url) => {
    expect((await failure(fetcher.fetch(url))).code).toBe('image_blocked_address');
    expect(connects).toEqual([]);
  });

  it('the allowed origin on another port of the same host is blocked', async () => {
    expect((await failure(fetcher.fetch(`http://127.0.0.2:${origin.port}/img.png`))).code).toBe('image_blocked_address');
    expect(connects).toEqual([]);
  });

  const unsupported: [string, string][] = [
    ['file:', 'file:///etc/passwd'],
    ['ftp:', 'ftp://127.0.0.1/img.png'],
    ['gopher:', 'gopher://127.0.0.1:70/_GET%20/'],
    ['data:', 'data:image/png;base64,iVBORw0KGgo='],
    ['javascript:', 'javascript:alert(1)'],
    ['userinfo in front of a private host', 'http://good.example@127.0.0.1/img.png'],
    ['userinfo in front of a public name', 'http://127.0.0.1:80@public.test/img.png'],
    ['userinfo in front of an allowed origin', `http://user:pass@127.0.0.1:${0}/img.png`],
    ['not a URL at all', 'img.png'],
  ];

  it.each(unsupported)('%s is not fetched', async (_name, url) => {
    const real = url.replace(':0/', `:${origin.port}/`);
    expect((await failure(fetcher.fetch(real))).code).toBe('image_unsupported_url');
    expect(connects).toEqual([]);
    expect(lookups).toEqual([]);
  });

  const viaRedirect: [string, string, string][] = [
    ['the other machine', `http://127.0.0.2:{OTHER}/img.png`, 'image_blocked_address'],
    ['the other machine, IPv4-mapped', `http://[::ffff:127.0.0.2]:{OTHER}/img.png`, 'image_blocked_address'],
    ['the other machine on port 80', 'http://127.0.0.2/img.png', 'image_blocked_address'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/', 'image_blocked_address'],
    ['a name resolving to 10/8', 'http://private.test/img.png', 'image_blocked_address'],
    ['a name resolving to the other machine', 'http://other.test/img.png', 'image_blocked_address'],
    ['localhost', `http://localhost:{ORIGIN}/img.png`, 'image_blocked_address'],
    ['a file: URL', 'file:///etc/passwd', 'image_unsupported_url'],
    ['userinfo', 'http://x@127.0.0.2/img.png', 'image_unsupported_url'],
  ];

  it.each(viaRedirect)('a redirect from the allowed origin to %s is refused', async (_name, template, code) => {
    const target = template.replace('{OTHER}', String(other.port)).replace('{ORIGIN}', String(origin.port));
    const start = `http://127.0.0.1:${origin.port}/to?url=${encodeURIComponent(target)}`;
    expect((await failure(fetcher.fetch(start))).code).toBe(code);
    expect(origin.hits).toEqual([`/to?url=${encodeURIComponent(target)}`]);
    // Only the allowed origin was ever dialled.
    expect(connects.every((c) => c.hostname === '127.0.0.1' && c.port === origin.port)).toBe(true);
    expect(other.connections).toBe(0);
  });

  it('a redirect chain through a public name to a private one is refused at the last hop', async () => {
    const inner = `http://public.test/to?url=${encodeURIComponent('http://private.test/img.png')}`;
    const start = `http://127.0.0.1:${origin.port}/to?url=${encodeURIComponent(inner)}`;
    expect((await failure(fetcher.fetch(start))).code).toBe('image_blocked_address');
    expect(lookups).toEqual(['public.test', 'private.test']);
    expect(connects.map((c) => c.hostname)).not.toContain('10.1.2.3');
  });

  it('DNS rebinding: a name that turns private on the next connection is caught at connect time', async () => {
    // First connection: the name is public and the fetch works (the origin closes the connection).
    const first = await fetcher.fetch('http://rebind-a.test/img.png');
    expect(Buffer.from(first.bytes).equals(png)).toBe(true);
    // Second connection: the same name now answers 127.0.0.2.
    expect((await failure(fetcher.fetch('http://rebind-a.test/img.png'))).code).toBe('image_blocked_address');
    expect(lookups).toEqual(['rebind-a.test', 'rebind-a.test']);
    expect(connects.map((c) => c.hostname)).toEqual([PUBLIC]);
    expect(other.connections).toBe(0);
  });

  it('DNS rebinding within one fetch: a redirect to the same name re-resolves and is blocked', async () => {
    const start = `http://rebind-b.test/to?url=${encodeURIComponent('http://rebind-b.test/img.png')}`;
    expect((await failure(fetcher.fetch(start))).code).toBe('image_blocked_address');
    expect(lookups).toEqual(['rebind-b.test', 'rebind-b.test']);
    expect(connects.map((c) => c.hostname)).toEqual([PUBLIC]);
    expect(other.connections).toBe(0);
  });

  it('a name that does not resolve fails as a fetch failure, not a block', async () => {
    const err = await failure(fetcher.fetch('http://nowhere.test/img.png'));
    expect(err.code).toBe('image_fetch_failed');
    expect(err.message).toContain('ENOTFOUND');
    expect(connects).toEqual([]);
  });
});

describe('IMAGE_FETCH_HOSTS (onlyHosts)', () => {
  it('refuses any other host before resolving it', async () => {
    const lookups: string[] = [];
    const f = createHttpFetcher({
      maxBytes: 1000,
      timeoutMs: 500,
      allowPrivateHosts: [],
      onlyHosts: ['images.example'],
      lookup: async (h) => {
        lookups.push(h);
        return [];
      },
    });
    await expect(f.fetch('https://other.example/a.png')).rejects.toMatchObject({ code: 'image_blocked_address' });
    expect(lookups).toEqual([]);
    await f.destroy();
  });
});

describe('the default socket path (no test seam): net/tls.connect with the guarded lookup', () => {
  // Names resolve through the stub only; every answer is loopback, so even a broken guard
  // could only ever dial this machine.
  const lookups: string[] = [];
  const lookup: LookupFn = async (name) => {
    lookups.push(name);
    if (name === 'img.test') return [{ address: '127.0.0.1', family: 4 }];
    if (name === 'other.test') return [{ address: '127.0.0.2', family: 4 }];
    throw Object.assign(new Error('stub: no such name'), { code: 'ENOTFOUND' });
  };
  let fetcher: HttpImageFetcher;

  beforeAll(() => {
    fetcher = createHttpFetcher({
      maxBytes: MAX_BYTES,
      timeoutMs: 2000,
      allowPrivateHosts: [`img.test:${origin.port}`],
      lookup,
      retryDelayMs: 50,
    });
  });
  afterAll(() => fetcher.destroy());
  beforeEach(() => {
    lookups.length = 0;
  });

  // Node calls a custom lookup with { all: true } and expects an array when
  // autoSelectFamily is on (the default since Node 20); otherwise (address, family).
  describe.each([true, false])('autoSelectFamily %s', (autoSelect) => {
    const before = net.getDefaultAutoSelectFamily();
    beforeAll(() => net.setDefaultAutoSelectFamily(autoSelect));
    afterAll(() => net.setDefaultAutoSelectFamily(before));

    it('an allowed name is resolved through the given lookup and fetched', async () => {
      // `close/` keeps the connection from being pooled, so this fetch opens its own socket.
      const got = await fetcher.fetch(`http://img.test:${origin.port}/close/img.png`);
      expect(Buffer.from(got.bytes).equals(png)).toBe(true);
      expect(lookups).toEqual(['img.test']);
    });

    it('a name resolving to another loopback machine is refused at connect time', async () => {
      const err = await failure(fetcher.fetch('http://other.test/img.png'));
      expect(err.code).toBe('image_blocked_address');
      expect(err.message).not.toContain('127.0.0.2');
      expect(lookups).toEqual(['other.test']);
    });
  });
});

describe('https: SNI is the host name and certificates are verified', () => {
  // A self-signed certificate for img.test (valid until 2126): nobody trusts it.
  const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYyQf+8wZM3xhGdz6
r2zxJ2pQgTgyMl92BZBFYIJU/7GhRANCAASxIdkG8/Xo75LcwZOUScZ+QVfLSrvj
U/FZrVUuC+hKlx5/25zyXhx4gnwVeii+X12DwhUq3lydc9qjLXPU237d
-----END PRIVATE KEY-----`;
  const CERT = `-----BEGIN CERTIFICATE-----
MIIBkjCCATigAwIBAgIUJkST04tb0LAkOKLL3akdQfE18kcwCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIaW1nLnRlc3QwIBcNMjYxMTI2MDcyMzE1WhgPMjEyNjExMDIw
NzIzMTVaMBMxETAPBgNVBAMMCGltZy50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEsSHZBvP16O+S3MGTlEnGfkFXy0q741PxWa1VLgvoSpcef9uc8l4ceIJ8
FXoovl9dg8IVKt5cnXPaoy1z1Nt+3aNoMGYwHQYDVR0OBBYEFN/fMXmZ7yqoXg6H
E0rFsAHXniqEMB8GA1UdIwQYMBaAFN/fMXmZ7yqoXg6HE0rFsAHXniqEMA8GA1Ud
EwEB/wQFMAMBAf8wEwYDVR0RBAwwCoIIaW1nLnRlc3QwCgYIKoZIzj0EAwIDSAAw
RQIgNUM0Tdd8RUhxqXGQEqjt+80iP3AFGsR3oWeB51iklY0CIQCRz5y4hl+O5di3
wvIdASNrY9rOe/YoDuOXeb+0Qcs7OQ==
-----END CERTIFICATE-----`;
  /** The server names clients asked for (SNI). */
  const servernames: string[] = [];
  let requests = 0;
  let server: TlsServer;
  let port: number;
  /** The plain-http twin of img.test, for the https-to-http redirect. */
  let plain: Origin;

  beforeAll(async () => {
    plain = await listen('127.0.0.1', (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
    server = createSecureServer(
      {
        key: KEY,
        cert: CERT,
        SNICallback: (name, cb) => {
          servernames.push(name);
          cb(null, undefined);
        },
      },
      (req, res) => {
        requests++;
        // /up stays on https; /down sends the client to plain http (the downgrade test below).
        if (req.url === '/up') res.writeHead(302, { location: '/img.png' }).end();
        else if (req.url === '/down') res.writeHead(302, { location: `http://img.test:${plain.port}/img.png` }).end();
        else res.writeHead(200).end(png);
      },
    );
    // The client refuses the certificate and hangs up mid-handshake.
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await close(plain);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses an untrusted certificate, having asked for the name', async () => {
    const fetcher = createHttpFetcher({
      maxBytes: MAX_BYTES,
      timeoutMs: 2000,
      allowPrivateHosts: [`img.test:${port}`],
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      retryDelayMs: 50,
    });
    try {
      const err = await failure(fetcher.fetch(`https://img.test:${port}/img.png`));
      expect(err.code).toBe('image_fetch_failed');
      expect(err.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      expect(requests).toBe(0);
      // The ClientHello carried the host name (SNI); the one retry asked again.
      expect(servernames.length).toBeGreaterThan(0);
      expect(servernames.every((s) => s === 'img.test')).toBe(true);
    } finally {
      await fetcher.destroy();
    }
  });

  describe('redirects never downgrade https to http', () => {
    /** Trusts this test's certificate only (the test seam opens the TLS socket; the fetcher still checks every hop). */
    const trusting = (): HttpImageFetcher =>
      createHttpFetcher({
        maxBytes: MAX_BYTES,
        timeoutMs: 2000,
        allowPrivateHosts: [`img.test:${port}`, `img.test:${plain.port}`],
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
        retryDelayMs: 50,
        connect: (opts) =>
          opts.tls ? tls.connect({ host: opts.host, port: opts.port, servername: opts.servername, ca: CERT, lookup: opts.lookup }) : net.connect({ host: opts.host, port: opts.port, lookup: opts.lookup }),
      });

    it('control: a redirect from https to https is followed', async () => {
      const fetcher = trusting();
      try {
        const got = await fetcher.fetch(`https://img.test:${port}/up`);
        expect(Buffer.from(got.bytes).equals(png)).toBe(true);
        expect(got.finalUrl).toBe(`https://img.test:${port}/img.png`);
      } finally {
        await fetcher.destroy();
      }
    });

    it('a redirect from https to http is refused, and the http origin is never asked', async () => {
      const fetcher = trusting();
      try {
        const before = plain.hits.length;
        const err = await failure(fetcher.fetch(`https://img.test:${port}/down`));
        expect(err.code).toBe('image_unsupported_url');
        expect(err.message).toMatch(/https to http/);
        expect(plain.hits.length).toBe(before);
        // The plain origin does answer: the refusal was the fetcher's.
        expect(Buffer.from((await fetcher.fetch(`http://img.test:${plain.port}/img.png`)).bytes).equals(png)).toBe(true);
      } finally {
        await fetcher.destroy();
      }
    });
  });
});
