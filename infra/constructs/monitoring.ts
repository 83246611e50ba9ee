/**
 * Alarms for what needs a person: articles parked in the dead-letter queue, ingest
 * invocations failing, a growing ingest backlog, and the query API answering 5xx.
 * With `alarmEmail` set they notify an encrypted SNS topic with an e-mail subscription.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** The API 5xx alarm: the share of requests, in percent, and the fewest requests it judges. */
export const API_5XX_PERCENT = 1;
export const API_MIN_REQUESTS = 20;

export interface MonitoringProps {
  ingestQueue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  ingestFunction: lambda.IFunction;
  api: apigw.IHttpApi;
  alarmEmail?: string;
  /** Oldest queued upload, in seconds, before the backlog alarm fires. */
  backlogAgeSeconds?: number;
}

export class Monitoring extends Construct {
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly ingestErrorsAlarm: cloudwatch.Alarm;
  readonly ingestBacklogAlarm: cloudwatch.Alarm;
  readonly apiServerErrorsAlarm: cloudwatch.Alarm;
  readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const common = {
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueAlarm', {
      ...common,
      alarmDescription: 'Uploads failed ingest repeatedly and wait in the dead-letter queue; fix the cause, then redrive.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.ingestErrorsAlarm = new cloudwatch.Alarm(this, 'IngestErrorsAlarm', {
      ...common,
      alarmDescription: 'The ingest function threw or timed out (per-article failures are reported, not thrown).',
      metric: props.ingestFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.ingestBacklogAlarm = new cloudwatch.Alarm(this, 'IngestBacklogAlarm', {
      ...common,
      evaluationPeriods: 3,
      alarmDescription: 'Uploads wait in the ingest queue longer than expected: ingest is too slow or stuck.',
      metric: props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: props.backlogAgeSeconds ?? 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // A rate over a period, not one request: one 5xx (an AWS hiccup, a cold throttle) pages
    // nobody; more than 1% of at least API_MIN_REQUESTS requests in 5 minutes does.
    const period = Duration.minutes(5);
    this.apiServerErrorsAlarm = new cloudwatch.Alarm(this, 'ApiServerErrorsAlarm', {
      ...common,
      alarmDescription: `The query API answered 5xx to more than ${API_5XX_PERCENT}% of requests over 5 minutes (at least ${API_MIN_REQUESTS} requests). Bad input never causes a 5xx: look at the function's logs.`,
      metric: new cloudwatch.MathExpression({
        label: 'API 5xx (% of requests)',
        expression: `IF(requests >= ${API_MIN_REQUESTS}, 100 * errors / requests, 0)`,
        usingMetrics: {
          errors: props.api.metricServerError({ period, statistic: 'Sum' }),
          requests: props.api.metricCount({ period, statistic: 'Sum' }),
        },
        period,
      }),
      threshold: API_5XX_PERCENT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    if (props.alarmEmail) {
      // A customer key: CloudWatch cannot publish to a topic under the AWS-managed SNS key.
      const key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'article-pipeline alarm topic',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
      this.topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true });
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      NagSuppressions.addResourceSuppressions(
        this.topic,
        [
          {
            id: 'Serverless-SNSRedrivePolicy',
            reason: 'The only subscriber is an e-mail address; SNS retries delivery, and the alarm state itself stays visible in CloudWatch, so a DLQ for alarm mails would be a queue nobody reads.',
          },
        ],
        true,
      );
      const action = new actions.SnsAction(this.topic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
  }

  get alarms(): cloudwatch.Alarm[] {
    return [this.deadLetterAlarm, this.ingestErrorsAlarm, this.ingestBacklogAlarm, this.apiServerErrorsAlarm];
  }
}
