/**
 * The publish-event outbox on DynamoDB Local: the event is stored by the transition's own
 * conditional write, published after it, cleared at that revision; whoever finds it still
 * pending publishes it again with the same idempotency id, and nothing else emits it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { articleId, ingestEvent, type IngestDeps } from '../../functions/core/ingest';
import type { PublishEvent } from '../../functions/ports';
import { uniq } from './helpers';
import { ingestWorld, md, type IngestWorld } from './ingest-world';

let w: IngestWorld;
beforeAll(async () => {
  w = await ingestWorld('outbox');
});

function collecting(opts: { failPublish?: number } = {}) {
  const sent: PublishEvent[] = [];
  let failures = opts.failPublish ?? 0;
  return {
    sent,
    events: {
      async publish(e: PublishEvent) {
        if (failures > 0) {
          failures--;
          throw new Error('bus unavailable');
        }
        sent.push(e);
      },
    },
  };
}

describe('the publish-event outbox', () => {
  it('a publish that fails leaves the event pending; the retry (a duplicate) delivers it once, with the same id', async () => {
    const key = `${uniq('retry')}/post.md`;
    const id = articleId(key);
    const bus = collecting({ failPublish: 1 });
    const deps: IngestDeps = w.deps({ events: bus.events });
    const ev = w.event('created', key, { etag: await w.put(key, md('One')) });
    await expect(ingestEvent(deps, w.settings, ev)).rejects.toThrow('bus unavailable');
    expect((await w.index.getState(id))?.pendingEvent).toMatchObject({ type: 'published', idempotencyId: `${id}:1` });
    expect(bus.sent).toEqual([]);

    // The queue's retry of the same event finds its own write ('duplicate') and the pending event.
    expect(await ingestEvent(deps, w.settings, ev)).toBe('duplicate');
    expect(bus.sent.map((e) => e.idempotencyId)).toEqual([`${id}:1`]);
    expect((await w.index.getState(id))?.pendingEvent).toBeNull();
    // Another redelivery emits nothing new.
    expect(await ingestEvent(deps, w.settings, ev)).toBe('duplicate');
    expect(bus.sent).toHaveLength(1);
  });

  it('a clear that is lost is redelivered (same id) by the next event, before its own', async () => {
    const key = `${uniq('lostclear')}/post.md`;
    const id = articleId(key);
    const bus = collecting();
    const noClear = Object.assign(Object.create(w.index), { clearEvent: async () => {} });
    await ingestEvent(w.deps({ events: bus.events, index: noClear }), w.settings, w.event('created', key, { etag: await w.put(key, md('One')) }));
    expect((await w.index.getState(id))?.pendingEvent?.idempotencyId).toBe(`${id}:1`);

    await ingestEvent(w.deps({ events: bus.events }), w.settings, w.event('created', key, { etag: await w.put(key, md('Two')) }));
    expect(bus.sent.map((e) => [e.idempotencyId, e.type])).toEqual([
      [`${id}:1`, 'published'],
      [`${id}:1`, 'published'],
      [`${id}:2`, 'updated'],
    ]);
    expect((await w.index.getState(id))?.pendingEvent).toBeNull();
  });

  it('a stale event emits nothing', async () => {
    const key = `${uniq('stale')}/post.md`;
    const bus = collecting();
    const deps = w.deps({ events: bus.events });
    const old = w.event('created', key, { etag: await w.put(key, md('Old')) });
    const newer = w.event('created', key, { etag: await w.put(key, md('New')) });
    expect(await ingestEvent(deps, w.settings, newer)).toBe('published');
    expect(await ingestEvent(deps, w.settings, old)).toBe('stale');
    expect(bus.sent.map((e) => e.title)).toEqual(['New']);
  });
});
