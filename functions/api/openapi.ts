/** The OpenAPI 3.1 document, generated from the same zod schemas the handler validates with. */
// A namespace import lets esbuild drop what is unused (`{ z }` keeps all of zod, locales included: ~450 kB).
import * as z from 'zod';
import { ListQuerySchema, SearchQuerySchema, responseSchemas } from './schemas';

const PARAM_DOCS: Record<string, string> = {
  limit: 'Items per page, 1 to 100 (default 20).',
  cursor: 'The nextCursor of the previous page, with the same filters.',
  category: 'Only articles in this category (case-insensitive). At most one of category, tag, author, slug.',
  tag: 'Only articles with this tag (case-insensitive).',
  author: 'Only articles by this author (case-insensitive).',
  slug: 'Only articles with this slug.',
  from: 'Earliest date, inclusive: 2022-03-02 or an ISO date-time.',
  to: 'Latest date, inclusive: 2022-03-02 (the whole day) or an ISO date-time.',
  status: 'published (default), draft or failed.',
  q: 'What to search for, 1 to 200 characters. Chinese, Japanese and Korean match as substrings (every run of CJK characters is a phrase); other words match whole, case and accents ignored. All terms must match.',
};

function schema(s: z.ZodType) {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any', reused: 'inline' }) as Record<string, unknown>;
  return rest;
}

const json = (ref: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const errors = {
  '400': json('Error', 'A parameter or the cursor is invalid.'),
  '404': json('Error', 'No such article or route.'),
  '500': json('Error', 'Internal error (never caused by bad input).'),
};

let cached: Record<string, unknown> | null = null;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const { ArticleListSchema, ArticleSchema, ArticleSummarySchema, CountListSchema, ErrorSchema, HealthSchema, ImageSchema, SearchResultsSchema } = responseSchemas();
  const paramsOf = (shape: Record<string, unknown>, required: string[] = []) =>
    Object.entries(shape).map(([name, s]) => {
      const { $schema: _i, ...paramSchema } = z.toJSONSchema(s as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      return { name, in: 'query', required: required.includes(name), description: PARAM_DOCS[name], schema: paramSchema };
    });
  const params = paramsOf(ListQuerySchema.shape);
  const countRoute = (what: string) => ({
    get: {
      summary: `${what} of published articles with their counts`,
      responses: {
        '200': json('CountList', `Every ${what.toLowerCase().replace(/s$/, '')} with at least one published article.`),
        '400': errors['400'],
        '500': errors['500'],
      },
    },
  });
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'article-pipeline query API',
      version: '1.0.0',
      description: 'Lists, filters and returns processed articles. Lists are newest first, with opaque cursors.',
    },
    paths: {
      '/health': { get: { summary: 'Liveness', responses: { '200': json('Health', 'The API is up.') } } },
      '/articles': {
        get: {
          summary: 'List articles, newest first',
          parameters: params,
          responses: { '200': json('ArticleList', 'A page of article summaries.'), '400': errors['400'], '500': errors['500'] },
        },
      },
      '/articles/{id}': {
        get: {
          summary: 'One article with its processed HTML',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } }],
          responses: { '200': json('Article', 'The article.'), '404': errors['404'], '500': errors['500'] },
        },
      },
      '/search': {
        get: {
          summary: 'Full-text search of published articles, best match first',
          description:
            'Ranked by relevance (a title match first), then newest first. Filters as for /articles (at most one of category, tag, author; from/to). Pages by opaque cursor, up to 10,000 results deep.',
          parameters: paramsOf(SearchQuerySchema.shape, ['q']),
          responses: {
            '200': json('SearchResults', 'A page of matching article summaries, each with its score and snippet.'),
            '400': errors['400'],
            '404': json('Error', 'Search is not enabled on this deployment.'),
            '500': errors['500'],
          },
        },
      },
      '/categories': countRoute('Categories'),
      '/tags': countRoute('Tags'),
      '/authors': countRoute('Authors'),
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1 document.' } } } },
    },
    components: {
      schemas: {
        Health: schema(HealthSchema),
        Image: schema(ImageSchema),
        ArticleSummary: schema(ArticleSummarySchema),
        Article: schema(ArticleSchema),
        ArticleList: schema(ArticleListSchema),
        CountList: schema(CountListSchema),
        SearchResults: schema(SearchResultsSchema),
        Error: schema(ErrorSchema),
      },
    },
  };
  return cached;
}
