/**
 * What one S3 object event does to the index. S3 delivers at least once and in no fixed
 * order, so every path here is idempotent and older events never undo newer ones:
 * the index's conditional writes (on the normalized sequencer) are the arbiter.
 */
import { createHash } from 'node:crypto';
import { BODY_PREFIX, isArticleKey } from '../definitions';
import type { ArticleRecord, ArticleWriter, Logger, ObjectStore } from '../ports';
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
  now?: () => Date;
}

export interface IngestSettings extends Omit<ArticleBuildOptions, 'key' | 'uploadedAt'> {
  incomingBucket: string;
  mediaBucket: string;
  articleMaxBytes: number;
  /** Reprocess even if the content is unchanged (operator's reprocess tool). */
  force?: boolean;
}

/** Stable, URL-safe id for an object key: 16 chars of base64url(sha256(key)). */
export function articleId(sourceKey: string): string {
  return createHash('sha256').update(sourceKey, 'utf8').digest('base64url').slice(0, 16);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function ingestEvent(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent): Promise<IngestOutcome> {
  if (ev.bucket !== settings.incomingBucket || !isArticleKey(ev.key)) return 'ignored';
  const id = articleId(ev.key);
  try {
    return ev.kind === 'removed' ? await remove(deps, settings, ev, id) : await upsert(deps, settings, ev, id);
  } catch (err) {
    if (err instanceof StaleEventError) return 'stale';
    throw err;
  }
}

async function remove(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent, id: string): Promise<IngestOutcome> {
  const { previousBodyKey } = await deps.index.remove(id, ev.key, ev.sequencer);
  if (previousBodyKey) await deps.objects.delete(settings.mediaBucket, previousBodyKey);
  return 'deleted';
}

async function upsert(deps: IngestDeps, settings: IngestSettings, ev: ObjectEvent, id: string): Promise<IngestOutcome> {
  const state = await deps.index.getState(id);
  if (state) {
    const order = compareSequencers(state.sequencer, ev.sequencer);
    if (order > 0) return 'stale';
    if (order === 0 && state.complete) return 'duplicate';
  }
  const current = state && !state.deleted && state.complete && state.pipelineVersion === PIPELINE_VERSION && !settings.force;
  if (current && ev.etag && state.sourceEtag === ev.etag) {
    await deps.index.touch(id, ev.sequencer);
    return 'unchanged';
  }

  const now = (deps.now ?? (() => new Date()))();
  const uploadedAt = ev.eventTime ?? now.toISOString();
  const base = { ...settings, key: ev.key, uploadedAt };
  let obj;
  try {
    obj = await deps.objects.get(settings.incomingBucket, ev.key, { maxBytes: settings.articleMaxBytes });
  } catch (err) {
    if (!(err instanceof ObjectTooLargeError)) throw err;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const error = new ArticleError(
      'file_too_large',
      `The file is ${mib(err.size)}, over the ${mib(err.limit)} limit (ARTICLE_MAX_BYTES). Split the article or move embedded images out of the file.`,
    );
    return save(deps, settings, ev, failedRecord(id, base, error, now), null, state?.bodyKey ?? null);
  }
  // Gone since the event: a removal event for it follows (or already came) and decides.
  if (!obj) return 'missing';

  const contentHash = sha256Hex(obj.body);
  if (current && state.contentHash === contentHash) {
    await deps.index.touch(id, ev.sequencer);
    return 'unchanged';
  }

  let record: ArticleRecord;
  let html: string | null = null;
  try {
    const built = await buildArticle(obj.body, { ...base, id }, deps.images);
    html = built.html;
    record = {
      ...built.record,
      bodyKey: `${BODY_PREFIX}${id}/${contentHash.slice(0, 16)}-v${PIPELINE_VERSION}.html`,
      sourceEtag: obj.etag ?? ev.etag,
      contentHash,
      pipelineVersion: PIPELINE_VERSION,
      processedAt: now.toISOString(),
    };
  } catch (err) {
    const error =
      err instanceof ArticleError
        ? err
        : new ArticleError('processing_failed', 'The pipeline could not process this file. Upload it again; if it keeps failing, report the file to the operator.');
    if (!(err instanceof ArticleError)) deps.log.error('article build crashed', { key: ev.key, error: errorMessage(err) });
    record = { ...failedRecord(id, base, error, now), sourceEtag: obj.etag ?? ev.etag, contentHash };
  }
  return save(deps, settings, ev, record, html, state?.bodyKey ?? null);
}

async function save(
  deps: IngestDeps,
  settings: IngestSettings,
  ev: ObjectEvent,
  record: ArticleRecord,
  html: string | null,
  knownBodyKey: string | null,
): Promise<IngestOutcome> {
  if (html !== null && record.bodyKey) {
    // Written before the index points at it, so a reader never finds a missing body.
    await deps.objects.put(settings.mediaBucket, record.bodyKey, html, {
      contentType: 'text/html; charset=utf-8',
      cacheControl: 'public, max-age=300',
    });
  }
  try {
    const { previousBodyKey } = await deps.index.save(record, ev.sequencer);
    const old = previousBodyKey ?? knownBodyKey;
    if (old && old !== record.bodyKey) await deps.objects.delete(settings.mediaBucket, old);
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
