/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handler validates
 * requests with and projects responses through: public routes, and operator routes
 * (`/admin/...`) under the `sigv4` security scheme.
 */
import * as z from 'zod/mini';
import { FEED_SIZE, SITEMAP_MAX_BYTES, SITEMAP_MAX_URLS } from '../core/limits';
import { ARTICLE_ID_PATTERN } from './paths';
import { SEARCH_QUERY_MAX, AdminListQuerySchema, FeedQuerySchema, ListQuerySchema, SearchQuerySchema, SitemapQuerySchema, responseSchemas } from './schemas';

const PARAM_DOCS: Record<string, string> = {
  limit: 'Items per page, 1 to 100 (default 20).',
  cursor: 'The nextCursor of the previous page, with the same filters.',
  category: 'Only articles in this category (case-insensitive). At most one of category, tag, author, slug.',
  tag: 'Only articles with this tag (case-insensitive).',
  author: 'Only articles by this author (case-insensitive).',
  slug: 'Only articles with this slug.',
  from: 'Earliest date, inclusive: 2022-03-02 or an ISO date-time.',
  to: 'Latest date, inclusive: 2022-03-02 (the whole day) or an ISO date-time.',
  page: 'A page of the sitemap index, from 1; without it, the index.',
  q: `What to search for, 1 to ${SEARCH_QUERY_MAX} characters. Chinese, Japanese and Korean match as substrings (every run of CJK characters is a phrase); other words match whole, case and accents ignored. All terms must match.`,
};
const STATUS_DOCS = {
  public: 'Optional, and only `published`: public routes serve published articles only.',
  operator: 'published (default), draft, failed or scheduled.',
};

function schema(s: z.ZodMiniType) {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any', reused: 'inline' }) as Record<string, unknown>;
  return rest;
}

function parameters(query: z.ZodMiniObject, audience: keyof typeof STATUS_DOCS) {
  return Object.entries(query.shape).map(([name, s]) => {
    const { $schema: _i, ...paramSchema } = z.toJSONSchema(s as z.ZodMiniType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return { name, in: 'query', required: false, description: name === 'status' ? STATUS_DOCS[audience] : PARAM_DOCS[name], schema: paramSchema };
  });
}

const json = (ref: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const errors = {
  '400': json('Error', 'A parameter, the path or the cursor is invalid.'),
  '403': json('Error', 'Not signed, wrongly signed, expired, or not allowed by IAM.'),
  '404': json('Error', 'No such article or route.'),
  '405': json('Error', 'Only GET, HEAD and OPTIONS are served.'),
  '500': json('Error', 'Internal error (never caused by bad input).'),
};

const ID_PARAM = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: ARTICLE_ID_PATTERN } };

