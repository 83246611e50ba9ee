/**
 * Feeds and the sitemap over HTTP on the embedded stack (ARTICLE_URL_TEMPLATE is set in
 * global-setup.ts). RSS and Atom are read back with rss-parser, an independent and widely
 * used parser; JSON Feed is checked against the 1.1 specification's shape
 * (test/support/jsonfeed-1.1.schema.json). Every entry is compared with the API's own list.
 */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import Parser from 'rss-parser';
import { xml2js } from 'xml-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, settle, stack, upload, uniq } from './helpers';

const TEMPLATE_HOST = 'https://blog.example';
const jsonFeedSchema = JSON.parse(readFileSync(new URL('../support/jsonfeed-1.1.schema.json', import.meta.url), 'utf8'));
const validateJsonFeed = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(jsonFeedSchema);
const parser = new Parser({
  customFields: { item: [['dc:creator', 'creators', { keepArray: true }], ['category', 'atomCategories', { keepArray: true }], ['author', 'atomAuthors', { keepArray: true }], ['updated', 'atomUpdated'], ['link', 'atomLinks', { keepArray: true }]] },
});

async function raw(path: string, init?: RequestInit) {
  const res = await fetch(stack.apiUrl + path, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const decodeHtml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const seconds = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);
const linkOf = (a: any) => `${TEMPLATE_HOST}/${a.date.slice(0, 4)}/${a.date.slice(5, 7)}/${encodeURIComponent(a.slug)}/`;
const categoriesOf = (a: any) => [...new Set([...a.categories, ...a.tags])];

interface Parsed {
  rss: Parser.Output<any>;
  atom: Parser.Output<any>;
  json: any;
  texts: Record<'rss' | 'atom' | 'json', string>;
}

async function readFeeds(query: string): Promise<Parsed> {
  const [rss, atom, json] = await Promise.all(['/feed.xml', '/atom.xml', '/feed.json'].map((p) => raw(p + query)));
  for (const r of [rss, atom, json]) expect(r!.status, r!.text.slice(0, 300)).toBe(200);
  expect(rss!.headers.get('content-type')).toBe('application/rss+xml; charset=utf-8');
  expect(atom!.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
  expect(json!.headers.get('content-type')).toBe('application/feed+json; charset=utf-8');
  const doc = JSON.parse(json!.text);
  expect(validateJsonFeed(doc), JSON.stringify(validateJsonFeed.errors)).toBe(true);
  return { rss: await parser.parseString(rss!.text), atom: await parser.parseString(atom!.text), json: doc, texts: { rss: rss!.text, atom: atom!.text, json: json!.text } };
}

/** Every feed's entries against the API's list (summaries) and bodies, in order. */
function compare(feeds: Parsed, list: any[], bodies: Map<string, string>) {
  const { rss, atom, json } = feeds;
  expect(rss.items.map((i) => i.guid)).toEqual(list.map((a) => `urn:article-pipeline:article:${a.id}`));
  expect(atom.items.map((i) => i.id)).toEqual(list.map((a) => `urn:article-pipeline:article:${a.id}`));
  expect(json.items.map((i: any) => i.id)).toEqual(list.map((a) => `urn:article-pipeline:article:${a.id}`));
  list.forEach((a, n) => {
    const r = rss.items[n]!;
    const t = atom.items[n]!;
    const j = json.items[n]!;
    const html = bodies.get(a.id)!;
    const published = a.date ?? a.updated ?? a.processedAt;
    const modified = a.updated ?? a.date ?? a.processedAt;
    // RSS
    expect(r.title).toBe(a.title);
    expect(r.link).toBe(a.date ? linkOf(a) : undefined);
    expect(seconds(r.isoDate!)).toBe(seconds(published));
    expect(r.categories ?? []).toEqual(categoriesOf(a));
    expect(r.content ?? '').toBe(a.excerpt);
    expect(r['content:encoded']).toBe(html);
    expect(r.creators ?? []).toEqual(a.authors);
    expect(r.enclosure?.url).toBe(a.cover?.url);
    // Atom
    expect(decodeHtml(t.title!)).toBe(a.title);
    // rss-parser's `link` is an entry's first link of any rel (an enclosure, when there is no page link).
    const alternate = (t.atomLinks ?? []).find((l: any) => !l.$?.rel || l.$.rel === 'alternate');
    expect(alternate?.$.href).toBe(a.date ? linkOf(a) : undefined);
    expect((t.atomLinks ?? []).find((l: any) => l.$?.rel === 'enclosure')?.$.href).toBe(a.cover?.url);
    expect(seconds(t.isoDate!)).toBe(seconds(published));
    expect(seconds(t.atomUpdated)).toBe(seconds(modified));
    expect(t.summary ?? '').toBe(a.excerpt);
    expect(t.content).toBe(html);
    expect((t.atomAuthors ?? []).map((x: any) => x.name[0])).toEqual(a.authors);
    expect((t.atomCategories ?? []).map((x: any) => x.$.term)).toEqual(categoriesOf(a));
    // JSON Feed
    expect(j.title).toBe(a.title);
    expect(j.url).toBe(a.date ? linkOf(a) : undefined);
    expect(j.date_published).toBe(new Date(published).toISOString());
    expect(j.date_modified).toBe(new Date(modified).toISOString());
    expect(j.summary ?? '').toBe(a.excerpt);
    expect(j.content_html).toBe(html);
    expect((j.authors ?? []).map((x: any) => x.name)).toEqual(a.authors);
    expect(j.tags ?? []).toEqual(categoriesOf(a));
    expect(j.image).toBe(a.cover?.url);
  });
}

async function bodiesOf(list: any[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const a of list) out.set(a.id, (await api(`/articles/${a.id}`)).body.html);
  return out;
}

describe('feeds', () => {
  const ns = uniq('feed');
  const cat = `${ns}-cat`;

  beforeAll(async () => {
    await Promise.all([
      upload(`${ns}/zh.md`, `---\ntitle: "中文标题：西湖 & <b>晨雾</b>"\ndate: 2023-05-06T07:08:09Z\nupdated: 2023-06-01T00:00:00Z\ncategories: ["${cat}", "旅行"]\ntags: ["杭州"]\nauthors: ["王小明", "Ann"]\nslug: 西湖-晨雾\n---\n清晨五点半，湖面上还笼着一层薄雾。<!-- more -->\n\n第二段 ]]> 不怕。\n`),
      upload(`${ns}/en.md`, `---\ntitle: "Plain English"\ndate: 2023-04-01T10:00:00Z\ncategories: ["${cat}"]\nauthor: Bob\n---\nJust a body with <em>markup</em> & an ampersand.\n`),
      upload(`${ns}/nodate.md`, `---\ntitle: "No date"\ncategories: ["${cat}"]\n---\nUndated.\n`),
      upload(`${ns}/draft.md`, `---\ntitle: "Draft"\ndate: 2023-07-01T00:00:00Z\ncategories: ["${cat}"]\ndraft: true\n---\nNot in feeds.\n`),
    ]);
    await settle();
  });

  it('RSS, Atom and JSON Feed of a category parse, and equal the API list entry by entry', async () => {
    const list = (await api(`/articles?category=${encodeURIComponent(cat)}&limit=50`)).body.items;
    expect(list).toHaveLength(3);
    const feeds = await readFeeds(`?category=${encodeURIComponent(cat)}`);
    compare(feeds, list, await bodiesOf(list));
    expect(feeds.rss.title).toBe(`Articles in category ${cat}`);
    expect(feeds.json.home_page_url).toBe(`${TEMPLATE_HOST}/`);
    expect(feeds.json.feed_url).toBe(`${stack.apiUrl}/feed.json?category=${encodeURIComponent(cat)}`);
  });

  it('keeps Chinese as characters, links with the URL-encoded slug, and leaves a dateless article without a link', async () => {
    const { texts, json } = await readFeeds(`?category=${encodeURIComponent(cat)}`);
    for (const t of Object.values(texts)) {
      expect(t).toContain('中文标题');
      expect(t).toContain('王小明');
      expect(t).not.toMatch(/&#x?[0-9a-f]+;/i);
    }
    const zh = json.items.find((i: any) => i.title.startsWith('中文'));
    expect(zh.url).toBe(`${TEMPLATE_HOST}/2023/05/${encodeURIComponent('西湖-晨雾')}/`);
    expect(json.items.find((i: any) => i.title === 'No date').url).toBeUndefined();
  });

  it('the unfiltered feeds equal the newest 50 of /articles', async () => {
    // Other test files upload meanwhile: compare against a list that was the same before and after.
    for (let attempt = 0; ; attempt++) {
      const before = (await api('/articles?limit=50')).body.items;
      const feeds = await readFeeds('');
      const after = (await api('/articles?limit=50')).body.items;
      const again = await readFeeds('');
      const stable = JSON.stringify(before) === JSON.stringify(after) && JSON.stringify(feeds.texts) === JSON.stringify(again.texts);
      if (!stable && attempt < 20) continue;
      expect(stable).toBe(true);
      expect(feeds.json.items).toHaveLength(before.length);
      compare(feeds, before, await bodiesOf(before));
      break;
    }
  });

  it('answer a matching If-None-Match with 304 and cache like the list routes', async () => {
    for (const path of ['/feed.xml', '/atom.xml', '/feed.json']) {
      const q = `${path}?category=${encodeURIComponent(cat)}`;
      const first = await raw(q);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(first.headers.get('cache-control')).toBe('public, max-age=30, stale-while-revalidate=60');
      const again = await raw(q, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
    }
  });

  it('reject unknown and combined filters with 400, like /articles', async () => {
    for (const q of ['?limit=5', '?category=a&tag=b', '?author=', '?status=draft']) {
      const res = await api(`/feed.json${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('invalid_parameter');
    }
  });
});

describe('sitemap', () => {
  const ns = uniq('sm');

  beforeAll(async () => {
    await Promise.all([
      upload(`${ns}/a.md`, `---\ntitle: A\ndate: 2021-02-03T04:05:06Z\nslug: ${ns}-a\n---\nA.\n`),
      upload(`${ns}/b.md`, `---\ntitle: B\ndate: 2021-02-04T04:05:06Z\nupdated: 2022-01-01T00:00:00Z\nslug: ${ns}-b\n---\nB.\n`),
      upload(`${ns}/c.md`, `---\ntitle: C\ndate: 2021-02-05T04:05:06Z\nslug: ${ns}-c\ndraft: true\n---\nC.\n`),
    ]);
    await settle();
  });

  it('is an index of pages that list every published article once, with lastmod', async () => {
    const index = await raw('/sitemap.xml');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    const doc = xml2js(index.text, { compact: true }) as any;
    expect(doc.sitemapindex._attributes.xmlns).toBe('http://www.sitemaps.org/schemas/sitemap/0.9');
    const pages = [doc.sitemapindex.sitemap].flat().map((s: any) => s.loc._text as string);
    expect(pages).toEqual([`${stack.apiUrl}/sitemap.xml?page=1`]);

    const page = await raw('/sitemap.xml?page=1');
    expect(page.status).toBe(200);
    const urls = [(xml2js(page.text, { compact: true }) as any).urlset.url].flat();
    const locs = urls.map((u: any) => u.loc._text);
    const mine = (slug: string) => urls.filter((u: any) => u.loc._text.endsWith(`/${slug}/`));
    expect(mine(`${ns}-a`).map((u: any) => [u.loc._text, u.lastmod._text])).toEqual([[`${TEMPLATE_HOST}/2021/02/${ns}-a/`, '2021-02-03T04:05:06.000Z']]);
    expect(mine(`${ns}-b`).map((u: any) => u.lastmod._text)).toEqual(['2022-01-01T00:00:00.000Z']);
    expect(mine(`${ns}-c`)).toEqual([]);

  });

  it('lists every published article exactly once (all of them, compared with the API list)', async () => {
    const allLinks = async () => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await api(`/articles?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        for (const a of res.body.items) if (a.date ?? a.updated) out.push(linkOf({ ...a, date: a.date ?? a.updated }));
        cursor = res.body.nextCursor;
      } while (cursor);
      return out.sort();
    };
    // Other test files upload meanwhile: compare against a list that was the same before and after.
    for (let attempt = 0; ; attempt++) {
      const before = await allLinks();
      const page = await raw('/sitemap.xml?page=1');
      const after = await allLinks();
      if (JSON.stringify(before) !== JSON.stringify(after) && attempt < 20) continue;
      const locs = [(xml2js(page.text, { compact: true }) as any).urlset.url].flat().map((u: any) => u.loc._text as string);
      expect(locs.sort()).toEqual(before);
      break;
    }
  });

  it('answers 404 past the last page and 400 for a bad page', async () => {
    expect((await api('/sitemap.xml?page=999')).status).toBe(404);
    for (const q of ['?page=0', '?page=x', '?limit=1']) expect((await api(`/sitemap.xml${q}`)).status, q).toBe(400);
  });
});
