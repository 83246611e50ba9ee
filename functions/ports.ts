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
