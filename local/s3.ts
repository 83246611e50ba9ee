/**
 * s3rver as the local S3, and the bridge that turns its object events into notifications
 * shaped as real S3 sends them: URL-encoded keys (space as `+`) and a sequencer that grows
 * with every event. (s3rver's own events carry raw keys and a millisecond timestamp as
 * sequencer, so two events in one millisecond would tie.)
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { encodeS3Key } from '../functions/core/events';
import { awsChunkedMiddleware } from './aws-chunked';
import { longKeyStore } from './s3-files';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  middleware: unknown[];
  store: object;
  context: { store: object };
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(event: 'event', listener: (e: { Records: S3rverRecord[] }) => void): void;
}

export interface S3rverRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; sequencer?: string; eTag?: string; size?: number } };
  [k: string]: unknown;
}

export interface LocalS3 {
  endpoint: string;
  onObjectEvent(listener: (notification: { Records: S3rverRecord[] }) => void): void;
  stop(): Promise<void>;
}

const CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

/**
 * s3rver's routes (`/:bucket/:key+`) match no empty path segment, so a key like `a//b`
 * (legal in S3) would get a 404: each second slash is sent on encoded, and the router's
 * decoding of the key gives it back.
 */
async function emptySegments(ctx: { path: string }, next: () => Promise<void>): Promise<void> {
  if (ctx.path.includes('//')) ctx.path = ctx.path.replace(/\/\//g, '/%2F');
  await next();
}

/** Sequencers that only grow, also across restarts (they start from the clock). */
export function sequencerSource(): () => string {
  let last = 0n;
  return () => {
    const candidate = BigInt(Date.now()) * 1_000_000n;
    last = candidate > last ? candidate : last + 1n;
    return last.toString(16).toUpperCase().padStart(16, '0');
  };
}

export async function startLocalS3(opts: { port: number; dataDir: string; buckets: string[] }): Promise<LocalS3> {
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const directory = resolve(opts.dataDir);
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port,
    silent: true,
    directory,
    // The viewer loads media from the browser; allow it like a CDN would.
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [CORS] })),
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  // Any key S3 accepts, also one whose segment is longer than a file name (local/s3-files.ts).
  server.store = server.context.store = new (longKeyStore())(directory);
  // First in Koa's chain, so every controller sees plain bodies.
  server.middleware.unshift(awsChunkedMiddleware(), emptySegments);
  const { port } = await server.run();
  const next = sequencerSource();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    onObjectEvent(listener) {
      server.on('event', (e) => {
        for (const r of e.Records) {
          const object = { ...r.s3.object, key: encodeS3Key(r.s3.object.key), sequencer: next() };
          listener({ Records: [{ ...r, s3: { ...r.s3, object } }] });
        }
      });
    },
    stop: () => server.close(),
  };
}
