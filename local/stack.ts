/**
 * The embedded local stack: the same Lambda handlers as in the cloud, wired to s3rver and
 * DynamoDB Local on loopback. Only configuration differs: the handlers find the emulators
 * through endpoint environment variables, set here before they are imported.
 */
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../functions/config';
import { decodeS3Key } from '../functions/core/events';
import { DEFAULTS, ENV, isArticleKey } from '../functions/definitions';
import { startApiServer, type LocalRoute } from './api-server';
import { ensureTable, startDynamoLocal } from './dynamodb';
import { startFaultProxy, sumCounts, type FaultCounts, type FaultProxy, type FaultSettings } from './faults';
import { createDocumentClient } from '../functions/adapters/clients';
import { DynamoArticleIndex } from '../functions/adapters/dynamo-index';
import { LocalEventLog, LocalPublishScheduler } from './publishing';
import type { SweepOptions } from '../functions/gc/handler';
import type { SweepReport } from '../functions/core/media-gc';
import { createPgliteDriver, type PgliteDriver } from '../functions/adapters/pglite-driver';
import { migrate } from '../functions/core/search/migrations';
import { LOCAL_SEARCH, startLocalDataApi } from './data-api';
import { LocalQueue } from './queue';
import { startLocalS3 } from './s3';
import { startLocalSqs } from './sqs-server';

export interface LocalStackOptions {
  /** 0 picks a free port. Defaults come from the env names in the contract. */
  s3Port?: number;
  dynamodbPort?: number;
  apiPort?: number;
  /** The SQS-compatible endpoint (local/sqs-server.ts). */
  sqsPort?: number;
  /** The RDS Data API stand-in over PGlite (local/data-api.ts). */
  rdsDataPort?: number;
  /**
   * The search database: PGlite persisted under `<dataDir>/search` (default), in memory, or
   * none (GET /search answers 404, as in a deployment without search).
   */
  search?: 'disk' | 'memory' | false;
  /** Retry timing of the local ingest queue (tests keep it short). */
  queue?: { retryDelayMs?: number; maxReceiveCount?: number };
  /** Where s3rver and DynamoDB Local keep their data. */
  dataDir?: string;
  /** Extra environment for the handlers (IMAGE_* and so on). */
  env?: Record<string, string>;
  routes?: LocalRoute[];
  log?: (line: string) => void;
  /**
   * Puts a fault-injecting proxy (local/faults.ts) between the handlers and each emulator.
   * Only the handlers' endpoints change; stack.s3Endpoint/dynamodbEndpoint stay direct, so
   * uploads and checks from outside are not faulted. Rate 0 starts them switched off.
   */
  faults?: { rate: number; seed: number };
}

/** Every port of the stack picked free: for stacks started by tests, the soak and the bench, side by side. */
export const FREE_PORTS = { s3Port: 0, dynamodbPort: 0, apiPort: 0, sqsPort: 0, rdsDataPort: 0 } as const;

export interface LocalFaults {
  s3: FaultProxy;
  dynamodb: FaultProxy;
  /** Both proxies at once; `{ rate: 0 }` turns faults off. */
  configure(settings: Partial<FaultSettings>): void;
  counts(): FaultCounts;
}

