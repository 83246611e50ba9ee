/**
 * Starts the embedded stack once per test run (DynamoDB Local takes ~2 s to boot), on free
 * loopback ports with a throw-away data directory, and hands its endpoints to the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, FREE_PORTS, startLocalStack, type LocalStack } from '../../local/stack';
import { viewerRoute } from '../../local/viewer';
import { startOrigin, type Origin } from './origin';

/** What test files (in other workers) get of the stack: its endpoints, names and queues. */
export interface StackInfo
  extends Pick<
    LocalStack,
    | 's3Endpoint'
    | 'dynamodbEndpoint'
    | 'apiUrl'
    | 'incomingBucket'
    | 'mediaBucket'
    | 'tableName'
    | 'deadLetterFile'
    | 'sqsEndpoint'
    | 'ingestQueueUrl'
    | 'deadLetterQueueUrl'
    | 'deadLetterQueueArn'
    | 'eventsFile'
  > {
  originUrl: string;
  originDir: string;
  controlUrl: string;
  /** The Data API stand-in over the stack's PGlite search database. */
  searchEndpoint: string;
  /** A free port for the demo's image origin (scripts/demo-lib.ts), allowed like the test origin. */
  demoOriginPort: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

let stack: LocalStack | undefined;
let origin: Origin | undefined;
let dataDir: string | undefined;

export default async function setup(project: TestProject) {
  dataDir = mkdtempSync(join(tmpdir(), 'article-pipeline-it-'));
  origin = await startOrigin();
  const demoOriginPort = await freePort();
  stack = await startLocalStack({
    ...FREE_PORTS,
    // Failing messages reach the dead-letter queue in well under a second.
    queue: { retryDelayMs: 25 },
    dataDir,
    env: {
      // Tests' image origin is on loopback: allowed explicitly, like the demo's.
      IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: `${origin.hostPort},127.0.0.1:${demoOriginPort}`,
      // Tests never resolve or contact an outside host: any other image URL is refused
      // before a DNS lookup (and shows up as a warning).
      IMAGE_FETCH_HOSTS: '127.0.0.1',
      IMAGE_FETCH_TIMEOUT_MS: '3000',
      DEFAULT_TIMEZONE: 'UTC',
      // Feeds and the sitemap link with it (test/integration/outputs.test.ts).
      ARTICLE_URL_TEMPLATE: 'https://blog.example/{yyyy}/{mm}/{slug}/',
    },
    routes: [viewerRoute()],
    log: (l) => console.error(`[stack] ${l}`),
  });
  // A control endpoint lets test files (in other workers) wait for the queue to drain.
  const control = await origin.addControl({ settle: () => stack!.settle(), queueStats: () => stack!.queue.stats });
  project.provide('stack', {
    s3Endpoint: stack.s3Endpoint,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    apiUrl: stack.apiUrl,
    incomingBucket: stack.incomingBucket,
    mediaBucket: stack.mediaBucket,
    tableName: stack.tableName,
    deadLetterFile: stack.deadLetterFile,
    originUrl: origin.url,
    originDir: origin.dir,
    controlUrl: control,
    searchEndpoint: stack.search!.endpoint,
    demoOriginPort,
    sqsEndpoint: stack.sqsEndpoint,
    ingestQueueUrl: stack.ingestQueueUrl,
    deadLetterQueueUrl: stack.deadLetterQueueUrl,
    deadLetterQueueArn: stack.deadLetterQueueArn,
    eventsFile: stack.eventsFile,
  });
  return async () => {
    await stack?.stop();
    await origin?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}
