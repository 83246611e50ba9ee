/**
 * Contract tests for the query API over HTTP, against the embedded stack. Every response
 * seen here is validated against the API's own OpenAPI document, whose response schemas
 * allow no property they do not declare.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { articleId } from '../../functions/core/ingest';
import { signedHeaders } from '../../local/sigv4';
import { adminApi as rawAdminApi, api as rawApi, findBySourceKey, openApiChecker, remove, settle, stack, upload, uniq } from './helpers';

let validate: (path: string, status: number, body: unknown) => void;

beforeAll(async () => {
  const { body: doc } = await rawApi('/openapi.json');
  expect(doc.openapi).toBe('3.1.0');
  const check = await openApiChecker();
  validate = (path, status, body) => expect(check(path, status, body)).toBeNull();
});

/** Every call goes through the OpenAPI check. */
async function api(path: string, init?: RequestInit) {
  const res = await rawApi(path, init);
  if (res.status !== 304 && init?.method !== 'HEAD') validate(path, res.status, res.body);
  return res;
}

/** Signed (operator) calls too. */
async function adminApi(path: string) {
  const res = await rawAdminApi(path);
  validate(path, res.status, res.body);
  return res;
}

const article = (o: { title: string; date?: string; categories?: string[]; tags?: string[]; author?: string; slug?: string; draft?: boolean; extra?: string }) =>
  [
    '---',
    `title: ${JSON.stringify(o.title)}`,
    o.extra ?? null,
    o.date ? `date: ${o.date}` : null,
    o.categories ? `categories: ${JSON.stringify(o.categories)}` : null,
    o.tags ? `tags: ${JSON.stringify(o.tags)}` : null,
    o.author ? `author: ${JSON.stringify(o.author)}` : null,
    o.slug ? `slug: ${o.slug}` : null,
    o.draft ? 'draft: true' : null,
    '---',
    `Body of ${o.title}.`,
  ]
    .filter((l) => l !== null)
    .join('\n');

