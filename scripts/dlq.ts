/**
 * `npm run dlq -- list|redrive [--queue-url URL]`
 *
 * The dead-letter queue holds uploads whose notification failed ingest repeatedly (an
 * unreadable message, storage errors). `list` shows each one (object key, event, when it
 * was first sent, how often it was received) without consuming it; `redrive` moves them all
 * back to the ingest queue (StartMessageMoveTask), once the cause is fixed.
 *
 * The same SQS calls run against the local stack's SQS endpoint and against AWS; only the
 * queue URL differs: the local dead-letter queue by default, else `--queue-url` (the stack
 * output DeadLetterQueueUrl) or DEAD_LETTER_QUEUE_URL.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { parseLambdaEvent } from '../functions/core/events';
import { ENV } from '../functions/definitions';
import {
  START_STACK,
  ToolError,
  checkUrl,
  describeError,
  isConnectionRefused,
  isLoopback,
  isMain,
  localEndpoints,
  parseCli,
  runCli,
  sleep,
  sqsClient,
} from './lib';

type Env = Record<string, string | undefined>;

export interface DlqOptions {
  /** The dead-letter queue; default DEAD_LETTER_QUEUE_URL, else the local stack's. */
  queueUrl?: string;
  env?: Env;
}

export interface DeadLetterView {
  messageId: string;
  /** When the message was first sent to the ingest queue (ISO), if SQS says. */
  sentAt: string | null;
  receiveCount: number | null;
  /** The object events inside: `ObjectCreated`/`ObjectRemoved`, the decoded key. */
  events: { event: string; key: string; reprocess: boolean }[];
  /** Why the message is not a readable S3 notification, or null. */
  unreadable: string | null;
  body: string;
}

/** While listing, received messages are hidden this long (then made visible again at once). */
const LIST_VISIBILITY_SECONDS = 30;

function resolveQueue(opts: DlqOptions): string {
  const env = opts.env ?? process.env;
  const given = opts.queueUrl ?? env[ENV.DEAD_LETTER_QUEUE_URL]?.trim();
  return given ? checkUrl('--queue-url', given) : localEndpoints(env).deadLetterQueueUrl;
}

function failure(err: unknown, queueUrl: string): ToolError {
  if (err instanceof ToolError) return err;
  if (isLoopback(queueUrl) && isConnectionRefused(err)) return new ToolError('stack_unreachable', `Nothing answers at ${queueUrl}. ${START_STACK}`);
  return new ToolError('queue_unreachable', `${queueUrl}: ${describeError(err)}`);
}

/** What a dead letter's body says, read the way the ingest handler reads it. */
export function describeBody(body: string): Pick<DeadLetterView, 'events' | 'unreadable'> {
  const [item] = parseLambdaEvent({ Records: [{ eventSource: 'aws:sqs', messageId: 'dead-letter', body }] });
  if (!item || item.malformed) return { events: [], unreadable: item?.malformed ?? 'unreadable' };
  return {
    events: item.events.map((e) => ({ event: e.kind === 'created' ? 'ObjectCreated' : 'ObjectRemoved', key: e.key, reprocess: e.force === true })),
    unreadable: null,
  };
}

function view(m: Message): DeadLetterView {
  const sent = Number(m.Attributes?.SentTimestamp);
  const count = Number(m.Attributes?.ApproximateReceiveCount);
  return {
    messageId: m.MessageId ?? '',
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
    receiveCount: Number.isFinite(count) ? count : null,
    ...describeBody(m.Body ?? ''),
    body: m.Body ?? '',
  };
}

/** Makes received messages visible again, so a redrive (or the next list) sees them at once. */
async function release(sqs: SQSClient, queueUrl: string, handles: string[]): Promise<void> {
  for (let i = 0; i < handles.length; i += 10) {
    const entries = handles.slice(i, i + 10).map((ReceiptHandle, j) => ({ Id: `h${j}`, ReceiptHandle, VisibilityTimeout: 0 }));
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}

/**
 * Every dead letter, none consumed. A receive returns at most 10 messages and may repeat
 * visible ones, so each received message is hidden while listing (to reach the next ones)
 * and made visible again at the end.
 */
export async function listDeadLetters(opts: DlqOptions & { max?: number } = {}): Promise<{ queueUrl: string; letters: DeadLetterView[] }> {
  const queueUrl = resolveQueue(opts);
  const max = opts.max ?? 1000;
  const sqs = sqsClient(queueUrl);
  const seen = new Map<string, DeadLetterView>();
  const handles: string[] = [];
  try {
    while (seen.size < max) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: LIST_VISIBILITY_SECONDS,
          // Long polling asks every SQS server, so an empty answer means empty.
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const messages = res.Messages ?? [];
      let fresh = 0;
      for (const m of messages) {
        if (m.ReceiptHandle) handles.push(m.ReceiptHandle);
        if (m.MessageId && !seen.has(m.MessageId)) {
          seen.set(m.MessageId, view(m));
          fresh++;
        }
      }
      if (fresh === 0) break;
    }
    return { queueUrl, letters: [...seen.values()].sort((a, b) => (a.sentAt ?? '').localeCompare(b.sentAt ?? '')) };
  } catch (err) {
    throw failure(err, queueUrl);
  } finally {
    await release(sqs, queueUrl, handles).catch(() => {
      // They become visible by themselves after LIST_VISIBILITY_SECONDS.
    });
    sqs.destroy();
  }
}

