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
  publicFrontMatterKeys: [],
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

describe('public projection and operator context (fake reader)', () => {
  const stored = {
    id: 'abc',
    slug: 's',
    title: 'T',
    date: null,
    updated: null,
    author: null,
    authors: [],
    categories: [],
    tags: [],
    excerpt: '',
    cover: { url: 'u', width: 1, height: 1, srcset: '', sources: [], placeholder: null, original: 'o', futureCoverField: 'x' },
    wordCount: 1,
    readingMinutes: 1,
    imageCount: 1,
    sourceKey: 'private/folder/a.md',
    status: 'published',
    warnings: [{ code: 'image_not_found', message: 'm', url: 'http://10.0.0.1/x.png' }],
    error: null,
    processedAt: '2026-01-01T00:00:00.000Z',
    images: [{ original: 'o', status: 'failed', error: { code: 'image_blocked_address', message: 'resolves to 10.0.0.1' } }],
    frontMatter: { subtitle: 'Sub', author_email: 'ann@example.com' },
    bodyKey: 'bodies/abc',
    sourceEtag: 'e',
    contentHash: 'h',
    pipelineVersion: 3,
    sortDate: '2026-01-01T00:00:00.000Z',
    // Bookkeeping a future version might store: it must never reach anyone by accident.
    supersededBodyKeys: ['bodies/old'],
    imageWarnings: 1,
    someNewInternalField: 'leak?',
  };
  const reader = (rec: Record<string, unknown>): ArticleReader => ({
    get: async () => rec as any,
    list: async () => ({ items: [rec as any], next: null }),
    counts: async () => [],
    bodyKeys: async () => new Map(),
    linkPage: async () => ({ items: [], next: null }),
  });
  const app = (rec: Record<string, unknown>, keys: string[] = []) =>
    createApiHandler({ reader: reader(rec), readBody: async () => '<p>x</p>', cursors: createCursorCodec('s'), publicFrontMatterKeys: keys, log: silentLogger });
  const signed = (e: APIGatewayProxyEventV2) => ({ ...e, requestContext: { ...e.requestContext, authorizer: { iam: { accessKey: 'AKID' } } } }) as any;

  it('public answers carry exactly the schema fields, whatever the record holds', async () => {
    const a = JSON.parse((await app(stored)(event('/articles/abc'))).body!);
    expect(Object.keys(a).sort()).toEqual(
      ['id', 'slug', 'title', 'date', 'updated', 'author', 'authors', 'categories', 'tags', 'excerpt', 'cover', 'wordCount', 'readingMinutes', 'imageCount', 'status', 'processedAt', 'html', 'images', 'frontMatter'].sort(),
    );
    expect(a.cover).not.toHaveProperty('futureCoverField');
    expect(a.images).toEqual([{ original: 'o', status: 'failed' }]);
    expect(a.frontMatter).toEqual({});
    const list = JSON.parse((await app(stored)(event('/articles'))).body!);
    expect(list.items[0]).not.toHaveProperty('sourceKey');
    expect(list.items[0]).not.toHaveProperty('warnings');
    expect(JSON.stringify(list)).not.toMatch(/leak\?|10\.0\.0\.1|private\/folder/);
  });

  it('front matter goes public only for the configured keys', async () => {
    const a = JSON.parse((await app(stored, ['subtitle', 'missing'])(event('/articles/abc'))).body!);
    expect(a.frontMatter).toEqual({ subtitle: 'Sub' });
  });

  it('a draft, failed or scheduled record is a 404 for the public and whole for an operator', async () => {
    for (const status of ['draft', 'failed', 'scheduled']) {
      const rec = { ...stored, status };
      const pub = await app(rec)(event('/articles/abc'));
      expect(pub.statusCode, status).toBe(404);
      const op = await app(rec)(signed(event('/admin/articles/abc')));
      expect(op.statusCode, status).toBe(200);
      const body = JSON.parse(op.body!);
      expect(body).toMatchObject({ status, sourceKey: 'private/folder/a.md', warnings: stored.warnings, frontMatter: stored.frontMatter, pipelineVersion: 3 });
      expect(body.images[0].error.code).toBe('image_blocked_address');
      expect(body).not.toHaveProperty('supersededBodyKeys');
      expect(body).not.toHaveProperty('someNewInternalField');
      expect(op.headers?.['cache-control']).toBe('private, no-store');
    }
  });

  it('operator routes without the IAM context API Gateway adds are 403, whatever the path', async () => {
    for (const path of ['/admin/articles', '/admin/articles/abc', '/admin', '/admin/', '/admin/nope']) {
      const res = await app(stored)(event(path));
      expect(res.statusCode, path).toBe(403);
      expect(JSON.parse(res.body!).error.code).toBe('forbidden');
    }
  });

  it('a record that does not fit the public schema is a logged 500, not a leak', async () => {
    const errors: unknown[] = [];
    const h = createApiHandler({ reader: reader({ ...stored, title: 42 }), readBody: async () => '', cursors: createCursorCodec('s'), publicFrontMatterKeys: [], log: { ...silentLogger, error: (_m, f) => errors.push(f) } });
    const res = await h(event('/articles/abc'));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('42');
    expect(JSON.stringify(errors)).toContain('title');
  });
});
