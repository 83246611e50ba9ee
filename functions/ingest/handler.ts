/**
 * The ingest Lambda: S3 notifications (wrapped in SQS messages, or direct) in, articles
 * indexed. Thin: configuration and clients are built once per cold start, then every
 * invocation goes to the batch runner and the core.
 */
import { loadConfig } from '../config';
import { createDocumentClient, createS3Client } from '../adapters/clients';
import { DynamoArticleIndex } from '../adapters/dynamo-index';
import { createJsonLogger } from '../adapters/logger';
import { S3ObjectStore } from '../adapters/s3-store';
import { createIngestHandler } from './batch';

const config = loadConfig();
const objects = new S3ObjectStore(createS3Client(config));
const index = new DynamoArticleIndex(createDocumentClient(config), config.tableName);
const log = createJsonLogger({ service: 'ingest' });

export const handler = createIngestHandler(
  { objects, index, log },
  {
    incomingBucket: config.incomingBucket,
    mediaBucket: config.mediaBucket,
    articleMaxBytes: config.articleMaxBytes,
    defaultTimezone: config.defaultTimezone,
  },
);
