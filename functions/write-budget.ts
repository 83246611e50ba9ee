/**
 * The one transaction every change to an article is written in, and the per-article caps
 * that make it fit (functions/adapters/dynamo-index.ts writes it, core/normalize.ts cuts
 * the lists). No imports, so any bundle can carry it.
 *
 * One transition (publish, update, reprocess, delete) is one TransactWriteItems:
 *
 *   1                the article item (Put, conditioned on the revision the event read)
 *   2 + N            a listing Put for every way the new version is listed: the newest-first
 *                    list, the slug, and each of its N categories, tags and authors
 *   1 + N            a listing Delete for every way the old version was listed and the new is
 *                    not (its slug, its N values; the newest-first listing is always kept)
 *   2N               a count ADD for each value that gains a published article and each one
 *                    that loses one (new and old values are distinct count items)
 *   ---------
 *   4 + 4N  <=  100 (DynamoDB's limit)   =>   N <= 24
 *
 * Size: the article item is at most 400 KB (DynamoDB's item limit); a listing carries a
 * copy of the summary (bounded to SUMMARY_MAX_BYTES) plus keys (each below 2 KB); deletes
 * and count updates carry keys only. 400 KB + 26 x 16 KB + 74 x 6 KB ~ 1.3 MB, well inside
 * the 4 MB limit; the adapter still measures each transaction and refuses one that is not.
 */
export const TRANSACTION_LIMITS = {
  /** DynamoDB TransactWriteItems: at most 100 items ... */
  maxItems: 100,
  /** ... and 4 MB in all. */
  maxBytes: 4 * 1024 * 1024,
} as const;

/** What one listing's summary copy may take (the summary's fields are bounded to fit). */
export const SUMMARY_MAX_BYTES = 8 * 1024;

/**
 * Per-article caps on what the article is listed and counted under: 5 + 14 + 5 = 24 = N.
 * Values past a cap are dropped with a coded warning (too_many_categories, too_many_tags,
 * too_many_authors). Tags get the largest share: articles carry more tags than categories,
 * and more than five credited authors is rare.
 */
export const FACET_CAPS = {
  categories: 5,
  tags: 14,
  authors: 5,
} as const;

/** Items of the largest possible transition with `n` listed values (see the table above). */
export function worstCaseTransactionItems(n: number): number {
  return 4 + 4 * n;
}
