/**
 * The ingest Lambda: S3 notifications (wrapped in SQS messages, or direct) in, articles
 * indexed. Thin: configuration and clients are built once per cold start, then every
 * invocation goes to the batch runner and the core.
 */
import { loadConfig } from '../config';
import { createDocumentClient, createS3Client } from '../adapters/clients';
import { DynamoImageRecords } from '../adapters/dynamo-image-records';
import { DynamoArticleIndex } from '../adapters/dynamo-index';
import { createHttpFetcher } from '../adapters/http-fetcher';
import { createJsonLogger } from '../adapters/logger';
import { S3ObjectStore } from '../adapters/s3-store';
import { SharpEncoder } from '../adapters/sharp-encoder';
import type { ImageStep } from '../core/article';
import { rehostImages } from '../core/images/rehost';
import { createIngestHandler } from './batch';

const config = loadConfig();
const doc = createDocumentClient(config);
const objects = new S3ObjectStore(createS3Client(config));
const index = new DynamoArticleIndex(doc, config.tableName);
const log = createJsonLogger({ service: 'ingest' });

const imageDeps = {
  fetcher: createHttpFetcher({
    maxBytes: config.image.maxBytes,
    timeoutMs: config.image.fetchTimeoutMs,
    allowPrivateHosts: config.image.allowPrivateHosts,
    onlyHosts: config.image.onlyHosts,
  }),
  encoder: new SharpEncoder(),
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

export const handler = createIngestHandler(
  { objects, index, images, log },
  {
    incomingBucket: config.incomingBucket,
    mediaBucket: config.mediaBucket,
    articleMaxBytes: config.articleMaxBytes,
    defaultTimezone: config.defaultTimezone,
  },
);
