/**
 * Re-hosts an article's images: discover, fetch (or read from the upload bucket, or
 * decode a data: URI), encode, store content-addressed in the media bucket, remember in
 * the image records, rewrite the body. Pure apart from the ports it is handed.
 *
 * - Each distinct source is processed once per article, however often it is referenced,
 *   and the same bytes under different addresses are encoded once.
 * - Across articles and uploads, a remote URL already re-hosted is not fetched again
 *   (record by URL), and bytes already re-hosted are not encoded again (record by hash).
 *   Objects from the upload bucket and data: URIs are always read (they can change under
 *   the same name, and reading them is cheap), then looked up by hash.
 * - Sources are processed concurrently, at most `concurrency` at a time, each from
 *   download to upload, so one's download overlaps another's encoding.
 * - A bad image (ImageError) never fails the article: it keeps its original address and
 *   the article gets a warning. Errors of our own storage (media bucket, records, reading
 *   the upload bucket) are thrown, so the event is retried rather than published with
 *   images needlessly left on their original hosts.
 */
import { createHash } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ImageConfig } from '../../config';
import { IMAGE_PREFIX } from '../../definitions';
import {
  ObjectTooLargeError,
  type EncodedFormat,
  type EncodedImage,
  type EncodedVariant,
  type ImageEncoder,
  type ImageFetcher,
  type ImageRecord,
  type ImageRecordStore,
  type ObjectStore,
  type StoredVariant,
} from '../../ports';
import { ImageError, errorMessage } from '../errors';
import type { Image, ImageRef, Warning } from '../types';
import { discoverImages, type Candidate, type ImageSource } from './discover';
import { rewriteImages, type RefOutcome } from './rewrite';

export const IMAGE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const DEFAULT_IMAGE_CONCURRENCY = 4;
/**
 * An article's downloads together get this many IMAGE_FETCH_TIMEOUT_MS. Without a budget,
 * an article with hundreds of images on a silent origin would take hundreds of timeouts,
 * outlive the Lambda and end as a dead letter instead of a published article with warnings.
 */
export const IMAGE_BUDGET_TIMEOUTS = 3;
/**
 * Distinct image sources an article re-hosts; the rest keep their addresses (with a
 * warning). Each source costs a read, and the article's images list is bounded too
 * (core/bounds.ts): 4,000 `<img>` tags to missing files must not cost 4,000 reads.
 */
export const MAX_IMAGE_SOURCES = 200;

const EXTENSIONS: Record<EncodedFormat, string> = { webp: 'webp', avif: 'avif', jpeg: 'jpg', png: 'png', gif: 'gif' };
/** Order of `<source>` elements: the browser takes the first it supports. */
const MODERN_ORDER: EncodedFormat[] = ['avif', 'webp'];

export interface RehostDeps {
  fetcher: ImageFetcher;
  encoder: ImageEncoder;
  /** Where variants are written (mediaBucket). */
  media: ObjectStore;
  records: ImageRecordStore;
  /** Where relative paths are read from (incomingBucket). */
  incoming: ObjectStore;
}

export interface RehostInput {
  /** Rendered HTML, before sanitizing. */
  html: string;
  frontMatter: Record<string, unknown>;
  /** The article's key in the upload bucket, decoded. */
  articleKey: string;
  incomingBucket: string;
  mediaBucket: string;
  mediaBaseUrl: string;
  image: ImageConfig;
  /** Sources processed at once (default 4). */
  concurrency?: number;
  /** Time for all downloads of the article (default IMAGE_BUDGET_TIMEOUTS × fetchTimeoutMs). */
  budgetMs?: number;
  /** Distinct sources re-hosted at most (default MAX_IMAGE_SOURCES). */
  maxSources?: number;
}

