/**
 * The API's shapes, once: the handler validates requests with them and the OpenAPI
 * document is generated from them (openapi.ts), so the two cannot drift.
 */
// zod's functional build (`zod/mini`): the same engine, messages and JSON Schema output as
// `zod`, loaded in ~5 ms instead of ~25 ms of every cold start (bench/bundle.ts). With the
// English messages `zod` loads by default, so every error text stays as it was.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { $RefinementCtx } from 'zod/v4/core';

z.config(en());

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function isoBound(end: boolean) {
  return z.pipe(
    z.string().check(z.refine((s) => ISO_DATE.test(s) || ISO_DATETIME.test(s), 'must be an ISO date (2022-03-02) or date-time (2022-03-02T06:50:07Z)')),
    z.transform((s: string, ctx) => {
      const iso = ISO_DATE.test(s) ? `${s}T${end ? '23:59:59.999' : '00:00:00.000'}Z` : s;
      const d = new Date(iso);
      if (Number.isNaN(d.getTime()) || (ISO_DATE.test(s) && !d.toISOString().startsWith(s))) {
        ctx.issues.push({ code: 'custom', message: `${s} is not a real date`, input: s });
        return z.NEVER;
      }
      return d.toISOString();
    }),
  );
}

/** The longest search query, in characters. */
export const SEARCH_QUERY_MAX = 200;

/** What to search for: trimmed, 1 to SEARCH_QUERY_MAX characters (/search, and feeds' `q`). */
function searchText() {
  return z.pipe(
    z.pipe(z.string(), z.transform((s: string) => s.trim())),
    z.string().check(z.minLength(1, 'must not be empty: say what to search for'), z.maxLength(SEARCH_QUERY_MAX, `must be at most ${SEARCH_QUERY_MAX} characters`)),
  );
}

const facetValue = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200, 'must be at most 200 characters'));

/** Every status an operator may list; `scheduled` is non-public like `draft`. */
export const ADMIN_STATUSES = ['published', 'draft', 'failed', 'scheduled'] as const;

const listParams = {
  limit: z._default(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/, 'must be a whole number from 1 to 100')), z.transform(Number)),
      z.int().check(z.gte(1, 'must be at least 1'), z.lte(100, 'must be at most 100')),
    ),
    20,
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(4000))),
  category: z.optional(facetValue),
  tag: z.optional(facetValue),
  author: z.optional(facetValue),
  slug: z.optional(facetValue),
  from: z.optional(isoBound(false)),
  to: z.optional(isoBound(true)),
};

type Facet = 'category' | 'tag' | 'author' | 'slug';

