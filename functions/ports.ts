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

/** The object store the ingest path works on: it also asks what a key serves now. */
export interface IngestObjectStore extends ObjectStore {
  /** What the bucket serves for the key now (its current version), or null. */
  head(bucket: string, key: string): Promise<ObjectHead | null>;
}

export interface ObjectHead {
  etag: string | null;
  size: number | null;
  /** ISO. */
  lastModified: string | null;
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
  /**
   * Hashes of every re-hosted image the body and cover use, distinct: what keeps them
   * from the media sweeper (core/media-gc.ts). Never cut short, unlike `images` may be.
   */
  imageHashes?: string[];
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
  /** When a `scheduled` article goes live (publishDate, else date); null when not scheduled. ISO. */
  publishAt?: string | null;
}

/** One listing item of an article, as the article item records it (adapter-defined keys). */
export interface IndexListing {
  sk: string;
  facet: string;
  key: string;
  name: string;
}

/** What the ingest path needs to decide whether an event changes anything, and to write the change. */
export interface IndexState {
  id: string;
  /** Normalized sequencer of the newest applied event (see core/events.ts). */
  sequencer: string;
  /** Revision of the article item: bumped by every transition, which is conditioned on it. */
  rev: number;
  deleted: boolean;
  sourceEtag: string | null;
  contentHash: string | null;
  pipelineVersion: number;
  bodyKey: string | null;
  status: ArticleStatus | null;
  /** Image warnings of the stored result: a re-upload of the same bytes then tries them again. */
  imageWarnings: number;
  /** The listing items that exist for this revision (the next transition replaces them). */
  listings: IndexListing[];
  /** Bodies replaced by a transition and not deleted yet (see ArticleWriter.forgetBodies). */
  supersededBodyKeys: string[];
  slug: string | null;
  title: string | null;
  /** The outbox: the event of the transition that made this revision, until it is published. */
  pendingEvent: PublishEvent | null;
}

/** What a transition wrote: the new revision and the bodies it replaced (delete them, then forgetBodies). */
export interface Transition {
  rev: number;
  superseded: string[];
}

/**
 * Every change to an article is ONE conditional write, conditioned on the revision in the
 * state the event read (null: nothing was there). If the article changed since, the write
 * throws LostRaceError and changes nothing: the event reads again and decides again.
 * Readers never see a half-applied change.
 */
export interface ArticleWriter {
  getState(id: string): Promise<IndexState | null>;
  /**
   * Publishes/updates the article with its listings and exact counts, for the event `sequencer`.
   * `event` (the state change, if any) is stored in the same write as the pending event.
   */
  save(record: ArticleRecord, sequencer: string, read: IndexState | null, event?: PublishEvent | null): Promise<Transition>;
  /** Replaces the article with a tombstone carrying `sequencer` (older events then lose). */
  remove(id: string, sourceKey: string, sequencer: string, read: IndexState | null, event?: PublishEvent | null): Promise<Transition>;
  /** Drops the pending event once published, if the article is still at `rev`. Not a transition: `rev` stays. */
  clearEvent(id: string, rev: number): Promise<void>;
  /** The same content was uploaded again: only the sequencer (and ETag) move on. */
  touch(id: string, sequencer: string, read: IndexState, etag: string | null): Promise<Transition>;
  /**
   * Drops `keys` from the superseded bodies once they are deleted, if the article is still at
   * `rev` (a newer transition carries them on and deletes them itself).
   */
  forgetBodies(id: string, rev: number): Promise<void>;
}

// ---------------------------------------------------------------------------------
// Publishing: scheduled posts and publish events
// ---------------------------------------------------------------------------------

/**
 * Runs the article through the pipeline again at `at` (ISO), as `npm run reprocess` would:
 * a scheduled article then becomes published. Idempotent per (id, at); a spare or early run
 * is harmless (the reprocess finds the article still scheduled, or changed, and says so).
 */
export interface PublishScheduler {
  schedule(sourceKey: string, id: string, at: string): Promise<void>;
}

export type PublishEventType = 'published' | 'updated' | 'unpublished' | 'failed' | 'scheduled';

/** One state change of an article (the EventBridge `detail`; `type` is its detail-type). */
export interface PublishEvent {
  type: PublishEventType;
  /** `${id}:${rev}`: the same for every delivery of one state change. */
  idempotencyId: string;
  id: string;
  slug: string | null;
  /** The new status; null when deleted. */
  status: ArticleStatus | null;
  previousStatus: ArticleStatus | null;
  sourceKey: string;
  title: string | null;
  /** The public URL (ARTICLE_URL_TEMPLATE), or null when not configured. */
  url: string | null;
  /** When the state change was written. ISO. */
  time: string;
}

