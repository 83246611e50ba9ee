/**
 * What one S3 object event does to the index. S3 delivers at least once and in no fixed
 * order, so every path here is idempotent and older events never undo newer ones.
 *
 * Each event reads the article's state, decides (stale, duplicate, unchanged, publish,
 * delete), and applies its decision as ONE conditional write conditioned on the revision
 * it read (ports.ts ArticleWriter). If another event's write landed in between, the write
 * changes nothing and the event reads and decides again (`decide`). The expensive part
 * (reading the object, building the article, writing its body) happens at most once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BODY_PREFIX, isArticleKey } from '../definitions';
import type {
  ArticleRecord,
  ArticleWriter,
  EventPublisher,
  IndexState,
  IngestObjectStore,
  Logger,
  Metrics,
  PublishEvent,
  PublishScheduler,
  SearchFeed,
  StoredObject,
  Transition,
} from '../ports';
import { ObjectTooLargeError } from '../ports';
import { ARTICLE_HTML_RESPONSE_BUDGET, htmlResponseBytes } from './limits';
import { buildArticle, failedRecord, type ArticleBuildOptions, type ImageStep } from './article';
import { boundRecord } from './bounds';
import { ArticleError, LostRaceError, errorMessage } from './errors';
import { compareSequencers, type ObjectEvent } from './events';

/**
 * Bump when the output for the same input changes (new fields, new image settings), so
 * unchanged uploads and `npm run reprocess` produce fresh results instead of being skipped.
 */
export const PIPELINE_VERSION = 2; // 2: cover.social (social cards)

export type IngestOutcome =
  | 'published'
  | 'scheduled'
  | 'draft'
  | 'failed'
  | 'deleted'
  | 'unchanged'
  | 'duplicate'
  | 'stale'
  | 'ignored'
  | 'missing';

