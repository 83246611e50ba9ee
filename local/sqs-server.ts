/**
 * A minimal SQS-compatible endpoint for the local stack, so the operator's tools (and the
 * AWS CLI) talk to the local queues exactly as to SQS: only the queue URL differs.
 *
 * It speaks the AWS JSON 1.0 protocol of @aws-sdk/client-sqs v3 and `aws sqs`: `POST /`
 * with `X-Amz-Target: AmazonSQS.<Operation>` and a JSON body; errors are
 * `{"__type": "com.amazonaws.sqs#<Type>", "message": ...}` with the `x-amzn-query-error`
 * header the SDK reads in query-compatible mode. No signature is checked (loopback only).
 *
 * Two queues:
 * - `articles-ingest`: the LocalQueue that feeds the ingest handler. It delivers by itself,
 *   like the Lambda event source mapping, so it accepts sends and reports its depth, but
 *   cannot be received from.
 * - `articles-ingest-dlq`: the dead-letter file. Received messages are hidden for their
 *   visibility timeout (kept in memory only), deleted on DeleteMessage, and moved back to
 *   the ingest queue by StartMessageMoveTask (the "redrive").
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { DEFAULTS } from '../functions/definitions';
import {
  deleteDeadLetter,
  purgeDeadLetters,
  readDeadLetters,
  redriveDeadLetters,
  type DeadLetter,
  type LocalQueue,
} from './queue';

export interface LocalSqsOptions {
  /** 0 picks a free port. */
  port: number;
  queue: LocalQueue;
  deadLetterFile: string;
  region?: string;
  accountId?: string;
  ingestQueueName?: string;
  deadLetterQueueName?: string;
}

export interface LocalSqs {
  endpoint: string;
  ingestQueueUrl: string;
  ingestQueueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  stop(): Promise<void>;
}

/** Largest message SQS accepts (1 MiB), and largest request body read. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_REQUEST_BYTES = 2 * MAX_MESSAGE_BYTES;
const DEFAULT_VISIBILITY_SECONDS = 30;
/** Characters SQS allows in a message body. */
const VALID_BODY = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

