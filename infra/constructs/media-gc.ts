/**
 * The media sweeper (functions/gc/handler.ts): once a day, removes re-hosted images no
 * article uses and bodies no article points to, after the grace period
 * (MEDIA_GC_GRACE_SECONDS). See docs/reliability.md, "Nothing left behind".
 *
 * Least privilege: it lists and deletes only under img/ and bodies/ of the media bucket,
 * reads object dates under bodies/, scans the table (the only role allowed to: one Scan a
 * day is the sweep), and writes only the image items (partition keys IMG#… and IMGURL#…).
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { BODY_PREFIX, ENV, IMAGE_PREFIX, MEDIA_GC_MAX_SECONDS } from '../../functions/definitions';
import { PipelineFunction } from './pipeline-function';

export interface MediaGcProps {
  mediaBucket: s3.IBucket;
  table: dynamodb.ITable;
  mediaBaseUrl: string;
  /** The ingest function's IMAGE_* settings: they name the transform key images are stored under. */
  tuning: Record<string, string>;
  graceSeconds: number;
  architecture: lambda.Architecture;
  logRetentionDays: number;
}

export class MediaGc extends Construct {
  readonly handler: PipelineFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: MediaGcProps) {
    super(scope, id);
    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'functions/gc/handler.ts',
      description: 'article-pipeline media sweeper: removes unused re-hosted images and orphaned bodies',
      architecture: props.architecture,
      // The scan's result (hashes and keys, not items) stays in memory: ~100 MB at 100k articles.
      memorySize: 1024,
      timeout: Duration.seconds(MEDIA_GC_MAX_SECONDS),
      logRetentionDays: props.logRetentionDays,
      environment: {
        ...props.tuning,
        [ENV.MEDIA_BUCKET]: props.mediaBucket.bucketName,
        [ENV.TABLE_NAME]: props.table.tableName,
        [ENV.MEDIA_BASE_URL]: props.mediaBaseUrl,
        [ENV.MEDIA_GC_GRACE_SECONDS]: String(props.graceSeconds),
        POWERTOOLS_METRICS_NAMESPACE: 'ArticlePipeline',
        POWERTOOLS_SERVICE_NAME: 'media-gc',
      },
    });

    const role = this.handler.role;
    const prefixes = [IMAGE_PREFIX, BODY_PREFIX];
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.mediaBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: prefixes.map((p) => props.mediaBucket.arnForObjects(`${p}*`)) }),
    );
    // HeadObject: a body's date is checked again right before it is deleted.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.mediaBucket.arnForObjects(`${BODY_PREFIX}*`)] }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [props.table.tableArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IMG#*', 'IMGURL#*'] } },
      }),
    );

    this.schedule = new events.Rule(this, 'Daily', {
      description: 'Runs the media sweeper once a day',
      schedule: events.Schedule.rate(Duration.days(1)),
    });
    this.schedule.addTarget(
      new targets.LambdaFunction(this.handler.function, {
        // A sweep is idempotent: a failed one is retried, then finished by the next day's.
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      }),
    );
    NagSuppressions.addResourceSuppressions(this.schedule, [
      {
        id: 'Serverless-EventBusDLQ',
        reason: 'The daily schedule event carries no data: a failed delivery needs no replay, the next day\'s sweep does the same work (and the function\'s errors are visible in its metrics).',
      },
    ]);
  }
}
