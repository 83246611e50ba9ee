/**
 * The query API: routes, validation, HTTP manners (CORS, caching, ETag/304, HEAD,
 * OPTIONS), and the one place where errors become responses.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
// A namespace import lets esbuild drop what is unused (`{ z }` keeps all of zod, locales included: ~450 kB).
import * as z from 'zod';
import { ApiError, errorMessage } from '../core/errors';
import type { Article } from '../core/types';
import type { ArticleReader, CountedFacet, Logger } from '../ports';
import type { SearchPage, SearchQuery } from '../core/search/index';
import type { CursorCodec } from './cursor';
import { openApiDocument } from './openapi';
import { ListQuerySchema, SearchQuerySchema } from './schemas';

/** How deep search pages go (every page ranks all matches up to its end). */
export const SEARCH_MAX_DEPTH = 10_000;

/** What GET /search needs: core/search/index.ts SearchIndex, over the Data API in AWS. */
export interface SearchReader {
  search(query: SearchQuery): Promise<SearchPage>;
}

export interface ApiDeps {
  reader: ArticleReader;
  /** Reads a processed body from the media bucket. */
  readBody(key: string): Promise<string | null>;
  cursors: CursorCodec;
  corsAllowedOrigins: string[];
  log: Logger;
  /** Full-text search; GET /search answers 404 `not_found` without it (search not deployed). */
  search?: SearchReader;
}

type Result = APIGatewayProxyStructuredResultV2;
type Headers = Record<string, string>;

const CACHE = {
  list: 'public, max-age=30, stale-while-revalidate=60',
  article: 'public, max-age=300, stale-while-revalidate=600',
  counts: 'public, max-age=60',
  openapi: 'public, max-age=3600',
  none: 'no-store',
};

const COUNT_ROUTES: Record<string, CountedFacet> = { '/categories': 'category', '/tags': 'tag', '/authors': 'author' };
const ID = /^[A-Za-z0-9_-]{1,64}$/;

function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const where = i.path.length ? String(i.path[0]) : 'query';
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

