/**
 * Publishing in AWS: scheduled posts through EventBridge Scheduler (one one-time schedule per
 * scheduled article, which sends the ingest queue a reprocess notification at its time),
 * and publish events through EventBridge PutEvents to the stack's bus.
 *
 * EventBridge Scheduler, not a poller: 14 million invocations a month are free, then
 * $1.00 per million; a schedule exists only while an article waits. A per-minute poller
 * runs 43,200 times a month whether anything is scheduled or not, and is a minute late.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ActionAfterCompletion, CreateScheduleCommand, FlexibleTimeWindowMode, SchedulerClient } from '@aws-sdk/client-scheduler';
import { reprocessNotification } from '../core/events';
import type { EventPublisher, PublishEvent, PublishScheduler } from '../ports';

/** The event source every publish event carries (rules match on it). */
export const EVENT_SOURCE = 'article-pipeline';

/** `at()` takes whole seconds in UTC, without zone: rounded up, so it never fires early. */
export function atExpression(at: string): string {
  const ms = Math.ceil(Date.parse(at) / 1000) * 1000;
  return `at(${new Date(ms).toISOString().slice(0, 19)})`;
}

/** Schedule names: [0-9a-zA-Z-_.]{1,64}, one per article and time, so a retry finds its own. */
export function scheduleName(id: string, at: string): string {
  const t = atExpression(at).slice(3, -1).replace(/[-:]/g, '');
  return `publish-${id}-${t}`.replace(/[^0-9A-Za-z_.-]/g, '_').slice(0, 64);
}

export interface SchedulerSettings {
  groupName: string;
  roleArn: string;
  queueArn: string;
  incomingBucket: string;
}

export class EventBridgePublishScheduler implements PublishScheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly settings: SchedulerSettings,
  ) {}

  async schedule(sourceKey: string, id: string, at: string): Promise<void> {
    const { groupName, roleArn, queueArn, incomingBucket } = this.settings;
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: scheduleName(id, at),
          GroupName: groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: FlexibleTimeWindowMode.OFF },
          ActionAfterCompletion: ActionAfterCompletion.DELETE,
          Target: {
            Arn: queueArn,
            RoleArn: roleArn,
            Input: JSON.stringify(reprocessNotification(incomingBucket, { key: sourceKey, lastModified: null })),
          },
        }),
      );
    } catch (err) {
      // The same article and time scheduled already (a retry, a reprocess): nothing to do.
      if ((err as { name?: string }).name !== 'ConflictException') throw err;
    }
  }
}

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(event: PublishEvent): Promise<void> {
    const res = await this.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: `article.${event.type}`, Detail: JSON.stringify(event) }],
      }),
    );
    // PutEvents answers 200 with per-entry failures: throw, so the outbox keeps the event.
    if (res.FailedEntryCount) {
      const e = res.Entries?.[0];
      throw new Error(`EventBridge refused the event ${event.idempotencyId}: ${e?.ErrorCode ?? 'unknown'} ${e?.ErrorMessage ?? ''}`.trim());
    }
  }
}