export class SqsError extends Error {
  constructor(
    /** The JSON protocol's error type (`__type` without the namespace). */
    readonly type: string,
    message: string,
    /** The query protocol's code, for the `x-amzn-query-error` header. */
    readonly queryCode: string = type,
    readonly status = 400,
  ) {
    super(message);
  }
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

function str(input: Record<string, unknown>, name: string): string {
  const v = input[name];
  if (typeof v !== 'string' || v === '') throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  return v;
}

function int(input: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = input[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SqsError('InvalidParameterValue', `Value ${JSON.stringify(v)} for parameter ${name} is invalid. Must be between ${min} and ${max}.`);
  }
  return v;
}

function checkBody(body: unknown): string {
  if (typeof body !== 'string' || body === '') {
    throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
    throw new SqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
  }
  if (!VALID_BODY.test(body)) {
    throw new SqsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
  }
  return body;
}

interface MoveTask {
  TaskHandle: string;
  Status: 'COMPLETED';
  SourceArn: string;
  DestinationArn: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
}

type QueueName = 'ingest' | 'dlq';

export async function startLocalSqs(opts: LocalSqsOptions): Promise<LocalSqs> {
  const region = opts.region ?? DEFAULTS.localRegion;
  const account = opts.accountId ?? DEFAULTS.localAccountId;
  const names: Record<QueueName, string> = {
    ingest: opts.ingestQueueName ?? DEFAULTS.ingestQueueName,
    dlq: opts.deadLetterQueueName ?? DEFAULTS.deadLetterQueueName,
  };
  const arn = (q: QueueName) => `arn:aws:sqs:${region}:${account}:${names[q]}`;
  const file = opts.deadLetterFile;
  // Dead letters received and not yet visible again: messageId -> epoch ms.
  const hiddenUntil = new Map<string, number>();
  const firstReceived = new Map<string, number>();
  const tasks: MoveTask[] = [];
  let closed = false;
  let endpoint = '';

  const url = (q: QueueName) => `${endpoint}/${account}/${names[q]}`;

  function queueOf(input: Record<string, unknown>): QueueName {
    const raw = str(input, 'QueueUrl');
    let name: string | undefined;
    try {
      name = new URL(raw).pathname.split('/').filter(Boolean).pop();
    } catch {
      throw new SqsError('InvalidAddress', `The address ${raw} is not valid for this endpoint.`, 'InvalidAddress', 404);
    }
    for (const q of ['ingest', 'dlq'] as const) if (names[q] === name) return q;
    throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
  }

  function visibleLetters(now = Date.now()): DeadLetter[] {
    return readDeadLetters(file).filter((l) => (hiddenUntil.get(l.messageId) ?? 0) <= now);
  }

  function receiptHandle(messageId: string): string {
    return Buffer.from(JSON.stringify({ m: messageId, n: randomUUID() })).toString('base64url');
  }

  function messageIdOf(handle: unknown): string {
    if (typeof handle !== 'string' || handle === '') {
      throw new SqsError('MissingParameter', 'The request must contain the parameter ReceiptHandle.');
    }
    try {
      const parsed = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8')) as { m?: unknown };
      if (typeof parsed.m === 'string') return parsed.m;
    } catch {
      // falls through to the SQS error below
    }
    throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`, 'ReceiptHandleIsInvalid', 404);
  }

  function send(q: QueueName, body: string): string {
    if (q === 'ingest') return opts.queue.send(body);
    // Sending to the dead-letter queue directly is allowed, as in SQS.
    const now = new Date().toISOString();
    const letter: DeadLetter = { messageId: randomUUID(), body, receiveCount: 0, failedAt: now, sentAt: now };
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, JSON.stringify(letter) + '\n');
    return letter.messageId;
  }

  function attributesOf(q: QueueName, wanted: unknown): Record<string, string> {
    const now = Date.now();
    const all: Record<string, string> =
      q === 'ingest'
        ? {
            QueueArn: arn('ingest'),
            ApproximateNumberOfMessages: String(opts.queue.waiting),
            ApproximateNumberOfMessagesNotVisible: String(opts.queue.processing),
            ApproximateNumberOfMessagesDelayed: '0',
            VisibilityTimeout: String(DEFAULT_VISIBILITY_SECONDS),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('dlq'), maxReceiveCount: opts.queue.maxReceiveCount }),
          }
        : (() => {
            const letters = readDeadLetters(file);
            const visible = letters.filter((l) => (hiddenUntil.get(l.messageId) ?? 0) <= now).length;
            return {
              QueueArn: arn('dlq'),
              ApproximateNumberOfMessages: String(visible),
              ApproximateNumberOfMessagesNotVisible: String(letters.length - visible),
              ApproximateNumberOfMessagesDelayed: '0',
              VisibilityTimeout: String(DEFAULT_VISIBILITY_SECONDS),
              RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'allowAll' }),
            };
          })();
    const names = Array.isArray(wanted) ? (wanted as unknown[]).map(String) : [];
    if (names.length === 0 || names.includes('All')) return all;
    return Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
  }

  async function receive(input: Record<string, unknown>): Promise<unknown> {
    const q = queueOf(input);
    if (q === 'ingest') {
      throw new SqsError(
        'UnsupportedOperation',
        'The local ingest queue delivers its messages to the ingest handler by itself (like the Lambda event source); receive from the dead-letter queue instead.',
        'AWS.SimpleQueueService.UnsupportedOperation',
      );
    }
    const max = int(input, 'MaxNumberOfMessages', 1, 1, 10);
    const visibility = int(input, 'VisibilityTimeout', DEFAULT_VISIBILITY_SECONDS, 0, 43_200);
    const wait = int(input, 'WaitTimeSeconds', 0, 0, 20);
    const deadline = Date.now() + wait * 1000;
    let letters = visibleLetters().slice(0, max);
    // Long polling, coarsely: look again until something is there or the wait is over.
    while (letters.length === 0 && Date.now() < deadline && !closed) {
      await new Promise((r) => setTimeout(r, 100));
      letters = visibleLetters().slice(0, max);
    }
    const now = Date.now();
    return {
      Messages: letters.map((l) => {
        if (visibility > 0) hiddenUntil.set(l.messageId, now + visibility * 1000);
        else hiddenUntil.delete(l.messageId);
        if (!firstReceived.has(l.messageId)) firstReceived.set(l.messageId, now);
        return {
          MessageId: l.messageId,
          ReceiptHandle: receiptHandle(l.messageId),
          MD5OfBody: md5(l.body),
          Body: l.body,
          // All system attributes, whichever were asked for: a superset is harmless.
          Attributes: {
            ApproximateReceiveCount: String(l.receiveCount),
            SentTimestamp: String(Date.parse(l.sentAt ?? l.failedAt)),
            ApproximateFirstReceiveTimestamp: String(firstReceived.get(l.messageId)),
            SenderId: 'local-s3',
            DeadLetterQueueSourceArn: arn('ingest'),
          },
        };
      }),
    };
  }

  function sendBatch(input: Record<string, unknown>): unknown {
    const q = queueOf(input);
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.', 'AWS.SimpleQueueService.EmptyBatchRequest');
    }
    if (entries.length > 10) {
      throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest');
    }
    const ids = entries.map((e) => (e as { Id?: unknown }).Id);
    for (const id of ids) {
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
        throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.', 'AWS.SimpleQueueService.InvalidBatchEntryId');
      }
    }
    if (new Set(ids).size !== ids.length) {
      throw new SqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct');
    }
    const total = entries.reduce((n, e) => n + Buffer.byteLength(String((e as { MessageBody?: unknown }).MessageBody ?? ''), 'utf8'), 0);
    if (total > MAX_MESSAGE_BYTES) {
      throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes.`, 'AWS.SimpleQueueService.BatchRequestTooLong');
    }
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const e of entries as { Id: string; MessageBody?: unknown }[]) {
      try {
        const body = checkBody(e.MessageBody);
        Successful.push({ Id: e.Id, MessageId: send(q, body), MD5OfMessageBody: md5(body) });
      } catch (err) {
        if (!(err instanceof SqsError)) throw err;
        Failed.push({ Id: e.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  function startMove(input: Record<string, unknown>): unknown {
    const source = str(input, 'SourceArn');
    if (source !== arn('dlq')) {
      throw new SqsError('ResourceNotFoundException', `The source queue ${source} is not a dead-letter queue of this endpoint (${arn('dlq')}).`, 'ResourceNotFoundException', 404);
    }
    const destination = input.DestinationArn ?? arn('ingest');
    if (destination !== arn('ingest')) {
      throw new SqsError('InvalidParameterValue', `The destination must be the ingest queue (${arn('ingest')}).`);
    }
    const moved = redriveDeadLetters(file, opts.queue);
    hiddenUntil.clear();
    firstReceived.clear();
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source })).toString('base64url'),
      Status: 'COMPLETED',
      SourceArn: source,
      DestinationArn: arn('ingest'),
      ApproximateNumberOfMessagesMoved: moved,
      ApproximateNumberOfMessagesToMove: moved,
      StartedTimestamp: Date.now(),
    };
    tasks.unshift(task);
    tasks.splice(10);
    return { TaskHandle: task.TaskHandle };
  }

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetQueueUrl: (input) => {
      const name = str(input, 'QueueName');
      for (const q of ['ingest', 'dlq'] as const) if (names[q] === name) return { QueueUrl: url(q) };
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    },
    ListQueues: (input) => {
      const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
      return { QueueUrls: (['ingest', 'dlq'] as const).filter((q) => names[q].startsWith(prefix)).map(url) };
    },
    GetQueueAttributes: (input) => ({ Attributes: attributesOf(queueOf(input), input.AttributeNames) }),
    SendMessage: (input) => {
      const q = queueOf(input);
      const body = checkBody(input.MessageBody);
      return { MessageId: send(q, body), MD5OfMessageBody: md5(body) };
    },
    SendMessageBatch: sendBatch,
    ReceiveMessage: receive,
    DeleteMessage: (input) => {
      const q = queueOf(input);
      const id = messageIdOf(input.ReceiptHandle);
      if (q === 'dlq' && deleteDeadLetter(file, id)) {
        hiddenUntil.delete(id);
        firstReceived.delete(id);
      }
      return {};
    },
    ChangeMessageVisibility: (input) => {
      const q = queueOf(input);
      const id = messageIdOf(input.ReceiptHandle);
      const seconds = int(input, 'VisibilityTimeout', 0, 0, 43_200);
      if (q === 'dlq') hiddenUntil.set(id, Date.now() + seconds * 1000);
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const q = queueOf(input);
      const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of entries) {
        try {
          const id = messageIdOf(e.ReceiptHandle);
          const seconds = int(e, 'VisibilityTimeout', 0, 0, 43_200);
          if (q === 'dlq') hiddenUntil.set(id, Date.now() + seconds * 1000);
          Successful.push({ Id: e.Id });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({ Id: e.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
        }
      }
      return { Successful, Failed };
    },
    PurgeQueue: (input) => {
      if (queueOf(input) === 'ingest') {
        throw new SqsError('UnsupportedOperation', 'The local ingest queue cannot be purged; stop the stack instead.', 'AWS.SimpleQueueService.UnsupportedOperation');
      }
      purgeDeadLetters(file);
      hiddenUntil.clear();
      firstReceived.clear();
      return {};
    },
    StartMessageMoveTask: startMove,
    ListMessageMoveTasks: (input) => {
      const source = str(input, 'SourceArn');
      const max = int(input, 'MaxResults', 1, 1, 10);
      return {
        Results: tasks
          .filter((t) => t.SourceArn === source)
          .slice(0, max)
          // A finished task has no handle left to cancel, as in SQS.
          .map(({ TaskHandle: _handle, ...rest }) => rest),
      };
    },
  };

  async function handle(req: IncomingMessage, body: Buffer): Promise<unknown> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    if (req.method !== 'POST' || !op) {
      throw new SqsError('InvalidAction', 'This endpoint speaks the AWS JSON 1.0 protocol: POST / with X-Amz-Target: AmazonSQS.<Operation>.', 'InvalidAction');
    }
    const fn = operations[op];
    if (!fn) throw new SqsError('UnsupportedOperation', `The local SQS endpoint does not support ${op}.`, 'AWS.SimpleQueueService.UnsupportedOperation');
    let input: unknown;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      throw new SqsError('SerializationException', 'The request body is not valid JSON.', 'SerializationException');
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new SqsError('SerializationException', 'The request body must be a JSON object.', 'SerializationException');
    }
    return fn(input as Record<string, unknown>);
  }

  function reply(res: ServerResponse, status: number, payload: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...extra,
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const work = tooLarge
        ? Promise.reject(new SqsError('BatchRequestTooLong', `Requests cannot be longer than ${MAX_REQUEST_BYTES} bytes.`, 'AWS.SimpleQueueService.BatchRequestTooLong'))
        : Promise.resolve().then(() => handle(req, Buffer.concat(chunks)));
      work.then(
        (out) => reply(res, 200, out),
        (err: unknown) => {
          const e =
            err instanceof SqsError
              ? err
              : new SqsError('InternalError', 'The local SQS endpoint failed to handle the request.', 'InternalError', 500);
          reply(res, e.status, { __type: `com.amazonaws.sqs#${e.type}`, message: e.message }, {
            'x-amzn-query-error': `${e.queryCode};${e.status >= 500 ? 'Receiver' : 'Sender'}`,
          });
        },
      );
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, '127.0.0.1', () => ok());
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    ingestQueueUrl: url('ingest'),
    ingestQueueArn: arn('ingest'),
    deadLetterQueueUrl: url('dlq'),
    deadLetterQueueArn: arn('dlq'),
    stop: () =>
      new Promise<void>((ok) => {
        closed = true;
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
