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

export const ListQuerySchema = z
  .strictObject({
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
    status: z.enum(['published', 'scheduled', 'draft', 'failed']).default('published'),
  })
  .superRefine((q, ctx) => {
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
  });

export type ListQueryInput = z.output<typeof ListQuerySchema>;

let responses: ReturnType<typeof buildResponseSchemas> | undefined;

/** The response shapes: only the OpenAPI document uses them, so they are built on first
 *  use rather than on every cold start (zod schemas cost milliseconds to construct). */
export function responseSchemas() {
  return (responses ??= buildResponseSchemas());
}

function buildResponseSchemas() {
  const ErrorSchema = z.object({
    error: z.object({ code: z.string(), message: z.string() }),
  });

  const ImageSchema = z.object({
    url: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    srcset: z.string(),
    sources: z.array(z.object({ type: z.string(), srcset: z.string() })),
    placeholder: z.string().nullable(),
    color: z.string().nullable().optional(),
    original: z.string(),
  });

  const WarningSchema = z.object({ code: z.string(), message: z.string(), url: z.string().optional() });

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
    sourceKey: z.string(),
    status: z.enum(['published', 'scheduled', 'draft', 'failed']),
    warnings: z.array(WarningSchema),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    processedAt: z.string(),
  });

  const ArticleSchema = ArticleSummarySchema.extend({
    html: z.string(),
    images: z.array(
      z.object({
        original: z.string(),
        status: z.enum(['rehosted', 'failed']),
        url: z.string().optional(),
        width: z.number().int().optional(),
        height: z.number().int().optional(),
        error: z.object({ code: z.string(), message: z.string() }).optional(),
      }),
    ),
    frontMatter: z.record(z.string(), z.unknown()),
  });

  const ArticleListSchema = z.object({
    items: z.array(ArticleSummarySchema),
    nextCursor: z.string().nullable(),
  });

  const CountListSchema = z.object({
    items: z.array(z.object({ name: z.string(), count: z.number().int() })),
  });

  const HealthSchema = z.object({ status: z.literal('ok') });

  return { ErrorSchema, ImageSchema, ArticleSummarySchema, ArticleSchema, ArticleListSchema, CountListSchema, HealthSchema };
}
