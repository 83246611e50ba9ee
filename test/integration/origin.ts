/**
 * A loopback image origin for integration tests: serves files from a directory that test
 * files write into, plus a control route that waits for the local stack's queue to drain
 * (test files run in workers, the stack in the global-setup process).
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';

export interface Origin {
  url: string;
  hostPort: string;
  dir: string;
  requests: Map<string, number>;
  addControl(actions: { settle(): Promise<void>; queueStats(): unknown }): Promise<string>;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml' };

export async function startOrigin(): Promise<Origin> {
  const dir = mkdtempSync(join(tmpdir(), 'origin-'));
  const requests = new Map<string, number>();
  let control: { settle(): Promise<void>; queueStats(): unknown } | null = null;
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/__settle' && control) {
      await control.settle();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(control.queueStats()));
      return;
    }
    if (path === '/__requests') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(requests)));
      return;
    }
    requests.set(path, (requests.get(path) ?? 0) + 1);
    if (path.startsWith('/__faulty/')) return misbehave(path, res, dir, requests.get(path)!);
    const file = join(dir, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const ext = file.split('.').pop()?.toLowerCase() ?? '';
    res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    dir,
    requests,
    async addControl(actions) {
      control = actions;
      return `http://127.0.0.1:${port}/__settle`;
    },
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          ok();
        });
      }),
  };
}

/**
 * `/__faulty/<behaviour>/<file>`: an origin that misbehaves, for the pipeline's fault tests.
 * <file> (under the origin's directory) supplies the bytes where some are sent.
 *   drip    one byte every 50 ms, never ending
 *   reset   100 bytes of a promised 10,000, then a TCP reset
 *   lying   Content-Length 10,000, 100 bytes, then a clean close
 *   loop    302 to itself, forever
 *   flaky   503 on the first request, the file on the next
 *   hang    accepts the request and never answers
 */
function misbehave(path: string, res: import('node:http').ServerResponse, dir: string, hit: number): void {
  const [, , behaviour = '', ...rest] = path.split('/');
  const file = join(dir, normalize(rest.join('/')).replace(/^(\.\.[/\\])+/, ''));
  const bytes = file.startsWith(dir) && existsSync(file) ? readFileSync(file) : Buffer.alloc(20_000, 0x89);
  const head = { 'content-type': 'image/png' };
  switch (behaviour) {
    case 'drip': {
      res.writeHead(200, head);
      let i = 0;
      const timer = setInterval(() => res.write(bytes.subarray(i % bytes.length, (i++ % bytes.length) + 1)), 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'reset':
      res.writeHead(200, { ...head, 'content-length': 10_000 });
      res.write(bytes.subarray(0, 100), () => res.socket?.resetAndDestroy());
      return;
    case 'lying':
      res.writeHead(200, { ...head, 'content-length': 10_000 });
      res.write(bytes.subarray(0, 100), () => res.socket?.end());
      return;
    case 'loop':
      res.writeHead(302, { location: path }).end();
      return;
    case 'flaky':
      if (hit === 1) res.writeHead(503).end('try again');
      else res.writeHead(200, head).end(bytes);
      return;
    case 'hang':
      return; // the client's timeout, or the server's shutdown, ends this
    default:
      res.writeHead(404).end('no such behaviour');
  }
}
