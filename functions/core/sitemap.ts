/**
 * The sitemap (sitemaps.org protocol 0.9): an index whose pages each hold at most 50,000
 * URLs. Pages are cut from the newest-first list of published articles by walking it (a
 * query on the listing index, never a scan), so page N holds the (N-1)·50,000+1-th article
 * onwards. A page is also closed before its XML would outgrow what one Lambda response can
 * carry (6 MB), so long URLs make more, smaller pages rather than a failing one.
 * Pure: the articles come in as an async iterable, the XML goes out as a string.
 */
// xml-js (already in the API bundle under the `feed` library) does the escaping.
import { js2xml } from 'xml-js';
import { SITEMAP_MAX_BYTES, SITEMAP_MAX_URLS } from './limits';

const NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';

export interface SitemapUrl {
  loc: string;
  /** ISO 8601, or null when the article has neither `updated` nor `date`. */
  lastmod: string | null;
}

export interface PageLimits {
  maxUrls: number;
  maxBytes: number;
}

export const DEFAULT_LIMITS: PageLimits = { maxUrls: SITEMAP_MAX_URLS, maxBytes: SITEMAP_MAX_BYTES };

export interface PageSummary {
  /** 1-based. */
  page: number;
  urls: number;
  /** The newest lastmod on the page, or null. */
  lastmod: string | null;
}

function escapedLength(s: string): number {
  return Buffer.byteLength(s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'), 'utf8');
}

/** The bytes of one `<url>` element as urlsetXml writes it: `<url><loc>…</loc><lastmod>…</lastmod></url>`. */
export function urlBytes(u: SitemapUrl): number {
  return 22 + escapedLength(u.loc) + (u.lastmod ? 19 + u.lastmod.length : 0);
}

/** Cuts the URLs into pages: a new page starts at maxUrls URLs or when maxBytes would be passed. */
export async function* paginate(urls: AsyncIterable<SitemapUrl> | Iterable<SitemapUrl>, limits: PageLimits = DEFAULT_LIMITS): AsyncGenerator<SitemapUrl[]> {
  let page: SitemapUrl[] = [];
  let bytes = 0;
  for await (const u of urls) {
    const size = urlBytes(u);
    if (page.length > 0 && (page.length >= limits.maxUrls || bytes + size > limits.maxBytes)) {
      yield page;
      page = [];
      bytes = 0;
    }
    page.push(u);
    bytes += size;
  }
  if (page.length > 0) yield page;
}

const newer = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/** What the index lists: every page's number, size and newest lastmod. */
export async function summarizePages(urls: AsyncIterable<SitemapUrl> | Iterable<SitemapUrl>, limits: PageLimits = DEFAULT_LIMITS): Promise<PageSummary[]> {
  const out: PageSummary[] = [];
  for await (const p of paginate(urls, limits)) {
    out.push({ page: out.length + 1, urls: p.length, lastmod: p.reduce<string | null>((m, u) => newer(m, u.lastmod), null) });
  }
  return out;
}

/** Page `n` (1-based), or null when there is no such page. Stops reading once it is complete. */
export async function pageAt(urls: AsyncIterable<SitemapUrl> | Iterable<SitemapUrl>, n: number, limits: PageLimits = DEFAULT_LIMITS): Promise<SitemapUrl[] | null> {
  let i = 0;
  for await (const p of paginate(urls, limits)) if (++i === n) return p;
  return null;
}

const declaration = { _attributes: { version: '1.0', encoding: 'UTF-8' } };

export function sitemapIndexXml(pages: PageSummary[], pageUrl: (n: number) => string): string {
  return js2xml(
    {
      _declaration: declaration,
      sitemapindex: {
        _attributes: { xmlns: NS },
        sitemap: pages.map((p) => ({ loc: { _text: pageUrl(p.page) }, ...(p.lastmod ? { lastmod: { _text: p.lastmod } } : {}) })),
      },
    },
    { compact: true },
  );
}

export function urlsetXml(urls: SitemapUrl[]): string {
  return js2xml(
    {
      _declaration: declaration,
      urlset: {
        _attributes: { xmlns: NS },
        url: urls.map((u) => ({ loc: { _text: u.loc }, ...(u.lastmod ? { lastmod: { _text: u.lastmod } } : {}) })),
      },
    },
    { compact: true },
  );
}
