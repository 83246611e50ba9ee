/**
 * The media sweeper: removes re-hosted images no article uses any more, and bodies no
 * article points to (left by events that ended in the dead-letter queue or gave up, or
 * superseded bodies whose release failed), each after a grace period so pages readers
 * have cached keep working. Mark and sweep, run as a daily background job; the design
 * and its costs are in docs/reliability.md ("Nothing left behind").
 *
 * One sweep:
 *  1. Note the start time, then read the whole index once (consistent scan): which image
 *     hashes and body keys live articles use, and every image record with its mark.
 *  2. List `img/` and `bodies/` in the media bucket.
 *  3. Plan (planSweep, pure): unmark records used again; mark unused ones; condemn those
 *     unmarked for the grace period; condemn files whose record is gone; pick bodies.
 *  4. Apply, every step conditional on what step 1 read:
 *     - image: condemn the record (a compare-and-set on its mark), delete its files,
 *       then its URL items and the record. Ingest clears a mark whenever it reuses a
 *       record and refuses a condemned one (the event is retried), so a re-reference
 *       that races the sweep makes the condemnation fail, or waits until the files are
 *       gone and re-hosts them afresh.
 *     - body: deleted if it is still older than the grace period when checked again.
 *
 * Why this is safe under concurrent ingest: an event writes a body or reuses an image at
 * most one ingest timeout (≤ 15 min) before the article item that points at it. A sweep
 * deletes only what was unused in a scan that started at least the grace period after
 * the body was written or the image was last reused, so such an article item is always
 * in that scan. The grace period must therefore exceed the ingest timeout plus a sweep's
 * run time; infra/settings.ts enforces it in AWS. Only the grace-0 setting of tests and
 * `npm run gc` ignores it, where nothing else runs.
 */
import pLimit from 'p-limit';
import { BODY_PREFIX, IMAGE_PREFIX } from '../definitions';
import type { GcImageState, Logger, MediaGcStore, MediaObjectLister, MediaReferences, Metrics, ObjectInfo } from '../ports';

export interface MediaGcDeps {
  store: MediaGcStore;
  media: MediaObjectLister;
  log: Logger;
  metrics?: Metrics;
  now?: () => Date;
}

export interface MediaGcSettings {
  mediaBucket: string;
  graceSeconds: number;
  /** The transform key ingest stores images under now (claims for files without a record). */
  transformKey: string;
}

type Expected = Pick<GcImageState, 'unreferencedSince' | 'condemnedAt'>;

export interface Condemnation {
  hash: string;
  transformKey: string;
  /** The record as read, or null for files without a record. */
  expected: Expected | null;
}

export interface SweepPlan {
  unmark: GcImageState[];
  /** Records to mark unreferenced as of the sweep's start. */
  mark: GcImageState[];
  condemn: Condemnation[];
  /** Bodies unused and older than the grace period (checked again before deleting). */
  bodies: string[];
  /** Unused images and bodies still within the grace period. */
  waiting: { images: number; bodies: number };
}

/** `img/<hash>/<width>.<ext>` -> hash. */
export function imageHashOf(key: string): string | null {
  if (!key.startsWith(IMAGE_PREFIX)) return null;
  const hash = key.slice(IMAGE_PREFIX.length).split('/')[0];
  return hash || null;
}

/** Newest write per image hash, from (a page of) a listing of `img/`, folded into `newest`. */
export function groupImageFiles(files: ObjectInfo[], newest = new Map<string, number>()): Map<string, number> {
  for (const f of files) {
    const hash = imageHashOf(f.key);
    if (!hash) continue;
    newest.set(hash, Math.max(newest.get(hash) ?? 0, f.lastModified.getTime()));
  }
  return newest;
}

/** What one sweep does, decided from one scan and one listing. Pure. */
export function planSweep(
  refs: Pick<MediaReferences, 'images' | 'bodies' | 'records'>,
  imageFiles: Map<string, number>,
  bodyFiles: ObjectInfo[],
  opts: { scanStart: number; graceMs: number; transformKey: string },
): SweepPlan {
  const { scanStart, graceMs } = opts;
  const plan: SweepPlan = { unmark: [], mark: [], condemn: [], bodies: [], waiting: { images: 0, bodies: 0 } };
  const hasRecord = new Set<string>();
  for (const r of refs.records) {
    hasRecord.add(r.hash);
    if (refs.images.has(r.hash)) {
      if (r.unreferencedSince !== null || r.condemnedAt !== null) plan.unmark.push(r);
      continue;
    }
    const expected = { unreferencedSince: r.unreferencedSince, condemnedAt: r.condemnedAt };
    if (r.condemnedAt !== null) {
      // A sweep that stopped half-way: finish it.
      plan.condemn.push({ hash: r.hash, transformKey: r.transformKey, expected });
      continue;
    }
    const since = r.unreferencedSince ?? scanStart;
    if (r.unreferencedSince === null) plan.mark.push(r);
    if (since + graceMs <= scanStart) {
      plan.condemn.push({ hash: r.hash, transformKey: r.transformKey, expected: { unreferencedSince: since, condemnedAt: null } });
    } else {
      plan.waiting.images++;
    }
  }
  // Files without any record (their event failed between writing them and the record):
  // nothing will ever point at them, unless an article does (then they stay).
  for (const [hash, newest] of imageFiles) {
    if (hasRecord.has(hash) || refs.images.has(hash)) continue;
    if (newest + graceMs <= scanStart) plan.condemn.push({ hash, transformKey: opts.transformKey, expected: null });
    else plan.waiting.images++;
  }
  for (const f of bodyFiles) {
    if (refs.bodies.has(f.key)) continue;
    if (f.lastModified.getTime() + graceMs <= scanStart) plan.bodies.push(f.key);
    else plan.waiting.bodies++;
  }
  return plan;
}

