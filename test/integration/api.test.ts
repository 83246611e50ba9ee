/**
 * Contract tests for the query API over HTTP, against the embedded stack. Every response
 * seen here is validated against the API's own OpenAPI document.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import { beforeAll, describe, expect, it } from 'vitest';
import { api as rawApi, remove, settle, stack, upload, uniq } from './helpers';

let validate: (path: string, status: number, body: unknown) => void;

beforeAll(async () => {
  const { body: doc } = await rawApi('/openapi.json');
  expect(doc.openapi).toBe('3.1.0');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', ...doc });
  validate = (path, status, body) => {
    const route = path.split('?')[0]!.replace(/^\/articles\/[^/]+$/, '/articles/{id}');
    const op = doc.paths[route]?.get;
    expect(op, `route ${route} is documented`).toBeDefined();
    const res = op.responses[String(status)];
    expect(res, `${route} documents status ${status}`).toBeDefined();
    const ref = res.content?.['application/json']?.schema?.$ref;
    if (!ref) return;
    const check = ajv.getSchema(`doc${ref}`)!;
    expect(check(body), JSON.stringify(check.errors)).toBe(true);
  };
});

/** Every call goes through the OpenAPI check. */
async function api(path: string, init?: RequestInit) {
  const res = await rawApi(path, init);
  if (res.status !== 304 && init?.method !== 'HEAD') validate(path, res.status, res.body);
  return res;
}

const article = (o: { title: string; date?: string; categories?: string[]; tags?: string[]; author?: string; slug?: string; draft?: boolean }) =>
  [
    '---',
    `title: ${JSON.stringify(o.title)}`,
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
    expect(JSON.parse(curl.stdout).items.map((i: { sourceKey: string }) => i.sourceKey)).toEqual([key]);
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

  it('HEAD answers like GET without a body; OPTIONS answers CORS preflight; POST is 405', async () => {
    const head = await fetch(`${(await import('./helpers')).stack.apiUrl}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('etag')).toBeTruthy();
    const opt = await rawApi('/articles', { method: 'OPTIONS', headers: { origin: 'https://site.example', 'access-control-request-method': 'GET' } });
    expect(opt.status).toBe(204);
    expect(opt.headers.get('access-control-allow-origin')).toBe('*');
    expect(opt.headers.get('access-control-allow-methods')).toContain('GET');
    const post = await rawApi('/articles', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('method_not_allowed');
  });

  it('serves an OpenAPI 3.1 document naming every route', async () => {
    const { body } = await rawApi('/openapi.json');
    expect(Object.keys(body.paths).sort()).toEqual(['/articles', '/articles/{id}', '/authors', '/categories', '/health', '/openapi.json', '/tags'].sort());
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
    const drafts = await api(`/articles?status=draft&category=${encodeURIComponent(cat)}`);
    expect(drafts.body.items.map((a: any) => a.title)).toEqual(['Post 49']);
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
    expect(all.body.items.some((a: any) => a.sourceKey.startsWith(ns))).toBe(true);
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
