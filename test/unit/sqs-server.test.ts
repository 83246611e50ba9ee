/**
 * The local SQS endpoint, driven by the real @aws-sdk/client-sqs (its serializer, its MD5
 * checks on send and receive, its error parsing), over a LocalQueue with a fake handler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalQueue, readDeadLetters } from '../../local/queue';
import { startLocalSqs, type LocalSqs } from '../../local/sqs-server';

const dir = mkdtempSync(join(tmpdir(), 'sqs-server-'));
const deadLetterFile = join(dir, 'dead-letters.jsonl');
const handled: string[] = [];
/** Bodies starting with "fail" fail every delivery, until "fixed" (as by a deploy). */
const fixed = new Set<string>();
const queue = new LocalQueue({
  deadLetterFile,
  maxReceiveCount: 2,
  retryDelayMs: 1,
  handler: async (event: SQSEvent) => {
    for (const r of event.Records) handled.push(r.body);
    const failing = event.Records.filter((r) => r.body.startsWith('fail') && !fixed.has(r.body));
    return { batchItemFailures: failing.map((r) => ({ itemIdentifier: r.messageId })) };
  },
});
let sqs: LocalSqs;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startLocalSqs({ port: 0, queue, deadLetterFile });
  client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client.destroy();
  queue.close();
  await sqs.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await queue.idle();
  handled.length = 0;
  await client.send(new PurgeQueueCommand({ QueueUrl: sqs.deadLetterQueueUrl }));
});

async function deadLetterOne(body: string): Promise<void> {
  await client.send(new SendMessageCommand({ QueueUrl: sqs.ingestQueueUrl, MessageBody: body }));
  await queue.idle();
}

describe('local SQS endpoint', () => {
  it('resolves queue names to URLs and rejects unknown ones with SQS error codes', async () => {
    const ingest = await client.send(new GetQueueUrlCommand({ QueueName: 'articles-ingest' }));
    const dlq = await client.send(new GetQueueUrlCommand({ QueueName: 'articles-ingest-dlq' }));
    expect(ingest.QueueUrl).toBe(sqs.ingestQueueUrl);
    expect(dlq.QueueUrl).toBe(sqs.deadLetterQueueUrl);
    expect(sqs.ingestQueueUrl.startsWith(sqs.endpoint)).toBe(true);

    const err = await client.send(new GetQueueUrlCommand({ QueueName: 'nope' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'QueueDoesNotExist', Code: 'AWS.SimpleQueueService.NonExistentQueue', $metadata: { httpStatusCode: 400 } });
    const err2 = await client
      .send(new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/000000000000/other`, MessageBody: 'x' }))
      .catch((e: unknown) => e);
    expect(err2).toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('delivers SendMessage and SendMessageBatch to the ingest handler, with valid MD5s', async () => {
    const one = await client.send(new SendMessageCommand({ QueueUrl: sqs.ingestQueueUrl, MessageBody: 'hello 世界' }));
    expect(one.MessageId).toBeTruthy();
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body-${i}` }));
    const batch = await client.send(new SendMessageBatchCommand({ QueueUrl: sqs.ingestQueueUrl, Entries: entries }));
    expect(batch.Successful?.map((s) => s.Id).sort()).toEqual(entries.map((e) => e.Id).sort());
    expect(batch.Failed ?? []).toEqual([]);
    await queue.idle();
    expect(handled.sort()).toEqual(['hello 世界', ...entries.map((e) => e.MessageBody)].sort());
  });

  it('validates batches as SQS does', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: sqs.ingestQueueUrl, Entries: eleven }))).rejects.toMatchObject({
      name: 'TooManyEntriesInBatchRequest',
    });
    const same = [{ Id: 'a', MessageBody: 'x' }, { Id: 'a', MessageBody: 'y' }];
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: sqs.ingestQueueUrl, Entries: same }))).rejects.toMatchObject({
      name: 'BatchEntryIdsNotDistinct',
    });
    const partly = await client.send(
      new SendMessageBatchCommand({ QueueUrl: sqs.ingestQueueUrl, Entries: [{ Id: 'ok', MessageBody: 'fine' }, { Id: 'bad', MessageBody: 'a\u0000b' }] }),
    );
    expect(partly.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(partly.Failed).toEqual([expect.objectContaining({ Id: 'bad', SenderFault: true, Code: 'InvalidMessageContents' })]);
  });

  it('lists dead letters without consuming them, hides received ones, and deletes', async () => {
    await deadLetterOne('fail-list');
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: sqs.deadLetterQueueUrl, AttributeNames: ['All'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('1');
    expect(attrs.Attributes?.QueueArn).toBe(sqs.deadLetterQueueArn);

    const peek = () =>
      client.send(new ReceiveMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] }));
    const first = await peek();
    const second = await peek();
    expect(first.Messages?.map((m) => m.Body)).toEqual(['fail-list']);
    expect(second.Messages?.map((m) => m.MessageId)).toEqual(first.Messages?.map((m) => m.MessageId));
    expect(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');

    const hidden = await client.send(new ReceiveMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, VisibilityTimeout: 60 }));
    expect(hidden.Messages).toHaveLength(1);
    expect((await peek()).Messages ?? []).toEqual([]);
    const handle = hidden.Messages![0]!.ReceiptHandle!;
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: sqs.deadLetterQueueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }));
    expect((await peek()).Messages).toHaveLength(1);

    await client.send(new DeleteMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, ReceiptHandle: handle }));
    expect(readDeadLetters(deadLetterFile)).toEqual([]);
    await expect(client.send(new DeleteMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, ReceiptHandle: 'garbage!' }))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });

  it('redrives the dead-letter queue into the ingest queue with StartMessageMoveTask', async () => {
    await deadLetterOne('fail-then-ok');
    expect(readDeadLetters(deadLetterFile).map((l) => l.body)).toEqual(['fail-then-ok']);
    handled.length = 0;
    fixed.add('fail-then-ok');
    const task = await client.send(new StartMessageMoveTaskCommand({ SourceArn: sqs.deadLetterQueueArn }));
    expect(task.TaskHandle).toBeTruthy();
    await queue.idle();
    expect(handled).toEqual(['fail-then-ok']);
    expect(readDeadLetters(deadLetterFile)).toEqual([]);
    const list = await client.send(new ListMessageMoveTasksCommand({ SourceArn: sqs.deadLetterQueueArn }));
    expect(list.Results?.[0]).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1, DestinationArn: sqs.ingestQueueArn });
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: sqs.ingestQueueArn }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('refuses to receive from the self-delivering ingest queue', async () => {
    await expect(client.send(new ReceiveMessageCommand({ QueueUrl: sqs.ingestQueueUrl }))).rejects.toMatchObject({ name: 'UnsupportedOperation' });
  });

  it('answers requests outside the protocol with the JSON error shape', async () => {
    const res = await fetch(sqs.endpoint + '/', { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.DeleteQueue', 'content-type': 'application/x-amz-json-1.0' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(await res.json()).toEqual({ __type: 'com.amazonaws.sqs#UnsupportedOperation', message: expect.stringContaining('DeleteQueue') });
    const bad = await fetch(sqs.endpoint + '/', { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.SendMessage' }, body: '{not json' });
    expect(((await bad.json()) as { __type: string }).__type).toBe('com.amazonaws.sqs#SerializationException');
  });
});