/** Delivers publish events at least once (EventBridge, or the local file and webhook). */
export interface EventPublisher {
  publish(event: PublishEvent): Promise<void>;
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

/** What a link to an article is built from (feeds, sitemap). */
export interface LinkEntry {
  id: string;
  slug: string;
  date: string | null;
  updated: string | null;
}

export interface LinkPage {
  items: LinkEntry[];
  /** Position after the last item, or null when there are no more. */
  next: Record<string, string> | null;
}

export interface ArticleReader {
  get(id: string): Promise<ArticleRecord | null>;
  list(query: ListQuery): Promise<ListPage>;
  counts(facet: CountedFacet): Promise<{ name: string; count: number }[]>;
  /** Body keys of these articles (absent or null: no body), in one batched read. At most 100 ids. */
  bodyKeys(ids: string[]): Promise<Map<string, string | null>>;
  /**
   * Published articles newest first, only the fields links need: a query on the listing
   * index that follows DynamoDB's pages (up to `limit` items per call, fewer at 1 MB).
   */
  linkPage(opts: { limit: number; after?: Record<string, string> }): Promise<LinkPage>;
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
  /** Names the social cards' settings: stored with the cards, so a change cuts new ones. */
  socialKey(): string;
  /**
   * Cuts the link-preview cards from an image (a cover's largest re-hosted variant):
   * 1200×630 and 1080×1080 JPEG, cropped where the image's subject is. Throws ImageError.
   */
  socialCards(bytes: Uint8Array): Promise<{ og: EncodedVariant; square: EncodedVariant }>;
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
  /** Social cards, cut the first time the image is a cover (`key`: ImageEncoder.socialKey()). */
  social?: { key: string; og: StoredVariant; square: StoredVariant };
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

// ---------------------------------------------------------------------------------
// Media garbage collection (functions/core/media-gc.ts)
// ---------------------------------------------------------------------------------

export interface ObjectInfo {
  key: string;
  lastModified: Date;
}

/** What the media sweeper needs of the media bucket beyond ObjectStore. */
export interface MediaObjectLister {
  /** Every object under `prefix`, a page at a time. */
  list(bucket: string, prefix: string): AsyncIterable<ObjectInfo[]>;
  /** When the object was last written, or null when it does not exist. */
  lastModified(bucket: string, key: string): Promise<Date | null>;
  /** Deletes the objects (missing ones are no error). */
  deleteMany(bucket: string, keys: string[]): Promise<void>;
}

/** The collection state of one image record, as the sweeper read it. Times: epoch ms. */
export interface GcImageState {
  hash: string;
  transformKey: string;
  /** Set by a sweep that found no article using the image; cleared by any new reference. */
  unreferencedSince: number | null;
  /** Set when a sweep has committed to removing the image (its files go, then the record). */
  condemnedAt: number | null;
}

/** One consistent pass over the index: what live articles use, and every image record. */
export interface MediaReferences {
  /** Hashes of the re-hosted images that live articles use (body images and covers). */
  images: Set<string>;
  /** Body keys live articles point to. */
  bodies: Set<string>;
  records: GcImageState[];
  /** Per image hash, opaque handles of the URL items that point at it. */
  urls: Map<string, string[]>;
  /** Items the pass read, and the read capacity it consumed. */
  itemsRead: number;
  capacityUnits: number;
}

/**
 * The index side of the media sweeper (functions/adapters/dynamo-media-gc.ts). Every change
 * is conditional on the state the sweeper read, so a concurrent reference by ingest wins.
 */
export interface MediaGcStore {
  references(): Promise<MediaReferences>;
  /** Marks the record unreferenced since `at`, unless it is marked or condemned already. */
  mark(hash: string, transformKey: string, at: number): Promise<boolean>;
  /** Clears the mark (and a condemnation) of a record an article uses again, if unchanged. */
  unmark(state: GcImageState): Promise<void>;
  /**
   * Commits to removing the image, on condition that the record is still as read
   * (`expected`), or, for files without a record (`expected` null), that none exists:
   * a claim that makes ingest wait until the files are gone. False: something changed.
   */
  condemn(hash: string, transformKey: string, expected: Pick<GcImageState, 'unreferencedSince' | 'condemnedAt'> | null, at: number): Promise<boolean>;
  /** Deletes the URL items (those still pointing at `hash`), then the condemned record. */
  forget(hash: string, transformKey: string, condemnedAt: number, urls: string[]): Promise<void>;
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