export interface RehostStats {
  /** Sources downloaded or read from the upload bucket. */
  fetched: number;
  /** Sources found already re-hosted (by URL or by content). */
  reused: number;
  /** Distinct sources that could not be re-hosted. */
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

export interface RehostResult {
  /** Distinct hashes of the images the body and cover now use. */
  hashes: string[];
  html: string;
  cover: Image | null;
  images: ImageRef[];
  imageCount: number;
  warnings: Warning[];
  stats: RehostStats;
}

type SourceResult = { ok: true; record: ImageRecord } | { ok: false; error: ImageError };
/** `fresh`: encoded and stored just now, not found in the records. */
type Encoded = { ok: true; record: ImageRecord; fresh: boolean } | { ok: false; error: ImageError };

export async function rehostImages(deps: RehostDeps, input: RehostInput): Promise<RehostResult> {
  const disc = discoverImages(input.html, input.frontMatter, {
    articleKey: input.articleKey,
    incomingBucket: input.incomingBucket,
  });
  const run = new Run(deps, input);
  if (disc.body.length === 0 && disc.cover.length === 0) {
    return { html: input.html, cover: null, images: [], imageCount: 0, warnings: [], stats: run.stats, hashes: [] };
  }

  const body = disc.body.map((ref) => run.firstWorking(ref.candidates, ref.original));
  const cover = disc.cover.length > 0 ? run.firstWorking(disc.cover, disc.cover[0]!.raw) : Promise.resolve(null);
  // Let everything settle before giving up on a storage error: nothing is left running.
  const settled = await Promise.allSettled([...body, cover]);
  const broken = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (broken) throw broken.reason;
  const values = settled.map((s) => (s as PromiseFulfilledResult<RefOutcome | null>).value);

  const bodyOutcomes = values.slice(0, -1) as RefOutcome[];
  const coverOutcome = values[values.length - 1] ?? null;
  // The cover (front matter's, else the first re-hosted body image) also gets social cards.
  const coverRecord = [coverOutcome, ...bodyOutcomes].find((o): o is Extract<RefOutcome, { ok: true }> => !!o?.ok)?.record;
  let social: ImageRecord['social'] | undefined;
  const socialWarnings: Warning[] = [];
  if (coverRecord) {
    try {
      social = await run.socialCards(coverRecord);
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      socialWarnings.push({ code: 'image_social_cards_failed', message: `No social cards were cut from the cover: ${err.message}` });
    }
  }
  const out = rewriteImages(disc, bodyOutcomes, coverOutcome, input.mediaBaseUrl, social);
  const hashes = [...new Set(values.flatMap((v) => (v?.ok ? [v.record.hash] : [])))];
  return { ...out, warnings: [...out.warnings, ...socialWarnings], stats: run.stats, hashes };
}

/** One article's worth of work: the per-source memo, the concurrency bound, the counters. */
class Run {
  readonly stats: RehostStats = { fetched: 0, reused: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  private readonly memo = new Map<string, Promise<SourceResult>>();
  private readonly byHash = new Map<string, Promise<Encoded>>();
  private readonly failedKeys = new Set<string>();
  private readonly limit: LimitFunction;
  private readonly transformKey: string;
  private readonly budgetMs: number;
  /** After this, no download starts, and those running are cut short. */
  private readonly deadline: number;

  constructor(
    private readonly deps: RehostDeps,
    private readonly input: RehostInput,
  ) {
    this.limit = pLimit(Math.max(1, input.concurrency ?? DEFAULT_IMAGE_CONCURRENCY));
    this.transformKey = deps.encoder.transformKey(input.image);
    this.budgetMs = input.budgetMs ?? IMAGE_BUDGET_TIMEOUTS * input.image.fetchTimeoutMs;
    this.deadline = Date.now() + this.budgetMs;
  }

  /**
   * The cover's social cards: from the record when it has them (same settings), else cut
   * from its largest re-hosted fallback variant (already oriented and in sRGB, and there
   * whether the image was fetched now or reused by URL), stored content-addressed beside
   * the variants, and remembered in the record.
   */
  async socialCards(record: ImageRecord): Promise<NonNullable<ImageRecord['social']>> {
    const { encoder, media, records } = this.deps;
    const key = encoder.socialKey();
    if (record.social?.key === key) return record.social;
    const largest = record.fallback.variants[record.fallback.variants.length - 1]!;
    const obj = await media.get(this.input.mediaBucket, largest.key);
    if (!obj) throw new ImageError('image_not_found', `the re-hosted copy ${largest.key} is missing from the media bucket`);
    const cards = await encoder.socialCards(obj.body);
    const store = async (name: 'og' | 'square', v: EncodedVariant): Promise<StoredVariant> => {
      const k = `${IMAGE_PREFIX}${record.hash}/social/${key}-${name}.jpg`;
      await media.put(this.input.mediaBucket, k, v.bytes, { contentType: v.contentType, cacheControl: IMAGE_CACHE_CONTROL });
      this.stats.bytesOut += v.bytes.byteLength;
      return { key: k, width: v.width, height: v.height, size: v.bytes.byteLength };
    };
    const [og, square] = await Promise.all([store('og', cards.og), store('square', cards.square)]);
    const social = { key, og, square };
    await records.put({ ...record, social });
    return social;
  }

  /** Tries the candidates best first; the first that re-hosts wins. */
  async firstWorking(candidates: Candidate[], original: string): Promise<RefOutcome> {
    const failures: { raw: string; error: ImageError }[] = [];
    for (const c of candidates) {
      const result: SourceResult = c.source ? await this.source(c.source) : { ok: false, error: c.error! };
      if (result.ok) return { ok: true, record: result.record, sourceKey: c.source!.key, raw: c.raw };
      if (!c.source) this.countFailure(`raw:${c.raw}`);
      failures.push({ raw: c.raw, error: result.error });
    }
    // Report the address the article shows, if it was tried; else the best one.
    const reported = failures.find((f) => f.raw === original) ?? failures[0];
    const error = reported?.error ?? new ImageError('image_unsupported_url', 'the image has no usable address');
    return { ok: false, raw: reported?.raw ?? original, error: { code: error.code, message: error.message } };
  }

  private source(src: ImageSource): Promise<SourceResult> {
    let p = this.memo.get(src.key);
    const max = this.input.maxSources ?? MAX_IMAGE_SOURCES;
    if (!p && this.memo.size >= max) {
      this.countFailure(src.key);
      const error = new ImageError('image_too_many', `not re-hosted: the article has more than ${max} distinct images`);
      return Promise.resolve({ ok: false, error });
    }
    if (!p) {
      p = this.limit(() => this.process(src));
      this.memo.set(src.key, p);
    }
    return p;
  }

  private countFailure(key: string): void {
    if (this.failedKeys.has(key)) return;
    this.failedKeys.add(key);
    this.stats.failed++;
  }

  private async process(src: ImageSource): Promise<SourceResult> {
    const { records } = this.deps;
    const tk = this.transformKey;
    const fail = (error: ImageError): SourceResult => {
      this.countFailure(src.key);
      return { ok: false, error };
    };

    if (src.kind === 'remote') {
      const known = await records.getByUrl(src.url, tk);
      if (known) {
        this.stats.reused++;
        return { ok: true, record: known };
      }
    }

    let bytes: Uint8Array;
    try {
      bytes = await this.load(src);
    } catch (err) {
      if (err instanceof ImageError) return fail(err);
      throw err;
    }
    this.stats.bytesIn += bytes.byteLength;
    const url = src.kind === 'remote' ? { url: src.url } : undefined;

    const hash = createHash('sha256').update(bytes).update(`\n${tk}`).digest('hex').slice(0, 32);
    // The same bytes under another address earlier in this article: wait for that one.
    let byContent = this.byHash.get(hash);
    const first = !byContent;
    if (!byContent) {
      byContent = this.encodeOnce(hash, bytes);
      this.byHash.set(hash, byContent);
    }
    const result = await byContent;
    if (!result.ok) return fail(result.error);
    const fresh = first && result.fresh;
    if (!fresh) this.stats.reused++;
    // A new record is stored with this URL; a known one learns this URL.
    if (fresh || url) await records.put(result.record, url);
    return { ok: true, record: result.record };
  }

  /** Looks the bytes up, else encodes and stores them. */
  private async encodeOnce(hash: string, bytes: Uint8Array): Promise<Encoded> {
    const known = await this.deps.records.getByHash(hash, this.transformKey);
    if (known) return { ok: true, record: known, fresh: false };

    let encoded: EncodedImage;
    try {
      encoded = await this.deps.encoder.encode(bytes, {
        widths: this.input.image.widths,
        formats: this.input.image.formats,
        maxPixels: this.input.image.maxPixels,
      });
    } catch (err) {
      if (err instanceof ImageError) return { ok: false, error: err };
      return { ok: false, error: new ImageError('image_corrupt', 'the image could not be processed') };
    }
    if (!encoded.variants.some((v) => v.format === encoded.fallback)) {
      return { ok: false, error: new ImageError('image_corrupt', 'the image could not be processed') };
    }
    return { ok: true, record: await this.store(hash, bytes.byteLength, encoded), fresh: true };
  }

  private async load(src: ImageSource): Promise<Uint8Array> {
    const maxBytes = this.input.image.maxBytes;
    if (src.kind === 'data') {
      if (src.bytes.byteLength > maxBytes) {
        const size = src.bytes.byteLength;
        throw new ImageError('image_too_large', `the data: image is ${size} bytes, over the limit of ${maxBytes}`);
      }
      return src.bytes;
    }
    this.stats.fetched++;
    if (src.kind === 'remote') {
      const outOfTime = () => new ImageError('image_timeout', `not downloaded: the article's images used up their time (${this.budgetMs} ms)`);
      const left = this.deadline - Date.now();
      if (left <= 0) throw outOfTime();
      const signal = AbortSignal.timeout(left);
      try {
        return (await this.deps.fetcher.fetch(src.url, { signal })).bytes;
      } catch (err) {
        if (signal.aborted) throw outOfTime();
        // Whatever goes wrong talking to a stranger's server is that image's problem.
        if (err instanceof ImageError) throw err;
        throw new ImageError('image_fetch_failed', `the image could not be downloaded: ${errorMessage(err)}`);
      }
    }
    let obj;
    try {
      obj = await this.deps.incoming.get(src.bucket, src.objectKey, { maxBytes });
    } catch (err) {
      if (err instanceof ObjectTooLargeError) {
        const what = `"${src.objectKey}" is ${err.size} bytes`;
        throw new ImageError('image_too_large', `${what}, over the limit of ${maxBytes}`);
      }
      throw err;
    }
    if (!obj) throw new ImageError('image_not_found', `there is no "${src.objectKey}" in the upload bucket`);
    return obj.body;
  }

  /** Writes every variant under img/<hash>/<width>.<ext> and builds the record. */
  private async store(hash: string, sourceBytes: number, encoded: EncodedImage): Promise<ImageRecord> {
    const byFormat = new Map<EncodedFormat, StoredVariant[]>();
    await Promise.all(
      encoded.variants.map(async (v) => {
        const key = `${IMAGE_PREFIX}${hash}/${v.width}.${EXTENSIONS[v.format]}`;
        await this.deps.media.put(this.input.mediaBucket, key, v.bytes, {
          contentType: v.contentType,
          cacheControl: IMAGE_CACHE_CONTROL,
        });
        this.stats.bytesOut += v.bytes.byteLength;
        const list = byFormat.get(v.format) ?? [];
        list.push({ key, width: v.width, height: v.height, size: v.bytes.byteLength });
        byFormat.set(v.format, list);
      }),
    );
    const sorted = (f: EncodedFormat) => (byFormat.get(f) ?? []).sort((a, b) => a.width - b.width);
    const fallback = sorted(encoded.fallback);
    const largest = fallback[fallback.length - 1]!;
    return {
      hash,
      transformKey: this.transformKey,
      sourceBytes,
      width: largest.width,
      height: largest.height,
      animated: encoded.animated,
      fallback: { type: `image/${encoded.fallback}`, variants: fallback },
      sources: MODERN_ORDER.filter((f) => byFormat.has(f)).map((f) => ({ type: `image/${f}`, variants: sorted(f) })),
      placeholder: encoded.placeholder,
      color: encoded.color,
      createdAt: new Date().toISOString(),
    };
  }
}