/** At most one of `facets` at a time, and `from` not after `to`: the rules every listing route shares. */
function facetRules(facets: readonly Facet[]) {
  const names = `${facets.slice(0, -1).join(', ')} or ${facets[facets.length - 1]}`;
  return z.superRefine((q: Partial<Record<Facet | 'from' | 'to', string>>, ctx: $RefinementCtx) => {
    const given = facets.filter((f) => q[f] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({ code: 'custom', path: [given[1]!], message: `filter by one of ${names} at a time (got ${given.join(' and ')})` });
    }
    if (q.from && q.to && q.from > q.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
  });
}

const listRules = facetRules(['category', 'tag', 'author', 'slug']);
const searchRules = facetRules(['category', 'tag', 'author']);

/** `GET /articles`: published articles only; `status` is accepted only as `published`. */
export const ListQuerySchema = z
  .strictObject({
    ...listParams,
    status: z._default(z.literal('published', { error: 'public routes list published articles only (operators: GET /admin/articles, signed)' }), 'published'),
  })
  .check(listRules);

/** `GET /admin/articles`: the same parameters, any status. */
export const AdminListQuerySchema = z
  .strictObject({
    ...listParams,
    status: z._default(z.enum(ADMIN_STATUSES), 'published'),
  })
  .check(listRules);

/** /feed.xml, /atom.xml, /feed.json: at most one of category, tag, author (as /articles), and `q`, a saved search. */
export const FeedQuerySchema = z
  .strictObject({ q: z.optional(searchText()), category: listParams.category, tag: listParams.tag, author: listParams.author })
  .check(searchRules);

/** /sitemap.xml: the index; with `page`, one page of it. */
export const SitemapQuerySchema = z.strictObject({
  page: z.optional(z.pipe(z.string().check(z.regex(/^[1-9]\d{0,5}$/, 'must be a page number from 1')), z.transform(Number))),
});

const { slug: _slug, ...searchParams } = listParams;
export const SearchQuerySchema = z.strictObject({ q: searchText(), ...searchParams }).check(searchRules);

let responses: ReturnType<typeof buildResponseSchemas> | undefined;

/**
 * The response shapes: the OpenAPI document is generated from them, and every response
 * body is parsed through them (api/app.ts `project`). zod objects drop keys they do not
 * declare, so a response carries exactly its schema's fields: a new stored field never
 * reaches a client until it is added here. Built on first use rather than on every cold
 * start (zod schemas cost milliseconds to construct).
 */
export function responseSchemas() {
  return (responses ??= buildResponseSchemas());
}

function buildResponseSchemas() {
  const ErrorInfoSchema = z.object({ code: z.string(), message: z.string() });
  const ErrorSchema = z.object({ error: ErrorInfoSchema });

  const card = (width: number, height: number) => z.object({ url: z.string(), width: z.literal(width), height: z.literal(height) });
  const SocialCardsSchema = z
    .object({ og: card(1200, 630), square: card(1080, 1080) })
    .check(z.describe('The cover cut for link previews (Open Graph 1200×630, square 1080×1080), cropped where its subject is.'));

  const ImageSchema = z.object({
    url: z.string(),
    width: z.int(),
    height: z.int(),
    srcset: z.string(),
    sources: z.array(z.object({ type: z.string(), srcset: z.string() })),
    placeholder: z.nullable(z.string()),
    color: z.optional(z.nullable(z.string())),
    original: z.string(),
    social: z.optional(z.nullable(SocialCardsSchema)),
  });

  const WarningSchema = z.object({ code: z.string(), message: z.string(), url: z.optional(z.string()) });

  // ---- public: what a reader of published articles may see (docs/api.md says why)
  const ArticleSummarySchema = z.object({
    id: z.string(),
    slug: z.string(),
    title: z.string(),
    date: z.nullable(z.string()),
    updated: z.nullable(z.string()),
    author: z.nullable(z.string()),
    authors: z.array(z.string()),
    categories: z.array(z.string()),
    tags: z.array(z.string()),
    excerpt: z.string(),
    cover: z.nullable(ImageSchema),
    wordCount: z.int(),
    readingMinutes: z.int(),
    imageCount: z.int(),
    status: z.literal('published'),
    processedAt: z.string(),
  });

  const ImageRefSchema = z.object({
    original: z.string(),
    status: z.enum(['rehosted', 'failed']),
    url: z.optional(z.string()),
    width: z.optional(z.int()),
    height: z.optional(z.int()),
  });

  const ArticleSchema = z.extend(ArticleSummarySchema, {
    html: z.string(),
    images: z.array(ImageRefSchema),
    /** Only the keys PUBLIC_FRONT_MATTER_KEYS names (none by default). */
    frontMatter: z.record(z.string(), z.unknown()),
  });

  const ArticleListSchema = z.object({
    items: z.array(ArticleSummarySchema),
    nextCursor: z.nullable(z.string()),
  });

  // ---- operator: the whole record, whatever its status
  const AdminArticleSummarySchema = z.extend(ArticleSummarySchema, {
    status: z.enum(ADMIN_STATUSES),
    sourceKey: z.string(),
    warnings: z.array(WarningSchema),
    error: z.nullable(ErrorInfoSchema),
  });

  const AdminArticleSchema = z.extend(AdminArticleSummarySchema, {
    html: z.string(),
    images: z.array(z.extend(ImageRefSchema, { error: z.optional(ErrorInfoSchema) })),
    frontMatter: z.record(z.string(), z.unknown()),
    // Bookkeeping, for diagnosing what the pipeline did.
    bodyKey: z.optional(z.nullable(z.string())),
    sourceEtag: z.optional(z.nullable(z.string())),
    contentHash: z.optional(z.nullable(z.string())),
    pipelineVersion: z.optional(z.int()),
    sortDate: z.optional(z.string()),
  });

  const AdminArticleListSchema = z.object({
    items: z.array(AdminArticleSummarySchema),
    nextCursor: z.nullable(z.string()),
  });

  const CountListSchema = z.object({
    items: z.array(z.object({ name: z.string(), count: z.int() })),
  });

  const HealthSchema = z.object({ status: z.literal('ok') });

  const SearchResultsSchema = z.object({
    items: z.array(
      z.extend(ArticleSummarySchema, {
        score: z.number().check(z.describe('Relevance: 1 and above when the title matches the whole query, then cover density; higher first.')),
        snippet: z.string().check(z.describe('Up to 200 characters of the text around the first match, HTML-escaped, matches in <mark>.')),
      }),
    ),
    nextCursor: z.nullable(z.string()),
  });

  return {
    ErrorSchema,
    ImageSchema,
    ArticleSummarySchema,
    ArticleSchema,
    ArticleListSchema,
    AdminArticleSummarySchema,
    AdminArticleSchema,
    AdminArticleListSchema,
    CountListSchema,
    HealthSchema,
    SearchResultsSchema,
  };
}
