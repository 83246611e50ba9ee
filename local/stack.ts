/**
 * The embedded local stack: the same Lambda handlers as in the cloud, wired to s3rver and
 * DynamoDB Local on loopback. Only configuration differs: the handlers find the emulators
 * through endpoint environment variables, set here before they are imported.
 */
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeS3Key } from '../functions/core/events';
import { DEFAULTS, ENV, isArticleKey } from '../functions/definitions';
import { startApiServer, type LocalRoute } from './api-server';
import { ensureTable, startDynamoLocal } from './dynamodb';
import { LocalQueue } from './queue';
import { startLocalS3 } from './s3';

export interface LocalStackOptions {
  /** 0 picks a free port. Defaults come from the env names in the contract. */
  s3Port?: number;
  dynamodbPort?: number;
  apiPort?: number;
  /** Where s3rver and DynamoDB Local keep their data. */
  dataDir?: string;
  /** Extra environment for the handlers (IMAGE_* and so on). */
  env?: Record<string, string>;
  routes?: LocalRoute[];
  log?: (line: string) => void;
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
  queue: LocalQueue;
  /** Resolves when every upload so far has been processed (or dead-lettered). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

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

  const incomingBucket = opts.env?.[ENV.INCOMING_BUCKET] ?? process.env[ENV.INCOMING_BUCKET] ?? DEFAULTS.incomingBucket;
  const mediaBucket = opts.env?.[ENV.MEDIA_BUCKET] ?? process.env[ENV.MEDIA_BUCKET] ?? DEFAULTS.mediaBucket;
  const tableName = opts.env?.[ENV.TABLE_NAME] ?? process.env[ENV.TABLE_NAME] ?? DEFAULTS.tableName;

  const [dynamo, s3] = await Promise.all([
    startDynamoLocal({ port: dynamodbPort, dataDir: join(dataDir, 'dynamodb') }),
    startLocalS3({ port: s3Port, dataDir: join(dataDir, 's3'), buckets: [incomingBucket, mediaBucket] }),
  ]);
  const stops: (() => Promise<void>)[] = [dynamo.stop, s3.stop];
  try {
    const demoPort = envPort(ENV.DEMO_ORIGIN_PORT, DEFAULTS.demoOriginPort);
    const env: Record<string, string> = {
      [ENV.CURSOR_SECRET]: 'local-stack-cursor-secret',
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
      [ENV.S3_ENDPOINT]: s3.endpoint,
      [ENV.DYNAMODB_ENDPOINT]: dynamo.endpoint,
      [ENV.INCOMING_BUCKET]: incomingBucket,
      [ENV.MEDIA_BUCKET]: mediaBucket,
      [ENV.TABLE_NAME]: tableName,
    };
    Object.assign(process.env, env);

    const ddb = new DynamoDBClient({ endpoint: dynamo.endpoint });
    await ensureTable(ddb, tableName);
    ddb.destroy();

    // Imported only now, so their module-scope configuration sees the endpoints above.
    const ingest = await import('../functions/ingest/handler');
    const api = await import('../functions/api/handler');

    const deadLetterFile = join(dataDir, 'dead-letters.jsonl');
    const queue = new LocalQueue({
      handler: ingest.handler,
      deadLetterFile,
      onError: (err) => log(`ingest invocation failed: ${(err as Error)?.message ?? err}`),
    });
    stops.unshift(async () => queue.close());
    s3.onObjectEvent((n) => {
      const r = n.Records[0];
      // The cloud's notification filter: only article suffixes in the upload bucket.
      if (r && r.s3.bucket.name === incomingBucket && isArticleKey(decodeS3Key(r.s3.object.key))) {
        queue.send(JSON.stringify(n));
      }
    });

    const server = await startApiServer({
      port: apiPort,
      handler: api.handler,
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
      queue,
      settle: () => queue.idle(),
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
