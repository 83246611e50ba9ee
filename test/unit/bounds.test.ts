/**
 * core/bounds.ts: every stored field within its byte budget, cut on a UTF-8 boundary,
 * with a coded warning for each cut. (The same inputs through the real DynamoDB Local save
 * are in test/integration/limits.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BOUND_CODES,
  BUDGETS,
  ITEM_BUDGET,
  SUMMARY_BUDGET,
  TOO_LARGE_CODE,
  boundFrontMatter,
  boundRecord,
  boundedKey,
  dynamoSize,
  summaryFields,
  truncateUtf8,
} from '../../functions/core/bounds';
import type { ArticleRecord } from '../../functions/ports';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function record(over: Partial<ArticleRecord> = {}): ArticleRecord {
  return {
    id: 'abc',
    slug: 'post',
    title: 'Title',
    date: null,
    updated: null,
    author: null,
    authors: [],
    categories: [],
    tags: [],
    excerpt: 'Excerpt.',
    cover: null,
    wordCount: 1,
    readingMinutes: 1,
    imageCount: 0,
    sourceKey: 'post.md',
    status: 'published',
    warnings: [],
    error: null,
    processedAt: '2026-01-01T00:00:00.000Z',
    images: [],
    frontMatter: {},
    bodyKey: 'bodies/abc/1.html',
    sourceEtag: null,
    contentHash: null,
    pipelineVersion: 1,
    sortDate: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

const codes = (r: ArticleRecord) => r.warnings.map((w) => w.code);

describe('truncateUtf8', () => {
  it('keeps what fits, cuts on code points, never splits a surrogate pair', () => {
    expect(truncateUtf8('short', 10)).toBe('short');
    expect(truncateUtf8('标题标题', 9, '')).toBe('标题标题'.slice(0, 3));
    expect(truncateUtf8('😀😀😀', 9, '')).toBe('😀😀');
    expect(truncateUtf8('😀😀😀', 7, '')).toBe('😀');
    expect(truncateUtf8('abcdef', 5)).toBe('ab…');
  });

  it('any string: the result fits, is a prefix (plus the mark), and is well-formed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 0, max: 300 }), (s, max) => {
        const out = truncateUtf8(s, max, '');
        expect(bytes(out)).toBeLessThanOrEqual(Math.max(max, 0));
        expect(s.startsWith(out)).toBe(true);
        // Never the first half of a pair whose second half was cut off.
        if (out !== s) expect(/[\uD800-\uDBFF]$/.test(out) && /^[\uDC00-\uDFFF]/.test(s.slice(out.length))).toBe(false);
      }),
      { numRuns: 60 },
    );
  }, 30_000);
});

describe('boundedKey', () => {
  it('short values are themselves; long ones a stable, distinct hashed form within the budget', () => {
    expect(boundedKey('go', 400)).toBe('go');
    const a = boundedKey('标'.repeat(3000), 400);
    const b = boundedKey('标'.repeat(2999) + '签', 400);
    expect(bytes(a)).toBeLessThanOrEqual(400);
    expect(a).toBe(boundedKey('标'.repeat(3000), 400));
    expect(a).not.toBe(b);
  });
});

describe('boundFrontMatter', () => {
  it('drops empty keys and `__proto__`, shortens keys and strings, keeps unstorable numbers as text', () => {
    const data = JSON.parse(`{"": 1, "__proto__": 2, "a": {"": 3, "b": 4}, "${'k'.repeat(300)}": 5, "s": "${'x'.repeat(20000)}", "big": 1e300, "tiny": 1e-200, "ok": 1.5}`);
    const { data: out, note } = boundFrontMatter(data);
    expect(Object.keys(out)).toEqual(['a', truncateUtf8('k'.repeat(300), BUDGETS.frontMatterKey), 's', 'big', 'tiny', 'ok']);
    expect(out.a).toEqual({ b: 4 });
    expect(bytes(out.s as string)).toBeLessThanOrEqual(BUDGETS.frontMatterString);
    expect(out).toMatchObject({ big: '1e+300', tiny: '1e-200', ok: 1.5 });
    expect(note).toMatch(/empty keys/);
  });

  it('leaves values nested deeper than the budget out', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { a: deep };
    const { data, note } = boundFrontMatter({ title: 't', deep });
    expect(data.title).toBe('t');
    let depth = 0;
    for (let v: any = data; v && typeof v === 'object'; v = v.deep ?? v.a) depth++;
    expect(depth).toBeLessThanOrEqual(BUDGETS.frontMatterDepth);
    expect(note).toMatch(/nested/);
  });

  it('thousands of keys: entries kept in order up to the budget', () => {
    const data = Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`key${i}`, '值'.repeat(10)]));
    const { data: out, note } = boundFrontMatter(data);
    expect(dynamoSize(out)).toBeLessThanOrEqual(BUDGETS.frontMatter);
    expect(Object.keys(out)[0]).toBe('key0');
    expect(Object.keys(out).length).toBeGreaterThan(1000);
    expect(note).toMatch(/left out/);
  });

  it('what fits is untouched', () => {
    const data = { title: 'x', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } };
    expect(boundFrontMatter(data)).toEqual({ data, note: null });
  });
});

describe('boundRecord', () => {
  it('a record that fits is returned as it is', () => {
    const r = record({ tags: ['a'], frontMatter: { title: 'Title' } });
    expect(boundRecord(r)).toEqual(r);
  });

  it('a long title, excerpt and slug are cut, each with its code', () => {
    const r = boundRecord(record({ title: '标题'.repeat(35000), excerpt: 'e'.repeat(5000), slug: 's'.repeat(5000) }));
    expect(bytes(r.title)).toBeLessThanOrEqual(BUDGETS.title);
    expect(bytes(r.excerpt)).toBeLessThanOrEqual(BUDGETS.excerpt);
    expect(bytes(r.slug)).toBeLessThanOrEqual(BUDGETS.slug);
    expect(codes(r)).toEqual(expect.arrayContaining([BOUND_CODES.title, BOUND_CODES.excerpt, BOUND_CODES.slug]));
  });

  it('names are cut and, together, bounded', () => {
    const many = (c: string, n: number) => Array.from({ length: n }, (_, i) => `${i}${c.repeat(3000)}`);
    const r = boundRecord(record({ authors: many('a', 10), author: `0${'a'.repeat(3000)}`, categories: many('类', 10), tags: many('𝒯', 20) }));
    const names = [...r.authors, ...r.categories, ...r.tags];
    for (const n of names) expect(bytes(n)).toBeLessThanOrEqual(BUDGETS.name);
    expect(names.reduce((s, n) => s + bytes(n) + 1, 0)).toBeLessThanOrEqual(BUDGETS.names);
    expect(r.author).toBe(r.authors[0]);
    expect(codes(r)).toContain(BOUND_CODES.facetValue);
  });

  it('4,000 warnings and 4,000 images: bounded lists, each with one coded warning', () => {
    const warnings = Array.from({ length: 4000 }, (_, i) => ({ code: 'image_not_found', message: `no ${i}.png ${'x'.repeat(500)}`, url: `${i}.png` }));
    const images = Array.from({ length: 4000 }, (_, i) => ({
      original: `missing/${i}.png`,
      status: 'failed' as const,
      error: { code: 'image_not_found', message: `there is no "${i}.png" in the upload bucket` },
    }));
    const r = boundRecord(record({ warnings, images, imageCount: 4000 }));
    expect(r.images.length).toBeLessThanOrEqual(BUDGETS.images);
    expect(r.warnings.length).toBeLessThanOrEqual(BUDGETS.warnings);
    expect(codes(r)).toEqual(expect.arrayContaining([BOUND_CODES.images, BOUND_CODES.warnings]));
    expect(r.imageCount).toBe(4000);
    expect(dynamoSize(summaryFields(r))).toBeLessThanOrEqual(SUMMARY_BUDGET);
  });

  it('any record: the summary within SUMMARY_BUDGET, the item within ITEM_BUDGET, published or failed with a code', () => {
    const text = fc.string({ unit: 'binary', maxLength: 3000 });
    const names = fc.array(text, { maxLength: 25 });
    fc.assert(
      fc.property(
        fc.record({
          title: text,
          excerpt: text,
          slug: text,
          authors: names,
          categories: names,
          tags: names,
          warnings: fc.array(fc.record({ code: fc.string({ maxLength: 100 }), message: text }), { maxLength: 80 }),
          frontMatter: fc.dictionary(fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 40 }), { maxKeys: 50 }) as fc.Arbitrary<Record<string, unknown>>,
        }),
        (over) => {
          const r = boundRecord(record({ ...over, author: over.authors[0] ?? null }));
          expect(dynamoSize(summaryFields(r))).toBeLessThanOrEqual(SUMMARY_BUDGET);
          expect(dynamoSize(r)).toBeLessThanOrEqual(ITEM_BUDGET);
          expect(r.status === 'published' || r.error?.code === TOO_LARGE_CODE).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);
});
