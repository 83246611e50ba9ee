/**
 * Scheduled posts and publish events in the template (infra/constructs/publishing.ts),
 * synthesized without bundling, with two webhook subscribers in context, cdk-nag clean.
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/definitions';
import { PLACEHOLDER_HEADER } from '../../infra/constructs/publishing';
import { readWebhooks, SettingsError } from '../../infra/settings';
import type { ArticlePipelineStack } from '../../infra/stack';
import { actionCovers, asList, policyStatements, synthPipeline, type Synthesized } from './helpers';

let synth: Synthesized;
let template: Template;
let stack: ArticlePipelineStack;

const webhooks = [{ url: 'https://hooks.example.com/articles', headerName: 'X-Hook-Secret', headerValue: 's3cret' }, { url: 'https://cache.example.org/purge' }];

beforeAll(() => {
  synth = synthPipeline({ bundle: false, context: { webhooks: JSON.stringify(webhooks) } });
  template = synth.template;
  stack = synth.stack;
}, 180_000);
afterAll(() => synth?.cleanup());

const id = (c: { node: { defaultChild?: unknown } } | { logicalId: string }) =>
  'logicalId' in c ? stack.resolve(c.logicalId) : (stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string);

describe('publishing infrastructure', () => {
  it.each(['AwsSolutions', 'Serverless'])('has no unacknowledged %s finding', (pack) => {
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.stringLikeRegexp(`${pack}-.*`))).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp(`${pack}-.*`))).toEqual([]);
  });

  it('has a schedule group and a role only EventBridge Scheduler assumes, allowed to send to the ingest queue only', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    const roleId = id(stack.publishing.schedulerRole);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] },
    });
    const sends = policyStatements(template).filter((s) => JSON.stringify(template.toJSON().Resources[s.holder]?.Properties?.Roles ?? []).includes(roleId));
    expect(sends.length).toBeGreaterThan(0);
    const actions = sends.flatMap((s) => asList(s.statement.Action).map(String));
    expect(actions.some((a) => actionCovers(a, 'sqs:SendMessage'))).toBe(true);
    for (const s of sends) expect(JSON.stringify(s.statement.Resource)).toContain(id(stack.ingest.queue));
  });

  it('lets the ingest function create schedules in its group, pass the Scheduler role, and put events on the bus', () => {
    const ingestRole = id(stack.ingest.handler.role);
    const mine = policyStatements(template).filter((s) => JSON.stringify(template.toJSON().Resources[s.holder]?.Properties?.Roles ?? []).includes(ingestRole));
    const find = (action: string) => mine.find((s) => asList(s.statement.Action).some((a) => actionCovers(String(a), action)));
    expect(JSON.stringify(find('scheduler:CreateSchedule')?.statement.Resource)).toContain(id(stack.publishing.scheduleGroup as never));
    expect(JSON.stringify(find('iam:PassRole')?.statement.Resource)).toContain(id(stack.publishing.schedulerRole));
    expect(JSON.stringify(find('events:PutEvents')?.statement.Resource)).toContain(id(stack.publishing.bus));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('ingest'),
      Environment: {
        Variables: Match.objectLike({
          [ENV.SCHEDULE_GROUP_NAME]: Match.anyValue(),
          [ENV.SCHEDULER_ROLE_ARN]: Match.anyValue(),
          [ENV.INGEST_QUEUE_ARN]: Match.anyValue(),
          [ENV.EVENT_BUS_NAME]: Match.anyValue(),
        }),
      },
    });
  });

  it('turns each webhook into a connection, an API destination and a rule on the bus with retries and a dead-letter queue', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Connection', 2);
    template.resourceCountIs('AWS::Events::ApiDestination', 2);
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'X-Hook-Secret', ApiKeyValue: 's3cret' } },
    });
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: PLACEHOLDER_HEADER.name, ApiKeyValue: PLACEHOLDER_HEADER.value } },
    });
    template.hasResourceProperties('AWS::Events::ApiDestination', { InvocationEndpoint: webhooks[0]!.url, HttpMethod: 'POST' });
    const rules = template.findResources('AWS::Events::Rule', { Properties: { EventBusName: Match.anyValue() } });
    expect(Object.keys(rules)).toHaveLength(2);
    for (const rule of Object.values(rules)) {
      expect(rule.Properties.EventPattern).toEqual({ source: ['article-pipeline'] });
      const [target] = rule.Properties.Targets;
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
      expect(target.DeadLetterConfig.Arn).toBeDefined();
    }
  });
});

describe('context webhooks', () => {
  it('accepts a JSON string or a list, and refuses what API destinations cannot call', () => {
    expect(readWebhooks(undefined)).toEqual([]);
    expect(readWebhooks([{ url: 'https://a.example/x' }])).toEqual([{ url: 'https://a.example/x' }]);
    expect(() => readWebhooks('[{"url":"http://a.example/"}]')).toThrow(SettingsError);
    expect(() => readWebhooks('not json')).toThrow(/JSON list/);
    expect(() => readWebhooks([{ url: 'https://a.example/', headerName: 'X' }])).toThrow(/together/);
    expect(() => readWebhooks([{ url: 'https://a.example/', headerName: 'bad header', headerValue: 'v' }])).toThrow(/header name/);
  });
});
