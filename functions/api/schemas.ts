/**
 * The API's shapes, once: the handler validates requests with them and the OpenAPI
 * document is generated from them (openapi.ts), so the two cannot drift.
 */
// A namespace import lets esbuild drop what is unused (`{ z }` keeps all of zod, locales included: ~450 kB).
import * as z from 'zod';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function isoBound(end: boolean) {
  return z
    .string()
    .refine((s) => ISO_DATE.test(s) || ISO_DATETIME.test(s), 'must be an ISO date (2022-03-02) or date-time (2022-03-02T06:50:07Z)')
    .transform((s, ctx) => {
      const iso = ISO_DATE.test(s) ? `${s}T${end ? '23:59:59.999' : '00:00:00.000'}Z` : s;
      const d = new Date(iso);
      if (Number.isNaN(d.getTime()) || (ISO_DATE.test(s) && !d.toISOString().startsWith(s))) {
        ctx.addIssue({ code: 'custom', message: `${s} is not a real date` });
        return z.NEVER;
      }
      return d.toISOString();
    });
}

const facetValue = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** Every status an operator may list; `scheduled` is non-public like `draft`. */
export const ADMIN_STATUSES = ['published', 'draft', 'failed', 'scheduled'] as const;

const listParams = {
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
    .default(20),
  cursor: z.string().min(1).max(4000).optional(),
  category: facetValue.optional(),
  tag: facetValue.optional(),
  author: facetValue.optional(),
  slug: facetValue.optional(),
  from: isoBound(false).optional(),
  to: isoBound(true).optional(),
};

function listRules(q: { category?: string; tag?: string; author?: string; slug?: string; from?: string; to?: string }, ctx: z.RefinementCtx) {
  const facets = (['category', 'tag', 'author', 'slug'] as const).filter((f) => q[f] !== undefined);
  if (facets.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [facets[1]!],
      message: `filter by one of category, tag, author or slug at a time (got ${facets.join(' and ')})`,
    });
  }
  if (q.from && q.to && q.from > q.to) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
  }
}

/** `GET /articles`: published articles only; `status` is accepted only as `published`. */
export const ListQuerySchema = z
  .strictObject({
    ...listParams,
    status: z
      .literal('published', { error: 'public routes list published articles only (operators: GET /admin/articles, signed)' })
      .default('published'),
  })
  .superRefine(listRules);

/** `GET /admin/articles`: the same parameters, any status. */
export const AdminListQuerySchema = z
  .strictObject({
    ...listParams,
    status: z.enum(ADMIN_STATUSES).default('published'),
  })
  .superRefine(listRules);

export type ListQueryInput = z.output<typeof AdminListQuerySchema>;

/** /feed.xml, /atom.xml, /feed.json: at most one of category, tag, author (as /articles). */
export const FeedQuerySchema = z
  .strictObject({ category: facetValue.optional(), tag: facetValue.optional(), author: facetValue.optional() })
  .superRefine((q, ctx) => {
    const facets = (['category', 'tag', 'author'] as const).filter((f) => q[f] !== undefined);
    if (facets.length > 1) {
      ctx.addIssue({ code: 'custom', path: [facets[1]!], message: `filter by one of category, tag or author at a time (got ${facets.join(' and ')})` });
    }
  });

/** /sitemap.xml: the index; with `page`, one page of it. */
export const SitemapQuerySchema = z.strictObject({
  page: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'must be a page number from 1')
    .transform(Number)
    .optional(),
});

/** The longest search query, in characters. */
export const SEARCH_QUERY_MAX = 200;

