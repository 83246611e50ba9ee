/**
 * The media sweeper Lambda (core/media-gc.ts), run once a day by an EventBridge schedule
 * (infra/constructs/media-gc.ts); the local stack runs the same `sweep` (local/stack.ts,
 * `npm run gc`). Thin: configuration and clients once per cold start.
 */
import type { Context } from 'aws-lambda';
import { createDocumentClient, createS3Client } from '../adapters/clients';
import { DynamoMediaGcStore } from '../adapters/dynamo-media-gc';
import { transformKeyOf } from '../adapters/encoder-settings';
import { createPowertoolsLogger, createPowertoolsMetrics } from '../adapters/powertools';
import { S3ObjectStore } from '../adapters/s3-store';
import { loadConfig } from '../config';
import { errorMessage } from '../core/errors';
import { sweepMedia, type SweepReport } from '../core/media-gc';

const config = loadConfig();
const log = createPowertoolsLogger({ serviceName: 'media-gc' });
const metrics = createPowertoolsMetrics({
  serviceName: 'media-gc',
  onError: (err) => log.warn('metrics not recorded', { error: errorMessage(err) }),
});
const store = new DynamoMediaGcStore(createDocumentClient(config), config.tableName);
const media = new S3ObjectStore(createS3Client(config));

export interface SweepOptions {
  /** The clock the sweep reads (tests move it past the grace period). */
  now?: () => Date;
  /** Overrides MEDIA_GC_GRACE_SECONDS for this sweep. */
  graceSeconds?: number;
}

export function sweep(opts: SweepOptions = {}): Promise<SweepReport> {
  return sweepMedia(
    { store, media, log, metrics, ...(opts.now ? { now: opts.now } : {}) },
    {
      mediaBucket: config.mediaBucket,
      graceSeconds: opts.graceSeconds ?? config.mediaGcGraceSeconds,
      transformKey: transformKeyOf(config.image),
    },
  );
}

export async function handler(_event: unknown, context?: Context): Promise<SweepReport> {
  if (context) log.powertools.addContext(context);
  try {
    return await sweep();
  } catch (err) {
    // Thrown on: the invocation counts as an error (alarm) and tomorrow's sweep finishes the work.
    log.error('media sweep failed', { error: errorMessage(err) });
    throw err;
  } finally {
    metrics.flush();
  }
}
