/**
 * The query API: routes, validation, HTTP manners (caching, ETag/304, HEAD), and the one
 * place where errors become responses. Public routes serve published articles only;
 * `/admin/*` serves operators whatever the status, behind IAM (SigV4). Every body is
 * projected through its response schema (schemas.ts), so nothing undeclared leaves.
 * CORS is API Gateway's job (cors.ts).
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
// Named, not `z.core.$ZodError`: reaching through the `core` namespace keeps all of it (every locale) in the bundle.
import { $ZodError } from 'zod/v4/core';
import pLimit from 'p-limit';
import { articleUrl, type ArticleUrlTemplate } from '../core/article-url';
import { ApiError, errorMessage } from '../core/errors';
import type { FeedFormat } from '../core/feeds';
import { FEED_CONTENT_BUDGET, FEED_SIZE } from '../core/limits';
import type { SitemapUrl } from '../core/sitemap';
import type { Article } from '../core/types';
import type { ArticleReader, CountedFacet, LinkEntry, Logger } from '../ports';
import type { CursorCodec } from './cursor';
import { openApiDocument } from './openapi';
import { ARTICLE_ID_PATTERN, isOperatorPath } from './paths';
import type { SearchPage, SearchQuery } from '../core/search/index';
import { AdminListQuerySchema, FeedQuerySchema, ListQuerySchema, SearchQuerySchema, SitemapQuerySchema, responseSchemas } from './schemas';

/** How deep search pages go (every page ranks all matches up to its end). */
const SEARCH_MAX_DEPTH = 10_000;

/** What GET /search needs: core/search/index.ts SearchIndex, over the Data API in AWS. */
export interface SearchReader {
  search(query: SearchQuery): Promise<SearchPage>;
}

export interface ApiDeps {
  reader: ArticleReader;
  /** Reads a processed body from the media bucket. */
  readBody(key: string): Promise<string | null>;
  cursors: CursorCodec;
  /** Front-matter keys the public article carries (PUBLIC_FRONT_MATTER_KEYS); the rest is operator data. */
  publicFrontMatterKeys: string[];
  log: Logger;
  /** ARTICLE_URL_TEMPLATE, parsed; null or absent: feeds carry no links, the sitemap is an error. */
  articleUrlTemplate?: ArticleUrlTemplate | null;
  /** DEFAULT_TIMEZONE: the zone of the {yyyy}/{mm}/{dd} of article links. */
  timeZone?: string;
  /** Full-text search; GET /search answers 404 `not_found` without it (search not deployed). */
  search?: SearchReader;
}

/** Processed bodies read from the media bucket at once for one feed. */
const FEED_BODY_CONCURRENCY = 8;
/** Bodies kept in memory between requests (UTF-16 code units, ~2 bytes each). A body key
 *  names one event's output, so a cached body never goes stale; it only stops being asked for. */
const BODY_CACHE_UNITS = 8_000_000;
const FEED_ROUTES: Record<string, FeedFormat> = { '/feed.xml': 'rss', '/atom.xml': 'atom', '/feed.json': 'json' };

type Result = APIGatewayProxyStructuredResultV2;
type Headers = Record<string, string>;
type Audience = 'public' | 'operator';

const CACHE = {
  list: 'public, max-age=30, stale-while-revalidate=60',
  sitemap: 'public, max-age=300, stale-while-revalidate=600',
  article: 'public, max-age=300, stale-while-revalidate=600',
  counts: 'public, max-age=60',
  openapi: 'public, max-age=3600',
  operator: 'private, no-store',
  none: 'no-store',
};

const COUNT_ROUTES: Record<string, CountedFacet> = { '/categories': 'category', '/tags': 'tag', '/authors': 'author' };
const ID = new RegExp(ARTICLE_ID_PATTERN);
const FORBIDDEN = 'operator routes (/admin/...) take a request signed with AWS SigV4 (service execute-api) by an IAM identity allowed to call them';

/** The one facet a validated query filters by (the schemas allow at most one). */
function pickFacet<N extends string>(q: Partial<Record<N, string>>, names: readonly N[]): { name: N; value: string } | undefined {
  const name = names.find((f) => q[f] !== undefined);
  return name ? { name, value: q[name]! } : undefined;
}