describe('routes', () => {
  it('GET /health', async () => {
    const res = await api('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('answers a raw UTF-8 request line with the error shape; the percent-encoded curl command works', async () => {
    const category = `头条${uniq('c').replace(/\W/g, '')}`;
    const key = `${uniq('utf8-line')}/a.md`;
    await upload(key, article({ title: 'Raw line', categories: [category], date: '2022-03-15' }));
    await settle();

    // curl 'http://…/articles?category=头条' sends the bytes raw: not HTTP, but answered as the API answers.
    const { port } = new URL(stack.apiUrl);
    const raw = await new Promise<string>((ok, fail) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(Buffer.from(`GET /articles?category=${category} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'utf8')),
      );
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => ok(text));
      socket.on('error', fail);
    });
    const [head, body] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toContain('content-type: application/json');
    expect(JSON.parse(body!)).toEqual({ error: { code: 'invalid_request', message: expect.stringContaining('--data-urlencode') } });

    // The documented command: curl -G with --data-urlencode.
    const curl = spawnSync(
      'curl',
      ['-sS', '-G', `${stack.apiUrl}/articles`, '--data-urlencode', `category=${category}`, '--data-urlencode', 'from=2022-03-01', '--data-urlencode', 'to=2022-03-31'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(curl.status, curl.stderr).toBe(0);
    expect(JSON.parse(curl.stdout).items.map((i: { id: string }) => i.id)).toEqual([articleId(key)]);
    await remove(key);
  });

  it('unknown routes and ids are 404 with an error body', async () => {
    const a = await rawApi('/nope');
    expect(a.status).toBe(404);
    expect(a.body.error.code).toBe('not_found');
    const b = await api('/articles/doesNotExist123');
    expect(b.status).toBe(404);
    expect(b.body.error).toEqual({ code: 'not_found', message: expect.stringContaining('doesNotExist123') });
  });

  it('HEAD answers like GET without a body; a plain OPTIONS names the methods; POST is 405', async () => {
    const head = await fetch(`${stack.apiUrl}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('etag')).toBeTruthy();
    const opt = await rawApi('/articles', { method: 'OPTIONS' });
    expect(opt.status).toBe(204);
    expect(opt.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    const post = await rawApi('/articles', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('method_not_allowed');
  });

  it('CORS as API Gateway does it: preflight answered with if-none-match allowed, etag exposed on answers', async () => {
    const pre = await rawApi('/articles', {
      method: 'OPTIONS',
      headers: { origin: 'https://site.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'if-none-match' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect(pre.headers.get('access-control-allow-headers')!.split(',')).toContain('if-none-match');
    const get = await rawApi('/health', { headers: { origin: 'https://site.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    expect(get.headers.get('access-control-expose-headers')).toBe('etag');
    // Errors carry them too (a browser could not read the error body otherwise).
    const bad = await rawApi('/articles?limit=0', { headers: { origin: 'https://site.example' } });
    expect(bad.headers.get('access-control-allow-origin')).toBe('*');
    // No Origin, no CORS headers.
    expect((await rawApi('/health')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves an OpenAPI 3.1 document naming every route of both groups and the SigV4 scheme', async () => {
    const { body } = await rawApi('/openapi.json');
    expect(Object.keys(body.paths).sort()).toEqual(
      ['/admin/articles', '/admin/articles/{id}', '/articles', '/articles/{id}', '/authors', '/categories', '/health', '/openapi.json', '/tags', '/feed.xml', '/atom.xml', '/feed.json', '/sitemap.xml', '/search'].sort(),
    );
    expect(body.components.securitySchemes.sigv4).toMatchObject({ type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' });
    for (const [path, item] of Object.entries<any>(body.paths)) {
      expect(item.get.security, path).toEqual(path.startsWith('/admin/') ? [{ sigv4: [] }] : undefined);
    }
    // Every object schema is closed: a field outside it fails validation.
    const open: string[] = [];
    const walk = (s: any, at: string) => {
      if (!s || typeof s !== 'object') return;
      if (s.type === 'object' && s.properties && s.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(s)) walk(v, `${at}.${k}`);
    };
    walk(body.components.schemas, 'schemas');
    expect(open).toEqual([]);
  });

  it('a malformed escape in an id is a 400, not a 500', async () => {
    for (const path of ['/articles/%E0%A4%A', '/articles/%', '/articles/%ZZ', '/admin/articles/%E0%A4%A']) {
      const res = path.startsWith('/admin') ? await adminApi(path) : await api(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
  });
});

describe('filters and paging', () => {
  const ns = uniq('f');
  const cat = `${ns}-news`;
  const tag = `${ns}-tag`;
  const author = `${ns}-ann`;
  const keys: string[] = [];

  beforeAll(async () => {
    const uploads: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      const key = `${ns}/post-${String(i).padStart(2, '0')}.md`;
      keys.push(key);
      uploads.push(
        upload(
          key,
          article({
            title: `Post ${i}`,
            // Pairs share a date: the order must still be total (ties broken by id).
            date: `2024-02-${day}T10:00:00Z`,
            categories: [cat],
            tags: i % 2 ? [tag] : [],
            author: i % 5 === 0 ? author : 'Someone Else',
            slug: `${ns}-slug-${i}`,
            draft: i === 49,
          }),
        ),
      );
    }
    await Promise.all(uploads);
    await settle();
  });

  it('walks a 49-article category with limit=1 exactly once, newest first', async () => {
    const seen: string[] = [];
    const dates: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/articles?category=${encodeURIComponent(cat)}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api(q);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(1);
      for (const a of res.body.items) {
        seen.push(a.id);
        dates.push(a.date);
      }
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 60);
    expect(seen).toHaveLength(49);
    expect(new Set(seen).size).toBe(49);
    expect([...dates]).toEqual([...dates].sort().reverse());
  });

  it('filters by tag, author, slug and status', async () => {
    const byTag = await api(`/articles?tag=${encodeURIComponent(tag)}&limit=100`);
    expect(byTag.body.items).toHaveLength(24); // odd i < 49
    const byAuthor = await api(`/articles?author=${encodeURIComponent(author.toUpperCase())}&limit=100`);
    expect(byAuthor.body.items.map((a: any) => a.title).sort()).toEqual(['Post 0', 'Post 10', 'Post 15', 'Post 20', 'Post 25', 'Post 30', 'Post 35', 'Post 40', 'Post 45', 'Post 5'].sort());
    const bySlug = await api(`/articles?slug=${ns}-slug-7`);
    expect(bySlug.body.items.map((a: any) => a.title)).toEqual(['Post 7']);
    // The draft is the operators' only.
    expect((await api(`/articles?slug=${ns}-slug-49`)).body.items).toEqual([]);
    expect((await api(`/articles?status=draft&category=${encodeURIComponent(cat)}`)).status).toBe(400);
    const drafts = await adminApi(`/admin/articles?status=draft&category=${encodeURIComponent(cat)}`);
    expect(drafts.body.items.map((a: any) => a.title)).toEqual(['Post 49']);
    expect((await adminApi(`/admin/articles?status=draft&slug=${ns}-slug-49`)).body.items).toHaveLength(1);
  });

  it('takes either date bound alone', async () => {
    const to = await api(`/articles?category=${encodeURIComponent(cat)}&to=2024-02-02&limit=100`);
    expect(to.status).toBe(200);
    expect(to.body.items.map((a: any) => a.date.slice(0, 10)).sort()).toEqual(['2024-02-01', '2024-02-01', '2024-02-02', '2024-02-02']);
    const from = await api(`/articles?category=${encodeURIComponent(cat)}&from=2024-02-27&limit=100`);
    expect(from.body.items.map((a: any) => a.date.slice(0, 10)).sort()).toEqual(['2024-02-27', '2024-02-28']);
    // Without a filter too (the issue's request), and on the operator route.
    expect((await api('/articles?to=2030-01-01')).status).toBe(200);
    expect((await adminApi('/admin/articles?to=2030-01-01&status=draft')).status).toBe(200);
  });

  it('combines each filter with an inclusive date range', async () => {
    const range = 'from=2024-02-03&to=2024-02-04';
    const byCat = await api(`/articles?category=${encodeURIComponent(cat)}&${range}&limit=100`);
    const days = byCat.body.items.map((a: any) => a.date.slice(0, 10));
    expect(new Set(days)).toEqual(new Set(['2024-02-03', '2024-02-04']));
    expect(days).toHaveLength(4);
    const byTag = await api(`/articles?tag=${encodeURIComponent(tag)}&${range}&limit=100`);
    expect(byTag.body.items.every((a: any) => a.tags.includes(tag))).toBe(true);
    expect(byTag.body.items.length).toBe(2);
    const byAuthor = await api(`/articles?author=${encodeURIComponent(author)}&from=2024-02-01&to=2024-02-10&limit=100`);
    expect(byAuthor.body.items.map((a: any) => a.title).sort()).toEqual(['Post 0', 'Post 30', 'Post 35', 'Post 5'].sort());
    const bySlug = await api(`/articles?slug=${ns}-slug-7&from=2024-03-01`);
    expect(bySlug.body.items).toEqual([]);
    const all = await api(`/articles?from=2024-02-28T10:00:00Z&to=2024-02-28T10:00:00Z&limit=100`);
    expect(all.body.items.some((a: any) => a.slug.startsWith(ns))).toBe(true);
  });

  it('rejects tampered, foreign and garbage cursors with invalid_cursor', async () => {
    const first = await api(`/articles?category=${encodeURIComponent(cat)}&limit=2`);
    const cursor: string = first.body.nextCursor;
    expect(cursor).toBeTruthy();
    // Opaque: no table key in clear.
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('A#');
    const flipped = cursor.slice(0, 20) + (cursor[20] === 'A' ? 'B' : 'A') + cursor.slice(21);
    for (const bad of [flipped, 'garbage', 'x'.repeat(60), `${cursor}AA`]) {
      const res = await api(`/articles?category=${encodeURIComponent(cat)}&limit=2&cursor=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('invalid_cursor');
    }
    const foreign = await api(`/articles?tag=${encodeURIComponent(tag)}&limit=2&cursor=${encodeURIComponent(cursor)}`);
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('invalid_cursor');
    // Page size may change between pages; the filters may not.
    const resized = await api(`/articles?category=${encodeURIComponent(cat)}&limit=5&cursor=${encodeURIComponent(cursor)}`);
    expect(resized.status).toBe(200);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await api(`/articles?category=${encodeURIComponent(cat)}&limit=3`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"/);
    expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const again = await rawApi(`/articles?category=${encodeURIComponent(cat)}&limit=3`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const other = await rawApi(`/articles?category=${encodeURIComponent(cat)}&limit=3`, { headers: { 'if-none-match': '"nope"' } });
    expect(other.status).toBe(200);
  });
});

describe('bad parameters are 400 with a clear message, never 500', () => {
  const cases: [string, RegExp][] = [
    ['limit=0', /limit/],
    ['limit=101', /limit/],
    ['limit=abc', /limit/],
    ['limit=-1', /limit/],
    ['status=deleted', /status/],
    ['from=yesterday', /from/],
    ['to=2024-02-30', /to/],
    ['from=2024-03-01&to=2024-02-01', /from/],
    ['category=a&tag=b', /one of category, tag, author or slug/],
    ['author=x&slug=y', /one of/],
    ['category=', /category/],
    ['categroy=news', /unknown parameter categroy/],
    ['cursor=', /cursor/],
    [`tag=${'x'.repeat(201)}`, /tag/],
  ];
  for (const [query, message] of cases) {
    it(query.slice(0, 40), async () => {
      const res = await api(`/articles?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_parameter');
      expect(res.body.error.message).toMatch(message);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts|stack|Exception/);
    });
  }

  it('count routes take no parameters', async () => {
    const res = await api('/tags?limit=5');
    expect(res.status).toBe(400);
  });
});

describe('counts', () => {
  const ns = uniq('c');
  const count = async (route: string, name: string) => {
    const res = await api(route);
    expect(res.status).toBe(200);
    return res.body.items.find((i: any) => i.name === name)?.count ?? 0;
  };

  it('stay exact under update, delete and a duplicate event', async () => {
    const cat = `${ns}-Cat`;
    const tagA = `${ns}-a`;
    const tagB = `${ns}-b`;
    const who = `${ns}-Writer`;
    await upload(`${ns}/1.md`, article({ title: 'One', categories: [cat], tags: [tagA], author: who }));
    await upload(`${ns}/2.md`, article({ title: 'Two', categories: [cat], tags: [tagA, tagB], author: who }));
    await upload(`${ns}/3.md`, article({ title: 'Three', categories: [cat], draft: true }));
    await settle();
    expect(await count('/categories', cat)).toBe(2); // the draft does not count
    expect(await count('/tags', tagA)).toBe(2);
    expect(await count('/tags', tagB)).toBe(1);
    expect(await count('/authors', who)).toBe(2);

    // Update: 2 loses tag a; duplicate upload of the same bytes changes nothing.
    await upload(`${ns}/2.md`, article({ title: 'Two', categories: [cat], tags: [tagB], author: who }));
    await upload(`${ns}/2.md`, article({ title: 'Two', categories: [cat], tags: [tagB], author: who }));
    await settle();
    expect(await count('/tags', tagA)).toBe(1);
    expect(await count('/tags', tagB)).toBe(1);

    // Publishing the draft counts it; deleting one uncounts it.
    await upload(`${ns}/3.md`, article({ title: 'Three', categories: [cat] }));
    await remove(`${ns}/1.md`);
    await settle();
    expect(await count('/categories', cat)).toBe(2);
    expect(await count('/tags', tagA)).toBe(0);
    expect(await count('/authors', who)).toBe(1);
  });
});

describe('public vs operator', () => {
  const ns = uniq('p');
  const cat = `${ns}-cat`;
  const keys = { pub: `${ns}/pub.md`, draft: `${ns}/draft.md`, failed: `${ns}/failed.md` };
  const ids: Record<string, string> = {};
  const EMAIL = 'extra: {"author_email": "ann@example.com", "wp_id": 7}';

  beforeAll(async () => {
    await upload(keys.pub, article({ title: 'Public one', categories: [cat], tags: [`${ns}-t`], slug: `${ns}-pub`, extra: EMAIL }) + `\n\n![gone](http://127.0.0.1:9/missing.png)\n`);
    await upload(keys.draft, article({ title: 'Draft one', categories: [cat], tags: [`${ns}-t`], slug: `${ns}-draft`, draft: true, extra: EMAIL }));
    await upload(keys.failed, '---\ntitle: "unclosed\n---\nbody\n');
    await settle();
    ids.pub = (await findBySourceKey(keys.pub)).id;
    ids.draft = (await findBySourceKey(keys.draft, 'draft')).id;
    ids.failed = (await findBySourceKey(keys.failed, 'failed')).id;
  });

  it('the public sees the published article through its allowlist only', async () => {
    const a = await api(`/articles/${ids.pub}`);
    expect(a.status).toBe(200);
    for (const field of ['sourceKey', 'warnings', 'error', 'bodyKey', 'sourceEtag', 'contentHash', 'pipelineVersion', 'sortDate', 'imageWarnings', 'supersededBodyKeys']) {
      expect(a.body, field).not.toHaveProperty(field);
    }
    // Raw front matter is not public by default (PUBLIC_FRONT_MATTER_KEYS is empty).
    expect(a.body.frontMatter).toEqual({});
    expect(JSON.stringify(a.body)).not.toContain('ann@example.com');
    expect(a.body.images.every((i: any) => !('error' in i))).toBe(true);
    const list = await api(`/articles?category=${encodeURIComponent(cat)}`);
    expect(list.body.items.map((i: any) => i.id)).toEqual([ids.pub]);
    expect(Object.keys(list.body.items[0])).not.toContain('sourceKey');
  });

  it('nothing public reveals a draft or a failed article: not by id, slug, filter or count', async () => {
    const missing = await api('/articles/noSuchArticle0');
    for (const id of [ids.draft, ids.failed]) {
      const res = await api(`/articles/${id}`);
      expect(res.status).toBe(404);
      // The same answer as an id that never existed, but for the id itself.
      expect(res.body.error.message.replace(id, 'X')).toBe(missing.body.error.message.replace('noSuchArticle0', 'X'));
      expect((await rawApi(`/articles/${id}`, { method: 'HEAD' })).status).toBe(404);
    }
    expect((await api(`/articles?slug=${ns}-draft`)).body.items).toEqual([]);
    expect((await api(`/articles?tag=${ns}-t`)).body.items.map((i: any) => i.id)).toEqual([ids.pub]);
    const counts = await api('/categories');
    expect(counts.body.items.find((i: any) => i.name === cat)?.count).toBe(1);
    for (const status of ['draft', 'failed', 'scheduled', 'deleted']) {
      const res = await api(`/articles?status=${status}`);
      expect(res.status, status).toBe(400);
      expect(res.body.error.message).toMatch(/published articles only/);
    }
    expect((await api('/articles?status=published&limit=1')).status).toBe(200);
  });

  it('a signed operator sees every status and the whole record', async () => {
    const draft = await adminApi(`/admin/articles/${ids.draft}`);
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({ id: ids.draft, status: 'draft', sourceKey: keys.draft, error: null });
    // E-mail addresses never reach the index at all (core/normalize.ts withoutEmails): not even operators see them.
    expect(draft.body.frontMatter.extra).toEqual({ wp_id: 7 });
    expect(draft.headers.get('cache-control')).toBe('private, no-store');
    const failed = await adminApi(`/admin/articles/${ids.failed}`);
    expect(failed.body.error.code).toBe('invalid_front_matter');
    const pub = await adminApi(`/admin/articles/${ids.pub}`);
    expect(pub.body.warnings[0].code).toMatch(/^image_/);
    expect(pub.body.images[0].error.code).toBe(pub.body.warnings[0].code);
    for (const status of ['draft', 'failed', 'published']) {
      const res = await adminApi(`/admin/articles?status=${status}&category=${encodeURIComponent(cat)}`);
      expect(res.status).toBe(200);
    }
    expect((await adminApi('/admin/articles?status=scheduled')).body.items).toEqual([]);
    expect((await adminApi('/admin/articles?status=deleted')).status).toBe(400);
    expect((await rawAdminApi('/admin/nope')).status).toBe(404);
  });

  it('unsigned, wrongly signed, expired and tampered operator requests are 403 with the error shape', async () => {
    const path = `/admin/articles/${ids.draft}`;
    const url = `${stack.apiUrl}${path}`;
    const strip = ({ host: _h, ...rest }: Record<string, string>) => rest;
    const attempts: [string, Record<string, string>, string?][] = [
      ['unsigned', {}],
      ['wrong secret', strip(await signedHeaders(url, { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret', region: 'us-east-1' }))],
      ['unknown key', strip(await signedHeaders(url, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'S3RVER', region: 'us-east-1' }))],
      ['other region', strip(await signedHeaders(url, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'eu-west-1' }))],
      ['expired', strip(await signedHeaders(url, undefined, { date: new Date(Date.now() - 10 * 60 * 1000) }))],
      ['from the future', strip(await signedHeaders(url, undefined, { date: new Date(Date.now() + 10 * 60 * 1000) }))],
      ['signed for another article', strip(await signedHeaders(`${stack.apiUrl}/admin/articles/${ids.pub}`))],
      ['signed for another query', strip(await signedHeaders(`${stack.apiUrl}/admin/articles?status=draft`)), '/admin/articles?status=failed'],
      ['garbage', { authorization: 'AWS4-HMAC-SHA256 nonsense', 'x-amz-date': '20260101T000000Z' }],
    ];
    for (const [name, headers, other] of attempts) {
      const res = await rawApi(other ?? path, { headers });
      expect(res.status, name).toBe(403);
      expect(res.body.error.code, name).toBe('forbidden');
      expect(JSON.stringify(res.body)).not.toContain('Draft one');
    }
    // The same headers, signed right, pass (so each refusal above was the signature's).
    expect((await rawApi(path, { headers: strip(await signedHeaders(url)) })).status).toBe(200);
  });

  const CURL = '/usr/bin/curl';
  it.skipIf(!existsSync(CURL))('the curl command docs/api.md shows works against the local stack', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((ok) =>
        execFile(CURL, args, { timeout: 10_000 }, (err, stdout) => ok({ code: err ? Number((err as any).code ?? 1) : 0, out: stdout })),
      );
    // As documented: curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user S3RVER:S3RVER URL, the query
    // parameters in alphabetical order (curl 7.x signs them as written; SigV4 wants them sorted).
    const ok = await run(['-sS', '-w', '\n%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', 'S3RVER:S3RVER', `${stack.apiUrl}/admin/articles?category=${encodeURIComponent(cat)}&status=draft`]);
    const [body, code] = [ok.out.slice(0, ok.out.lastIndexOf('\n')), ok.out.slice(ok.out.lastIndexOf('\n') + 1)];
    expect(code, body).toBe('200');
    expect(JSON.parse(body).items.map((i: any) => i.id)).toEqual([ids.draft]);
    const wrong = await run(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', 'S3RVER:wrong', `${stack.apiUrl}/admin/articles`]);
    expect(wrong.out).toBe('403');
  });
});