export interface IngestDeps {
  objects: IngestObjectStore;
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
  /** Re-runs scheduled articles at their time (optional: without it they wait for a reprocess). */
  scheduler?: PublishScheduler;
  /** Receives one event per state change (optional: without it events stay in the outbox). */
  events?: EventPublisher;
  /** The public URL of an article (ARTICLE_URL_TEMPLATE), or null when not known. */
  articleUrl?: (record: { id: string; slug: string | null; date: string | null }) => string | null;
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

/**
 * Where an event's processed body goes. One per event (its retries share it), so an older
 * event's cleanup never deletes the body of a newer event with the same content. A
 * reprocess runs at the sequencer of the event the index last applied, so it adds a tag of
 * its own: it never writes under the live body's key.
 */
export function bodyKeyFor(id: string, sequencer: string, reprocessTag?: string): string {
  return `${BODY_PREFIX}${id}/${sequencer}-v${PIPELINE_VERSION}${reprocessTag ? `-r${reprocessTag}` : ''}.html`;
}

/**
 * A lost race means another event's transition landed between this event's read and its
 * write; the event then reads and decides again. Each loss is someone else's progress, so a
 * few rounds always suffice; past this bound the event fails and the queue retries it.
 */
export const MAX_ROUNDS = 10;

/** Outcomes that leave this event's own body unused, should it (or an earlier attempt) have written one. */
const NO_BODY_OF_ITS_OWN = new Set<IngestOutcome>(['stale', 'missing', 'unchanged', 'duplicate', 'failed', 'deleted']);

/** What one event has learned and written so far; kept across the rounds of its decision. */
interface EventWork {
  ev: ObjectEvent;
  id: string;
  /** The object as read (undefined: not read yet; null: gone). */
  object?: StoredObject | null | ObjectTooLargeError;
  prepared?: { record: ArticleRecord; built: Built | null };
  /** A reprocess: the sequencer it runs at, fixed by its first read. */
  pinned?: string;
  /** Milliseconds the object read took. */
  readMs?: number;
  /** The last state read, for leftover bodies to release. */
  state?: IndexState | null;
}

type Built = Awaited<ReturnType<typeof buildArticle>>;

export async function ingestEvent(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent): Promise<IngestOutcome> {
  if (ev.bucket !== settings.incomingBucket || !isArticleKey(ev.key)) return 'ignored';
  const work: EventWork = { ev, id: articleId(ev.key) };
  let outcome: IngestOutcome;
  if (ev.kind === 'removed' && !ev.deleteMarker) {
    // The upload bucket is versioned: deleting one version may leave another one served
    // (deleting a noncurrent version changes nothing; deleting the current one makes the
    // previous one current). The article shows what the bucket serves now, at this event's
    // place in the order; only when nothing is served is it deleted.
    const head = await deps.objects.head(settings.incomingBucket, ev.key);
    outcome = head
      ? await upsert(deps, settings, { ...work, ev: { ...ev, etag: head.etag, eventTime: head.lastModified ?? ev.eventTime } }, true)
      : await remove(deps, settings, work);
  } else {
    outcome = ev.kind === 'removed' ? await remove(deps, settings, work) : await upsert(deps, settings, work, false);
  }
  await releaseLeftovers(deps, settings, work, outcome);
  return outcome;
}

/**
 * Bodies nobody will use: one this event (or an earlier attempt of it) wrote but did not
 * make live, and bodies an interrupted transition replaced but did not delete.
 */
async function releaseLeftovers(deps: IngestDeps, settings: IngestSettings, work: EventWork, outcome: IngestOutcome): Promise<void> {
  const own = work.prepared?.record.bodyKey ?? (work.ev.force ? null : bodyKeyFor(work.id, work.ev.sequencer));
  if (own && NO_BODY_OF_ITS_OWN.has(outcome)) {
    const now = await deps.index.getState(work.id);
    if (now?.bodyKey !== own) await deps.objects.delete(settings.mediaBucket, own);
  }
  const state = work.state;
  if (state?.supersededBodyKeys.length) await release(deps, settings, work.id, { rev: state.rev, superseded: state.supersededBodyKeys });
}

/** Deletes the bodies a transition replaced, then lets the index forget them. */
async function release(deps: IngestDeps, settings: IngestSettings, id: string, t: Transition): Promise<void> {
  if (!t.superseded.length) return;
  for (const key of t.superseded) await deps.objects.delete(settings.mediaBucket, key);
  await deps.index.forgetBodies(id, t.rev);
}

/** Runs `round` until it decides without losing a race. */
async function decide(work: EventWork, deps: IngestDeps, round: (state: IndexState | null) => Promise<IngestOutcome>): Promise<IngestOutcome> {
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const state = await deps.index.getState(work.id);
    work.state = state;
    // The outbox: a state change whose event was not delivered yet is delivered first.
    if (state?.pendingEvent) await deliver(deps, work.id, state.rev, state.pendingEvent);
    try {
      return await round(state);
    } catch (err) {
      if (!(err instanceof LostRaceError)) throw err;
    }
  }
  throw new LostRaceError(`the article kept changing: ${MAX_ROUNDS} rounds lost to other events`);
}

async function remove(deps: IngestDeps, settings: IngestSettings, work: EventWork): Promise<IngestOutcome> {
  const { ev, id } = work;
  return decide(work, deps, async (state) => {
    const order = state ? compareSequencers(state.sequencer, ev.sequencer) : -1;
    if (order > 0) return 'stale';
    // Applied already (a redelivery, or this attempt's own write whose answer was lost).
    if (order === 0) {
      // A redelivery, or the retry of an event whose search write failed after the article's.
      await deps.search?.refresh(id, ev.sequencer);
      return state!.deleted ? 'deleted' : 'duplicate';
    }
    const event = publishEvent(deps, state, null, { id, sourceKey: ev.key, slug: state?.slug, title: state?.title });
    const t = await deps.index.remove(id, ev.key, ev.sequencer, state, event);
    await deps.search?.apply({ id, sequencer: ev.sequencer, record: null });
    work.state = null;
    if (event) await deliver(deps, id, t.rev, event);
    await release(deps, settings, id, t);
    return 'deleted';
  });
}

