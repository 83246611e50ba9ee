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
