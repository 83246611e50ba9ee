/**
 * The Node.js the suite runs on, and the Node.js 22 behaviour the code relies on.
 *
 * `npm test` runs on the Node.js pinned in devDependencies (node_modules/.bin/node comes
 * first on an npm script's PATH), the major version the Lambda functions deploy on
 * (infra/constructs/pipeline-function.ts; test/infra/stack.test.ts checks the two agree).
 * The rest pins down, against real sockets on 127.0.0.1, what the fetcher
 * (functions/adapters/http-fetcher.ts), the image budget (functions/core/images/rehost.ts),
 * the tools (global fetch) and the aws-chunked decoder (local/aws-chunked.ts) take from
 * the runtime, so an upgrade that changes any of it fails here first.
 */
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable, Transform, getDefaultHighWaterMark } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../local/aws-chunked';

const major = (v: string) => Number(/^v?(\d+)\./.exec(v)?.[1]);

describe('the runtime under npm test', () => {
  it('is Node.js 22, the pinned devDependency, whatever the system Node.js is', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    expect(major(process.version)).toBe(22);
    expect(major(pkg.devDependencies.node!.replace(/^[\^~]/, ''))).toBe(22);
    expect(pkg.engines.node).toBe('>=22');
    // The pinned binary itself runs the suite (vitest's workers inherit it).
    expect(process.execPath).toMatch(/node_modules\/node\/bin\/node$/);
  });
});

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 5000).unref();
    res.setHeader('content-type', 'text/plain');
    res.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('fetch and AbortSignal.timeout (scripts, rehost budget)', () => {
  it('global fetch reads a local response', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
  });

  it('AbortSignal.timeout aborts fetch with a TimeoutError, and reports aborted afterwards', async () => {
    const signal = AbortSignal.timeout(50);
    const err = await fetch(`http://127.0.0.1:${port}/slow`, { signal }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('TimeoutError');
    // rehost.ts decides "out of time" from signal.aborted after the fetcher rejects.
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).name).toBe('TimeoutError');
  });

  it('http.request takes a signal and fails the request with an AbortError (the fetcher cancels this way)', async () => {
    const ctl = new AbortController();
    const err = await new Promise<Error>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/slow', signal: ctl.signal }, () => resolve(new Error('answered')));
      req.on('error', resolve);
      req.end();
      setTimeout(() => ctl.abort(new Error('cancelled')), 20);
    });
    expect(err.name).toBe('AbortError');
  });
});

describe('net.connect calls a custom lookup in the two forms the guarded lookup serves', () => {
  type Seen = { all: boolean | undefined };
  function connectWith(opts: { autoSelectFamily: boolean }): Promise<Seen> {
    return new Promise((resolve, reject) => {
      let seen: Seen | undefined;
      const lookup: net.LookupFunction = (_host, options, callback) => {
        seen = { all: options.all };
        // Answer in the form asked for; a mismatch makes connect fail (ERR_INVALID_IP_ADDRESS).
        if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      };
      const socket = net.connect({ host: 'img.test', port, lookup, ...opts });
      socket.once('connect', () => {
        socket.destroy();
        resolve(seen!);
      });
      socket.once('error', reject);
    });
  }

  it('autoSelectFamily is on by default', () => {
    expect(net.getDefaultAutoSelectFamily()).toBe(true);
  });

  it('with autoSelectFamily: { all: true } and an array of addresses', async () => {
    expect(await connectWith({ autoSelectFamily: true })).toEqual({ all: true });
  });

  it('without it: (address, family)', async () => {
    expect((await connectWith({ autoSelectFamily: false })).all).toBeFalsy();
  });
});

describe('stream and Buffer APIs the fetcher and the aws-chunked decoder use', () => {
  it('streams default to 64 KiB chunks on Node.js 22 (16 KiB on 20); the decoder takes either', async () => {
    expect(getDefaultHighWaterMark(false)).toBe(64 * 1024);
    const payload = Buffer.alloc(300_000, 7);
    // One chunk of the whole size, framed as an SDK would send it, read back through pipeline().
    const wire = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
    const out: Buffer[] = [];
    const collect = new Transform({
      transform(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    });
    await pipeline(Readable.from([wire]), new AwsChunkedDecoder(), collect);
    expect(Buffer.concat(out).equals(payload)).toBe(true);
  });

  it('Buffer.indexOf finds a string, subarray shares memory, latin1 keeps every byte', () => {
    const buf = Buffer.from('a;chunk-signature=\xff\r\nrest', 'latin1');
    const eol = buf.indexOf('\r\n');
    expect(eol).toBe(19);
    const line = buf.subarray(0, eol);
    expect(line.buffer).toBe(buf.buffer);
    expect(line.toString('latin1')).toBe('a;chunk-signature=\xff');
  });

  it('Buffer.concat with a total length, viewed as a Uint8Array at its byteOffset (the fetcher body)', () => {
    const chunks = [Buffer.from('ab'), Buffer.from('cde')];
    const body = Buffer.concat(chunks, 5);
    // Small buffers come from a shared pool: the view must honour byteOffset.
    const view = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    expect(Buffer.from(view).toString()).toBe('abcde');
    expect(view.byteLength).toBe(5);
  });

  it('a body cut short of its Content-Length ends as incomplete or an error, never as complete', async () => {
    const liar = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only a little');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const p = (liar.address() as AddressInfo).port;
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: p, path: '/' }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.complete ? 'complete' : 'incomplete'));
        res.on('error', () => resolve('error'));
        res.on('close', () => resolve(res.complete ? 'complete' : 'closed early'));
      });
      req.on('error', () => resolve('error'));
      req.end();
    });
    liar.close();
    expect(outcome).not.toBe('complete');
  });
});
