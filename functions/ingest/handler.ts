/**
 * The ingest Lambda: S3 notifications (wrapped in SQS messages, or direct) in, articles
 * indexed. Thin: configuration and clients are built once per cold start, then every
 * invocation goes to the batch runner and the core.
 */
import { lambdaCredentials, loadConfig } from '../config';
import { createDocumentClient, createS3Client } from '../adapters/clients';
import { DynamoImageRecords } from '../adapters/dynamo-image-records';
import { DynamoArticleIndex } from '../adapters/dynamo-index';
import { EventBridgePublishScheduler, EventBridgePublisher } from '../adapters/eventbridge';
import { createHttpFetcher } from '../adapters/http-fetcher';
import { createPowertoolsLogger, createPowertoolsMetrics, measuredEncoder } from '../adapters/powertools';
import { S3ObjectStore } from '../adapters/s3-store';
import { SharpEncoder } from '../adapters/sharp-encoder';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Context } from 'aws-lambda';
import type { EventPublisher, PublishScheduler } from '../ports';
import type { ImageStep } from '../core/article';
import { articleUrl } from '../core/article-url';
import { errorMessage } from '../core/errors';
import { rehostImages } from '../core/images/rehost';
import { createDataApiDriver } from '../adapters/data-api-driver';
import { createSearchFeed } from '../core/search/feed';
import { SearchIndex } from '../core/search/index';
import { createIngestHandler, type BatchResult } from './batch';

const config = loadConfig();
const doc = createDocumentClient(config);
const objects = new S3ObjectStore(createS3Client(config));
const index = new DynamoArticleIndex(doc, config.tableName);
const log = createPowertoolsLogger({ serviceName: 'ingest' });
const metrics = createPowertoolsMetrics({
  serviceName: 'ingest',
  onError: (err) => log.warn('metrics not recorded', { error: errorMessage(err) }),
});

const imageDeps = {
  fetcher: createHttpFetcher({
    maxBytes: config.image.maxBytes,
    timeoutMs: config.image.fetchTimeoutMs,
    allowPrivateHosts: config.image.allowPrivateHosts,
    onlyHosts: config.image.onlyHosts,
  }),
  encoder: measuredEncoder(new SharpEncoder(), metrics),
  media: objects,
  incoming: objects,
  records: new DynamoImageRecords(doc, config.tableName),
};

const images: ImageStep = (input) =>
  rehostImages(imageDeps, {
    ...input,
    incomingBucket: config.incomingBucket,
    mediaBucket: config.mediaBucket,
    mediaBaseUrl: config.mediaBaseUrl,
    image: config.image,
  });

const textDecoder = new TextDecoder();
const search =
  config.search &&
  createSearchFeed({
    index: new SearchIndex(createDataApiDriver({ ...config.search, resumeWaitMs: 60_000 }, lambdaCredentials())),
    reader: index,
    readBody: async (key) => {
      const obj = await objects.get(config.mediaBucket, key);
      return obj ? textDecoder.decode(obj.body) : null;
    },
    log,
  });

/**
 * Scheduled posts and publish events: EventBridge in AWS when configured; the local stack
 * puts its own timer and events file in through `usePublishing` before any event arrives.
 */
const publishing: { scheduler?: PublishScheduler; events?: EventPublisher } = {
  scheduler: config.scheduler
    ? new EventBridgePublishScheduler(new SchedulerClient({}), { ...config.scheduler, incomingBucket: config.incomingBucket })
    : undefined,
  events: config.eventBusName ? new EventBridgePublisher(new EventBridgeClient({}), config.eventBusName) : undefined,
};

export function usePublishing(local: { scheduler?: PublishScheduler; events?: EventPublisher }): void {
  Object.assign(publishing, local);
}

const run = createIngestHandler(
  {
    objects,
    index,
    images,
    log,
    metrics,
    search,
    articleUrl: (a) => (config.articleUrlTemplate && a.slug ? articleUrl(config.articleUrlTemplate, { ...a, slug: a.slug, updated: null }, config.defaultTimezone) : null),
    get scheduler() {
      return publishing.scheduler;
    },
    get events() {
      return publishing.events;
    },
  },
  {
    incomingBucket: config.incomingBucket,
    mediaBucket: config.mediaBucket,
    articleMaxBytes: config.articleMaxBytes,
    defaultTimezone: config.defaultTimezone,
  },
);

export async function handler(event: unknown, context?: Context): Promise<BatchResult> {
  // Lambda passes a context (request id, function name in every log entry); the local stack does not.
  if (context) log.powertools.addContext(context);
  try {
    const result = await run(event);
    if (result.batchItemFailures.length) metrics.add('MessagesFailed', 'Count', result.batchItemFailures.length);
    return result;
  } finally {
    metrics.flush();
  }
}
