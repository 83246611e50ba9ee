import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { atExpression, scheduleName } from '../../functions/adapters/eventbridge';
import type { ArticleReader, PublishEvent } from '../../functions/ports';
import { LocalEventLog, LocalPublishScheduler } from '../../local/publishing';

describe('LocalPublishScheduler', () => {
  it('sends the reprocess notification at the time, once per (id, time)', async () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const s = new LocalPublishScheduler((b) => sent.push(b), 'incoming', () => Date.parse('2030-01-01T00:00:00Z'));
      await s.schedule('blog/a.md', 'ID', '2030-01-01T00:00:05Z');
      await s.schedule('blog/a.md', 'ID', '2030-01-01T00:00:05Z');
      expect(s.pending).toBe(1);
      vi.advanceTimersByTime(4_999);
      expect(sent).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(sent).toHaveLength(1);
      const r = JSON.parse(sent[0]!).Records[0];
      expect(r).toMatchObject({ reprocess: true, eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'incoming' }, object: { key: 'blog/a.md', sequencer: '0' } } });
      s.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('re-arms after a restart by reprocessing every scheduled article the index holds', async () => {
    const sent: string[] = [];
    const pages = [
      { items: [{ sourceKey: 'a.md' }, { sourceKey: 'b.md' }], next: { pk: 'x' } },
      { items: [{ sourceKey: 'c.md' }], next: null },
    ];
    const queries: unknown[] = [];
    const reader = { list: async (q: unknown) => (queries.push(q), pages.shift()) } as unknown as ArticleReader;
    expect(await new LocalPublishScheduler((b) => sent.push(b), 'in').rearm(reader)).toBe(3);
    expect(queries[0]).toMatchObject({ status: 'scheduled' });
    expect(sent.map((b) => JSON.parse(b).Records[0].s3.object.key)).toEqual(['a.md', 'b.md', 'c.md']);
  });
});

describe('LocalEventLog', () => {
  it('appends one JSON line per event', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'events-')), 'events.jsonl');
    const log = new LocalEventLog(file);
    const e = { type: 'published', idempotencyId: 'x:1', id: 'x' } as PublishEvent;
    await log.publish(e);
    await log.publish({ ...e, idempotencyId: 'x:2' });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l['detail-type'], l.detail.idempotencyId])).toEqual([
      ['article.published', 'x:1'],
      ['article.published', 'x:2'],
    ]);
  });
});

describe('EventBridge Scheduler names and times', () => {
  it('rounds up to the second (never early) and names schedules within the 64-character limit', () => {
    expect(atExpression('2030-01-01T00:00:05.001Z')).toBe('at(2030-01-01T00:00:06)');
    expect(atExpression('2030-01-01T00:00:05.000Z')).toBe('at(2030-01-01T00:00:05)');
    const name = scheduleName('AbC-_0123456789xy', '2030-01-01T00:00:05Z');
    expect(name).toBe('publish-AbC-_0123456789xy-20300101T000005');
    expect(name).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
  });
});