export interface SweepReport {
  /** Index items read by the scan, and the read capacity units it consumed. */
  itemsRead: number;
  capacityUnits: number;
  /** Objects listed under img/ and bodies/. */
  objectsListed: number;
  images: { records: number; inUse: number; marked: number; unmarked: number; collected: number; waiting: number; raced: number };
  imageFilesDeleted: number;
  bodies: { inUse: number; collected: number; waiting: number };
  ms: number;
}

/** Conditional writes and deletes in flight at once: a mass deletion stays well inside a sweep's timeout. */
const SWEEP_CONCURRENCY = 16;

async function eachLimit<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  await pLimit(SWEEP_CONCURRENCY).map(items, fn);
}

async function listAll(media: MediaObjectLister, bucket: string, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const page of media.list(bucket, prefix)) out.push(...page);
  return out;
}

/** One sweep of the media bucket. Idempotent: a sweep that stops half-way is finished by the next. */
export async function sweepMedia(deps: MediaGcDeps, settings: MediaGcSettings): Promise<SweepReport> {
  const clock = deps.now ?? (() => new Date());
  const started = performance.now();
  const scanStart = clock().getTime();
  const graceMs = settings.graceSeconds * 1000;
  const bucket = settings.mediaBucket;

  const refs = await deps.store.references();
  // Folded page by page: an image has a dozen files, and only its newest date matters.
  const imageFiles = new Map<string, number>();
  let imageFilesListed = 0;
  for await (const page of deps.media.list(bucket, IMAGE_PREFIX)) {
    imageFilesListed += page.length;
    groupImageFiles(page, imageFiles);
  }
  const bodyFiles = await listAll(deps.media, bucket, BODY_PREFIX);
  const plan = planSweep(refs, imageFiles, bodyFiles, { scanStart, graceMs, transformKey: settings.transformKey });

  const report: SweepReport = {
    itemsRead: refs.itemsRead,
    capacityUnits: refs.capacityUnits,
    objectsListed: imageFilesListed + bodyFiles.length,
    images: { records: refs.records.length, inUse: refs.images.size, marked: 0, unmarked: 0, collected: 0, waiting: plan.waiting.images, raced: 0 },
    imageFilesDeleted: 0,
    bodies: { inUse: refs.bodies.size, collected: 0, waiting: plan.waiting.bodies },
    ms: 0,
  };

  await eachLimit(plan.unmark, async (r) => {
    await deps.store.unmark(r);
    report.images.unmarked++;
  });
  await eachLimit(plan.mark, async (r) => {
    if (await deps.store.mark(r.hash, r.transformKey, scanStart)) report.images.marked++;
  });
  await eachLimit(plan.condemn, async (c) => {
    // A failed condemnation means ingest used the image meanwhile: it stays.
    const at = clock().getTime();
    if (!(await deps.store.condemn(c.hash, c.transformKey, c.expected, at))) {
      report.images.raced++;
      return;
    }
    // Listed again: files a dead sweep's or a failed event's attempt wrote since step 2.
    const files = (await listAll(deps.media, bucket, `${IMAGE_PREFIX}${c.hash}/`)).map((f) => f.key);
    await deps.media.deleteMany(bucket, files);
    await deps.store.forget(c.hash, c.transformKey, at, refs.urls.get(c.hash) ?? []);
    report.images.collected++;
    report.imageFilesDeleted += files.length;
  });

  // A body written again since the listing (a redriven event) is younger now: kept.
  const doomed: string[] = [];
  await eachLimit(plan.bodies, async (key) => {
    const written = await deps.media.lastModified(bucket, key);
    if (written && written.getTime() + graceMs <= scanStart) doomed.push(key);
    else if (written) report.bodies.waiting++;
  });
  await deps.media.deleteMany(bucket, doomed);
  report.bodies.collected = doomed.length;

  report.ms = Math.round(performance.now() - started);
  deps.log.info('media sweep done', { ...report, graceSeconds: settings.graceSeconds });
  if (deps.metrics) {
    deps.metrics.add('MediaImagesCollected', 'Count', report.images.collected);
    deps.metrics.add('MediaBodiesCollected', 'Count', report.bodies.collected);
    deps.metrics.add('MediaSweepItemsRead', 'Count', report.itemsRead);
  }
  return report;
}
