/**
 * The API handler with a fake reader: error mapping, cursor rules and HTTP manners that do
 * not need a database (the HTTP contract tests are in test/integration/api.test.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/adapters/logger';
import { createApiHandler } from '../../functions/api/app';
import { createCursorCodec } from '../../functions/api/cursor';
import type { ArticleReader } from '../../functions/ports';

function event(path: string, query: Record<string, string> = {}, method = 'GET', headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' }, requestId: 'req-1' } as any,
    isBase64Encoded: false,
  };
}

const failingReader: ArticleReader = {
  get: async () => {
    throw Object.assign(new Error('User: arn:aws:sts::123:assumed-role/x is not authorized to perform: dynamodb:GetItem'), { name: 'AccessDeniedException' });
  },
  list: async () => {
    throw new Error('ProvisionedThroughputExceededException: secret table name articles-prod');
  },
  counts: async () => [],
  bodyKeys: async () => new Map(),
  linkPage: async () => ({ items: [], next: null }),
};

const logged: unknown[] = [];
const handler = createApiHandler({
  reader: failingReader,
  readBody: async () => null,
  cursors: createCursorCodec('test-secret'),
  corsAllowedOrigins: ['https://a.example'],
  log: { ...silentLogger, error: (_m, f) => logged.push(f) },
});

describe('API error mapping', () => {
  it('turns an AWS failure into a 500 that reveals nothing, and logs the cause', async () => {
    const res = await handler(event('/articles'));
    expect(res.statusCode).toBe(500);
    const body = JSON.parse(res.body!);
    expect(body.error.code).toBe('internal_error');
    expect(res.body).not.toMatch(/Provisioned|articles-prod|arn:|Exception|\.ts/);
    expect(JSON.stringify(logged)).toContain('ProvisionedThroughputExceeded');
  });

  it('answers CORS only for configured origins', async () => {
    const ok = await handler(event('/health', {}, 'GET', { origin: 'https://a.example' }));
    expect(ok.headers?.['access-control-allow-origin']).toBe('https://a.example');
    const other = await handler(event('/health', {}, 'GET', { origin: 'https://evil.example' }));
    expect(other.headers?.['access-control-allow-origin']).toBeUndefined();
  });
});

describe('cursors', () => {
  const codec = createCursorCodec('s1');
  const pos = { pk: 'A#abc', sk: 'L#all#', gsi1pk: 'published#all#', gsi1sk: '2024-01-01T00:00:00.000Z#abc' };

  it('round-trip for the same query and hide the keys', () => {
    const token = codec.encode(pos, 'q1');
    expect(codec.decode(token, 'q1')).toEqual(pos);
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toMatch(/A#abc|published/);
  });

  it('refuse another query, another secret, and expiry', () => {
    const token = codec.encode(pos, 'q1', 0);
    expect(() => codec.decode(codec.encode(pos, 'q1'), 'q2')).toThrow(/different query/);
    expect(() => createCursorCodec('s2').decode(codec.encode(pos, 'q1'), 'q1')).toThrow(/different query/);
    expect(() => codec.decode(token, 'q1', 2 * 24 * 3600 * 1000)).toThrow(/expired/);
  });

  it('are stable for the same page within the hour, so list ETags can match', () => {
    expect(codec.encode(pos, 'q1', 1000)).toBe(codec.encode(pos, 'q1', 2000));
    expect(codec.encode(pos, 'q1')).not.toBe(codec.encode({ ...pos, pk: 'A#abd' }, 'q1'));
  });
});