export interface LocalStack {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  apiUrl: string;
  incomingBucket: string;
  mediaBucket: string;
  tableName: string;
  dataDir: string;
  deadLetterFile: string;
  /** Publish events, one JSON line each (`<dataDir>/events.jsonl`). */
  eventsFile: string;
  /** The timers of scheduled articles. */
  scheduler: LocalPublishScheduler;
  queue: LocalQueue;
  /** The SQS-compatible endpoint and its two queues (the operator's tools use these). */
  sqsEndpoint: string;
  ingestQueueUrl: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  /** The search database the handlers reach through the Data API stand-in; null when off. */
  search: { endpoint: string; driver: PgliteDriver } | null;
  /** Present when started with `faults`. */
  faults?: LocalFaults;
  /** Runs the media sweeper (functions/gc/handler.ts) now; it also runs once a day by itself. */
  gc(opts?: SweepOptions): Promise<SweepReport>;
  /** Resolves when every upload so far has been processed (or dead-lettered). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const MEDIA_GC_INTERVAL_MS = 24 * 3600 * 1000;

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

/** Fails early, naming the variable to change, instead of an EADDRINUSE stack trace later. */
export function assertPortFree(port: number, envName: string): Promise<void> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} is already in use (is another npm run dev running?): stop it, or set ${envName} to a free port`
            : `cannot listen on 127.0.0.1:${port} (${err.code ?? err.message}); set ${envName} to another port`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => ok()));
  });
}

function envPort(name: string, fallback: number): number {
  const v = process.env[name];
  if (!v) return fallback;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`${name} must be a port number, got "${v}"`);
  return Number(v);
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir ?? process.env[ENV.LOCAL_DATA_DIR] ?? DEFAULTS.localDataDir);
  const port = async (given: number | undefined, name: string, fallback: number) =>
    given === 0 ? freePort() : (given ?? envPort(name, fallback));
  const s3Port = await port(opts.s3Port, ENV.S3_PORT, DEFAULTS.s3Port);
  const dynamodbPort = await port(opts.dynamodbPort, ENV.DYNAMODB_PORT, DEFAULTS.dynamodbPort);
  const apiPort = await port(opts.apiPort, ENV.API_PORT, DEFAULTS.apiPort);
  const sqsPort = await port(opts.sqsPort, ENV.SQS_PORT, DEFAULTS.sqsPort);
  const searchMode = opts.search ?? 'disk';
  const rdsDataPort = searchMode ? await port(opts.rdsDataPort, ENV.RDS_DATA_PORT, DEFAULTS.rdsDataPort) : 0;
  for (const [p, name] of [
    [s3Port, ENV.S3_PORT],
    [dynamodbPort, ENV.DYNAMODB_PORT],
    [apiPort, ENV.API_PORT],
    [sqsPort, ENV.SQS_PORT],
    ...(searchMode ? [[rdsDataPort, ENV.RDS_DATA_PORT] as const] : []),
  ] as const) {
    await assertPortFree(p, name);
  }

  const incomingBucket = opts.env?.[ENV.INCOMING_BUCKET] ?? process.env[ENV.INCOMING_BUCKET] ?? DEFAULTS.incomingBucket;
  const mediaBucket = opts.env?.[ENV.MEDIA_BUCKET] ?? process.env[ENV.MEDIA_BUCKET] ?? DEFAULTS.mediaBucket;
  const tableName = opts.env?.[ENV.TABLE_NAME] ?? process.env[ENV.TABLE_NAME] ?? DEFAULTS.tableName;

  const [dynamo, s3, searchDriver] = await Promise.all([
    startDynamoLocal({ port: dynamodbPort, dataDir: join(dataDir, 'dynamodb') }),
    startLocalS3({ port: s3Port, dataDir: join(dataDir, 's3'), buckets: [incomingBucket, mediaBucket] }),
    searchMode ? createPgliteDriver(searchMode === 'disk' ? join(dataDir, 'search') : undefined) : null,
  ]);
  const stops: (() => Promise<void>)[] = [dynamo.stop, s3.stop, ...(searchDriver ? [() => searchDriver.close()] : [])];
  try {
    let search: LocalStack['search'] = null;
    if (searchDriver) {
      // The same versioned migrations the deployment runs through its custom resource.
      await migrate(searchDriver);
      const dataApi = await startLocalDataApi({ port: rdsDataPort, driver: searchDriver });
      stops.unshift(dataApi.stop);
      search = { endpoint: dataApi.endpoint, driver: searchDriver };
    }
    let faults: LocalFaults | undefined;
    if (opts.faults) {
      const [s3Proxy, dynamoProxy] = await Promise.all([
        startFaultProxy({ upstream: s3.endpoint, service: 's3', ...opts.faults }),
        startFaultProxy({ upstream: dynamo.endpoint, service: 'dynamodb', ...opts.faults }),
      ]);
      stops.unshift(s3Proxy.stop, dynamoProxy.stop);
      faults = {
        s3: s3Proxy,
        dynamodb: dynamoProxy,
        configure: (settings) => {
          s3Proxy.configure(settings);
          // A different stream per proxy, still fixed by the one seed.
          dynamoProxy.configure(settings.seed === undefined ? settings : { ...settings, seed: settings.seed + 1 });
        },
        counts: () => sumCounts(s3Proxy.counts(), dynamoProxy.counts()),
      };
      faults.configure(opts.faults);
    }
    const handlerS3 = faults?.s3.url ?? s3.endpoint;
    const handlerDynamo = faults?.dynamodb.url ?? dynamo.endpoint;
    const demoPort = envPort(ENV.DEMO_ORIGIN_PORT, DEFAULTS.demoOriginPort);
    const env: Record<string, string> = {
      [ENV.CURSOR_SECRET]: 'local-stack-cursor-secret',
      // Powertools' dev mode: one readable line per log entry, no EMF metrics output.
      POWERTOOLS_DEV: 'true',
      // The demo's image origin runs on loopback; only the local stack allows it by default.
      [ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS]: `127.0.0.1:${demoPort},localhost:${demoPort}`,
      ...pickDefined(process.env),
      ...opts.env,
      // The emulators' credentials, whatever AWS profile the shell has.
      AWS_REGION: DEFAULTS.localRegion,
      AWS_ACCESS_KEY_ID: DEFAULTS.localAccessKeyId,
      AWS_SECRET_ACCESS_KEY: DEFAULTS.localSecretAccessKey,
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      [ENV.S3_ENDPOINT]: handlerS3,
      [ENV.DYNAMODB_ENDPOINT]: handlerDynamo,
      // Media URLs are for readers: the emulator itself, never the fault proxy.
      ...(faults ? { [ENV.MEDIA_BASE_URL]: opts.env?.[ENV.MEDIA_BASE_URL] ?? process.env[ENV.MEDIA_BASE_URL] ?? `${s3.endpoint}/${mediaBucket}` } : {}),
      [ENV.INCOMING_BUCKET]: incomingBucket,
      [ENV.MEDIA_BUCKET]: mediaBucket,
      [ENV.TABLE_NAME]: tableName,
      ...(search
        ? {
            [ENV.SEARCH_CLUSTER_ARN]: LOCAL_SEARCH.resourceArn,
            [ENV.SEARCH_SECRET_ARN]: LOCAL_SEARCH.secretArn,
            [ENV.SEARCH_DATABASE]: LOCAL_SEARCH.database,
            [ENV.RDS_DATA_ENDPOINT]: search.endpoint,
          }
        : { [ENV.SEARCH_CLUSTER_ARN]: '', [ENV.SEARCH_SECRET_ARN]: '', [ENV.RDS_DATA_ENDPOINT]: '' }),
    };
    Object.assign(process.env, env);

    const ddb = new DynamoDBClient({ endpoint: dynamo.endpoint });
    await ensureTable(ddb, tableName);
    ddb.destroy();

    // Imported only now, so their module-scope configuration sees the endpoints above.
    const ingest = await import('../functions/ingest/handler');
    const api = await import('../functions/api/handler');
    const gc = await import('../functions/gc/handler');

    const deadLetterFile = join(dataDir, 'dead-letters.jsonl');
    const queue = new LocalQueue({
      handler: ingest.handler,
      deadLetterFile,
      ...opts.queue,
      onError: (err) => log(`ingest invocation failed: ${(err as Error)?.message ?? err}`),
    });
    stops.unshift(async () => queue.close());
    const scheduler = new LocalPublishScheduler((body) => queue.send(body), incomingBucket);
    stops.unshift(async () => scheduler.close());
    const eventsFile = join(dataDir, 'events.jsonl');
    ingest.usePublishing({ scheduler, events: new LocalEventLog(eventsFile, env[ENV.LOCAL_WEBHOOK_URL] || undefined) });
    const reader = createDocumentClient({ dynamodbEndpoint: dynamo.endpoint });
    const rearmed = await scheduler.rearm(new DynamoArticleIndex(reader, tableName)).finally(() => reader.destroy());
    if (rearmed) log(`${rearmed} scheduled article(s): timers armed again`);
    const sqs = await startLocalSqs({ port: sqsPort, queue, deadLetterFile });
    stops.unshift(sqs.stop);
    s3.onObjectEvent((n) => {
      const r = n.Records[0];
      // The cloud's notification filter: only article suffixes in the upload bucket.
      if (r && r.s3.bucket.name === incomingBucket && isArticleKey(decodeS3Key(r.s3.object.key))) {
        queue.send(JSON.stringify(n));
      }
    });

    // The cloud's daily schedule (infra/constructs/media-gc.ts), while the stack runs.
    const daily = setInterval(() => {
      gc.sweep().catch((err: unknown) => log(`media sweep failed: ${(err as Error)?.message ?? err}`));
    }, MEDIA_GC_INTERVAL_MS);
    daily.unref();
    stops.unshift(async () => clearInterval(daily));

    const server = await startApiServer({
      port: apiPort,
      handler: api.handler,
      corsAllowedOrigins: loadConfig().corsAllowedOrigins,
      routes: opts.routes,
      onError: (err) => log(`api handler failed: ${(err as Error)?.message ?? err}`),
    });
    stops.unshift(server.stop);

    return {
      s3Endpoint: s3.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      apiUrl: server.url,
      incomingBucket,
      mediaBucket,
      tableName,
      dataDir,
      deadLetterFile,
      eventsFile,
      scheduler,
      queue,
      sqsEndpoint: sqs.endpoint,
      ingestQueueUrl: sqs.ingestQueueUrl,
      deadLetterQueueUrl: sqs.deadLetterQueueUrl,
      deadLetterQueueArn: sqs.deadLetterQueueArn,
      search,
      faults,
      settle: () => queue.idle(),
      gc: (o) => gc.sweep(o),
      stop: async () => {
        for (const stop of stops) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}

function pickDefined(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
