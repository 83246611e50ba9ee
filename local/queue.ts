/**
 * A local stand-in for the SQS queue between S3 and the ingest Lambda: messages are
 * delivered in batches, shaped as SQS records, to the same handler. A message the handler
 * reports as failed (ReportBatchItemFailures) is delivered again with backoff, and after
 * `maxReceiveCount` deliveries it is appended to a dead-letter file (JSON lines).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

interface Message {
  messageId: string;
  body: string;
  receiveCount: number;
  firstSent: number;
  notBefore: number;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  failedAt: string;
  /** When the message was first sent to the ingest queue (absent in older files). */
  sentAt?: string;
}

export interface LocalQueueOptions {
  handler: SqsHandler;
  deadLetterFile: string;
  batchSize?: number;
  /** Batches in flight at once: the local stand-in for Lambda's maximum concurrency. */
  concurrency?: number;
  maxReceiveCount?: number;
  retryDelayMs?: number;
  queueArn?: string;
  onError?: (err: unknown) => void;
}

export class LocalQueue {
  private pending: Message[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  readonly stats = { sent: 0, delivered: 0, retried: 0, deadLettered: 0 };

  constructor(private readonly opts: LocalQueueOptions) {}

  send(body: string): string {
    const messageId = randomUUID();
    this.pending.push({ messageId, body, receiveCount: 0, firstSent: Date.now(), notBefore: 0 });
    this.stats.sent++;
    this.pump();
    return messageId;
  }

  /** Resolves when no message is waiting or being processed. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  get depth(): number {
    return this.pending.length + this.inFlight;
  }

  /** Messages waiting for delivery (SQS: ApproximateNumberOfMessages). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Batches being handled right now (SQS: roughly ApproximateNumberOfMessagesNotVisible). */
  get processing(): number {
    return this.inFlight;
  }

  get maxReceiveCount(): number {
    return this.opts.maxReceiveCount ?? 4;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private isIdle() {
    return this.pending.length === 0 && this.inFlight === 0;
  }

  private pump(): void {
    if (this.closed) return;
    const concurrency = this.opts.concurrency ?? 2;
    const size = this.opts.batchSize ?? 5;
    while (this.inFlight < concurrency) {
      const now = Date.now();
      const ready = this.pending.filter((m) => m.notBefore <= now).slice(0, size);
      if (ready.length === 0) break;
      const ids = new Set(ready.map((m) => m.messageId));
      this.pending = this.pending.filter((m) => !ids.has(m.messageId));
      this.inFlight++;
      void this.deliver(ready).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.isIdle()) this.idleWaiters.splice(0).forEach((r) => r());
      });
    }
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.timer || this.pending.length === 0) return;
    const wait = Math.max(0, Math.min(...this.pending.map((m) => m.notBefore)) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wait);
  }

  private async deliver(batch: Message[]): Promise<void> {
    for (const m of batch) m.receiveCount++;
    this.stats.delivered += batch.length;
    const event: SQSEvent = { Records: batch.map((m) => this.toRecord(m)) };
    let failed: Set<string>;
    try {
      const res = await this.opts.handler(event);
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A crashed invocation fails the whole batch, as in Lambda.
      this.opts.onError?.(err);
      failed = new Set(batch.map((m) => m.messageId));
    }
    for (const m of batch) {
      if (!failed.has(m.messageId)) continue;
      if (m.receiveCount >= this.maxReceiveCount) {
        this.deadLetter(m);
      } else {
        this.stats.retried++;
        m.notBefore = Date.now() + (this.opts.retryDelayMs ?? 250) * 2 ** (m.receiveCount - 1);
        this.pending.push(m);
      }
    }
  }

  private deadLetter(m: Message): void {
    this.stats.deadLettered++;
    const entry: DeadLetter = {
      messageId: m.messageId,
      body: m.body,
      receiveCount: m.receiveCount,
      failedAt: new Date().toISOString(),
      sentAt: new Date(m.firstSent).toISOString(),
    };
    mkdirSync(dirname(this.opts.deadLetterFile), { recursive: true });
    appendFileSync(this.opts.deadLetterFile, JSON.stringify(entry) + '\n');
  }

  private toRecord(m: Message): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: `${m.messageId}#${m.receiveCount}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.firstSent),
        SenderId: 'local-s3',
        ApproximateFirstReceiveTimestamp: String(m.firstSent),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.opts.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:articles-ingest',
      awsRegion: 'us-east-1',
    };
  }
}

/** Reads the dead-letter file. */
export function readDeadLetters(file: string): DeadLetter[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DeadLetter);
}

/** Sends every dead letter to the queue again and empties the file. Returns how many. */
export function redriveDeadLetters(file: string, queue: LocalQueue): number {
  const letters = readDeadLetters(file);
  writeFileSync(file, '');
  for (const l of letters) queue.send(l.body);
  return letters.length;
}

function writeDeadLetters(file: string, letters: DeadLetter[]): void {
  writeFileSync(file, letters.map((l) => JSON.stringify(l) + '\n').join(''));
}

/** Removes one dead letter (SQS DeleteMessage on the dead-letter queue). Returns whether it was there. */
export function deleteDeadLetter(file: string, messageId: string): boolean {
  const letters = readDeadLetters(file);
  const kept = letters.filter((l) => l.messageId !== messageId);
  if (kept.length === letters.length) return false;
  writeDeadLetters(file, kept);
  return true;
}

/** Empties the dead-letter file. Returns how many letters it held. */
export function purgeDeadLetters(file: string): number {
  const n = readDeadLetters(file).length;
  if (existsSync(file)) writeFileSync(file, '');
  return n;
}
