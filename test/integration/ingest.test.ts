/**
 * Upload through the S3 API of the embedded stack, read back through the query API over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { adminApi, findBySourceKey, remove, settle, stack, upload, uniq } from './helpers';
import { sampleText } from '../support/sample';

const SAMPLE = sampleText();

describe('ingest through the embedded stack', () => {
  it('indexes the sample under its exact decoded key, with normalized fields', async () => {
    const key = `${uniq('2022/03')}/俄方 会谈+1.md`;
    await upload(key, SAMPLE);
    await settle();

    const summary = await findBySourceKey(key);
    expect(summary).toBeDefined();
    expect(summary.sourceKey).toBe(key);
    expect(summary.title).toBe('俄方：无普京与泽连斯基会谈计划');
    expect(summary.date).toBe('2022-03-02T06:50:07.000Z');
    expect(summary.categories).toEqual(['新媒体', '观察者网', '头条']);
    expect(summary.author).toBe('观察者网');
    expect(summary.status).toBe('published');
    expect(summary.excerpt).toMatch(/泽连斯基/);
    expect(summary.excerpt.length).toBeLessThanOrEqual(400);
    expect(summary.wordCount).toBeGreaterThan(1000);
    expect(summary.id).toMatch(/^[A-Za-z0-9_-]+$/);

    const { status, body } = await adminApi(`/admin/articles/${summary.id}`);
    expect(status).toBe(200);
    expect(body.html).toContain('王毅表示');
    expect(body.html).not.toMatch(/&#x?[0-9a-f]+;/i);
    // This stack may fetch from loopback only, so the hot-linked originals stay, with a
    // warning each, and keep the no-referrer policy they need to show.
    expect(body.html).toContain('src="https://i.guancha.cn/news/2022/03/02/20220302090322298.jpg"');
    expect(body.html).toContain('referrerpolicy="no-referrer"');
    expect(new Set(summary.warnings.map((w: { code: string }) => w.code))).toEqual(new Set(['image_blocked_address']));
    expect(body.status).toBe('published');
    expect(body.frontMatter.comments).toBe(false);
    expect(body.imageCount).toBe(4);
  });

  it('turns a bad file into a failed article that says what to fix, without losing its batch mates', async () => {
    const p = uniq('bad');
    await Promise.all([
      upload(`${p}/yaml.md`, '---\ntitle: "unclosed\ndate: 2022-01-01\n---\nbody\n'),
      upload(`${p}/empty.md`, ''),
      upload(`${p}/binary.md`, new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0xff, 0x00, 0x80, 0x81])),
      upload(`${p}/good.md`, '---\ntitle: Fine\n---\nHello world.\n'),
    ]);
    await settle();

    const yaml = await findBySourceKey(`${p}/yaml.md`, 'failed');
    expect(yaml?.error?.code).toBe('invalid_front_matter');
    expect(yaml?.error?.message).toMatch(/line \d+/);
    expect((await findBySourceKey(`${p}/empty.md`, 'failed'))?.error?.code).toBe('empty_file');
    expect((await findBySourceKey(`${p}/binary.md`, 'failed'))?.error?.code).toBe('not_utf8');
    const good = await findBySourceKey(`${p}/good.md`);
    expect(good?.title).toBe('Fine');
  });

  it('updates in place, deletes on ObjectRemoved, and ignores non-article objects', async () => {
    const p = uniq('life');
    const key = `${p}/post.md`;
    await upload(key, '---\ntitle: First\ntags: [a]\n---\nOne.\n');
    await upload(`${p}/picture.png`, new Uint8Array([1, 2, 3]));
    await settle();
    const first = await findBySourceKey(key);
    expect(first.title).toBe('First');

    await upload(key, '---\ntitle: Second\ntags: [b]\n---\nTwo.\n');
    await settle();
    const second = await findBySourceKey(key);
    expect(second.id).toBe(first.id);
    expect(second.title).toBe('Second');

    await remove(key);
    await settle();
    expect((await adminApi(`/admin/articles/${first.id}`)).status).toBe(404);
    expect(await findBySourceKey(key)).toBeUndefined();
    expect(await findBySourceKey(`${p}/picture.png`)).toBeUndefined();
  });

  it('processes an article key in any case (.Md, .HTML), as the cloud handler does, and ignores assets', async () => {
    const p = uniq('case');
    await upload(`${p}/Post.Md`, '---\ntitle: Mixed case\n---\nText.\n');
    await upload(`${p}/Page.HTML`, '<h1>Upper</h1><p>Text.</p>');
    await upload(`${p}/Photo.JPG`, new Uint8Array([1, 2, 3]));
    await settle();
    expect((await findBySourceKey(`${p}/Post.Md`))?.title).toBe('Mixed case');
    expect((await findBySourceKey(`${p}/Page.HTML`))?.title).toBe('Upper');
    expect(await findBySourceKey(`${p}/Photo.JPG`)).toBeUndefined();
  });

  it('does not process an unchanged upload again', async () => {
    const key = `${uniq('same')}/post.md`;
    const text = '---\ntitle: Same\n---\nText.\n';
    await upload(key, text);
    await settle();
    const first = await findBySourceKey(key);
    await upload(key, text);
    await settle();
    const again = await findBySourceKey(key);
    expect(again.processedAt).toBe(first.processedAt);
  });

  it('exposes the stack endpoints on loopback only', () => {
    for (const u of [stack.apiUrl, stack.s3Endpoint, stack.dynamodbEndpoint]) {
      expect(new URL(u).hostname).toBe('127.0.0.1');
    }
  });
});
