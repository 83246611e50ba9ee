/**
 * The query API calls AWS without the SDK (functions/adapters/aws-http.ts). Here each of its
 * requests is compared with the request the SDK itself sends for the same input, captured
 * by one server on 127.0.0.1: DynamoDB's GetItem, Query and BatchGetItem, the Data API's
 * ExecuteStatement and S3's GetObject (awkward keys included). Same method, path, protocol
 * headers and body; so what the emulators accept from one, AWS accepts from the other.
 * And errors are named as the SDK names them, from each protocol's error shape.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../functions/adapters/aws-http';
import { createDataApiDriver, toSqlParameters } from '../../functions/adapters/data-api-driver';
import { createHttpDocumentReads } from '../../functions/adapters/dynamo-http';
import { createHttpTextReader } from '../../functions/adapters/s3-http';

interface Captured {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let endpoint: string;
let captured: Captured[] = [];
/** What the server answers, by protocol. */
let answer: (req: Captured) => { status: number; headers?: Record<string, string>; body: string } = () => ({ status: 200, body: '{}' });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const c = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      captured.push(c);
      const a = answer(c);
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  captured = [];
  answer = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
});

const region = 'eu-central-1';
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const sdkOptions = { region, credentials, maxAttempts: 1 };

/** Method, path, protocol headers and parsed body: what a service reads from a request. */
const wire = (c: Captured) => ({
  method: c.method,
  path: c.path.split('?')[0],
  target: c.headers['x-amz-target'],
  contentType: c.headers['content-type']?.split(';')[0],
  body: c.body ? (JSON.parse(c.body) as unknown) : '',
});

