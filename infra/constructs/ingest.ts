/**
 * Uploads in, articles indexed: S3 notifications for article keys go to an SQS queue
 * (with a dead-letter queue) that drives the ingest Lambda.
 *
 * The queue decouples S3 from Lambda: bursts wait in the queue instead of being
 * throttled, a failing article is retried (maxReceiveCount) and then parked in the DLQ
 * for a redrive, and `maxConcurrency` caps how hard the pipeline hits DynamoDB and
 * image origins however many files are dropped at once.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { BODY_PREFIX, ENV, IMAGE_PREFIX } from '../../functions/definitions';
import { PipelineFunction } from './pipeline-function';
import { tableActions } from './permissions';

export const INGEST_MAX_RECEIVE_COUNT = 5;
export const INGEST_BATCHING_WINDOW = Duration.seconds(2);

/**
 * AWS's guidance for SQS event sources: a visibility timeout of at least six times the
 * function timeout plus the batching window, so a slow batch is not handed out twice.
 * It is also how long a failed article waits before its retry.
 */
export function visibilityTimeoutFor(timeout: Duration): Duration {
  return Duration.seconds(timeout.toSeconds() * 6 + INGEST_BATCHING_WINDOW.toSeconds());
}

/**
 * Which objects are articles is one rule, isArticleKey() (case-insensitive: `Post.Md` is
 * one), applied by the handler here and by the local stack alike. S3 suffix filters are
 * case-sensitive and could not express it, so every object created or removed is
 * delivered, without a filter, and the handler ignores the rest (an asset's event costs
 * one skipped record in a batch).
 */
export const NOTIFICATION_EVENTS = [s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED] as const;

export interface IngestProps {
  uploadBucket: s3.IBucket;
  mediaBucket: s3.IBucket;
  table: dynamodb.ITable;
  /** `https://<cdn domain>`: prefix of every re-hosted URL. */
  mediaBaseUrl: string;
  defaultTimezone: string;
  /** ARTICLE_MAX_BYTES and IMAGE_* values; unset ones keep the functions' defaults. */
  tuning: Record<string, string>;
  architecture: lambda.Architecture;
  memorySize: number;
  /** Must cover a whole batch (batchSize articles, images included). */
  timeout: Duration;
  batchSize: number;
  maxConcurrency: number;
  logRetentionDays: number;
  sharpModulesDir?: string;
}

export class Ingest extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly handler: PipelineFunction;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);

    // SSE-SQS rather than KMS: S3 notifications cannot use the AWS-managed SQS key, and a
    // customer key would need a key policy for S3 and cost per request for no added control.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is the dead-letter queue: it keeps failed uploads for 14 days, alarms when non-empty, and is redriven by hand; a DLQ behind it would only move the problem.',
      },
    ]);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeoutFor(props.timeout),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: INGEST_MAX_RECEIVE_COUNT },
    });

    const destination = new s3n.SqsDestination(this.queue);
    for (const event of NOTIFICATION_EVENTS) props.uploadBucket.addEventNotification(event, destination);

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'functions/ingest/handler.ts',
      description: 'article-pipeline ingest: parse, render, re-host images, index',
      architecture: props.architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetentionDays: props.logRetentionDays,
      withSharp: true,
      sharpModulesDir: props.sharpModulesDir,
      environment: {
        ...props.tuning,
        [ENV.INCOMING_BUCKET]: props.uploadBucket.bucketName,
        [ENV.MEDIA_BUCKET]: props.mediaBucket.bucketName,
        [ENV.TABLE_NAME]: props.table.tableName,
        [ENV.MEDIA_BASE_URL]: props.mediaBaseUrl,
        [ENV.DEFAULT_TIMEZONE]: props.defaultTimezone,
        // EMF metrics (functions/adapters/powertools.ts): without a namespace they are dropped.
        POWERTOOLS_METRICS_NAMESPACE: 'ArticlePipeline',
        POWERTOOLS_SERVICE_NAME: 'ingest',
      },
    });

    const role = this.handler.role;
    // Read-only on uploads: the function must never write where its own trigger fires.
    // ListBucket makes a missing asset a 404 (NoSuchKey) rather than a 403.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.uploadBucket.arnForObjects('*')] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.uploadBucket.bucketArn] }),
    );
    // Media: images and bodies are written and checked for existence; only bodies are
    // ever deleted (images are content-addressed and shared between articles).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.mediaBucket.arnForObjects(`${IMAGE_PREFIX}*`), props.mediaBucket.arnForObjects(`${BODY_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [props.mediaBucket.arnForObjects(`${BODY_PREFIX}*`)] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.mediaBucket.bucketArn] }),
    );
    role.addToPrincipalPolicy(tableActions(props.table, 'readWrite'));

    const source = new SqsEventSource(this.queue, {
      batchSize: props.batchSize,
      maxBatchingWindow: INGEST_BATCHING_WINDOW,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency,
    });
    this.handler.function.addEventSource(source);
    NagSuppressions.addResourceSuppressions(
      this.handler.function,
      [
        {
          id: 'Serverless-LambdaEventSourceMappingDestination',
          reason: 'SQS event sources support no on-failure destination; a message that fails maxReceiveCount times moves to the dead-letter queue through the queue redrive policy.',
        },
      ],
      true,
    );
  }
}
