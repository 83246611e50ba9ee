/**
 * The query API's DynamoDB reads over signed HTTP (functions/adapters/dynamo-http.ts),
 * against a scripted server on 127.0.0.1: what it sends (the JSON protocol, typed values,
 * a SigV4 signature the SDK's own signer agrees with) and what it does with each kind of
 * answer (retry or throw). Against DynamoDB Local, beside the SDK: integration/dynamo-http.test.ts.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsHttpError } from '../../functions/adapters/aws-http';
import { createHttpDocumentReads } from '../../functions/adapters/dynamo-http';

interface Seen {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}
type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'hang' | 'reset';

let server: Server;
let endpoint: string;
let seen: Seen[] = [];
let script: Reply[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ headers: req.headers, body, path: req.url ?? '' });
      const r = script.shift() ?? { status: 200, body: {} };
      if (r === 'hang') return;
      if (r === 'reset') return void req.socket.destroy();
      res.writeHead(r.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1', ...r.headers });
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  seen = [];
  script = [];
});

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test', sessionToken: 'token-test' };
const reads = (o: { maxAttempts?: number; attemptTimeoutMs?: number } = {}) =>
  createHttpDocumentReads({ region: 'eu-west-1', endpoint, credentials, backoff: { baseMs: 1, capMs: 2 }, ...o });

describe('DynamoDB reads over signed HTTP', () => {
  it('sends the JSON protocol with typed values, and returns plain documents', async () => {
    script = [
      {
        status: 200,
        body: {
          Items: [{ pk: { S: 'A#x' }, n: { N: '3' }, tags: { L: [{ S: '普京' }] }, ok: { BOOL: true }, none: { NULL: true }, m: { M: { a: { N: '1.5' } } } }],
          LastEvaluatedKey: { pk: { S: 'A#x' }, sk: { S: 'L#all#' } },
        },
      },
    ];
    const res = await reads().query({
      TableName: 'articles',
      IndexName: 'gsi1',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'gsi1pk' },
      ExpressionAttributeValues: { ':pk': 'published#tag#普京', ':n': 3 },
      ScanIndexForward: false,
      Limit: 21,
      ExclusiveStartKey: undefined,
    });
    expect(res.Items).toEqual([{ pk: 'A#x', n: 3, tags: ['普京'], ok: true, none: null, m: { a: 1.5 } }]);
    expect(res.LastEvaluatedKey).toEqual({ pk: 'A#x', sk: 'L#all#' });
    const [req] = seen;
    expect(req!.headers['x-amz-target']).toBe('DynamoDB_20120810.Query');
    expect(req!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(req!.headers['x-amz-security-token']).toBe('token-test');
    const sent = JSON.parse(req!.body) as Record<string, unknown>;
    expect(sent).toEqual({
      TableName: 'articles',
      IndexName: 'gsi1',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'gsi1pk' },
      ExpressionAttributeValues: { ':pk': { S: 'published#tag#普京' }, ':n': { N: '3' } },
      ScanIndexForward: false,
      Limit: 21,
    });
  });

  it('signs as the SDK signer does (service dynamodb, the region, the session token)', async () => {
    script = [{ status: 200, body: {} }];
    await reads().get({ TableName: 'articles', Key: { pk: 'A#x', sk: 'A' } });
    const [req] = seen;
    const amzDate = String(req!.headers['x-amz-date']);
    const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const signer = new SignatureV4({ service: 'dynamodb', region: 'eu-west-1', credentials, sha256: Sha256, applyChecksum: false });
    const url = new URL(endpoint);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(String(req!.headers.authorization))![1]!.split(';');
    const headers: Record<string, string> = {};
    for (const h of signedHeaders) headers[h] = String(req!.headers[h]);
    const expected = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers, body: req!.body },
      { signingDate: date },
    );
    const signature = (h: unknown) => /Signature=([0-9a-f]{64})/.exec(String(h))![1];
    expect(signature(req!.headers.authorization)).toBe(signature(expected.headers.authorization));
    expect(String(req!.headers.authorization)).toContain('Credential=AKIDTEST/');
    expect(String(req!.headers.authorization)).toContain('/eu-west-1/dynamodb/aws4_request');
  });

  it('retries throttling, 5xx, a reset connection and a lost answer, then succeeds', async () => {
    script = [
      { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' } },
      { status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'oops' } },
      'reset',
      'hang',
      { status: 200, body: { Item: { id: { S: 'x' } } } },
    ];
    const res = await reads({ attemptTimeoutMs: 300 }).get({ TableName: 't', Key: { pk: 'A#x', sk: 'A' } });
    expect(res.Item).toEqual({ id: 'x' });
    expect(seen).toHaveLength(5);
  });

  it('throws a request error at once, named as the SDK names it', async () => {
    script = [{ status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' } }];
    const err = (await reads()
      .get({ TableName: 'missing', Key: { pk: 'A#x', sk: 'A' } })
      .catch((e: unknown) => e)) as AwsHttpError;
    expect(err).toBeInstanceOf(AwsHttpError);
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.message).toBe('Requested resource not found');
    expect(err.$metadata).toEqual({ httpStatusCode: 400, requestId: 'req-1', attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  it('gives up after maxAttempts on a throttle that does not end, with the last error', async () => {
    script = Array.from({ length: 10 }, () => ({ status: 400, body: { __type: 'x#ThrottlingException', Message: 'Rate exceeded' } }));
    const err = (await reads({ maxAttempts: 3 })
      .query({ TableName: 't', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'C#tag' } })
      .catch((e: unknown) => e)) as AwsHttpError;
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(err.$metadata.attempts).toBe(3);
    expect(seen).toHaveLength(3);
  });

  it('a non-JSON error page is named by its status', async () => {
    script = [{ status: 403, body: '<html>Forbidden</html>' }];
    const err = (await reads()
      .get({ TableName: 't', Key: { pk: 'A#x', sk: 'A' } })
      .catch((e: unknown) => e)) as AwsHttpError;
    expect(err.name).toBe('Http403');
    expect(seen).toHaveLength(1);
  });

  it('batch-get marshals every key and unmarshals responses and unprocessed keys', async () => {
    script = [
      {
        status: 200,
        body: {
          Responses: { articles: [{ id: { S: 'a' }, bodyKey: { S: 'bodies/a.html' } }] },
          UnprocessedKeys: { articles: { Keys: [{ pk: { S: 'A#b' }, sk: { S: 'A' } }], ProjectionExpression: 'id' } },
        },
      },
    ];
    const res = await reads().batchGet({
      RequestItems: { articles: { Keys: [{ pk: 'A#a', sk: 'A' }, { pk: 'A#b', sk: 'A' }], ProjectionExpression: 'id, bodyKey, deleted' } },
    });
    expect(res.Responses).toEqual({ articles: [{ id: 'a', bodyKey: 'bodies/a.html' }] });
    expect(res.UnprocessedKeys).toEqual({ articles: { Keys: [{ pk: 'A#b', sk: 'A' }] } });
    expect(JSON.parse(seen[0]!.body)).toEqual({
      RequestItems: { articles: { Keys: [{ pk: { S: 'A#a' }, sk: { S: 'A' } }, { pk: { S: 'A#b' }, sk: { S: 'A' } }], ProjectionExpression: 'id, bodyKey, deleted' } },
    });
  });
});
