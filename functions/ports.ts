/**
 * The interfaces the core needs from the outside world. Adapters in functions/adapters
 * implement them over AWS (or its emulators); tests may hand the core fakes instead.
 */
import type { Article, ArticleStatus, ArticleSummary, ImageRef, Image, Warning } from './core/types';

// ---------------------------------------------------------------------------------
// Objects (S3)
// ---------------------------------------------------------------------------------

export interface StoredObject {
  body: Uint8Array;
  etag: string | null;
  contentType: string | null;
}

export interface PutOptions {
  contentType: string;
  cacheControl?: string;
}

export interface ObjectStore {
  /**
   * Reads an object whole. Returns null when it does not exist. Throws
   * ObjectTooLargeError before reading the body when it is larger than `maxBytes`.
   */
  get(bucket: string, key: string, opts?: { maxBytes?: number }): Promise<StoredObject | null>;
  put(bucket: string, key: string, body: Uint8Array | string, opts: PutOptions): Promise<void>;
  /** Deleting a missing object is not an error. */
  delete(bucket: string, key: string): Promise<void>;
  exists(bucket: string, key: string): Promise<boolean>;
}

export class ObjectTooLargeError extends Error {
  override readonly name = 'ObjectTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`object is ${size} bytes, over the limit of ${limit}`);
  }
}

// ---------------------------------------------------------------------------------
// The article index (DynamoDB)
// ---------------------------------------------------------------------------------

/** Facets an article is listed under. `slug` is listed but not counted. */
export type Facet = 'category' | 'tag' | 'author' | 'slug';
export type CountedFacet = 'category' | 'tag' | 'author';

/** What the index keeps about an article, beyond its summary. */
export interface ArticleRecord extends ArticleSummary {
  images: ImageRef[];
  frontMatter: Record<string, unknown>;
  /** Key of the processed body in the media bucket, or null (failed articles). */
  bodyKey: string | null;
  /** ETag of the source object, as S3 reported it. */
  sourceEtag: string | null;
  /** sha256 of the source bytes. */
  contentHash: string | null;
  /** Bumped when the pipeline's output for the same input changes (reprocessing). */
  pipelineVersion: number;
  /** The date the article sorts by: date, else updated, else the upload time. ISO. */
  sortDate: string;
}

/** What the ingest path needs to decide whether an event changes anything. */
export interface IndexState {
  id: string;
  /** Normalized sequencer of the newest applied event (see core/events.ts). */
  sequencer: string;
  deleted: boolean;
  sourceEtag: string | null;
  contentHash: string | null;
  pipelineVersion: number;
  bodyKey: string | null;
  status: ArticleStatus | null;
  /** False while (or if a crash left) the listings and counts not yet in step with the article. */
  complete: boolean;
  /** Image warnings of the stored result: a re-upload of the same bytes then tries them again. */
  imageWarnings: number;
}

export interface ArticleWriter {
  getState(id: string): Promise<IndexState | null>;
  /**
   * Stores the article and its listings for the event with `sequencer`, keeping the
   * per-facet counts exact. Throws StaleEventError if a newer event was applied.
   * Returns the body key the article had before, so the caller can delete it.
   */
  save(record: ArticleRecord, sequencer: string, opts?: WriteOptions): Promise<void>;
  /** Deletes the article (keeping a tombstone with the sequencer). Stale: StaleEventError. */
  remove(id: string, sourceKey: string, sequencer: string, opts?: WriteOptions): Promise<void>;
  /** Records that an event with unchanged content was seen. Stale: StaleEventError. */
  touch(id: string, sequencer: string): Promise<void>;
}

export interface ListQuery {
  status: ArticleStatus;
  facet?: { name: Facet; value: string };
  /** Inclusive ISO bounds on the sort date. */
  from?: string;
  to?: string;
  limit: number;
  /** Opaque position from a previous page (already verified by the API). */
  after?: Record<string, string>;
}

export interface ListPage {
  items: ArticleSummary[];
  /** Position after the last item, or null when there are no more. */
  next: Record<string, string> | null;
}

export interface ArticleReader {
  get(id: string): Promise<ArticleRecord | null>;
  list(query: ListQuery): Promise<ListPage>;
  counts(facet: CountedFacet): Promise<{ name: string; count: number }[]>;
}

export type { Article, Image, ImageRef, Warning };

// ---------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------

export interface FetchedImage {
  bytes: Uint8Array;
  /** The URL the bytes came from, after redirects. */
  finalUrl: string;
  /** As the origin claimed it; never trusted for the type (sniff the bytes). */
  contentType: string | null;
}

/**
 * Downloads an image from a URL a stranger wrote, safely (functions/adapters/http-fetcher.ts).
 * Throws ImageError (core/errors.ts) with a stable code on every failure.
 */
export interface ImageFetcher {
  fetch(url: string, opts?: { signal?: AbortSignal }): Promise<FetchedImage>;
}

// ---------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

// ---------------------------------------------------------------------------------
// Image processing and the re-hosted image records
// ---------------------------------------------------------------------------------

