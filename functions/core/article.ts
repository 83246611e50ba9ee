/**
 * Bytes of an uploaded file -> an article record and its processed HTML.
 * Order matters: render, then work on the HTML (images), then sanitize last, then measure.
 */
import type { ArticleRecord } from '../ports';
import { ArticleError } from './errors';
import type { RehostStats } from './images/rehost';
import { parseFrontMatter } from './frontmatter';
import { renderArticleBody } from './markdown';
import { normalizeMeta, slugFromFileName, withoutEmails } from './normalize';
import { sanitizeForProcessing, sanitizeHtml } from './sanitize';
import { stripTemplateSyntax } from './tags';
import { measure } from './text';
import type { Image, ImageRef, Warning } from './types';

export interface ArticleBuildOptions {
  key: string;
  /** When the object was uploaded (ISO): the sort date of an article without a date. */
  uploadedAt: string;
  defaultTimezone: string;
}

export interface ImageStepResult {
  html: string;
  cover: Image | null;
  images: ImageRef[];
  imageCount: number;
  warnings: Warning[];
  /** What re-hosting did (for metrics); absent when the step does not count. */
  stats?: RehostStats;
  /** Hashes of the re-hosted images the body and cover use (what the media sweeper keeps). */
  hashes?: string[];
}

/** Re-hosts the images of an article (core/images/rehost.ts, wired with its adapters). */
export type ImageStep = (input: {
  html: string;
  frontMatter: Record<string, unknown>;
  articleKey: string;
}) => Promise<ImageStepResult>;

type Built = Omit<ArticleRecord, 'bodyKey' | 'sourceEtag' | 'contentHash' | 'pipelineVersion' | 'processedAt'>;

/** Milliseconds spent per build step, for the ingest log. */
export interface BuildTimings {
  /** Decoding, front matter, normalizing the fields. */
  parse: number;
  /** Markdown/HTML rendering, sanitizing, measuring. */
  render: number;
  images: number;
}

/** The file name without directories and extension: the title and slug of last resort. */
export function baseName(key: string): string {
  const file = key.split('/').pop() ?? key;
  return file.replace(/\.[^.]+$/, '') || file;
}

/** Decodes article bytes, refusing what is not text. UTF-16 with a BOM is accepted. */
export function decodeText(bytes: Uint8Array): string {
  if (bytes.length === 0) {
    throw new ArticleError('empty_file', 'The file is empty. Upload the article with its front matter and body.');
  }
  let text: string;
  const b0 = bytes[0];
  const b1 = bytes[1];
  const encoding = b0 === 0xff && b1 === 0xfe ? 'utf-16le' : b0 === 0xfe && b1 === 0xff ? 'utf-16be' : 'utf-8';
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new ArticleError(
      'not_utf8',
      `The file is not UTF-8 text (invalid byte at offset ${at}). Save it as UTF-8 and upload it again.`,
    );
  }
  if (text.includes('\u0000')) {
    throw new ArticleError('not_an_article', 'The file contains NUL bytes: it looks binary, not like a Markdown or HTML article.');
  }
  if (!text.replace(/^\uFEFF/, '').trim()) {
    throw new ArticleError('empty_file', 'The file contains only white space. Upload the article with its front matter and body.');
  }
  return text;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  // Binary search on the prefix that still decodes; cheap and exact enough for a message.
  let lo = 0;
  let hi = bytes.length;
  const ok = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export async function buildArticle(
  bytes: Uint8Array,
  opts: ArticleBuildOptions & { id: string },
  images?: ImageStep,
): Promise<{ record: Built; html: string; imageStats: RehostStats | null; timings: BuildTimings }> {
  let mark = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - mark);
    mark = now;
    return ms;
  };
  const text = decodeText(bytes);
  const fm = parseFrontMatter(text);
  const fileName = baseName(opts.key);
  // The whole key, so a Hugo bundle (`post/index.md`) is named after its folder.
  const meta = normalizeMeta(fm.data, { defaultTimezone: opts.defaultTimezone, fileName: opts.key });
  const kind = /\.html?$/i.test(opts.key) ? 'html' : 'markdown';
  const parse = lap();
  const { html: rendered, warnings: tagWarnings } = renderArticleBody(fm.body, kind, { postName: fileName });
  // Sanitized before any DOM work too: bounded nesting, nothing executable, hints kept.
  const pre = sanitizeForProcessing(rendered);
  let render = lap();

  const img: ImageStepResult = images
    ? await images({ html: pre, frontMatter: fm.data, articleKey: opts.key })
    : { html: pre, cover: null, images: [], imageCount: countImages(pre), warnings: [] };
  const imagesMs = lap();

  const html = sanitizeHtml(img.html);
  const m = measure({ rawHtml: rendered, safeHtml: html });
  // Template syntax never reaches a title (tags.ts already took it out of the body).
  const heading = m.firstHeading === null ? '' : stripTemplateSyntax(m.firstHeading);
  const title = meta.title ?? (heading || fileName);
  render += lap();

  return {
    html,
    imageStats: img.stats ?? null,
    timings: { parse, render, images: imagesMs },
    record: {
      id: opts.id,
      slug: meta.slug ?? slugFromFileName(opts.key) ?? opts.id,
      title,
      date: meta.date,
      updated: meta.updated,
      author: meta.author,
      authors: meta.authors,
      categories: meta.categories,
      tags: meta.tags,
      excerpt: meta.excerpt ?? m.excerpt,
      cover: img.cover,
      wordCount: m.wordCount,
      readingMinutes: m.readingMinutes,
      imageCount: img.imageCount,
      sourceKey: opts.key,
      status: meta.draft ? 'draft' : 'published',
      warnings: [...(fm.warnings ?? []), ...meta.warnings, ...tagWarnings, ...img.warnings],
      error: null,
      images: img.images,
      ...(img.hashes?.length ? { imageHashes: img.hashes } : {}),
      frontMatter: withoutEmails(fm.data),
      sortDate: meta.date ?? meta.updated ?? opts.uploadedAt,
      publishAt: meta.draft ? null : meta.publishAt,
    },
  };
}

function countImages(html: string): number {
  return (html.match(/<img\b/gi) ?? []).length;
}

/** The record of a file that could not become an article: visible, with what to fix. */
export function failedRecord(
  id: string,
  opts: ArticleBuildOptions,
  error: ArticleError,
  now: Date,
): ArticleRecord {
  const fileName = baseName(opts.key);
  return {
    id,
    slug: slugFromFileName(opts.key) ?? id,
    title: fileName,
    date: null,
    updated: null,
    author: null,
    authors: [],
    categories: [],
    tags: [],
    excerpt: '',
    cover: null,
    wordCount: 0,
    readingMinutes: 0,
    imageCount: 0,
    sourceKey: opts.key,
    status: 'failed',
    warnings: [],
    error: { code: error.code, message: error.message },
    processedAt: now.toISOString(),
    images: [],
    frontMatter: {},
    bodyKey: null,
    sourceEtag: null,
    contentHash: null,
    pipelineVersion: 0,
    sortDate: opts.uploadedAt,
  };
}
