/**
 * What one S3 object event does to the index. S3 delivers at least once and in no fixed
 * order, so every path here is idempotent and older events never undo newer ones:
 * the index's conditional writes (on the normalized sequencer) are the arbiter.
 */
import { createHash } from 'node:crypto';
import { BODY_PREFIX, isArticleKey } from '../definitions';
import type { ArticleRecord, ArticleWriter, Logger, Metrics, ObjectStore, SearchFeed } from '../ports';
import { ObjectTooLargeError } from '../ports';
import { buildArticle, failedRecord, type ArticleBuildOptions, type ImageStep } from './article';
import { ArticleError, StaleEventError, errorMessage } from './errors';
import { compareSequencers, type ObjectEvent } from './events';

/**
 * Bump when the output for the same input changes (new fields, new image settings), so
 * unchanged uploads and `npm run reprocess` produce fresh results instead of being skipped.
 */
export const PIPELINE_VERSION = 1;

export type IngestOutcome =
  | 'published'
  | 'draft'
  | 'failed'
  | 'deleted'
  | 'unchanged'
  | 'duplicate'
  | 'stale'
  | 'ignored'
  | 'missing';

export interface IngestDeps {
  objects: ObjectStore;
  index: ArticleWriter;
  images?: ImageStep;
  log: Logger;
  /** Articles processed/failed, images re-hosted/failed (optional: tests run without). */
  metrics?: Metrics;
  /**
   * The search index, brought in step right after each article write (docs/search.md). A
   * failure fails the event, so the queue retries it; the retry finds the article already
   * written ('duplicate') and refreshes the search row from it. Rows carry the sequencer:
   * every write is idempotent and an older one never wins.
   */
  search?: SearchFeed;
  now?: () => Date;
}

export interface IngestSettings extends Omit<ArticleBuildOptions, 'key' | 'uploadedAt'> {
  incomingBucket: string;
  mediaBucket: string;
  articleMaxBytes: number;
}

