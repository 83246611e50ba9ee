/**
 * The whole deployment: one stack, one construct per concern. Settings come from CDK
 * context (infra/settings.ts); the cdk-nag rule packs AwsSolutions and Serverless run
 * on every synth, and an unacknowledged finding fails it.
 */
import { Aspects, CfnOutput, Duration, Stack, Tags, type App, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, NagSuppressions, ServerlessChecks } from 'cdk-nag';
import type { Construct, IConstruct } from 'constructs';
import { Ingest } from './constructs/ingest';
import { MediaCdn } from './constructs/media-cdn';
import { MediaGc } from './constructs/media-gc';
import { Monitoring } from './constructs/monitoring';
import { Publishing } from './constructs/publishing';
import { QueryApi } from './constructs/query-api';
import { Search } from './constructs/search';
import { Storage } from './constructs/storage';
import { readSettings, type PipelineSettings } from './settings';

export interface ArticlePipelineStackProps extends StackProps {
  settings: PipelineSettings;
}

export class ArticlePipelineStack extends Stack {
  readonly storage: Storage;
  readonly cdn: MediaCdn;
  readonly ingest: Ingest;
  readonly queryApi: QueryApi;
  readonly mediaGc: MediaGc;
  readonly monitoring: Monitoring;
  readonly publishing: Publishing;
  readonly search?: Search;

  constructor(scope: Construct, id: string, props: ArticlePipelineStackProps) {
    super(scope, id, { description: 'article-pipeline: articles from S3 to a query API and an image CDN', ...props });
    const s = props.settings;
    const architecture = s.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    Tags.of(this).add('project', 'article-pipeline');
    Tags.of(this).add('stage', s.stage);

    this.storage = new Storage(this, 'Storage');
    this.cdn = new MediaCdn(this, 'MediaCdn', {
      mediaBucket: this.storage.mediaBucket,
      logBucket: this.storage.logBucket,
      corsAllowedOrigins: s.corsAllowedOrigins,
      domain: s.mediaDomain,
    });
    this.ingest = new Ingest(this, 'Ingest', {
      uploadBucket: this.storage.uploadBucket,
      mediaBucket: this.storage.mediaBucket,
      table: this.storage.table,
      mediaBaseUrl: this.cdn.url,
      defaultTimezone: s.defaultTimezone,
      tuning: s.ingestTuning,
      architecture,
      memorySize: s.ingestMemoryMb,
      timeout: Duration.seconds(s.ingestTimeoutSeconds),
      batchSize: s.ingestBatchSize,
      maxConcurrency: s.ingestMaxConcurrency,
      logRetentionDays: s.logRetentionDays,
      sharpModulesDir: s.sharpModulesDir,
    });
    this.publishing = new Publishing(this, 'Publishing', {
      ingestQueue: this.ingest.queue,
      ingestFunction: this.ingest.handler,
      webhooks: s.webhooks,
    });
    this.queryApi = new QueryApi(this, 'QueryApi', {
      table: this.storage.table,
      mediaBucket: this.storage.mediaBucket,
      mediaBaseUrl: this.cdn.url,
      defaultTimezone: s.defaultTimezone,
      corsAllowedOrigins: s.corsAllowedOrigins,
      publicFrontMatterKeys: s.publicFrontMatterKeys,
      articleUrlTemplate: s.articleUrlTemplate,
      throttle: s.apiThrottle,
      domain: s.apiDomain,
      architecture,
      logRetentionDays: s.logRetentionDays,
    });
    this.mediaGc = new MediaGc(this, 'MediaGc', {
      mediaBucket: this.storage.mediaBucket,
      table: this.storage.table,
      mediaBaseUrl: this.cdn.url,
      tuning: s.ingestTuning,
      graceSeconds: s.mediaGcGraceSeconds,
      architecture,
      logRetentionDays: s.logRetentionDays,
    });
    if (s.search) {
      this.search = new Search(this, 'Search', { settings: s.search, architecture, logRetentionDays: s.logRetentionDays });
      this.search.connect(this.ingest.handler);
      this.search.connect(this.queryApi.handler);
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      ingestQueue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      ingestFunction: this.ingest.handler.function,
      api: this.queryApi.api,
      alarmEmail: s.alarmEmail,
    });