async function upsert(deps: IngestDeps, settings: IngestSettings, work: EventWork, goneDeletes: boolean): Promise<IngestOutcome> {
  const { ev, id } = work;
  const force = ev.force === true;
  return decide(work, deps, async (state) => {
    let sequencer = ev.sequencer;
    if (force) {
      // A reprocess request takes no place of its own in the event order: it re-runs the
      // event the index last applied, at that event's sequencer (fixed by its first read). So
      // a newer upload or delete (a higher sequencer) always wins, and a deleted article
      // stays deleted; its re-upload, if any, is handled by that upload's own event.
      if (state?.deleted) return 'stale';
      // Never indexed: the event's own (lowest possible) sequencer; any real event outranks it.
      work.pinned ??= state?.sequencer ?? ev.sequencer;
      sequencer = work.pinned;
    }
    if (state) {
      const order = compareSequencers(state.sequencer, sequencer);
      if (order > 0) return 'stale';
      if (order === 0 && !force) {
        // This event's own transition, answered too late (the SDK retried it), or a redelivery.
        const mine = work.prepared && state.bodyKey === work.prepared.record.bodyKey && state.contentHash === work.prepared.record.contentHash;
        // A redelivery, or the retry of an event whose search write failed after the article's.
        await deps.search?.refresh(id, state.sequencer);
        return mine ? work.prepared!.record.status : 'duplicate';
      }
    }
    // "Unchanged" only when the stored result is whole: a re-upload is how an author asks
    // to try images that failed (an origin that was down, a late asset) again.
    const current = state && !state.deleted && state.imageWarnings === 0 && state.pipelineVersion === PIPELINE_VERSION && !force;
    if (current && ev.etag && state.sourceEtag === ev.etag) return unchanged(deps, settings, work, sequencer, state, ev.etag);

    const obj = await readOnce(deps, settings, work);
    if (obj === null) {
      // Gone since the event. A created event: a removal event for it follows (or already
      // came) and decides. A removal: nothing is served any more, so the article goes.
      return goneDeletes ? remove(deps, settings, { ...work, ev: { ...ev, kind: 'removed' } }) : 'missing';
    }
    const contentHash = obj instanceof ObjectTooLargeError ? null : sha256Hex(obj.body);
    if (current && contentHash && state.contentHash === contentHash) return unchanged(deps, settings, work, sequencer, state, obj instanceof ObjectTooLargeError ? null : obj.etag);

    const prepared = (work.prepared ??= await prepare(deps, settings, work, obj, sequencer));
    const { record } = prepared;
    // Armed before the write: a timer for a write that then loses is a harmless reprocess,
    // a write without its timer would stay scheduled for ever.
    if (record.status === 'scheduled' && record.publishAt) await deps.scheduler?.schedule(ev.key, id, record.publishAt);
    const saveStarted = performance.now();
    const { t, event } = await saveBounded(deps, settings, work, prepared, sequencer, state, (r) => publishEvent(deps, state, r, r));
    work.state = null;
    const save = Math.round(performance.now() - saveStarted);
    await release(deps, settings, id, t);
    // The record saved may be the failed one saveBounded put in its place.
    const saved = work.prepared!;
    await deps.search?.apply({ id, sequencer, record: saved.record, html: saved.built?.html ?? null });
    if (event) await deliver(deps, id, t.rev, event);
    report(deps, ev, saved, { read: work.readMs ?? 0, ...saved.built?.timings, save }, force);
    return saved.record.status;
  });
}

/**
 * The event of a state change from `read` to `next` (null: deleted), or null when readers
 * would see nothing new (a reprocess with the same content, a draft saved again).
 */
