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
