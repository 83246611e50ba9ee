/**
 * The image fetcher against real HTTP servers on 127.0.0.1 (and 127.0.0.2 as "another
 * machine"). Nothing here ever opens a socket to a non-loopback address: the SSRF table
 * uses a stubbed DNS lookup and a stubbed connector that only dials loopback, mapping one
 * pretend public address onto the local origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createHttpFetcher,
  DEFAULT_USER_AGENT,
  type HttpImageFetcher,
  type LookupFn,
  type SocketConnector,
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

describe('SSRF guard through the whole fetcher (stubbed DNS and connector)', () => {
  /** The one "public" address; the stub connector sends it to the local origin. */
  const PUBLIC = '93.184.216.34';
  const connects: { hostname: string; port: string }[] = [];
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

  const realConnect = buildConnector({});
  const connector: SocketConnector = (opts, cb) => {
    connects.push({ hostname: opts.hostname, port: opts.port });
    if (opts.hostname === PUBLIC && (opts.port === '' || opts.port === '80')) {
      return realConnect({ ...opts, hostname: '127.0.0.1', port: String(origin.port) }, cb);
    }
    // Loopback is safe to dial: if the guard let 127.0.0.2 through, `other` would count it.
    if (opts.hostname.startsWith('127.')) return realConnect(opts, cb);
    cb(new Error(`test connector: never dials ${opts.hostname}`), null);
  };

  beforeAll(() => {
    fetcher = createHttpFetcher({
      maxBytes: MAX_BYTES,
      timeoutMs: 2000,
      allowPrivateHosts: [`127.0.0.1:${origin.port}`],
      lookup,
      connector,
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
    expect(connects).toEqual([{ hostname: PUBLIC, port: '' }]);
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
    expect(connects.every((c) => c.hostname === '127.0.0.1' && c.port === String(origin.port))).toBe(true);
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
