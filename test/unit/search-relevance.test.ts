/**
 * Relevance on real PostgreSQL (PGlite, in memory), with a corpus written for the test in
 * Chinese, Japanese, Korean and English: every CJK substring (one character and up) and
 * every whole word finds exactly the published articles that contain it, paging through all.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDriver, type PgliteDriver } from '../../functions/adapters/pglite-driver';
import { SearchIndex, type SearchHit } from '../../functions/core/search/index';
import { migrate } from '../../functions/core/search/migrations';
import { foldText, terms } from '../../functions/core/search/tokenize';
import { htmlToText } from '../../functions/core/text';
import { CORPUS, corpusHtml, corpusRecord, type CorpusDoc } from '../support/search-corpus';

let driver: PgliteDriver;
let index: SearchIndex;

beforeAll(async () => {
  driver = await createPgliteDriver();
  await migrate(driver);
  index = new SearchIndex(driver);
  let seq = 1;
  for (const d of CORPUS) {
    const record = corpusRecord(d);
    const sequencer = String(seq++).padStart(32, '0');
    if (d.status === 'published') await index.upsert(record, sequencer, htmlToText(corpusHtml(d)));
    else await index.remove(d.id, sequencer);
  }
}, 120_000);

afterAll(async () => driver?.close());

const fields = (d: CorpusDoc) => [d.title, d.excerpt, d.body, ...d.tags, ...d.categories, ...(d.author ? [d.author] : [])];
const published = CORPUS.filter((d) => d.status === 'published');

/** Every hit, paging with a small limit. */
async function searchAll(q: string, limit = 2): Promise<SearchHit[]> {
  const all: SearchHit[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await index.search({ q, limit, offset });
    all.push(...page.items);
    if (!page.more) return all;
    if (offset > 100) throw new Error('paging does not end');
  }
}

function expectedForSubstring(s: string): string[] {
  return published.filter((d) => fields(d).some((f) => f.includes(s))).map((d) => d.id).sort();
}

function expectedForWord(w: string): string[] {
  return published.filter((d) => fields(d).some((f) => terms(f).some((t) => t.kind === 'word' && t.text === w))).map((d) => d.id).sort();
}

/** Title matches (the whole query in the title) come before body-only ones. */
function expectTitleFirst(hits: SearchHit[], inTitle: (h: SearchHit) => boolean) {
  const flags = hits.map(inTitle);
  expect(flags).toEqual([...flags].sort((a, b) => Number(b) - Number(a)));
}

const cjkRuns = [...new Set(CORPUS.flatMap((d) => fields(d).flatMap((f) => terms(f).filter((t) => t.kind === 'cjk').map((t) => t.text))))];

