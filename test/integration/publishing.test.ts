/**
 * Scheduled posts and publish events on the local stack (s3rver, DynamoDB Local, the local
 * queue, its scheduler timers and `<dataDir>/events.jsonl`): uploads go in through S3 only.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { articleId } from '../../functions/core/ingest';
import type { PublishEvent } from '../../functions/ports';
import { adminApi, api, findBySourceKey, remove, settle, stack, uniq, upload } from './helpers';

const post = (title: string, fields: Record<string, string>, body = 'Body text.') =>
  `---\ntitle: ${title}\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n---\n\n${body}\n`;

/** Seconds from now, as front matter writes a date (UTC). */
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function eventsFor(id: string): Promise<PublishEvent[]> {
  const text = await readFile(stack.eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).detail as PublishEvent)
    .filter((e) => e.id === id);
}

async function categoryCount(name: string): Promise<number> {
  const { body } = await api('/categories');
  return body.items.find((c: { name: string }) => c.name === name)?.count ?? 0;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('scheduled posts', () => {
  it('a post a few seconds ahead is scheduled (not listed, not counted), then published and counted without a re-upload', async () => {
    const cat = uniq('sched');
    const key = `${cat}/soon.md`;
    const id = articleId(key);
    await upload(key, post('Soon', { date: inSeconds(4), categories: `[${cat}]` }));
    await settle();

    expect(await findBySourceKey(key)).toBeUndefined();
    expect((await findBySourceKey(key, 'scheduled'))?.status).toBe('scheduled');
    expect(await categoryCount(cat)).toBe(0);
    expect((await api(`/articles/${id}`)).status).toBe(404);
    expect(((await api(`/articles?category=${cat}`)).body as { items: unknown[] }).items).toEqual([]);
    expect(((await api('/feed.json')).body as { items: { id: string }[] }).items.some((i) => JSON.stringify(i).includes(id))).toBe(false);

    const published = await until('the scheduled post to publish', () => findBySourceKey(key));
    expect(published.id).toBe(id);
    expect(await findBySourceKey(key, 'scheduled')).toBeUndefined();
    expect(await categoryCount(cat)).toBe(1);
    expect((await api(`/articles/${id}`)).status).toBe(200);
    await settle();
    expect((await eventsFor(id)).map((e) => [e.type, e.previousStatus, e.status])).toEqual([
      ['scheduled', null, 'scheduled'],
      ['published', 'scheduled', 'published'],
    ]);
  });

  it('publishDate (Hugo) schedules too; a re-upload that moves it into the past publishes at once', async () => {
    const cat = uniq('moved');
    const key = `${cat}/moved.md`;
    await upload(key, post('Moved', { date: '2020-01-01', publishDate: inSeconds(3600), categories: `[${cat}]` }));
    await settle();
    expect((await findBySourceKey(key, 'scheduled'))?.status).toBe('scheduled');

    await upload(key, post('Moved', { date: '2020-01-01', publishDate: '2020-01-02', categories: `[${cat}]` }));
    await settle();
    expect((await findBySourceKey(key))?.status).toBe('published');
    expect(await categoryCount(cat)).toBe(1);
  });

  it('a post deleted before its time stays deleted when its timer fires', async () => {
    const cat = uniq('gone');
    const key = `${cat}/gone.md`;
    const id = articleId(key);
    await upload(key, post('Gone', { date: inSeconds(3), categories: `[${cat}]` }));
    await settle();
    expect((await findBySourceKey(key, 'scheduled'))?.status).toBe('scheduled');
    await remove(key);
    await settle();
    await new Promise((r) => setTimeout(r, 4_000));
    await settle();
    expect((await api(`/articles/${id}`)).status).toBe(404);
    expect(await findBySourceKey(key)).toBeUndefined();
    expect(await categoryCount(cat)).toBe(0);
    expect((await eventsFor(id)).map((e) => e.type)).toEqual(['scheduled', 'unpublished']);
  });
});

describe('publish events', () => {
  it('one event per state change: upload, changed re-upload, identical re-upload (none), draft, delete', async () => {
    const key = `${uniq('events')}/post.md`;
    const id = articleId(key);
    await upload(key, post('First', { date: '2024-05-01' }));
    await settle();
    await upload(key, post('Second', { date: '2024-05-01' }));
    await settle();
    await upload(key, post('Second', { date: '2024-05-01' }));
    await settle();
    await upload(key, post('Second', { date: '2024-05-01', draft: 'true' }));
    await settle();
    await upload(key, post('Third', { date: '2024-05-01' }));
    await settle();
    await remove(key);
    await settle();

    const events = await eventsFor(id);
    expect(events.map((e) => [e.type, e.previousStatus, e.status, e.title])).toEqual([
      ['published', null, 'published', 'First'],
      ['updated', 'published', 'published', 'Second'],
      ['unpublished', 'published', 'draft', 'Second'],
      ['published', 'draft', 'published', 'Third'],
      ['unpublished', 'published', null, 'Third'],
    ]);
    expect(new Set(events.map((e) => e.idempotencyId)).size).toBe(events.length);
    for (const e of events) expect(e).toMatchObject({ id, sourceKey: key, slug: 'post' });
    // ARTICLE_URL_TEMPLATE (test/integration/global-setup.ts): the link, except for the deletion.
    expect(events.map((e) => e.url)).toEqual([...Array(4).fill('https://blog.example/2024/05/post/'), null]);
  });

  it('a file that cannot become an article emits failed', async () => {
    const key = `${uniq('failing')}/bad.md`;
    await upload(key, '');
    await settle();
    expect((await adminApi(`/admin/articles/${articleId(key)}`)).body).toMatchObject({ status: 'failed', error: { code: 'empty_file' } });
    expect((await eventsFor(articleId(key))).map((e) => [e.type, e.previousStatus])).toEqual([['failed', null]]);
  });
});
