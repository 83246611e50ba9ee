/**
 * The one source of truth for names shared by the Lambda functions, the CDK stack
 * (infra/) and the embedded local stack (local/): environment variable names, default
 * bucket and table names, the table's key schema, and which uploads are articles.
 * No imports, so any bundle can carry it for free.
 */

/** Environment variable names, the same in Lambda and locally. */
export const ENV = {
  INCOMING_BUCKET: 'INCOMING_BUCKET',
  MEDIA_BUCKET: 'MEDIA_BUCKET',
  TABLE_NAME: 'TABLE_NAME',
  MEDIA_BASE_URL: 'MEDIA_BASE_URL',
  DEFAULT_TIMEZONE: 'DEFAULT_TIMEZONE',
  ARTICLE_MAX_BYTES: 'ARTICLE_MAX_BYTES',
  IMAGE_WIDTHS: 'IMAGE_WIDTHS',
  IMAGE_FORMATS: 'IMAGE_FORMATS',
  IMAGE_MAX_BYTES: 'IMAGE_MAX_BYTES',
  IMAGE_MAX_PIXELS: 'IMAGE_MAX_PIXELS',
  IMAGE_FETCH_TIMEOUT_MS: 'IMAGE_FETCH_TIMEOUT_MS',
  IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: 'IMAGE_FETCH_ALLOW_PRIVATE_HOSTS',
  IMAGE_FETCH_HOSTS: 'IMAGE_FETCH_HOSTS',
  CURSOR_SECRET: 'CURSOR_SECRET',
  CORS_ALLOWED_ORIGINS: 'CORS_ALLOWED_ORIGINS',
  /** Scheduled posts (EventBridge Scheduler): the group, the role it assumes, the queue it sends to. */
  SCHEDULE_GROUP_NAME: 'SCHEDULE_GROUP_NAME',
  SCHEDULER_ROLE_ARN: 'SCHEDULER_ROLE_ARN',
  INGEST_QUEUE_ARN: 'INGEST_QUEUE_ARN',
  /** Publish events: the EventBridge bus. */
  EVENT_BUS_NAME: 'EVENT_BUS_NAME',
  /** Local stack only: publish events are also POSTed here. */
  LOCAL_WEBHOOK_URL: 'LOCAL_WEBHOOK_URL',
  /** Front-matter keys the public `GET /articles/{id}` shows (comma list; default none). */
  PUBLIC_FRONT_MATTER_KEYS: 'PUBLIC_FRONT_MATTER_KEYS',
  /** Public URL of an article page; feeds and the sitemap link with it. */
  ARTICLE_URL_TEMPLATE: 'ARTICLE_URL_TEMPLATE',
  /** Seconds an unreferenced image or orphaned body is kept before the media sweeper removes it. */
  MEDIA_GC_GRACE_SECONDS: 'MEDIA_GC_GRACE_SECONDS',
  /** The search cluster (Aurora PostgreSQL, Data API): search is off when unset. */
  SEARCH_CLUSTER_ARN: 'SEARCH_CLUSTER_ARN',
  SEARCH_SECRET_ARN: 'SEARCH_SECRET_ARN',
  SEARCH_DATABASE: 'SEARCH_DATABASE',
  /** Endpoint overrides: set only by the local stack (and tests). */
  S3_ENDPOINT: 'S3_ENDPOINT',
  DYNAMODB_ENDPOINT: 'DYNAMODB_ENDPOINT',
  RDS_DATA_ENDPOINT: 'RDS_DATA_ENDPOINT',
  /** Local stack only. */
  S3_PORT: 'S3_PORT',
  DYNAMODB_PORT: 'DYNAMODB_PORT',
  API_PORT: 'API_PORT',
  LOCAL_DATA_DIR: 'LOCAL_DATA_DIR',
  DEMO_ORIGIN_PORT: 'DEMO_ORIGIN_PORT',
  SQS_PORT: 'SQS_PORT',
  /** The local Data API stand-in over PGlite (local/data-api.ts). */
  RDS_DATA_PORT: 'RDS_DATA_PORT',
  /** The operator's tools (scripts/): where reprocess sends and dlq reads, in the cloud. */
  INGEST_QUEUE_URL: 'INGEST_QUEUE_URL',
  DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
} as const;

export const DEFAULTS = {
  incomingBucket: 'articles-incoming',
  mediaBucket: 'articles-media',
  tableName: 'articles',
  s3Port: 4569,
  dynamodbPort: 4570,
  apiPort: 3000,
  demoOriginPort: 4580,
  localDataDir: '.local',
  /** s3rver's fixed credentials. */
  localAccessKeyId: 'S3RVER',
  localSecretAccessKey: 'S3RVER',
  localRegion: 'us-east-1',
  /** The local SQS-compatible endpoint (local/sqs-server.ts). */
  sqsPort: 4571,
  rdsDataPort: 4572,
  searchDatabase: 'articles',
  ingestQueueName: 'articles-ingest',
  deadLetterQueueName: 'articles-ingest-dlq',
  /** The account id in the local stack's queue URLs and ARNs. */
  localAccountId: '000000000000',
} as const;

/** Object keys with these suffixes (case-insensitive) are articles; others are assets. */
export const ARTICLE_SUFFIXES = ['.md', '.markdown', '.html', '.htm'] as const;

export function isArticleKey(key: string): boolean {
  const lower = key.toLowerCase();
  return ARTICLE_SUFFIXES.some((s) => lower.endsWith(s));
}

/**
 * The DynamoDB table, used by infra/constructs/storage.ts and local/stack.ts alike.
 * Item layout is documented in functions/adapters/dynamo-index.ts.
 */
export const TABLE = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
      projection: 'ALL',
    },
  ],
  timeToLiveAttribute: 'expiresAt',
} as const;

/** Prefix in the media bucket for processed article bodies. */
export const BODY_PREFIX = 'bodies/';
/** Prefix in the media bucket for re-hosted image variants. */
export const IMAGE_PREFIX = 'img/';

/**
 * The longest a media sweep runs (its Lambda timeout). A condemnation older than this was
 * left by a sweep that died, so ingest may take the image back (adapters/dynamo-image-records.ts).
 */
export const MEDIA_GC_MAX_SECONDS = 900;