describe('requests equal the SDK’s', () => {
  it('DynamoDB GetItem, Query and BatchGetItem', async () => {
    const sdk = new DynamoDBClient({ ...sdkOptions, endpoint });
    const ours = createHttpDocumentReads({ region, credentials, endpoint });
    await sdk.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'A#x' }, sk: { S: 'A' } } }));
    await ours.get({ TableName: 't', Key: { pk: 'A#x', sk: 'A' } });
    await sdk.send(
      new QueryCommand({
        TableName: 't',
        IndexName: 'gsi1',
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk' },
        ExpressionAttributeValues: { ':pk': { S: 'published#tag#普京' }, ':from': { S: '2024' }, ':to': { S: '2025#\uffff' } },
        ScanIndexForward: false,
        Limit: 21,
        ExclusiveStartKey: { pk: { S: 'A#x' }, sk: { S: 'L#all#' } },
      }),
    );
    await ours.query({
      TableName: 't',
      IndexName: 'gsi1',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk' },
      ExpressionAttributeValues: { ':pk': 'published#tag#普京', ':from': '2024', ':to': '2025#\uffff' },
      ScanIndexForward: false,
      Limit: 21,
      ExclusiveStartKey: { pk: 'A#x', sk: 'L#all#' },
    });
    await sdk.send(new BatchGetItemCommand({ RequestItems: { t: { Keys: [{ pk: { S: 'A#x' }, sk: { S: 'A' } }], ProjectionExpression: 'id, bodyKey' } } }));
    await ours.batchGet({ RequestItems: { t: { Keys: [{ pk: 'A#x', sk: 'A' }], ProjectionExpression: 'id, bodyKey' } } });
    expect(captured).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) expect(wire(captured[i + 1]!)).toEqual(wire(captured[i]!));
    expect(wire(captured[0]!).target).toBe('DynamoDB_20120810.GetItem');
  });

  it('Data API ExecuteStatement, with every kind of parameter', async () => {
    answer = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ formattedRecords: '[{"a":1}]' }) });
    const settings = { resourceArn: 'arn:aws:rds:eu-central-1:123456789012:cluster:c', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:s', database: 'articles' };
    const params = { s: '普京 "quoted"', n: 42, d: 1.5, big: 2 ** 60, t: true, z: null };
    const sql = 'SELECT :s, :n, :d, :big, :t, :z';
    const sdk = new RDSDataClient({ ...sdkOptions, endpoint });
    await sdk.send(new ExecuteStatementCommand({ ...settings, sql, parameters: toSqlParameters(params), formatRecordsAs: 'JSON' }));
    const res = await createDataApiDriver({ ...settings, endpoint }, { region, credentials }).query(sql, params);
    expect(res.rows).toEqual([{ a: 1 }]);
    expect(wire(captured[1]!)).toEqual(wire(captured[0]!));
    expect(wire(captured[0]!).path).toBe('/Execute');
  });

  it('S3 GetObject, path-style, keys with spaces, unicode, reserved characters and dots inside segments', async () => {
    answer = () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<p>正文</p>' });
    const sdk = new S3Client({ ...sdkOptions, endpoint, forcePathStyle: true });
    const read = createHttpTextReader({ region, credentials, endpoint });
    for (const key of ['bodies/abc-r1.html', 'a b/c+d/普京 (1)!*\'.html', 'q?a=1&b#frag', 'x/.y./..z/~_.html']) {
      captured = [];
      const got = await sdk.send(new GetObjectCommand({ Bucket: 'media', Key: key }));
      await got.Body?.transformToString();
      expect(await read('media', key)).toBe('<p>正文</p>');
      expect({ method: captured[1]!.method, path: captured[1]!.path }).toEqual({ method: captured[0]!.method, path: captured[0]!.path.split('?x-id=')[0] });
    }
  });

  it('S3: a missing key is null; any other error is thrown with its S3 code; a dot segment is refused, not misread', async () => {
    const read = createHttpTextReader({ region, credentials, endpoint });
    await expect(read('media', 'x/./y/../z.html')).rejects.toThrow(/dot segment/);
    expect(captured).toHaveLength(0);
    answer = () => ({ status: 404, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>' });
    expect(await read('media', 'gone.html')).toBeNull();
    answer = () => ({ status: 403, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' });
    await expect(read('media', 'secret.html')).rejects.toMatchObject({ name: 'AccessDenied', message: 'Access Denied', $metadata: { httpStatusCode: 403 } });
  });
});

describe('error names as the SDK reads them', () => {
  const h = (o: Record<string, string> = {}) => new Headers(o);
  it('from each protocol’s shape', () => {
    expect(errorOf(400, h(), '{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"m"}')).toEqual({ name: 'ConditionalCheckFailedException', message: 'm' });
    expect(errorOf(400, h({ 'x-amzn-errortype': 'DatabaseResumingException:http://internal.amazon.com/coral/com.amazon.rdsdataservice/' }), '{"message":"resuming"}')).toEqual({
      name: 'DatabaseResumingException',
      message: 'resuming',
    });
    expect(errorOf(400, h(), '{"code":"BadRequestException","Message":"bad"}')).toEqual({ name: 'BadRequestException', message: 'bad' });
    expect(errorOf(503, h(), '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>')).toEqual({ name: 'SlowDown', message: 'Reduce your request rate.' });
    expect(errorOf(502, h(), 'Bad Gateway')).toEqual({ name: 'InternalServerError', message: 'answered HTTP 502' });
  });

  it('the Data API driver waits for a resuming cluster, then answers', async () => {
    let n = 0;
    answer = () =>
      n++ < 2
        ? { status: 400, headers: { 'x-amzn-errortype': 'DatabaseResumingException', 'content-type': 'application/json' }, body: '{"message":"resuming"}' }
        : { status: 200, headers: { 'content-type': 'application/json' } as Record<string, string>, body: '{"numberOfRecordsUpdated":3}' };
    const driver = createDataApiDriver({ resourceArn: 'r', secretArn: 's', database: 'd', endpoint, resumeWaitMs: 10_000 }, { region, credentials });
    expect(await driver.query('DELETE FROM t')).toEqual({ rows: [], rowCount: 3 });
    expect(captured).toHaveLength(3);
  });
});