    new CfnOutput(this, 'UploadBucketName', { value: this.storage.uploadBucket.bucketName, description: 'Upload articles and their assets here' });
    new CfnOutput(this, 'ApiUrl', { value: this.queryApi.url, description: 'Query API base URL' });
    new CfnOutput(this, 'MediaUrl', { value: this.cdn.url, description: 'Re-hosted images (MEDIA_BASE_URL)' });
    new CfnOutput(this, 'IngestQueueUrl', { value: this.ingest.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.ingest.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.ingest.deadLetterQueue.queueArn, description: 'Source ARN for `aws sqs start-message-move-task`' });
    new CfnOutput(this, 'EventBusName', { value: this.publishing.bus.eventBusName, description: 'Publish events (source article-pipeline)' });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'MediaBucketName', { value: this.storage.mediaBucket.bucketName });
    new CfnOutput(this, 'MediaGcFunctionName', { value: this.mediaGc.handler.function.functionName, description: 'Run the media sweeper now: aws lambda invoke --function-name <this> out.json' });
    if (this.search) {
      new CfnOutput(this, 'SearchClusterArn', { value: this.search.cluster.clusterArn, description: 'SEARCH_CLUSTER_ARN for npm run reindex' });
      new CfnOutput(this, 'SearchSecretArn', { value: this.search.cluster.secret!.secretArn, description: 'SEARCH_SECRET_ARN for npm run reindex' });
    }
    if (this.queryApi.domainName) {
      new CfnOutput(this, 'ApiDomainTarget', {
        value: this.queryApi.domainName.regionalDomainName,
        description: `Point ${s.apiDomain?.domainName} here (CNAME or alias)`,
      });
    }
    if (s.mediaDomain) {
      new CfnOutput(this, 'MediaDomainTarget', {
        value: this.cdn.distribution.distributionDomainName,
        description: `Point ${s.mediaDomain.domainName} here (CNAME or alias)`,
      });
    }

    this.acknowledgeFindings();
  }

  /** Findings on this project's own functions and on resources CDK generates for us. */
  private acknowledgeFindings(): void {
    for (const fn of [this.ingest.handler, this.queryApi.handler, this.mediaGc.handler, ...(this.search ? [this.search.migrations] : [])]) {
      NagSuppressions.addResourceSuppressions(fn, [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (added by tracing: ACTIVE).',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-L1',
          reason: 'Pinned to Node.js 22, the LTS line the code is written and tested for (supported by Lambda until 2027-04); moving to 24 is a deliberate, tested upgrade.',
        },
        {
          id: 'Serverless-LambdaLatestVersion',
          reason: 'Pinned to Node.js 22, the LTS line the code is written and tested for (supported by Lambda until 2027-04); moving to 24 is a deliberate, tested upgrade.',
        },
        {
          id: 'Serverless-LambdaDLQ',
          reason: 'Ingest is polled from SQS (whose redrive policy sends failures to the DLQ) and the API is invoked synchronously by API Gateway; the media sweeper is invoked by a daily schedule whose event carries nothing to replay: a failed sweep is retried twice and finished by the next day.',
        },
      ], true);
    }
    NagSuppressions.addResourceSuppressions(this.mediaGc.handler, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The media sweeper deletes unused files under the img/ and bodies/ prefixes of the media bucket and reads the dates of bodies/ objects; keys are content hashes and event sequencers, unknown in advance.',
        appliesTo: [{ regex: '/^Resource::<StorageMediaBucket[0-9A-F]+\\.Arn>\\/(img|bodies)\\/\\*$/' }],
      },
    ], true);
    NagSuppressions.addResourceSuppressions(this.ingest.handler, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Object keys are chosen by publishers, so reads cover the whole upload bucket; media access is limited to the img/ and bodies/ prefixes the pipeline writes.',
        appliesTo: [
          { regex: '/^Resource::<StorageUploadBucket[0-9A-F]+\\.Arn>\\/\\*$/' },
          { regex: '/^Resource::<StorageMediaBucket[0-9A-F]+\\.Arn>\\/(img|bodies)\\/\\*$/' },
        ],
      },
    ], true);
    NagSuppressions.addResourceSuppressions(this.queryApi.handler, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The API reads processed bodies only: GetObject on the bodies/ prefix of the media bucket.',
        appliesTo: [{ regex: '/^Resource::<StorageMediaBucket[0-9A-F]+\\.Arn>\\/bodies\\/\\*$/' }],
      },
    ], true);

    // CDK's singleton that applies S3 bucket notifications at deploy time (its policy is
    // scoped to the upload bucket: s3:PutBucketNotification only).
    for (const handler of this.node.children.filter((c) => c.node.id.startsWith('BucketNotificationsHandler'))) {
      NagSuppressions.addResourceSuppressions(handler, [
        {
          id: 'AwsSolutions-IAM4',
          reason: 'CDK-generated custom resource that sets the upload bucket notifications at deploy time; it uses the AWS-managed basic execution role for its logs.',
          appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      ], true);
    }
  }
}

/** Runs both cdk-nag rule packs over everything under `scope`. */
export function applySecurityChecks(scope: IConstruct): void {
  Aspects.of(scope).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(scope).add(new ServerlessChecks({ verbose: true }));
}

/** Builds the pipeline stack from the app's context and applies the checks. */
export function createPipeline(app: App): ArticlePipelineStack {
  const settings = readSettings(app.node);
  // Environment-agnostic (no `env`): synth needs no account, region or credentials, and
  // `cdk deploy` targets whatever account and region the caller's AWS profile names.
  const stack = new ArticlePipelineStack(app, `ArticlePipeline-${settings.stage}`, { settings });
  applySecurityChecks(app);
  return stack;
}