export const SearchQuerySchema = z
  .strictObject({
    q: z
      .string()
      .transform((s) => s.trim())
      .pipe(z.string().min(1, 'must not be empty: say what to search for').max(SEARCH_QUERY_MAX, `must be at most ${SEARCH_QUERY_MAX} characters`)),
    limit: ListQuerySchema.shape.limit,
    cursor: ListQuerySchema.shape.cursor,
    category: facetValue.optional(),
    tag: facetValue.optional(),
    author: facetValue.optional(),
    from: isoBound(false).optional(),
    to: isoBound(true).optional(),
  })
  .superRefine((q, ctx) => {
    const facets = (['category', 'tag', 'author'] as const).filter((f) => q[f] !== undefined);
    if (facets.length > 1) {
      ctx.addIssue({ code: 'custom', path: [facets[1]!], message: `filter by one of category, tag or author at a time (got ${facets.join(' and ')})` });
    }
    if (q.from && q.to && q.from > q.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
  });

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
    .describe('The cover cut for link previews (Open Graph 1200×630, square 1080×1080), cropped where its subject is.');

  const ImageSchema = z.object({
    url: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    srcset: z.string(),
    sources: z.array(z.object({ type: z.string(), srcset: z.string() })),
    placeholder: z.string().nullable(),
    color: z.string().nullable().optional(),
    original: z.string(),
    social: SocialCardsSchema.nullable().optional(),
  });

  const WarningSchema = z.object({ code: z.string(), message: z.string(), url: z.string().optional() });

  // ---- public: what a reader of published articles may see (docs/api.md says why)
  const ArticleSummarySchema = z.object({
    id: z.string(),
    slug: z.string(),
    title: z.string(),
    date: z.string().nullable(),
    updated: z.string().nullable(),
    author: z.string().nullable(),
    authors: z.array(z.string()),
    categories: z.array(z.string()),
    tags: z.array(z.string()),
    excerpt: z.string(),
    cover: ImageSchema.nullable(),
    wordCount: z.number().int(),
    readingMinutes: z.number().int(),
    imageCount: z.number().int(),
    status: z.literal('published'),
    processedAt: z.string(),
  });

  const ImageRefSchema = z.object({
    original: z.string(),
    status: z.enum(['rehosted', 'failed']),
    url: z.string().optional(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
  });

  const ArticleSchema = ArticleSummarySchema.extend({
    html: z.string(),
    images: z.array(ImageRefSchema),
    /** Only the keys PUBLIC_FRONT_MATTER_KEYS names (none by default). */
    frontMatter: z.record(z.string(), z.unknown()),
  });

  const ArticleListSchema = z.object({
    items: z.array(ArticleSummarySchema),
    nextCursor: z.string().nullable(),
  });

  // ---- operator: the whole record, whatever its status
  const AdminArticleSummarySchema = ArticleSummarySchema.extend({
    status: z.enum(ADMIN_STATUSES),
    sourceKey: z.string(),
    warnings: z.array(WarningSchema),
    error: ErrorInfoSchema.nullable(),
  });

  const AdminArticleSchema = AdminArticleSummarySchema.extend({
    html: z.string(),
    images: z.array(ImageRefSchema.extend({ error: ErrorInfoSchema.optional() })),
    frontMatter: z.record(z.string(), z.unknown()),
    // Bookkeeping, for diagnosing what the pipeline did.
    bodyKey: z.string().nullable().optional(),
    sourceEtag: z.string().nullable().optional(),
    contentHash: z.string().nullable().optional(),
    pipelineVersion: z.number().int().optional(),
    sortDate: z.string().optional(),
  });

  const AdminArticleListSchema = z.object({
    items: z.array(AdminArticleSummarySchema),
    nextCursor: z.string().nullable(),
  });

  const CountListSchema = z.object({
    items: z.array(z.object({ name: z.string(), count: z.number().int() })),
  });

  const HealthSchema = z.object({ status: z.literal('ok') });

  const SearchResultsSchema = z.object({
    items: z.array(
      ArticleSummarySchema.extend({
        score: z.number().describe('Relevance: 1 and above when the title matches the whole query, then cover density; higher first.'),
        snippet: z.string().describe('Up to 200 characters of the text around the first match, HTML-escaped, matches in <mark>.'),
      }),
    ),
    nextCursor: z.string().nullable(),
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