describe('search relevance (PGlite)', () => {
  it('every CJK substring of one to three characters finds exactly the published articles containing it, title matches first', async () => {
    const queries = new Set<string>();
    for (const run of cjkRuns) {
      const chars = [...run];
      for (let n = 1; n <= 3; n++) for (let i = 0; i + n <= chars.length; i++) queries.add(chars.slice(i, i + n).join(''));
    }
    expect(queries.size).toBeGreaterThan(400);
    for (const q of queries) {
      const hits = await searchAll(q, 3);
      expect(hits.map((h) => h.id).sort(), q).toEqual(expectedForSubstring(q));
      expectTitleFirst(hits, (h) => h.title.includes(q));
    }
  }, 300_000);

  it('any longer CJK substring too (property)', async () => {
    const runs = cjkRuns.filter((r) => [...r].length > 3);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...runs).chain((run) => {
          const n = [...run].length;
          return fc.tuple(fc.constant(run), fc.integer({ min: 0, max: n - 2 })).chain(([r, start]) =>
            fc.integer({ min: start + 2, max: n }).map((end) => [...r].slice(start, end).join('')),
          );
        }),
        async (q) => {
          expect((await searchAll(q)).map((h) => h.id).sort()).toEqual(expectedForSubstring(q));
        },
      ),
      { numRuns: 150 },
    );
  }, 300_000);

  it('every whole word finds exactly the published articles containing it, whatever its case or accents', async () => {
    const words = new Set(CORPUS.flatMap((d) => fields(d).flatMap((f) => terms(f).filter((t) => t.kind === 'word').map((t) => t.text))));
    expect(words.size).toBeGreaterThan(40);
    for (const w of words) {
      const expected = expectedForWord(w);
      expect((await searchAll(w)).map((h) => h.id).sort(), w).toEqual(expected);
      expect((await searchAll(w.toUpperCase())).map((h) => h.id).sort(), w.toUpperCase()).toEqual(expected);
    }
    expect((await searchAll('CAFÉ')).map((h) => h.id).sort()).toEqual(['en-harbour', 'en-mixed']);
    expect((await searchAll('naive')).map((h) => h.id)).toEqual(['en-harbour']);
  }, 300_000);

  it('finds the phrase, not its characters scattered', async () => {
    expect((await searchAll('普京与泽连斯基')).map((h) => h.id)).toEqual(['zh-putin']);
    // 普京 and 会谈 both occur in zh-body-only? No: it has 普京 but not 会谈; the draft has both.
    expect((await searchAll('普京 会谈')).map((h) => h.id)).toEqual(['zh-putin']);
    expect((await searchAll('人工智能')).map((h) => h.id).sort()).toEqual(['zh-ai', 'zh-body-only']);
    expect(await searchAll('泽连斯基普京')).toEqual([]);
  });

  it('ranks a title match above a body-only match', async () => {
    const hits = await searchAll('普京', 10);
    expect(hits.map((h) => h.id)).toEqual(['zh-putin', 'zh-body-only', 'en-mixed'].filter((id) => hits.some((h) => h.id === id)));
    expect(hits[0]!.id).toBe('zh-putin');
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    const harbour = await searchAll('harbour', 10);
    expect(harbour[0]!.id).toBe('en-harbour');
  });

  it('one-character CJK queries return matches', async () => {
    expect((await searchAll('桜')).map((h) => h.id)).toEqual(['ja-sakura']);
    expect((await searchAll('봄')).map((h) => h.id)).toEqual(['ko-seoul']);
    expect((await searchAll('京')).length).toBeGreaterThanOrEqual(3);
  });

  it('never finds drafts or failed articles', async () => {
    for (const q of ['草稿', '未发布', 'draft', '失败案例', 'Harbour draft']) expect(await searchAll(q), q).toEqual([]);
  });

  it('snippets mark the match in the original text', async () => {
    const [hit] = await searchAll('泽连斯基会谈');
    expect(hit!.snippet).toContain('<mark>泽连斯基会谈</mark>');
    const [cafe] = (await searchAll('cafe pier')).filter((h) => h.id === 'en-harbour');
    expect(cafe!.snippet).toContain('The <mark>café</mark> on the <mark>pier</mark>');
  });

  it('filters by category, tag, author and dates, case-insensitively', async () => {
    const q = (extra: object) => index.search({ q: '人工智能', limit: 10, offset: 0, ...extra }).then((p) => p.items.map((h) => h.id).sort());
    expect(await q({ facet: { name: 'category', value: '科技' } })).toEqual(['zh-ai']);
    expect(await q({ facet: { name: 'tag', value: '人工智能' } })).toEqual(['zh-ai']);
    expect(await q({ facet: { name: 'author', value: '李明' } })).toEqual(['zh-ai']);
    expect(await q({ from: '2024-03-01T00:00:00.000Z' })).toEqual(['zh-body-only']);
    expect(await q({ to: '2024-03-01T00:00:00.000Z' })).toEqual(['zh-ai']);
    const harbour = await index.search({ q: 'harbour', limit: 10, offset: 0, facet: { name: 'category', value: 'LOCAL NEWS' } });
    expect(harbour.items.map((h) => h.id)).toEqual(['en-harbour']);
  });

  it('folded text lines up with the original for every corpus field', () => {
    for (const d of CORPUS) for (const f of fields(d)) expect([...foldText(f)].length).toBe([...f].length);
  });
});
