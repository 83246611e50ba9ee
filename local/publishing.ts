/**
 * Scheduled posts and publish events on the local stack: the same ports as EventBridge
 * Scheduler and EventBridge in AWS (functions/adapters/eventbridge.ts).
 *
 * - The scheduler is a timer per scheduled article that puts the same reprocess notification
 *   into the local ingest queue at its time. Timers live in memory: on start the stack
 *   re-arms them by reprocessing every article the index holds as scheduled (each reprocess
 *   finds its article still scheduled, and arms its timer again, or due, and publishes it).
 * - Events are appended to `<dataDir>/events.jsonl`, one JSON line each, and POSTed to
 *   LOCAL_WEBHOOK_URL when it is set.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { reprocessNotification } from '../functions/core/events';
import type { ArticleReader, EventPublisher, PublishEvent, PublishScheduler } from '../functions/ports';

/** setTimeout's longest delay; a later time fires early, and the reprocess arms it again. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class LocalPublishScheduler implements PublishScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly send: (body: string) => void,
    private readonly incomingBucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  async schedule(sourceKey: string, id: string, at: string): Promise<void> {
    const name = `${id}@${at}`;
    if (this.timers.has(name)) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Date.parse(at) - this.now()));
    const timer = setTimeout(() => {
      this.timers.delete(name);
      this.send(JSON.stringify(reprocessNotification(this.incomingBucket, { key: sourceKey, lastModified: null })));
    }, delay);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** Timers waiting (tests). */
  get pending(): number {
    return this.timers.size;
  }

  /** Re-arms after a restart: every article the index holds as scheduled is reprocessed now. */
  async rearm(index: ArticleReader): Promise<number> {
    let n = 0;
    let after: Record<string, string> | undefined;
    do {
      const page = await index.list({ status: 'scheduled', limit: 100, after });
      for (const a of page.items) {
        this.send(JSON.stringify(reprocessNotification(this.incomingBucket, { key: a.sourceKey, lastModified: null })));
        n++;
      }
      after = page.next ?? undefined;
    } while (after);
    return n;
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

export class LocalEventLog implements EventPublisher {
  constructor(
    readonly file: string,
    private readonly webhookUrl?: string,
  ) {}

  async publish(event: PublishEvent): Promise<void> {
    const line = JSON.stringify({ 'detail-type': `article.${event.type}`, source: 'article-pipeline', detail: event });
    if (this.webhookUrl) {
      // Before the file: a failed POST fails the event and the outbox delivers it again
      // (like an API destination's retries), without a second line in the file.
      const res = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': event.idempotencyId },
        body: line,
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) throw new Error(`LOCAL_WEBHOOK_URL answered ${res.status} for ${event.idempotencyId}`);
    }
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${line}\n`);
  }
}