export function createApiHandler(deps: ApiDeps) {
  function cors(origin: string | undefined): Headers {
    const allowed = deps.corsAllowedOrigins;
    if (allowed.includes('*')) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'etag' };
    if (origin && allowed.includes(origin)) {
      return { 'access-control-allow-origin': origin, vary: 'origin', 'access-control-expose-headers': 'etag' };
    }
    return { vary: 'origin' };
  }

  function json(status: number, body: unknown, cacheControl: string, extra: Headers = {}): Result {
    return {
      statusCode: status,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': cacheControl, ...extra },
      body: JSON.stringify(body),
    };
  }

  function fail(err: unknown, requestId: string): Result {
    if (err instanceof ApiError) {
      return json(err.status, { error: { code: err.code, message: err.message } }, CACHE.none);
    }
    if (err instanceof z.ZodError) {
      return json(400, { error: { code: 'invalid_parameter', message: describeZodError(err) } }, CACHE.none);
    }
    // Never an AWS message or a stack trace in a response; the log has them.
    deps.log.error('request failed', { requestId, error: errorMessage(err), stack: (err as Error)?.stack });
    return json(500, { error: { code: 'internal_error', message: `internal error (request ${requestId})` } }, CACHE.none);
  }

  async function listArticles(params: Record<string, string>): Promise<Result> {
    const q = ListQuerySchema.parse(params);
    const facetName = (['category', 'tag', 'author', 'slug'] as const).find((f) => q[f] !== undefined);
    const facet = facetName ? { name: facetName, value: q[facetName]! } : undefined;
    // Everything that selects rows (not the page size) binds the cursor.
    const fingerprint = JSON.stringify([q.status, facet?.name ?? null, facet ? facet.value.normalize('NFC').toLowerCase() : null, q.from ?? null, q.to ?? null]);
    const after = q.cursor ? deps.cursors.decode(q.cursor, fingerprint) : undefined;
    const page = await deps.reader.list({ status: q.status, facet, from: q.from, to: q.to, limit: q.limit, after });
    return json(200, { items: page.items, nextCursor: page.next ? deps.cursors.encode(page.next, fingerprint) : null }, CACHE.list);
  }

  async function searchArticles(params: Record<string, string>): Promise<Result> {
    if (!deps.search) throw new ApiError(404, 'not_found', 'search is not enabled on this deployment');
    const q = SearchQuerySchema.parse(params);
    const facetName = (['category', 'tag', 'author'] as const).find((f) => q[f] !== undefined);
    const facet = facetName ? { name: facetName, value: q[facetName]! } : undefined;
    const fingerprint = JSON.stringify(['search', q.q.normalize('NFC'), facet?.name ?? null, facet ? facet.value.normalize('NFC').toLowerCase() : null, q.from ?? null, q.to ?? null]);
    const position = q.cursor ? deps.cursors.decode(q.cursor, fingerprint) : { o: '0' };
    const offset = /^\d{1,6}$/.test(position.o ?? '') ? Number(position.o) : NaN;
    if (!Number.isSafeInteger(offset)) throw new ApiError(400, 'invalid_cursor', 'cursor is not one this route issued: start again without a cursor');
    const page = await deps.search.search({ q: q.q, facet, from: q.from, to: q.to, limit: q.limit, offset });
    const nextCursor = page.more && offset + page.items.length < SEARCH_MAX_DEPTH ? deps.cursors.encode({ o: String(offset + page.items.length) }, fingerprint) : null;
    return json(200, { items: page.items, nextCursor }, CACHE.list);
  }

  async function getArticle(id: string): Promise<Result> {
    const notFound = new ApiError(404, 'not_found', `no article with id ${id}`);
    if (!ID.test(id)) throw notFound;
    const rec = await deps.reader.get(id);
    if (!rec) throw notFound;
    const { bodyKey, sourceEtag: _e, contentHash: _h, pipelineVersion: _v, sortDate: _s, ...rest } = rec;
    const html = bodyKey ? ((await deps.readBody(bodyKey)) ?? '') : '';
    const article: Article = { ...rest, html };
    return json(200, article, CACHE.article);
  }

  async function route(method: string, path: string, params: Record<string, string>): Promise<Result> {
    const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
    if (p === '/health') return json(200, { status: 'ok' }, CACHE.none);
    if (p === '/openapi.json') return json(200, openApiDocument(), CACHE.openapi);
    if (p === '/articles') return listArticles(params);
    if (p === '/search') return searchArticles(params);
    const m = /^\/articles\/([^/]+)$/.exec(p);
    if (m) return getArticle(decodeURIComponent(m[1]!));
    const facet = COUNT_ROUTES[p];
    if (facet) {
      if (Object.keys(params).length) throw new ApiError(400, 'invalid_parameter', `${p} takes no parameters`);
      return json(200, { items: await deps.reader.counts(facet) }, CACHE.counts);
    }
    throw new ApiError(404, 'not_found', `no route ${method} ${path}`);
  }

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    const path = event.rawPath || event.requestContext?.http?.path || '/';
    const requestId = event.requestContext?.requestId ?? 'unknown';
    const headers = event.headers ?? {};
    const corsHeaders = cors(headers.origin);

    if (method === 'OPTIONS') {
      return {
        statusCode: 204,
        headers: {
          ...corsHeaders,
          'access-control-allow-methods': 'GET, HEAD, OPTIONS',
          'access-control-allow-headers': 'content-type, if-none-match',
          'access-control-max-age': '86400',
        },
      };
    }

    let res: Result;
    if (method !== 'GET' && method !== 'HEAD') {
      res = fail(new ApiError(405, 'method_not_allowed', `${method} is not supported: this API is read-only (GET, HEAD, OPTIONS)`), requestId);
      res.headers = { ...res.headers, allow: 'GET, HEAD, OPTIONS' };
    } else {
      try {
        res = await route(method, path, { ...(event.queryStringParameters ?? {}) } as Record<string, string>);
      } catch (err) {
        res = fail(err, requestId);
      }
    }

    res.headers = { ...res.headers, ...corsHeaders };
    if (res.statusCode === 200 && res.body !== undefined) {
      const etag = `"${createHash('sha256').update(res.body).digest('base64url').slice(0, 27)}"`;
      res.headers.etag = etag;
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