let cached: Record<string, unknown> | null = null;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const r = responseSchemas();
  const feedRoute = (what: string, type: string) => ({
    get: {
      tags: ['public'],
      summary: `${what} of the newest ${FEED_SIZE} published articles`,
      description:
        'Entries carry title, link (from ARTICLE_URL_TEMPLATE; none when it is not set), dates, authors, categories and tags, the excerpt as summary, the processed HTML as content, and the cover as enclosure/image. At most one of category, tag, author. With q, a saved search: the newest published articles that match it, as /search matches.',
      parameters: parameters(FeedQuerySchema, 'public'),
      responses: {
        '200': { description: `${what}.`, content: { [type]: { schema: { type: 'string' } } } },
        '400': errors['400'],
        '404': json('Error', 'q was given, and search is not enabled on this deployment.'),
        '405': errors['405'],
        '500': errors['500'],
      },
    },
  });
  const countRoute = (what: string) => ({
    get: {
      tags: ['public'],
      summary: `${what} of published articles with their counts`,
      responses: {
        '200': json('CountList', `Every ${what.toLowerCase().replace(/s$/, '')} with at least one published article.`),
        '400': errors['400'],
        '405': errors['405'],
        '500': errors['500'],
      },
    },
  });
  const operator = { tags: ['operator'], security: [{ sigv4: [] }] };
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'article-pipeline query API',
      version: '1.0.0',
      description:
        'Public routes list, filter and return published articles (newest first, opaque cursors); nothing else exists for them. ' +
        'Operator routes (/admin/...) return every article whatever its status, with warnings, errors and the whole record; ' +
        'they take a request signed with AWS SigV4 (service execute-api).',
    },
    tags: [
      { name: 'public', description: 'Anonymous: published articles only, through an explicit allowlist of fields.' },
      { name: 'operator', description: 'IAM (SigV4): every article and its whole record.' },
    ],
    paths: {
      '/health': { get: { tags: ['public'], summary: 'Liveness', responses: { '200': json('Health', 'The API is up.'), '400': errors['400'], '405': errors['405'] } } },
      '/articles': {
        get: {
          tags: ['public'],
          summary: 'List published articles, newest first',
          parameters: parameters(ListQuerySchema, 'public'),
          responses: { '200': json('ArticleList', 'A page of article summaries.'), '400': errors['400'], '405': errors['405'], '500': errors['500'] },
        },
      },
      '/articles/{id}': {
        get: {
          tags: ['public'],
          summary: 'One published article with its processed HTML',
          parameters: [ID_PARAM],
          responses: { '200': json('Article', 'The article.'), '400': errors['400'], '404': errors['404'], '405': errors['405'], '500': errors['500'] },
        },
      },
      '/feed.xml': feedRoute('RSS 2.0', 'application/rss+xml'),
      '/atom.xml': feedRoute('Atom 1.0', 'application/atom+xml'),
      '/feed.json': feedRoute('JSON Feed 1.1', 'application/feed+json'),
      '/sitemap.xml': {
        get: {
          tags: ['public'],
          summary: 'Sitemap index of the published articles; with page, one sitemap of it',
          description: `A sitemaps.org index; each page holds at most ${SITEMAP_MAX_URLS} URLs (fewer when long URLs would pass ${SITEMAP_MAX_BYTES} bytes), newest first, with lastmod from updated or date.`,
          parameters: parameters(SitemapQuerySchema, 'public'),
          responses: {
            '200': { description: 'A sitemap index, or one sitemap page.', content: { 'application/xml': { schema: { type: 'string' } } } },
            '400': errors['400'],
            '404': json('Error', 'No such page.'),
            '405': errors['405'],
            '501': json('Error', 'article_url_template_missing: ARTICLE_URL_TEMPLATE is not set, so there are no article URLs to list.'),
            '500': errors['500'],
          },
        },
      },
      '/search': {
        get: {
          tags: ['public'],
          summary: 'Full-text search of published articles, best match first',
          description:
            'Ranked by relevance (a title match first), then newest first. Filters as for /articles (at most one of category, tag, author; from/to). Pages by opaque cursor, up to 10,000 results deep.',
          parameters: parameters(SearchQuerySchema, 'public').map((p) => (p.name === 'q' ? { ...p, required: true } : p)),
          responses: {
            '200': json('SearchResults', 'A page of matching article summaries, each with its score and snippet.'),
            '400': errors['400'],
            '404': json('Error', 'Search is not enabled on this deployment.'),
            '405': errors['405'],
            '500': errors['500'],
          },
        },
      },
      '/categories': countRoute('Categories'),
      '/tags': countRoute('Tags'),
      '/authors': countRoute('Authors'),
      '/openapi.json': { get: { tags: ['public'], summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document.' }, '400': errors['400'], '405': errors['405'] } } },
      '/admin/articles': {
        get: {
          ...operator,
          summary: 'List articles of any status, newest first',
          parameters: parameters(AdminListQuerySchema, 'operator'),
          responses: {
            '200': json('AdminArticleList', 'A page of whole summaries.'),
            '400': errors['400'],
            '403': errors['403'],
            '405': errors['405'],
            '500': errors['500'],
          },
        },
      },
      '/admin/articles/{id}': {
        get: {
          ...operator,
          summary: 'The whole record of one article, whatever its status',
          parameters: [ID_PARAM],
          responses: {
            '200': json('AdminArticle', 'The article.'),
            '400': errors['400'],
            '403': errors['403'],
            '404': errors['404'],
            '405': errors['405'],
            '500': errors['500'],
          },
        },
      },
    },
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4, service execute-api (IAM authorization of the HTTP API routes).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: {
        Health: schema(r.HealthSchema),
        Image: schema(r.ImageSchema),
        ArticleSummary: schema(r.ArticleSummarySchema),
        Article: schema(r.ArticleSchema),
        ArticleList: schema(r.ArticleListSchema),
        AdminArticleSummary: schema(r.AdminArticleSummarySchema),
        AdminArticle: schema(r.AdminArticleSchema),
        AdminArticleList: schema(r.AdminArticleListSchema),
        CountList: schema(r.CountListSchema),
        SearchResults: schema(r.SearchResultsSchema),
        Error: schema(r.ErrorSchema),
      },
    },
  };
  return cached;
}
