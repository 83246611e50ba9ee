/**
 * Scheduled posts and publish events.
 *
 * - A schedule group where the ingest function creates one one-time EventBridge Scheduler
 *   schedule per scheduled article (deleted after it runs), and the role Scheduler assumes to
 *   send the ingest queue the article's reprocess notification at its time.
 * - The event bus the ingest function puts one event per article state change on, and a
 *   webhook subscriber per context `webhooks` entry: an API destination with a connection
 *   (API_KEY auth), a rule on the bus, retries and a dead-letter queue.
 */
import { Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../functions/adapters/eventbridge';
import { ENV } from '../../functions/definitions';
import type { Webhook } from '../settings';
import type { PipelineFunction } from './pipeline-function';

/** Sent when a webhook has no secret: EventBridge connections always carry an auth header. */
export const PLACEHOLDER_HEADER = { name: 'X-Article-Pipeline', value: 'publish-event' };

export interface PublishingProps {
  ingestQueue: sqs.IQueue;
  ingestFunction: PipelineFunction;
  webhooks: Webhook[];
}

export class Publishing extends Construct {
  readonly bus: events.EventBus;
  readonly scheduleGroup: scheduler.CfnScheduleGroup;
  readonly schedulerRole: iam.Role;
  readonly webhookDeadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: PublishingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fn = props.ingestFunction;

    // ---- scheduled posts
    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ScheduleGroup', {});
    const groupName = this.scheduleGroup.ref;
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: sends due scheduled articles to the ingest queue',
    });
    // The queue is SSE-SQS (infra/constructs/ingest.ts): no KMS permission is needed.
    props.ingestQueue.grantSendMessages(this.schedulerRole);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule'],
        resources: [stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${groupName}/*` })],
      }),
    );
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [this.schedulerRole.roleArn] }));
    fn.function.addEnvironment(ENV.SCHEDULE_GROUP_NAME, groupName);
    fn.function.addEnvironment(ENV.SCHEDULER_ROLE_ARN, this.schedulerRole.roleArn);
    fn.function.addEnvironment(ENV.INGEST_QUEUE_ARN, props.ingestQueue.queueArn);
    NagSuppressions.addResourceSuppressions(
      fn.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'One schedule per scheduled article, named at run time: CreateSchedule is limited to this stack\'s schedule group.',
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:scheduler:.*/' }],
        },
      ],
      true,
    );

    // ---- publish events
    this.bus = new events.EventBus(this, 'Bus', { description: 'article-pipeline publish events (one per article state change)' });
    this.bus.grantPutEventsTo(fn.function);
    fn.function.addEnvironment(ENV.EVENT_BUS_NAME, this.bus.eventBusName);

    if (props.webhooks.length) {
      this.webhookDeadLetterQueue = new sqs.Queue(this, 'WebhookDeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      NagSuppressions.addResourceSuppressions(this.webhookDeadLetterQueue, [
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This is the dead-letter queue of the webhook targets; a DLQ behind it would only move the problem.' },
        { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the webhook rule targets (EventBridge DeadLetterConfig), which cdk-nag cannot see.' },
      ]);
    }
    props.webhooks.forEach((hook, i) => {
      const connection = new events.Connection(this, `WebhookConnection${i}`, {
        description: `publish events to ${new URL(hook.url).host}`,
        authorization: events.Authorization.apiKey(
          hook.headerName ?? PLACEHOLDER_HEADER.name,
          hook.headerValue ? SecretValue.unsafePlainText(hook.headerValue) : SecretValue.unsafePlainText(PLACEHOLDER_HEADER.value),
        ),
      });
      const destination = new events.ApiDestination(this, `WebhookDestination${i}`, {
        connection,
        endpoint: hook.url,
        httpMethod: events.HttpMethod.POST,
        // Keeps a slow subscriber from being flooded; EventBridge queues and retries the rest.
        rateLimitPerSecond: 10,
      });
      new events.Rule(this, `WebhookRule${i}`, {
        eventBus: this.bus,
        eventPattern: { source: [EVENT_SOURCE] },
        targets: [
          new targets.ApiDestination(destination, {
            retryAttempts: 185,
            maxEventAge: Duration.hours(24),
            deadLetterQueue: this.webhookDeadLetterQueue,
          }),
        ],
      });
    });
  }
}