function publishEvent(
  deps: IngestDeps,
  read: IndexState | null,
  next: ArticleRecord | null,
  about: { id: string; sourceKey: string; slug?: string | null; title?: string | null; date?: string | null },
): PublishEvent | null {
  if (!deps.events) return null;
  const previousStatus = read && !read.deleted ? read.status : null;
  const status = next?.status ?? null;
  const sameContent = !!next && previousStatus === status && read?.contentHash === next.contentHash;
  let type: PublishEvent['type'] | null;
  if (status === null) type = previousStatus ? 'unpublished' : null;
  else if (status === 'draft') type = previousStatus === 'published' || previousStatus === 'scheduled' ? 'unpublished' : null;
  else if (sameContent) type = null;
  else if (status === 'published') type = previousStatus === 'published' ? 'updated' : 'published';
  else type = status;
  if (!type) return null;
  const rev = (read?.rev ?? 0) + 1;
  const slug = about.slug ?? null;
  return {
    type,
    idempotencyId: `${about.id}:${rev}`,
    id: about.id,
    slug,
    status,
    previousStatus,
    sourceKey: about.sourceKey,
    // Already bounded (512 B, core/bounds.ts): the outbox adds at most a few KB to the article item.
    title: about.title || null,
    url: next && deps.articleUrl ? deps.articleUrl({ id: about.id, slug, date: about.date ?? null }) : null,
    time: (deps.now ?? (() => new Date()))().toISOString(),
  };
}

/** Publishes a written state change's event, then empties the outbox (if the article is still at `rev`). */
async function deliver(deps: IngestDeps, id: string, rev: number, event: PublishEvent): Promise<void> {
  if (!deps.events) return;
  await deps.events.publish(event);
  await deps.index.clearEvent(id, rev);
}

const UNSTORABLE = {
  code: 'article_unstorable',
  message: 'The index refused this article even after it was shortened to fit its limits. Report the file to the operator.',
} as const;

/** DynamoDB refuses the request itself (a limit): the same request will never succeed. */
function isRefusedByStore(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ValidationException';
}

/**
 * The record is bounded (core/bounds.ts); should DynamoDB still refuse it, that is a limit
 * the bounds do not know of, and retrying cannot help: the article is saved as failed with a
 * code (in the same compare-and-set), never dead-lettered.
 */
async function saveBounded(
  deps: IngestDeps,
  settings: IngestSettings,
  work: EventWork,
  prepared: NonNullable<EventWork['prepared']>,
  sequencer: string,
  state: IndexState | null,
  eventFor: (record: ArticleRecord) => PublishEvent | null,
): Promise<{ t: Transition; event: PublishEvent | null }> {
  try {
    const event = eventFor(prepared.record);
    return { t: await deps.index.save(prepared.record, sequencer, state, event), event };
  } catch (err) {
    if (!isRefusedByStore(err) || prepared.record.error?.code === UNSTORABLE.code) throw err;
    const record = prepared.record;
    deps.log.error('index refused the article record', { key: record.sourceKey, id: record.id, error: errorMessage(err) });
    if (record.bodyKey) await deps.objects.delete(settings.mediaBucket, record.bodyKey);
    const failed = failedRecord(
      record.id,
      { key: record.sourceKey, uploadedAt: record.sortDate, defaultTimezone: settings.defaultTimezone },
      new ArticleError(UNSTORABLE.code, UNSTORABLE.message),
      new Date(record.processedAt),
    );
    work.prepared = { record: boundRecord({ ...failed, sourceEtag: record.sourceEtag, contentHash: record.contentHash }), built: null };
    const event = eventFor(work.prepared.record);
    return { t: await deps.index.save(work.prepared.record, sequencer, state, event), event };
  }
}

async function unchanged(
  deps: IngestDeps,
  settings: IngestSettings,
  work: EventWork,
  sequencer: string,
  state: IndexState,
  etag: string | null,
): Promise<IngestOutcome> {
  const t = await deps.index.touch(work.id, sequencer, state, etag);
  work.state = null;
  await release(deps, settings, work.id, t);
  return 'unchanged';
}

async function readOnce(deps: IngestDeps, settings: IngestSettings, work: EventWork): Promise<StoredObject | null | ObjectTooLargeError> {
  if (work.object !== undefined) return work.object;
  const started = performance.now();
  try {
    work.object = await deps.objects.get(settings.incomingBucket, work.ev.key, { maxBytes: settings.articleMaxBytes });
  } catch (err) {
    if (!(err instanceof ObjectTooLargeError)) throw err;
    work.object = err;
  }
  work.readMs = Math.round(performance.now() - started);
  return work.object;
}

