/**
 * Feeds and sitemap without a database: ARTICLE_URL_TEMPLATE's rules, the sitemap's pure
 * paging (the 50,000-URL split), and the API's manners when the template is missing or
 * the bodies are many and large (HTTP contract tests: test/integration/outputs.test.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/adapters/logger';
import { createApiHandler } from '../../functions/api/app';
import { createCursorCodec } from '../../functions/api/cursor';
import { loadConfig } from '../../functions/config';
import { articleUrl, parseArticleUrlTemplate } from '../../functions/core/article-url';
import { ConfigError } from '../../functions/core/errors';
import { FEED_CONTENT_BUDGET, SITEMAP_MAX_URLS } from '../../functions/core/limits';
import { pageAt, paginate, summarizePages, urlBytes, urlsetXml, type SitemapUrl } from '../../functions/core/sitemap';
import type { ArticleSummary } from '../../functions/core/types';
import type { ArticleReader, LinkEntry } from '../../functions/ports';

describe('ARTICLE_URL_TEMPLATE', () => {
  const a = { id: 'abc', slug: '西湖 晨雾/1', date: '2022-03-01T22:30:00.000Z', updated: null };

  it('fills {yyyy} {mm} {dd} {slug} {id}, the slug and id URL-encoded as one segment', () => {
    const t = parseArticleUrlTemplate('https://example.com/{yyyy}/{mm}/{dd}/{slug}/?ref={id}');
    expect(t.home).toBe('https://example.com/');
    expect(articleUrl(t, a)).toBe(`https://example.com/2022/03/01/${encodeURIComponent('西湖 晨雾/1')}/?ref=abc`);
  });

  it('takes the date parts in the given time zone, as a static site generator would', () => {
    const t = parseArticleUrlTemplate('https://example.com/{yyyy}/{mm}/{dd}/{slug}/');
    expect(articleUrl(t, { ...a, slug: 's' }, 'Asia/Shanghai')).toBe('https://example.com/2022/03/02/s/');
    expect(articleUrl(t, { ...a, slug: 's', date: '2021-12-31T23:00:00.000Z' }, 'UTC')).toBe('https://example.com/2021/12/31/s/');
  });

  it('never guesses: no date, no link when the template needs one; `updated` stands in for a missing `date`', () => {
    const dated = parseArticleUrlTemplate('https://example.com/{yyyy}/{slug}');
    expect(articleUrl(dated, { ...a, date: null })).toBeNull();
    expect(articleUrl(dated, { ...a, slug: 's', date: null, updated: '2020-05-05T00:00:00.000Z' })).toBe('https://example.com/2020/s');
    expect(articleUrl(parseArticleUrlTemplate('https://example.com/p/{id}'), { ...a, date: null })).toBe('https://example.com/p/abc');
  });

  it.each([
    ['https://example.com/{year}/{slug}', /unknown placeholder \{year\}/],
    ['https://example.com/{yyyy}/', /must contain \{slug\} or \{id\}/],
    ['/blog/{slug}', /absolute http\(s\) URL/],
    ['ftp://example.com/{slug}', /absolute http\(s\) URL/],
    ['https://{slug}.example.com/', /scheme or host/],
    ['https://example.com/{slug', /unbalanced brace/],
  ])('rejects %s at load', (value, message) => {
    expect(() => parseArticleUrlTemplate(value)).toThrow(message);
    const err = (() => {
      try {
        loadConfig({ MEDIA_BASE_URL: 'https://m.example', ARTICLE_URL_TEMPLATE: value });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('ARTICLE_URL_TEMPLATE');
  });

  it('is optional: unset means null', () => {
    expect(loadConfig({ MEDIA_BASE_URL: 'https://m.example' }).articleUrlTemplate).toBeNull();
    expect(loadConfig({ MEDIA_BASE_URL: 'https://m.example', ARTICLE_URL_TEMPLATE: 'https://e.com/{slug}/' }).articleUrlTemplate?.source).toBe('https://e.com/{slug}/');
  });
});

describe('sitemap paging', () => {
  const urls = (n: number): SitemapUrl[] =>
    Array.from({ length: n }, (_, i) => ({ loc: `https://e.com/${i}/`, lastmod: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString() }));

  it(`splits at ${SITEMAP_MAX_URLS} URLs a page`, async () => {
    const all = urls(2 * SITEMAP_MAX_URLS + 1);
    const pages = await summarizePages(all);
    expect(pages.map((p) => [p.page, p.urls])).toEqual([
      [1, 50_000],
      [2, 50_000],
      [3, 1],
    ]);
    expect(pages[0]!.lastmod).toBe(all[49_999]!.lastmod);
    const second = await pageAt(all, 2);
    expect(second).toHaveLength(50_000);
    expect(second![0]).toBe(all[50_000]);
    expect(second![49_999]).toBe(all[99_999]);
    expect(await pageAt(all, 3)).toEqual([all[100_000]]);
    expect(await pageAt(all, 4)).toBeNull();
  });

  it('exactly 50,000 URLs are one page; none are no page', async () => {
    expect((await summarizePages(urls(SITEMAP_MAX_URLS))).map((p) => p.urls)).toEqual([50_000]);
    expect(await summarizePages([])).toEqual([]);
  });

  it('closes a page early when its XML would pass the byte budget, and never leaves a page empty', async () => {
    const long = urls(10).map((u) => ({ ...u, loc: `${u.loc}${'x'.repeat(900)}` }));
    const sizes: number[] = [];
    for await (const p of paginate(long, { maxUrls: 50_000, maxBytes: 3 * urlBytes(long[0]!) })) sizes.push(p.length);
    expect(sizes).toEqual([3, 3, 3, 1]);
    const huge = [{ loc: `https://e.com/${'y'.repeat(5000)}`, lastmod: null }];
    expect(await summarizePages(huge, { maxUrls: 10, maxBytes: 100 })).toEqual([{ page: 1, urls: 1, lastmod: null }]);
  });

  it('urlBytes is what urlsetXml writes for a URL', () => {
    for (const u of [
      { loc: 'https://e.com/a?b=1&c=<2>&d=中文', lastmod: '2022-01-01T00:00:00.000Z' },
      { loc: 'https://e.com/x', lastmod: null },
    ]) {
      expect(Buffer.byteLength(urlsetXml([u, u])) - Buffer.byteLength(urlsetXml([u]))).toBe(urlBytes(u));
    }
  });
});

// ---------------------------------------------------------------------------------------------

function event(path: string, query: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { host: 'api.example' },
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: { http: { method: 'GET', path }, requestId: 'r', domainName: 'api.example' } as any,
    isBase64Encoded: false,
  };
}

const summary = (i: number): ArticleSummary => ({
  id: `id${i}`,
  slug: `s${i}`,
  title: `标题 ${i}`,
  date: new Date(Date.UTC(2024, 0, 1) - i * 86_400_000).toISOString(),
  updated: null,
  author: null,
  authors: [],
  categories: [],
  tags: [],
  excerpt: `摘要 ${i}`,
  cover: null,
  wordCount: 1,
  readingMinutes: 1,
  imageCount: 0,
  sourceKey: `p/${i}.md`,
  status: 'published',
  warnings: [],
  error: null,
  processedAt: '2024-02-01T00:00:00.000Z',
});

function fakeApi(opts: { template?: string; bodyBytes?: number; count?: number } = {}) {
  const items = Array.from({ length: opts.count ?? 50 }, (_, i) => summary(i));
  const stats = { reads: 0, inFlight: 0, maxInFlight: 0, warnings: [] as unknown[] };
  const reader: ArticleReader = {
    get: async () => null,
    list: async (q) => ({ items: items.slice(0, q.limit), next: null }),
    counts: async () => [],
    bodyKeys: async (ids) => new Map(ids.map((id) => [id, `bodies/${id}.html`])),
    linkPage: async ({ after }) => {
      const start = after ? Number(after.pk) : 0;
      const page = items.slice(start, start + 2).map((a): LinkEntry => ({ id: a.id, slug: a.slug, date: a.date, updated: a.updated }));
      return { items: page, next: start + 2 < items.length ? { pk: String(start + 2), sk: '', gsi1pk: '', gsi1sk: '' } : null };
    },
  };
  const handler = createApiHandler({
    reader,
    readBody: async (key) => {
      stats.reads++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      stats.inFlight--;
      return `<p>${key}</p>`.padEnd(opts.bodyBytes ?? 20, '.');
    },
    cursors: createCursorCodec('s'),
    publicFrontMatterKeys: [],
    log: { ...silentLogger, warn: (_m, f) => stats.warnings.push(f) },
    articleUrlTemplate: opts.template ? parseArticleUrlTemplate(opts.template) : null,
  });
  return { handler, stats };
}

describe('feeds and sitemap in the API', () => {
  it('without ARTICLE_URL_TEMPLATE: the sitemap is a clear error, the feeds carry no links and say why', async () => {
    const { handler } = fakeApi({ count: 3 });
    const sm = await handler(event('/sitemap.xml'));
    expect(sm.statusCode).toBe(501);
    expect(JSON.parse(sm.body!).error).toMatchObject({ code: 'article_url_template_missing', message: expect.stringContaining('ARTICLE_URL_TEMPLATE') });
    const json = JSON.parse((await handler(event('/feed.json'))).body!);
    expect(json.description).toContain('ARTICLE_URL_TEMPLATE is not set');
    expect(json.home_page_url).toBeUndefined();
    expect(json.items.every((i: any) => i.url === undefined)).toBe(true);
    const rss = (await handler(event('/feed.xml'))).body!;
    expect(rss).toContain('ARTICLE_URL_TEMPLATE is not set');
    expect(rss.match(/<link>/g)).toHaveLength(1); // the channel's (the feed itself), no item links
    const atom = (await handler(event('/atom.xml'))).body!;
    expect(atom).not.toMatch(/<link\/>|<link href=/);
  });

  it('reads at most 8 bodies at once, remembers them, and cuts full text past the content budget', async () => {
    const bodyBytes = 100_000;
    const { handler, stats } = fakeApi({ bodyBytes, template: 'https://e.com/{slug}/' });
    const first = JSON.parse((await handler(event('/feed.json'))).body!);
    expect(stats.reads).toBe(50);
    expect(stats.maxInFlight).toBeLessThanOrEqual(8);
    const full = Math.floor(FEED_CONTENT_BUDGET / bodyBytes);
    expect(first.items.filter((i: any) => i.content_html).length).toBe(full);
    expect(first.items.slice(full).every((i: any) => i.content_text === i.summary)).toBe(true);
    expect(stats.warnings).toEqual([{ code: 'feed_content_truncated', entries: 50 - full, budgetBytes: FEED_CONTENT_BUDGET }]);
    await handler(event('/feed.xml'));
    expect(stats.reads).toBe(50);
  });

  it('pages the sitemap through linkPage and links every article', async () => {
    const { handler } = fakeApi({ count: 5, template: 'https://e.com/{yyyy}/{slug}/' });
    const index = await handler(event('/sitemap.xml'));
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<loc>http://api.example/sitemap.xml?page=1</loc>');
    const page = (await handler(event('/sitemap.xml', { page: '1' }))).body!;
    expect(page.match(/<url>/g)).toHaveLength(5);
    expect(page).toContain('<loc>https://e.com/2024/s0/</loc><lastmod>2024-01-01T00:00:00.000Z</lastmod>');
    expect((await handler(event('/sitemap.xml', { page: '2' }))).statusCode).toBe(404);
  });
});
