/**
 * Search on the local stack, end to end: uploads go through the ingest handler, its search
 * hook writes PGlite through the Data API stand-in, and GET /search answers over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { runReindex } from '../../scripts/reindex';
import { ENV } from '../../functions/definitions';
import { sampleText } from '../support/sample';
import { api, findBySourceKey, remove, settle, stack, uniq, upload } from './helpers';

/** Every hit for q (paging through all), as ids. */
async function searchIds(q: string, extra: Record<string, string> = {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const params: URLSearchParams = new URLSearchParams({ q, limit: '50', ...extra, ...(cursor ? { cursor } : {}) });
    const res: { status: number; body: any } = await api(`/search?${params}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    ids.push(...res.body.items.map((i: { id: string }) => i.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
}

const asDraft = (text: string) => text.replace(/^(\s*---\r?\n)/, '$1draft: true\n');

describe('GET /search on the local stack', () => {
  it('finds the sample article by 普京, 会谈, the phrase 普京与泽连斯基 and its category; never a draft', async () => {
    const key = `${uniq('search')}/sample.md`;
    const draftKey = `${uniq('search-draft')}/sample.md`;
    await upload(key, sampleText());
    await upload(draftKey, asDraft(sampleText()));
    await settle();
    const article = await findBySourceKey(key);
    const draft = await findBySourceKey(draftKey, 'draft');
    expect(article).toBeDefined();
    expect(draft).toBeDefined();

    for (const q of ['普京', '会谈', '普京与泽连斯基', '新媒体']) {
      const ids = await searchIds(q);
      expect(ids, q).toContain(article.id);
      expect(ids, q).not.toContain(draft.id);
    }
    expect(await searchIds('普京', { category: '头条' })).toContain(article.id);
    expect(await searchIds('普京', { category: '没有这个分类' })).toEqual([]);
    expect(await searchIds('泽连斯基普京')).not.toContain(article.id);

    const { body } = await api(`/search?${new URLSearchParams({ q: '普京与泽连斯基' })}`);
    const hit = body.items.find((i: { id: string }) => i.id === article.id);
    expect(hit.title).toBe(article.title);
    expect(hit.snippet).toContain('<mark>普京与泽连斯基</mark>');
    expect(hit.score).toBeGreaterThanOrEqual(1);

    // Deleting the file takes it out of search; publishing the draft puts that one in.
    await remove(key);
    await upload(draftKey, sampleText());
    await settle();
    const ids = await searchIds('普京与泽连斯基');
    expect(ids).not.toContain(article.id);
    expect(ids).toContain(draft.id);
  });

  it('validates like the other routes: 400 for empty, long or unknown input, never a 5xx', async () => {
    for (const query of ['', 'q=', 'q=%20%20', `q=${'字'.repeat(201)}`, 'q=a&bogus=1', 'q=a&limit=0', 'q=a&cursor=zzzz', 'q=a&category=x&tag=y', 'q=a&from=2024-13-01']) {
      const res = await api(`/search?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toMatch(/^invalid_/);
    }
    for (const q of ["'", '\\', '!&|<->():*', '%', '\u0000', '🙂', 'a'.repeat(200), '\'; DROP TABLE search_articles; --']) {
      const res = await api(`/search?${new URLSearchParams({ q })}`);
      expect(res.status, q).toBe(200);
    }
  });

  it('feeds take q, a saved search: the newest published matches, never a draft, validated like /search', async () => {
    const tag = uniq('feedq');
    const older = `${tag}/older.md`;
    const newer = `${tag}/newer.md`;
    const draftKey = `${tag}/draft.md`;
    const other = `${tag}/other.md`;
    const post = (title: string, date: string, body: string, extra = '') => `---\ntitle: ${title}\ndate: ${date}\ntags: [${tag}]\n${extra}---\n${body}\n`;
    await upload(older, post('较早', '2021-01-01T00:00:00Z', '港口城市的新闻。'));
    await upload(newer, post('较新', '2022-01-01T00:00:00Z', '另一个港口城市。'));
    await upload(draftKey, post('草稿', '2023-01-01T00:00:00Z', '港口城市草稿。', 'draft: true\n'));
    await upload(other, post('无关', '2023-06-01T00:00:00Z', '山区天气。'));
    await settle();
    const [a, b, d, o] = await Promise.all([findBySourceKey(older), findBySourceKey(newer), findBySourceKey(draftKey, 'draft'), findBySourceKey(other)]);
    expect([a, b, d, o].every(Boolean)).toBe(true);

    const feed = await api(`/feed.json?${new URLSearchParams({ q: '港口城市', tag })}`);
    expect(feed.status).toBe(200);
    const ids = (feed.body.items as { id: string; title: string }[]).map((i) => i.title);
    expect(ids).toEqual(['较新', '较早']);
    expect(feed.body.title).toContain('港口城市');
    const rss = await fetch(`${stack.apiUrl}/feed.xml?${new URLSearchParams({ q: '港口城市', tag })}`);
    expect(rss.status).toBe(200);
    const xml = await rss.text();
    expect(xml).toContain('较新');
    expect(xml).not.toContain('草稿');
    expect(xml).not.toContain('无关');
    // Without q, the same feed is every published article of the tag.
    const all = await api(`/feed.json?${new URLSearchParams({ tag })}`);
    expect((all.body.items as { title: string }[]).map((i) => i.title).sort()).toEqual(['无关', '较新', '较早'].sort());

    for (const query of ['q=', 'q=%20', `q=${'字'.repeat(201)}`, 'q=a&tag=x&category=y']) {
      const res = await api(`/atom.xml?${query}`);
      expect(res.status, query).toBe(400);
    }
  });

  it('binds the cursor to its query', async () => {
    const prefix = uniq('search-page');
    for (let i = 0; i < 3; i++) await upload(`${prefix}/p${i}.md`, `---\ntitle: 翻页测试 ${i}\n---\n翻页测试正文 ${prefix}\n`);
    await settle();
    const first = await api(`/search?${new URLSearchParams({ q: '翻页测试', limit: '1' })}`);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const other = await api(`/search?${new URLSearchParams({ q: '测试', limit: '1', cursor: first.body.nextCursor })}`);
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('invalid_cursor');
    expect((await searchIds('翻页测试', { limit: '1' })).length).toBeGreaterThanOrEqual(3);
  });

  it('npm run reindex rebuilds the index from the table', async () => {
    const key = `${uniq('reindex')}/sample.md`;
    await upload(key, sampleText());
    await settle();
    const article = await findBySourceKey(key);
    const port = (url: string) => new URL(url).port;
    const result = await runReindex({
      [ENV.S3_PORT]: port(stack.s3Endpoint),
      [ENV.DYNAMODB_PORT]: port(stack.dynamodbEndpoint),
      [ENV.RDS_DATA_PORT]: port(stack.searchEndpoint),
      [ENV.TABLE_NAME]: stack.tableName,
      [ENV.MEDIA_BUCKET]: stack.mediaBucket,
    });
    expect(result.target).toBe('local');
    expect(result.searchable).toBeGreaterThanOrEqual(1);
    expect(await searchIds('普京与泽连斯基')).toContain(article.id);
  });
});
