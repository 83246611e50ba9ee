/**
 * RSS 2.0, Atom 1.0 and JSON Feed 1.1 of published articles. Pure: the API hands in the
 * summaries, their processed bodies and their links.
 *
 * RSS and Atom come from `feed` (jpmonette/feed, maintained, ~44 kB minified with xml-js:
 * the lightest generator that writes valid RSS/Atom and keeps CJK as characters; feedsmith
 * is twice the size and pretty-prints whitespace into titles and links). JSON Feed is a
 * typed object through JSON.stringify: `feed` only writes JSON Feed 1.0, and JSON needs no
 * escaping a library could add.
 */
import { Feed, type Item } from 'feed';
import { escapeHtml } from './escape';
import type { ArticleSummary } from './types';

export type FeedFormat = 'rss' | 'atom' | 'json';

export const FEED_CONTENT_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
};

export interface FeedEntry {
  article: ArticleSummary;
  /** The processed (sanitized, re-hosted) body; null: the entry carries the excerpt only. */
  html: string | null;
  /** From ARTICLE_URL_TEMPLATE; null when not set (or the article lacks the date it needs). */
  link: string | null;
}

export interface FeedInput {
  title: string;
  description: string;
  /** The feed's own address, as requested. */
  selfUrl: string | null;
  /** The site's home page (the template's origin), or null. */
  home: string | null;
  entries: FeedEntry[];
}

/**
 * The entries of a feed, newest first, with full content while it fits `budget` bytes in all
 * (Lambda's 6 MB response); past it an entry carries its excerpt only. `cut` counts those.
 */
export function feedEntries(
  articles: ArticleSummary[],
  bodies: (string | null)[],
  linkOf: (a: ArticleSummary) => string | null,
  budget: number,
): { entries: FeedEntry[]; cut: number } {
  let used = 0;
  let cut = 0;
  const entries = articles.map((article, i) => {
    let html = bodies[i] ?? null;
    if (html !== null) {
      const bytes = Buffer.byteLength(html, 'utf8');
      if (used + bytes > budget) {
        html = null;
        cut++;
      } else used += bytes;
    }
    return { article, html, link: linkOf(article) };
  });
  return { entries, cut };
}

/** The feed's title: what it is narrowed to (one facet) and searched for (`q`). */
export function feedTitle(facet: { name: 'category' | 'tag' | 'author'; value: string } | undefined, q: string | undefined): string {
  const what = facet ? ({ category: 'in category', tag: 'tagged', author: 'by' } as const)[facet.name] : null;
  return [what ? `Articles ${what} ${facet!.value}` : 'Articles', q !== undefined ? `matching “${q}”` : ''].filter(Boolean).join(' ');
}

/** A stable id per article that does not change when ARTICLE_URL_TEMPLATE does. */
export const entryId = (id: string) => `urn:article-pipeline:article:${id}`;

const FEED_ID = 'urn:article-pipeline:feed';

const published = (a: ArticleSummary) => a.date ?? a.updated ?? a.processedAt;
const modified = (a: ArticleSummary) => a.updated ?? a.date ?? a.processedAt;
/** Categories then tags, once each: what an aggregator files the entry under. */
export const entryCategories = (a: ArticleSummary) => [...new Set([...a.categories, ...a.tags])];

const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif' };
function imageType(url: string): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  return ext ? IMAGE_TYPES[ext] : undefined;
}

function newest(entries: FeedEntry[]): Date {
  const iso = entries.map((e) => modified(e.article)).sort().pop();
  return new Date(iso ?? 0);
}

export function renderFeed(format: FeedFormat, input: FeedInput): string {
  return format === 'json' ? jsonFeed(input) : xmlFeed(format, input);
}

function xmlFeed(format: 'rss' | 'atom', input: FeedInput): string {
  const feed = new Feed({
    id: input.selfUrl ?? FEED_ID,
    title: input.title,
    description: input.description,
    link: input.home ?? input.selfUrl ?? FEED_ID,
    copyright: '',
    updated: newest(input.entries),
    generator: false,
    feedLinks: input.selfUrl ? { rss: input.selfUrl, atom: input.selfUrl } : undefined,
  });
  // RSS names authors with dc:creator (its own <author> is an e-mail address); `feed`
  // declares the dc namespace only beside content:encoded.
  const dcCreator = format === 'rss' && input.entries.some((e) => e.html !== null);
  for (const { article: a, html, link } of input.entries) {
    const cover = a.cover?.url;
    const item: Item = {
      // `feed` marks Atom titles type="html": a plain-text title is escaped for that.
      title: format === 'atom' ? escapeHtml(a.title) : a.title,
      id: entryId(a.id),
      guid: entryId(a.id),
      // `feed` types link as required; without one, RSS and Atom simply carry none.
      link: link ?? (undefined as unknown as string),
      date: new Date(modified(a)),
      published: new Date(published(a)),
      description: a.excerpt || undefined,
      content: html ?? undefined,
      category: entryCategories(a).map((c) => ({ name: c, term: c })),
      ...(cover ? { enclosure: { url: cover, type: imageType(cover), length: 0 } } : {}),
    };
    if (dcCreator) {
      if (a.authors.length) item.extensions = [{ name: 'dc:creator', objects: a.authors.map((n) => ({ _text: n })) as unknown as Record<string, unknown> }];
    } else if (a.authors.length) {
      item.author = a.authors.map((name) => ({ name }));
    }
    feed.addItem(item);
  }
  if (format === 'rss') return feed.rss2();
  // An entry without a link comes out as a bare `<link/>` (no href: invalid Atom); Atom
  // needs no link when the entry has content or a summary, so it goes.
  return feed.atom1().replace(/\n[ ]*<link\/>/g, '');
}

/** JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/). */
function jsonFeed(input: FeedInput): string {
  const doc = {
    version: 'https://jsonfeed.org/version/1.1',
    title: input.title,
    ...(input.home ? { home_page_url: input.home } : {}),
    ...(input.selfUrl ? { feed_url: input.selfUrl } : {}),
    description: input.description,
    items: input.entries.map(({ article: a, html, link }) => ({
      id: entryId(a.id),
      ...(link ? { url: link } : {}),
      title: a.title,
      // Every item carries content: the body, else the excerpt as text.
      ...(html !== null ? { content_html: html } : { content_text: a.excerpt }),
      ...(a.excerpt ? { summary: a.excerpt } : {}),
      ...(a.cover ? { image: a.cover.url } : {}),
      date_published: new Date(published(a)).toISOString(),
      date_modified: new Date(modified(a)).toISOString(),
      ...(a.authors.length ? { authors: a.authors.map((name) => ({ name })) } : {}),
      ...(entryCategories(a).length ? { tags: entryCategories(a) } : {}),
    })),
  };
  return JSON.stringify(doc);
}
