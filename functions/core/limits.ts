/** Bounds shared by several modules. No imports: any bundle carries it for free. */

/** Entries per feed: the newest published articles. */
export const FEED_SIZE = 50;
/**
 * Bytes of full-text content per feed. Beyond it, entries carry their excerpt only (and a
 * `feed_content_truncated` log entry says so): the response must stay under Lambda's 6 MB.
 */
export const FEED_CONTENT_BUDGET = 3_000_000;
/** The sitemaps.org limit of URLs per sitemap. */
export const SITEMAP_MAX_URLS = 50_000;
/**
 * Bytes of `<url>` elements per sitemap page, so the response stays under Lambda's 6 MB
 * (6,291,456 B) with room for the envelope: 50,000 URLs fit when they average under ~85
 * characters; longer ones make more, smaller pages.
 */
export const SITEMAP_MAX_BYTES = 5_500_000;
/**
 * Bytes the processed HTML of one article may take in `GET /articles/{id}`'s Lambda response,
 * where it is escaped twice (a JSON string in the article, the article as the result's
 * `body` string). Lambda refuses a response over 6 MB (6,291,456 B); the rest of the record
 * is at most 300 kB (core/bounds.ts). An article over it is `failed` `body_too_large`.
 */
export const ARTICLE_HTML_RESPONSE_BUDGET = 5_500_000;

/** What the HTML costs in that response: its JSON string inside a JSON string. */
export function htmlResponseBytes(html: string): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(html)), 'utf8');
}