/** Builds the record (and writes its body, before the index can point at it). Done once per event. */
async function prepare(
  deps: IngestDeps,
  settings: IngestSettings,
  work: EventWork,
  obj: StoredObject | ObjectTooLargeError,
  sequencer: string,
): Promise<NonNullable<EventWork['prepared']>> {
  const { ev, id } = work;
  const now = (deps.now ?? (() => new Date()))();
  const base = { ...settings, key: ev.key, uploadedAt: ev.eventTime ?? now.toISOString() };
  if (obj instanceof ObjectTooLargeError) {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const error = new ArticleError(
      'file_too_large',
      `The file is ${mib(obj.size)}, over the ${mib(obj.limit)} limit (ARTICLE_MAX_BYTES). Split the article or move embedded images out of the file.`,
    );
    return { record: boundRecord(failedRecord(id, base, error, now)), built: null };
  }
  const contentHash = sha256Hex(obj.body);
  let record: ArticleRecord;
  const due = (at: string | null | undefined) => !at || Date.parse(at) <= now.getTime();
  let html: string | null = null;
  let built: Built | null = null;
  try {
    built = await buildArticle(obj.body, { ...base, id }, deps.images && retryingOnThrow(deps.images));
    html = built.html;
    // Bounded by construction: a body the API could not return (Lambda's 6 MB response) is never published.
    // Escaping twice grows a UTF-16 unit to at most 7 bytes: most bodies need no measuring.
    const responseBytes = html.length * 7 > ARTICLE_HTML_RESPONSE_BUDGET ? htmlResponseBytes(html) : 0;
    if (responseBytes > ARTICLE_HTML_RESPONSE_BUDGET) {
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      throw new ArticleError(
        'body_too_large',
        `The processed article is ${mb(responseBytes)} as the API returns it, over the ${mb(ARTICLE_HTML_RESPONSE_BUDGET)} it can (Lambda answers at most 6 MB). Split the article into parts; characters such as " & < become longer entities, and embedded markup counts too.`,
      );
    }
    record = {
      ...built.record,
      bodyKey: bodyKeyFor(id, sequencer, ev.force ? randomUUID().slice(0, 8) : undefined),
      sourceEtag: obj.etag ?? ev.etag,
      contentHash,
      pipelineVersion: PIPELINE_VERSION,
      processedAt: now.toISOString(),
    };
    // Published with a publish time still ahead: scheduled until then (the scheduler re-runs it).
    if (record.status === 'published' && !due(record.publishAt)) record.status = 'scheduled';
    else record.publishAt = null;
  } catch (err) {
    if (err instanceof ImageStepError) throw err.original;
    const error =
      err instanceof ArticleError
        ? err
        : new ArticleError('processing_failed', 'The pipeline could not process this file. Upload it again; if it keeps failing, report the file to the operator.');
    if (!(err instanceof ArticleError)) deps.log.error('article build crashed', { key: ev.key, error: errorMessage(err) });
    record = { ...failedRecord(id, base, error, now), sourceEtag: obj.etag ?? ev.etag, contentHash };
  }
  // Every field within DynamoDB's limits: what is cut leaves a warning (core/bounds.ts).
  record = boundRecord(record);
  if (record.bodyKey === null) html = null;
  if (html !== null && record.bodyKey) {
    // Written before the index points at it, so a reader never finds a missing body.
    await deps.objects.put(settings.mediaBucket, record.bodyKey, html, {
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'public, max-age=300',
    });
  }
  return { record, built };
}

function report(
  deps: IngestDeps,
  ev: ObjectEvent,
  prepared: NonNullable<EventWork['prepared']>,
  steps: Record<string, number>,
  force: boolean,
): void {
  const { record, built } = prepared;
  const images = { rehosted: 0, failed: 0 };
  for (const ref of record.images) images[ref.status === 'rehosted' ? 'rehosted' : 'failed']++;
  deps.log.info('article processed', {
    key: ev.key,
    id: record.id,
    status: record.status,
    ...(record.error ? { error: record.error.code } : {}),
    ...(force ? { forced: true } : {}),
    imagesRehosted: images.rehosted,
    imagesFailed: images.failed,
    steps,
  });
  recordMetrics(deps.metrics, record, images, built?.imageStats ?? null);
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