/** Stable, URL-safe id for an object key: 16 chars of base64url(sha256(key)). */
export function articleId(sourceKey: string): string {
  return createHash('sha256').update(sourceKey, 'utf8').digest('base64url').slice(0, 16);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where an event's processed body goes: one per event, whatever attempt writes it. */
export function bodyKeyFor(id: string, sequencer: string): string {
  return `${BODY_PREFIX}${id}/${sequencer}-v${PIPELINE_VERSION}.html`;
}

/** Outcomes that leave this event's own body unused, should an earlier attempt have written it. */
const NO_BODY_OF_ITS_OWN = new Set<IngestOutcome>(['stale', 'missing', 'unchanged', 'duplicate', 'failed']);

export async function ingestEvent(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent): Promise<IngestOutcome> {
  if (ev.bucket !== settings.incomingBucket || !isArticleKey(ev.key)) return 'ignored';
  const id = articleId(ev.key);
  let outcome: IngestOutcome;
  try {
    outcome = ev.kind === 'removed' ? await remove(deps, settings, ev, id) : await upsert(deps, settings, ev, id);
  } catch (err) {
    if (!(err instanceof StaleEventError)) throw err;
    outcome = 'stale';
  }
  // An earlier attempt of this event may have written its body and then failed; if the
  // article does not use it now, nothing else ever will.
  if (ev.kind === 'created' && !ev.force && NO_BODY_OF_ITS_OWN.has(outcome)) {
    const own = bodyKeyFor(id, ev.sequencer);
    if ((await deps.index.getState(id))?.bodyKey !== own) await deps.objects.delete(settings.mediaBucket, own);
  }
  return outcome;
}

async function remove(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent, id: string): Promise<IngestOutcome> {
  await deps.index.remove(id, ev.key, ev.sequencer, { releaseBodies: (keys) => deleteBodies(deps, settings, keys) });
  await deps.search?.apply({ id, sequencer: ev.sequencer, record: null });
  return 'deleted';
}

async function upsert(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent, id: string): Promise<IngestOutcome> {
  const state = await deps.index.getState(id);
  if (ev.force) {
    // A reprocess request takes no place of its own in the event order: it re-runs the
    // event the index last applied, at that event's sequencer. So a newer upload or delete
    // (a higher sequencer) always wins, and a deleted article stays deleted; its re-upload,
    // if any, is handled by that upload's own event.
    if (state?.deleted) return 'stale';
    // Never indexed: the event's own (lowest possible) sequencer; any real event outranks it.
    if (state) ev = { ...ev, sequencer: state.sequencer };
  }
  const force = ev.force === true;
  if (state) {
    const order = compareSequencers(state.sequencer, ev.sequencer);
    if (order > 0) return 'stale';
    if (order === 0 && state.complete && !force) {
      // A redelivery, or the retry of an event whose search write failed after the article's.
      await deps.search?.refresh(id, state.sequencer);
      return 'duplicate';
    }
  }
  // "Unchanged" only when the stored result is complete and whole: a re-upload is how an
  // author asks to try images that failed (an origin that was down, a late asset) again.
  const current =
    state && !state.deleted && state.complete && state.imageWarnings === 0 && state.pipelineVersion === PIPELINE_VERSION && !force;
  if (current && ev.etag && state.sourceEtag === ev.etag) {
    await deps.index.touch(id, ev.sequencer);
    return 'unchanged';
  }

  const now = (deps.now ?? (() => new Date()))();
  const uploadedAt = ev.eventTime ?? now.toISOString();
  const base = { ...settings, key: ev.key, uploadedAt };
  let obj;
  const readStarted = performance.now();
  try {
    obj = await deps.objects.get(settings.incomingBucket, ev.key, { maxBytes: settings.articleMaxBytes });
  } catch (err) {
    if (!(err instanceof ObjectTooLargeError)) throw err;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const error = new ArticleError(
      'file_too_large',
      `The file is ${mib(err.size)}, over the ${mib(err.limit)} limit (ARTICLE_MAX_BYTES). Split the article or move embedded images out of the file.`,
    );
    const outcome = await save(deps, settings, ev, failedRecord(id, base, error, now), null);
    deps.metrics?.add('ArticlesFailed', 'Count', 1);
    return outcome;
  }
  // Gone since the event: a removal event for it follows (or already came) and decides.
  if (!obj) return 'missing';
  const read = Math.round(performance.now() - readStarted);

  const contentHash = sha256Hex(obj.body);
  if (current && state.contentHash === contentHash) {
    await deps.index.touch(id, ev.sequencer);
    return 'unchanged';
  }

  let record: ArticleRecord;
  let html: string | null = null;
  let built: Awaited<ReturnType<typeof buildArticle>> | null = null;
  try {
    built = await buildArticle(obj.body, { ...base, id }, deps.images && retryingOnThrow(deps.images));
    html = built.html;
    record = {
      ...built.record,
      // One body per event (its retries share it): an older event's cleanup can then never
      // delete the body of a newer event with the same content.
      bodyKey: bodyKeyFor(id, ev.sequencer),
      sourceEtag: obj.etag ?? ev.etag,
      contentHash,
      pipelineVersion: PIPELINE_VERSION,
      processedAt: now.toISOString(),
    };
  } catch (err) {
    if (err instanceof ImageStepError) throw err.original;
    const error =
      err instanceof ArticleError
        ? err
        : new ArticleError('processing_failed', 'The pipeline could not process this file. Upload it again; if it keeps failing, report the file to the operator.');
    if (!(err instanceof ArticleError)) deps.log.error('article build crashed', { key: ev.key, error: errorMessage(err) });
    record = { ...failedRecord(id, base, error, now), sourceEtag: obj.etag ?? ev.etag, contentHash };
  }
  const saveStarted = performance.now();
  const outcome = await save(deps, settings, ev, record, html);
  const steps = { read, ...built?.timings, save: Math.round(performance.now() - saveStarted) };
  const images = { rehosted: 0, failed: 0 };
  for (const ref of record.images) images[ref.status === 'rehosted' ? 'rehosted' : 'failed']++;
  deps.log.info('article processed', {
    key: ev.key,
    id,
    status: record.status,
    ...(record.error ? { error: record.error.code } : {}),
    ...(force ? { forced: true } : {}),
    imagesRehosted: images.rehosted,
    imagesFailed: images.failed,
    steps,
  });
  recordMetrics(deps.metrics, record, images, built?.imageStats ?? null);
  return outcome;
}

function recordMetrics(
  metrics: Metrics | undefined,
  record: ArticleRecord,
  images: { rehosted: number; failed: number },
  stats: { fetched: number; reused: number; bytesIn: number; bytesOut: number } | null,
): void {
  if (!metrics) return;
  metrics.add(record.status === 'failed' ? 'ArticlesFailed' : 'ArticlesProcessed', 'Count', 1);
  if (images.rehosted) metrics.add('ImagesRehosted', 'Count', images.rehosted);
  if (images.failed) metrics.add('ImagesFailed', 'Count', images.failed);
  if (stats?.fetched) metrics.add('ImagesDownloaded', 'Count', stats.fetched);
  if (stats?.reused) metrics.add('ImagesReused', 'Count', stats.reused);
  if (stats?.bytesIn) metrics.add('ImageBytesIn', 'Bytes', stats.bytesIn);
  if (stats?.bytesOut) metrics.add('ImageBytesOut', 'Bytes', stats.bytesOut);
}

/**
 * The image step turns every problem with an image into a warning and throws only when our
 * own storage fails (core/images/rehost.ts). Such an error must fail the event, so the queue
 * retries it, and not the article: a passing outage is not the author's file's fault.
 */
class ImageStepError extends Error {
  constructor(readonly original: unknown) {
    super(errorMessage(original));
  }
}

function retryingOnThrow(step: ImageStep): ImageStep {
  return (input) =>
    step(input).catch((err: unknown) => {
      throw new ImageStepError(err);
    });
}

async function deleteBodies(deps: IngestDeps, settings: IngestSettings, keys: string[]): Promise<void> {
  for (const key of keys) await deps.objects.delete(settings.mediaBucket, key);
}

async function save(
  deps: IngestDeps,
  settings: IngestSettings,
  ev: ObjectEvent,
  record: ArticleRecord,
  html: string | null,
): Promise<IngestOutcome> {
  if (html !== null && record.bodyKey) {
    // Written before the index points at it, so a reader never finds a missing body.
    await deps.objects.put(settings.mediaBucket, record.bodyKey, html, {
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'public, max-age=300',
    });
  }
  try {
    // The bodies this record replaces are deleted by way of the index, which keeps track of
    // them until they are gone (a lost answer or a retried event never forgets one).
    await deps.index.save(record, ev.sequencer, { releaseBodies: (keys) => deleteBodies(deps, settings, keys) });
    await deps.search?.apply({ id: record.id, sequencer: ev.sequencer, record, html });
  } catch (err) {
    if (err instanceof StaleEventError && record.bodyKey) {
      // A newer event won while we worked: drop our body unless the winner uses the same one.
      const now = await deps.index.getState(record.id);
      if (now?.bodyKey !== record.bodyKey) await deps.objects.delete(settings.mediaBucket, record.bodyKey);
    }
    throw err;
  }
  return record.status;
}