function describeZodError(err: $ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.length ? String(i.path[0]) : 'query';
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

/** A response body through its schema: undeclared keys are dropped; a stored value that does not fit is our bug (500), not the client's. */
function project<T extends z.ZodMiniType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`response does not fit its schema: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, 'bad_request', 'the path has a malformed percent-escape');
  }
}

/** Set by API Gateway's IAM authorization (and by the local stack once it verified the SigV4 signature). */
function isIamAuthorized(event: APIGatewayProxyEventV2): boolean {
  const iam = (event.requestContext as { authorizer?: { iam?: { accessKey?: unknown } } } | undefined)?.authorizer?.iam;
  return typeof iam?.accessKey === 'string' && iam.accessKey.length > 0;
}

export function createApiHandler(deps: ApiDeps) {
  const publicKeys = new Set(deps.publicFrontMatterKeys);

  function json(status: number, body: unknown, cacheControl: string, extra: Headers = {}): Result {
    return {
      statusCode: status,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': cacheControl, ...extra },
      body: JSON.stringify(body),
    };
  }

  function text(status: number, body: string, contentType: string, cacheControl: string): Result {
    return { statusCode: status, headers: { 'content-type': contentType, 'cache-control': cacheControl }, body };
  }

  const bodyCache = new Map<string, string>();
  let bodyCacheUnits = 0;
  /** A processed body, from memory when this instance read it before (least recently used goes first). */
  async function cachedBody(key: string): Promise<string | null> {
    const hit = bodyCache.get(key);
    if (hit !== undefined) {
      bodyCache.delete(key);
      bodyCache.set(key, hit);
      return hit;
    }
    const html = await deps.readBody(key);
    if (html !== null && html.length <= BODY_CACHE_UNITS / 8) {
      bodyCache.set(key, html);
      bodyCacheUnits += html.length;
      for (const [k, v] of bodyCache) {
        if (bodyCacheUnits <= BODY_CACHE_UNITS) break;
        bodyCache.delete(k);
        bodyCacheUnits -= v.length;
      }
    }
    return html;
  }

  const template = deps.articleUrlTemplate ?? null;
  const linkOf = (a: LinkEntry): string | null => (template ? articleUrl(template, a, deps.timeZone ?? 'UTC') : null);

  async function feed(format: FeedFormat, params: Record<string, string>, selfUrl: string): Promise<Result> {
    const q = FeedQuerySchema.parse(params);
    const facet = pickFacet(q, ['category', 'tag', 'author'] as const);
    // `q`: a saved search, as a feed of the newest matching articles (published only, like /search).
    if (q.q !== undefined && !deps.search) throw new ApiError(404, 'not_found', 'search is not enabled on this deployment, so feeds cannot take q');
    const newest =
      q.q !== undefined
        ? deps.search!.search({ q: q.q, facet, limit: FEED_SIZE, offset: 0, order: 'newest' })
        : deps.reader.list({ status: 'published', facet, limit: FEED_SIZE });
    // The feed code (and its library) loads with the first feed request, not every cold start.
    const [feeds, page] = await Promise.all([import('../core/feeds'), newest]);
    const keys = page.items.length ? await deps.reader.bodyKeys(page.items.map((a) => a.id)) : new Map<string, string | null>();
    const limit = pLimit(FEED_BODY_CONCURRENCY);
    const bodies = await Promise.all(
      page.items.map((a) => {
        const key = keys.get(a.id);
        return key ? limit(() => cachedBody(key)) : Promise.resolve(null);
      }),
    );
    const { entries, cut } = feeds.feedEntries(page.items, bodies, linkOf, FEED_CONTENT_BUDGET);
    if (cut) deps.log.warn('feed entries carry their excerpt only', { code: 'feed_content_truncated', entries: cut, budgetBytes: FEED_CONTENT_BUDGET });
    const body = feeds.renderFeed(format, {
      title: feeds.feedTitle(facet, q.q),
      description: template
        ? 'The newest published articles.'
        : 'The newest published articles. ARTICLE_URL_TEMPLATE is not set, so the entries carry no links to article pages.',
      selfUrl,
      home: template?.home ?? null,
      entries,
    });
    return text(200, body, feeds.FEED_CONTENT_TYPES[format], CACHE.list);
  }

  /** Every published article's sitemap entry, newest first, read page by page from the index. */
  async function* sitemapUrls(): AsyncGenerator<SitemapUrl> {
    let after: Record<string, string> | undefined;
    do {
      const page = await deps.reader.linkPage({ limit: 1000, after });
      for (const a of page.items) {
        const loc = linkOf(a);
        if (loc) yield { loc, lastmod: a.updated ?? a.date };
      }
      after = page.next ?? undefined;
    } while (after);
  }

  async function sitemap(params: Record<string, string>, origin: string): Promise<Result> {
    const q = SitemapQuerySchema.parse(params);
    if (!template) {
      throw new ApiError(
        501,
        'article_url_template_missing',
        'ARTICLE_URL_TEMPLATE is not set: the sitemap lists article pages, and only that setting says where they are (e.g. https://example.com/{yyyy}/{mm}/{slug}/)',
      );
    }
    const sm = await import('../core/sitemap');
    if (q.page === undefined) {
      const pages = await sm.summarizePages(sitemapUrls());
      return text(200, sm.sitemapIndexXml(pages, (n) => `${origin}/sitemap.xml?page=${n}`), 'application/xml; charset=utf-8', CACHE.sitemap);
    }
    const urls = await sm.pageAt(sitemapUrls(), q.page);
    if (!urls) throw new ApiError(404, 'not_found', `the sitemap has no page ${q.page}`);
    return text(200, sm.urlsetXml(urls), 'application/xml; charset=utf-8', CACHE.sitemap);
  }

  function fail(err: unknown, requestId: string): Result {
    if (err instanceof ApiError) {
      return json(err.status, { error: { code: err.code, message: err.message } }, CACHE.none);
    }
    if (err instanceof $ZodError) {
      return json(400, { error: { code: 'invalid_parameter', message: describeZodError(err) } }, CACHE.none);
    }
    // Never an AWS message or a stack trace in a response; the log has them.
    deps.log.error('request failed', { requestId, error: errorMessage(err), stack: (err as Error)?.stack });
    return json(500, { error: { code: 'internal_error', message: `internal error (request ${requestId})` } }, CACHE.none);
  }

  async function listArticles(params: Record<string, string>, audience: Audience): Promise<Result> {
    const q = audience === 'public' ? ListQuerySchema.parse(params) : AdminListQuerySchema.parse(params);
    const facet = pickFacet(q, ['category', 'tag', 'author', 'slug'] as const);
    // Everything that selects rows (not the page size) binds the cursor.
    const fingerprint = JSON.stringify([q.status, facet?.name ?? null, facet ? facet.value.normalize('NFC').toLowerCase() : null, q.from ?? null, q.to ?? null]);
    const after = q.cursor ? deps.cursors.decode(q.cursor, fingerprint) : undefined;
    const page = await deps.reader.list({ status: q.status, facet, from: q.from, to: q.to, limit: q.limit, after });
    const body = { items: page.items, nextCursor: page.next ? deps.cursors.encode(page.next, fingerprint) : null };
    const { ArticleListSchema, AdminArticleListSchema } = responseSchemas();
    return audience === 'public'
      ? json(200, project(ArticleListSchema, body), CACHE.list)
      : json(200, project(AdminArticleListSchema, body), CACHE.operator);
  }

  async function searchArticles(params: Record<string, string>): Promise<Result> {
    if (!deps.search) throw new ApiError(404, 'not_found', 'search is not enabled on this deployment');
    const q = SearchQuerySchema.parse(params);
    const facet = pickFacet(q, ['category', 'tag', 'author'] as const);
    const fingerprint = JSON.stringify(['search', q.q.normalize('NFC'), facet?.name ?? null, facet ? facet.value.normalize('NFC').toLowerCase() : null, q.from ?? null, q.to ?? null]);
    const position = q.cursor ? deps.cursors.decode(q.cursor, fingerprint) : { o: '0' };
    const offset = /^\d{1,6}$/.test(position.o ?? '') ? Number(position.o) : NaN;
    if (!Number.isSafeInteger(offset)) throw new ApiError(400, 'invalid_cursor', 'cursor is not one this route issued: start again without a cursor');
    const page = await deps.search.search({ q: q.q, facet, from: q.from, to: q.to, limit: q.limit, offset });
    const nextCursor = page.more && offset + page.items.length < SEARCH_MAX_DEPTH ? deps.cursors.encode({ o: String(offset + page.items.length) }, fingerprint) : null;
    return json(200, project(responseSchemas().SearchResultsSchema, { items: page.items, nextCursor }), CACHE.list);
  }

  async function getArticle(rawId: string, audience: Audience): Promise<Result> {
    const id = decodeSegment(rawId);
    const notFound = new ApiError(404, 'not_found', `no article with id ${id}`);
    if (!ID.test(id)) throw notFound;
    const rec = await deps.reader.get(id);
    // A draft, failed or scheduled article is not there for the public: the same 404.
    if (!rec || (audience === 'public' && rec.status !== 'published')) throw notFound;
    const html = rec.bodyKey ? ((await cachedBody(rec.bodyKey)) ?? '') : '';
    const { ArticleSchema, AdminArticleSchema } = responseSchemas();
    if (audience === 'operator') return json(200, project(AdminArticleSchema, { ...rec, html }), CACHE.operator);
    const frontMatter = Object.fromEntries(Object.entries(rec.frontMatter ?? {}).filter(([k]) => publicKeys.has(k)));
    return json(200, project(ArticleSchema, { ...rec, html, frontMatter }), CACHE.article);
  }

  /** `/admin/...`: API Gateway lets only IAM-signed requests through; checked again here. */
  async function operatorRoute(event: APIGatewayProxyEventV2, p: string, params: Record<string, string>): Promise<Result> {
    if (!isIamAuthorized(event)) throw new ApiError(403, 'forbidden', FORBIDDEN);
    if (p === '/admin/articles') return listArticles(params, 'operator');
    const m = /^\/admin\/articles\/([^/]+)$/.exec(p);
    if (m) return getArticle(m[1]!, 'operator');
    throw new ApiError(404, 'not_found', `no route GET ${p}`);
  }

  async function route(
    event: APIGatewayProxyEventV2,
    method: string,
    path: string,
    params: Record<string, string>,
    origin: string,
    rawQuery: string,
  ): Promise<Result> {
    const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
    if (isOperatorPath(p)) return operatorRoute(event, p, params);
    const feedFormat = FEED_ROUTES[p];
    if (feedFormat) return feed(feedFormat, params, `${origin}${p}${rawQuery ? `?${rawQuery}` : ''}`);
    if (p === '/sitemap.xml') return sitemap(params, origin);
    if (p === '/health') return json(200, project(responseSchemas().HealthSchema, { status: 'ok' }), CACHE.none);
    if (p === '/openapi.json') return json(200, openApiDocument(), CACHE.openapi);
    if (p === '/articles') return listArticles(params, 'public');
    if (p === '/search') return searchArticles(params);
    const m = /^\/articles\/([^/]+)$/.exec(p);
    if (m) return getArticle(m[1]!, 'public');
    const facet = COUNT_ROUTES[p];
    if (facet) {
      if (Object.keys(params).length) throw new ApiError(400, 'invalid_parameter', `${p} takes no parameters`);
      return json(200, project(responseSchemas().CountListSchema, { items: await deps.reader.counts(facet) }), CACHE.counts);
    }
    throw new ApiError(404, 'not_found', `no route ${method} ${path}`);
  }

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    const path = event.rawPath || event.requestContext?.http?.path || '/';
    const requestId = event.requestContext?.requestId ?? 'unknown';
    const headers = event.headers ?? {};

    // A preflight never gets here (API Gateway answers it); a plain OPTIONS learns the methods.
    if (method === 'OPTIONS') return { statusCode: 204, headers: { allow: 'GET, HEAD, OPTIONS', 'cache-control': CACHE.none } };

    let res: Result;
    if (method !== 'GET' && method !== 'HEAD') {
      res = fail(new ApiError(405, 'method_not_allowed', `${method} is not supported: this API is read-only (GET, HEAD, OPTIONS)`), requestId);
      res.headers = { ...res.headers, allow: 'GET, HEAD, OPTIONS' };
    } else {
      try {
        // API Gateway sets x-forwarded-proto; the local stack answers plain http.
        const proto = headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
        const origin = `${proto}://${event.requestContext?.domainName ?? headers.host ?? 'localhost'}`;
        const params = { ...(event.queryStringParameters ?? {}) } as Record<string, string>;
        res = await route(event, method, path, params, origin, event.rawQueryString ?? '');
      } catch (err) {
        res = fail(err, requestId);
      }
    }

    if (res.statusCode === 200 && res.body !== undefined) {
      const etag = `"${createHash('sha256').update(res.body).digest('base64url').slice(0, 27)}"`;
      res.headers = { ...res.headers, etag };
      const inm = headers['if-none-match'];
      if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) {
        const { 'content-type': _ct, ...rest } = res.headers as Headers;
        return { statusCode: 304, headers: rest };
      }
    }
    if (method === 'HEAD') return { ...res, body: undefined };
    return res;
  };
}
