/**
 * The product's data shapes, as ../shared/CONTRACT.md names them.
 * Pure types: no runtime code, no AWS imports.
 */

/** `scheduled`: published, but its publish time is still ahead (listed under its own status, never counted). */
export type ArticleStatus = 'published' | 'scheduled' | 'draft' | 'failed';

export interface Warning {
  /** Stable, machine-readable code (e.g. `image_not_found`). */
  code: string;
  message: string;
  url?: string;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

/** A re-hosted image as the API shows it (cover, and entries of the processed body). */
export interface Image {
  /** Re-hosted fallback (JPEG or PNG) URL of the largest variant. */
  url: string;
  width: number;
  height: number;
  /** `srcset` of the fallback format. */
  srcset: string;
  /** One entry per modern format (`image/webp`, `image/avif`). */
  sources: { type: string; srcset: string }[];
  /** Tiny data URI (blurred) or hash. */
  placeholder: string | null;
  /** Dominant colour, `#rrggbb`. */
  color?: string | null;
  /** The URL exactly as written in the article. */
  original: string;
  /** The cover only: cards cut for link previews; null or absent when none could be cut. */
  social?: SocialCards | null;
}

export interface SocialCard {
  url: string;
  width: number;
  height: number;
}

/** The cover cut for link previews, attention-cropped (the subject stays in frame). */
export interface SocialCards {
  /** Open Graph / Twitter large card: 1200×630. */
  og: SocialCard;
  /** 1080×1080. */
  square: SocialCard;
}

/** `Article.images[]`: one entry per image reference. */
export interface ImageRef {
  original: string;
  status: 'rehosted' | 'failed';
  url?: string;
  width?: number;
  height?: number;
  error?: ErrorInfo;
}

export interface ArticleSummary {
  id: string;
  slug: string;
  title: string;
  date: string | null;
  updated: string | null;
  author: string | null;
  authors: string[];
  categories: string[];
  tags: string[];
  excerpt: string;
  cover: Image | null;
  wordCount: number;
  readingMinutes: number;
  imageCount: number;
  sourceKey: string;
  status: ArticleStatus;
  warnings: Warning[];
  error: ErrorInfo | null;
  processedAt: string;
}

export interface Article extends ArticleSummary {
  html: string;
  images: ImageRef[];
  frontMatter: Record<string, unknown>;
}

/** Output of the front-matter step. */
export interface ParsedFrontMatter {
  /** Which dialect was found. `none` when the file has no front matter. */
  format: 'yaml' | 'toml' | 'json' | 'none';
  data: Record<string, unknown>;
  /** The body after the front matter (BOM stripped, line endings normalized to \n). */
  body: string;
  /** Non-fatal findings (duplicate keys, ignored tags); pass them on to normalizeMeta. */
  warnings?: Warning[];
}

/** Normalized metadata fields derived from front matter (before the body is looked at). */
export interface NormalizedMeta {
  title: string | null;
  date: string | null;
  updated: string | null;
  /** publishDate / publish_date, else the date: a future one makes the article scheduled. ISO. */
  publishAt: string | null;
  author: string | null;
  authors: string[];
  categories: string[];
  tags: string[];
  slug: string | null;
  /** Excerpt given explicitly in front matter (excerpt, description, summary). */
  excerpt: string | null;
  draft: boolean;
  warnings: Warning[];
}

/** Output of the body step. */
export interface RenderedBody {
  /** Sanitized HTML. */
  html: string;
  /** Text content of the first h1, if any. */
  firstHeading: string | null;
  /** Excerpt: text before `<!-- more -->`, else ~200 chars of text. */
  excerpt: string;
  wordCount: number;
  readingMinutes: number;
}
