/**
 * Model-based test of the write path on DynamoDB Local and s3rver (no in-memory copy of
 * either). For one key, a run makes 3 to 6 changes to the versioned upload bucket (new
 * content, the same content again, a delete marker, the deletion of the current version, a
 * reprocess request), each followed by its event. fast-check's scheduler interleaves
 * everything at every await: each call to S3 or DynamoDB is held before it starts and
 * before its answer returns, and the bucket changes themselves wait their turn.
 *
 * Afterwards the index equals what the bucket serves (title, categories, status), the
 * counts are exact, nothing is left to release, and exactly one body exists for a live
 * article (none for a deleted one).
 *
 * s3rver has no versioning: the model keeps each key's version stack and makes s3rver
 * serve its top (PutObject, or DeleteObject when the top is a delete marker or nothing).
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeSequencer, type ObjectEvent } from '../../functions/core/events';
import { articleId, ingestEvent } from '../../functions/core/ingest';
import { s3, uniq } from './helpers';
import { ingestWorld, type IngestWorld } from './ingest-world';

let w: IngestWorld;
beforeAll(async () => {
  w = await ingestWorld('model');
});

type Op =
  | { kind: 'new'; cats: string[]; draft: boolean }
  | { kind: 'same' }
  | { kind: 'deleteMarker' }
  | { kind: 'deleteVersion' }
  | { kind: 'reprocess' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('new' as const), cats: fc.subarray(['a', 'b', 'c']), draft: fc.boolean() }),
  fc.constant({ kind: 'same' as const }),
  fc.constant({ kind: 'deleteMarker' as const }),
  fc.constant({ kind: 'deleteVersion' as const }),
  fc.constant({ kind: 'reprocess' as const }),
);

interface Version {
  text: string;
  title: string;
  cats: string[];
  draft: boolean;
}

/** Holds every call to `target`'s methods before it starts and before its answer returns. */
function scheduled<T extends object>(s: fc.Scheduler, target: T, label: string): T {
  return new Proxy(target, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(), `${label}.${String(p)}`);
        const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        return s.schedule(Promise.resolve(out), `${label}.${String(p)} answered`);
      };
    },
  });
}

describe('concurrent events for one key, interleaved at every await (model)', () => {
  let run = 0;
  it('end with the index equal to the bucket, exact counts and exactly one live body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(opArb, { minLength: 3, maxLength: 6 }), fc.scheduler(), async (seeded, ops, s) => {
        const ns = `${uniq('m')}-${run++}`;
        const key = `${ns}/post.md`;
        const id = articleId(key);
        const cat = (c: string) => `${ns}-${c}`;
        const versions: (Version | null)[] = []; // null: a delete marker
        const served = () => versions[versions.length - 1] ?? null;
        let n = 0;
        const version = (cats: string[], draft: boolean): Version => {
          const title = `t${n++}`;
          const text = `---\ntitle: ${title}\ncategories: [${cats.map(cat).join(', ')}]\ndraft: ${draft}\n---\nbody ${title}\n`;
          return { text, title, cats: cats.map(cat), draft };
        };
        /** Makes s3rver serve the top of the version stack; returns its ETag. */
        const serve = async (): Promise<string | null> => {
          const top = served();
          if (top) return w.put(key, top.text);
          await s3.send(new DeleteObjectCommand({ Bucket: w.incoming, Key: key }));
          return null;
        };
        const plainDeps = w.deps();
        if (seeded) {
          versions.push(version(['a'], false));
          const etag = await serve();
          await ingestEvent(plainDeps, w.settings, w.event('created', key, { etag }));
        }

        const deps = w.deps({ objects: scheduled(s, w.objects, 's3'), index: scheduled(s, w.index, 'ddb') });
        /** Applies one change to the bucket and returns the event S3 sends for it. */
        const change = async (op: Op): Promise<ObjectEvent> => {
          switch (op.kind) {
            case 'new':
              versions.push(version(op.cats, op.draft));
              return w.event('created', key, { etag: await serve() });
            case 'same': {
              const top = served();
              versions.push(top ?? version([], false));
              return w.event('created', key, { etag: await serve() });
            }
            case 'deleteMarker':
              versions.push(null);
              await serve();
              return w.event('removed', key, { deleteMarker: true });
            case 'deleteVersion':
              // Deleting the current version (or marker): the previous one is served again.
              versions.pop();
              await serve();
              return w.event('removed', key);
            case 'reprocess': {
              const top = served();
              const etag = top ? await serve() : null;
              return { ...w.event('created', key, { etag }), sequencer: normalizeSequencer('0'), force: true };
            }
          }
        };

        // The changes happen in order; each event is handled from when its change is done,
        // concurrently with later changes and the other events.
        let chain: Promise<unknown> = Promise.resolve();
        const handled: Promise<unknown>[] = [];
        for (const op of ops) {
          const ev = chain.then(() => s.schedule(Promise.resolve(), `bucket ${op.kind}`)).then(() => change(op));
          chain = ev;
          handled.push(ev.then((e) => ingestEvent(deps, w.settings, e).then(() => e, (err) => ({ retry: e, err }))));
        }
        const results = await s.waitFor(Promise.all(handled));
        // At least once: an event that failed is delivered again (the queue's retry).
        for (const r of results) {
          if (r && typeof r === 'object' && 'retry' in r) await ingestEvent(plainDeps, w.settings, (r as { retry: ObjectEvent }).retry);
        }

        const top = served();
        const rec = await w.index.get(id);
        const state = await w.index.getState(id);
        const bodies = await w.bodiesOf(key);
        const counts = Object.fromEntries((await w.index.counts('category')).filter((c) => c.name.startsWith(`${ns}-`)).map((c) => [c.name, c.count]));
        if (!top) {
          expect(rec).toBeNull();
          expect(bodies).toEqual([]);
          expect(counts).toEqual({});
        } else {
          expect(rec?.title).toBe(top.title);
          expect(rec?.categories).toEqual(top.cats);
          expect(rec?.status).toBe(top.draft ? 'draft' : 'published');
          expect(bodies).toEqual([rec!.bodyKey]);
          expect(counts).toEqual(top.draft ? {} : Object.fromEntries(top.cats.map((c) => [c, 1])));
          const listed = await w.index.list({ status: 'published', limit: 5, facet: { name: 'slug', value: rec!.slug } });
          expect(listed.items.filter((i) => i.id === id).map((i) => i.title)).toEqual(top.draft ? [] : [top.title]);
        }
        expect(state?.supersededBodyKeys ?? []).toEqual([]);
      }),
      { numRuns: 25 },
    );
  }, 300_000);
});