/** Formats the encoder writes: the modern ones the config asks for, and the fallbacks. */
export type EncodedFormat = 'webp' | 'avif' | 'jpeg' | 'png' | 'gif';

export interface EncodeSettings {
  /** Target widths, ascending (config IMAGE_WIDTHS). */
  widths: number[];
  /** Modern formats (config IMAGE_FORMATS). */
  formats: ('webp' | 'avif')[];
  /** Largest decoded image, all frames together (config IMAGE_MAX_PIXELS). */
  maxPixels: number;
}

export interface EncodedVariant {
  format: EncodedFormat;
  contentType: string;
  width: number;
  height: number;
  bytes: Uint8Array;
}

export interface EncodedImage {
  /** The source's size after EXIF orientation (SVG: its rasterized size). */
  width: number;
  height: number;
  animated: boolean;
  /** The always-written format: jpeg (opaque), png (transparent), gif (animated). */
  fallback: 'jpeg' | 'png' | 'gif';
  variants: EncodedVariant[];
  /** A tiny blurred data URI, or null. */
  placeholder: string | null;
  /** Dominant colour `#rrggbb`, or null. */
  color: string | null;
}

/**
 * Turns image bytes into resized, re-encoded, metadata-free variants
 * (functions/adapters/sharp-encoder.ts). Throws ImageError (image_not_an_image,
 * image_corrupt, image_too_many_pixels).
 */
export interface ImageEncoder {
  /**
   * Names everything that decides the output for given bytes (encoder settings,
   * widths, formats). Part of the content hash, so a settings change re-encodes.
   */
  transformKey(settings: Pick<EncodeSettings, 'widths' | 'formats'>): string;
  encode(bytes: Uint8Array, settings: EncodeSettings): Promise<EncodedImage>;
}

/** One stored variant; `key` is relative to the media bucket (URLs are built on output). */
export interface StoredVariant {
  key: string;
  width: number;
  height: number;
  size: number;
}

/** What is kept about one re-hosted source image (for one transform key). */
export interface ImageRecord {
  /** sha256(source bytes + transform key), first 32 hex digits. */
  hash: string;
  transformKey: string;
  /** Size of the source bytes. */
  sourceBytes: number;
  /** Size of the largest variant. */
  width: number;
  height: number;
  animated: boolean;
  /** The fallback format's variants, ascending width. */
  fallback: { type: string; variants: StoredVariant[] };
  /** Modern formats, in order of preference (avif before webp). */
  sources: { type: string; variants: StoredVariant[] }[];
  placeholder: string | null;
  color: string | null;
  createdAt: string;
}

/**
 * Remembers re-hosted images so the same URL or the same bytes are never fetched or
 * encoded twice (functions/adapters/dynamo-image-records.ts).
 */
export interface ImageRecordStore {
  getByUrl(url: string, transformKey: string): Promise<ImageRecord | null>;
  getByHash(hash: string, transformKey: string): Promise<ImageRecord | null>;
  /** Stores the record and, when given, remembers that `url` serves these bytes. */
  put(record: ImageRecord, opts?: { url?: string }): Promise<void>;
}

// ---------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/**
 * Business metrics (CloudWatch EMF in Lambda, functions/adapters/powertools.ts). Adding
 * never throws; the handler flushes once per invocation.
 */
export interface Metrics {
  add(name: string, unit: MetricUnit, value: number): void;
  /** Publishes what was added since the last flush, if anything; never throws. */
  flush(): void;
}

/** Options of ArticleWriter.save/remove. */
export interface WriteOptions {
  /**
   * Deletes bodies the article no longer uses. Called before the write is marked complete,
   * so one that throws leaves the keys recorded for the event's retry (or the next event).
   */
  releaseBodies?: (bodyKeys: string[]) => Promise<void>;
}

// ---------------------------------------------------------------------------------
// SQL (the search index: PGlite locally and in tests, Aurora through the Data API in AWS)
// ---------------------------------------------------------------------------------

export type SqlValue = string | number | boolean | null;

/**
 * One statement at a time, named parameters written `:name` (the Data API's syntax; the
 * PGlite adapter rewrites them to `$n`). Rows come back as plain objects of text, numbers
 * and booleans: queries cast anything else (timestamps, jsonb) to text, so both adapters
 * return the same values.
 */
export interface SqlDriver {
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, SqlValue>): Promise<{ rows: T[]; rowCount: number }>;
}

/** One state change of an article, as the search index sees it. */
export interface SearchChange {
  id: string;
  /** The event's normalized sequencer: an older one never replaces a newer row. */
  sequencer: string;
  /** The article as stored, or null when it was deleted. */
  record: ArticleRecord | null;
  /** The processed body (HTML), when the caller has it in hand. */
  html?: string | null;
}

/** Keeps the search index in step with the article index (core/search/feed.ts). */
export interface SearchFeed {
  apply(change: SearchChange): Promise<void>;
  /** Re-reads the stored article and applies it: for a retried event whose article write had already landed. */
  refresh(id: string, sequencer: string): Promise<void>;
}