export interface RedriveResult {
  queueUrl: string;
  queueArn: string;
  /** COMPLETED, RUNNING (still moving when the wait ended), FAILED, CANCELLED, or EMPTY. */
  status: string;
  moved: number;
  failureReason: string | null;
}

/** Moves every dead letter back to the queue it came from (SQS StartMessageMoveTask). */
export async function redriveDeadLetters(opts: DlqOptions & { timeoutMs?: number } = {}): Promise<RedriveResult> {
  const queueUrl = resolveQueue(opts);
  const sqs = sqsClient(queueUrl);
  try {
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    const queueArn = attrs.Attributes?.QueueArn ?? '';
    const waiting = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (waiting === 0) return { queueUrl, queueArn, status: 'EMPTY', moved: 0, failureReason: null };

    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queueArn }));
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: queueArn, MaxResults: 1 }));
      const task = tasks.Results?.[0];
      const status = task?.Status ?? 'RUNNING';
      if (status !== 'RUNNING' || Date.now() >= deadline) {
        return { queueUrl, queueArn, status, moved: task?.ApproximateNumberOfMessagesMoved ?? 0, failureReason: task?.FailureReason ?? null };
      }
      await sleep(1000);
    }
  } catch (err) {
    throw failure(err, queueUrl);
  } finally {
    sqs.destroy();
  }
}

export function formatDeadLetters(queueUrl: string, letters: DeadLetterView[]): string {
  if (letters.length === 0) return `No dead letters in ${queueUrl}.`;
  const lines = [`${letters.length} dead letter(s) in ${queueUrl}:`];
  for (const l of letters) {
    const when = l.sentAt ? l.sentAt.replace(/\.\d{3}Z$/, 'Z') : 'unknown time';
    const head = `  ${when}  received ${l.receiveCount ?? '?'}x`;
    if (l.unreadable) {
      const body = l.body.length > 80 ? `${l.body.slice(0, 79)}…` : l.body;
      lines.push(`${head}  unreadable: ${l.unreadable}  ${JSON.stringify(body)}`);
    } else if (l.events.length === 0) {
      lines.push(`${head}  (no object events)`);
    } else {
      for (const e of l.events) lines.push(`${head}  ${e.event}${e.reprocess ? ' (reprocess)' : ''}  ${e.key}`);
    }
  }
  lines.push('', 'Fix the cause (see the ingest logs), then move them back: npm run dlq -- redrive');
  return lines.join('\n');
}

const USAGE = `usage: npm run dlq -- list|redrive [--queue-url URL]
         local stack (default), or AWS: --queue-url <DeadLetterQueueUrl output> (or DEAD_LETTER_QUEUE_URL)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { 'queue-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (rest.length || (command !== 'list' && command !== 'redrive')) throw new ToolError('bad_arguments', USAGE);
  if (command === 'list') {
    const { queueUrl, letters } = await listDeadLetters({ queueUrl: values['queue-url'] });
    console.log(formatDeadLetters(queueUrl, letters));
    return 0;
  }
  const r = await redriveDeadLetters({ queueUrl: values['queue-url'] });
  if (r.status === 'EMPTY') console.log(`No dead letters in ${r.queueUrl}: nothing to redrive.`);
  else if (r.status === 'COMPLETED') console.log(`Moved ${r.moved} message(s) from ${r.queueUrl} back to the ingest queue.`);
  else if (r.status === 'RUNNING') console.log(`Moving messages back (${r.moved} so far); the move continues in SQS. Check again with npm run dlq -- list.`);
  else console.error(`The redrive ${r.status.toLowerCase()} after ${r.moved} message(s)${r.failureReason ? `: ${r.failureReason}` : ''}.`);
  return r.status === 'EMPTY' || r.status === 'COMPLETED' || r.status === 'RUNNING' ? 0 : 1;
}

if (isMain(import.meta.url)) await runCli('dlq', () => main(process.argv.slice(2)));
