/** The search tokenizer, query parser and snippets (pure; the SQL side is in search-relevance.test.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSnippet, SNIPPET_CHARS } from '../../functions/core/search/snippet';
import { foldText, MAX_POSITION, parseQuery, terms, TsVectorBuilder } from '../../functions/core/search/tokenize';

describe('tokenizer', () => {
  it('splits CJK runs from words, lowercases and folds accents', () => {
    expect(terms('Café 普京与泽连斯基, NAÏVE東京タワー 서울의 봄')).toEqual([
      { kind: 'word', text: 'cafe' },
      { kind: 'cjk', text: '普京与泽连斯基' },
      { kind: 'word', text: 'naive' },
      { kind: 'cjk', text: '東京タワー' },
      { kind: 'cjk', text: '서울의' },
      { kind: 'cjk', text: '봄' },
    ]);
  });

  it('writes bigrams and unigrams at shared positions, weighted, with a gap between fields', () => {
    const b = new TsVectorBuilder();
    b.add('普京会', 'A');
    b.add('harbour', 'D');
    expect(b.toString()).toBe("'普':1A '普京':1A '京':2A '京会':2A '会':3A 'harbour':5D");
  });

  it('never writes a position PostgreSQL would clamp', () => {
    const b = new TsVectorBuilder();
    b.add('字'.repeat(MAX_POSITION + 50), 'D');
    expect(b.truncated).toBe(true);
    const max = Math.max(...[...b.toString().matchAll(/(\d+)D/g)].map((m) => Number(m[1])));
    expect(max).toBeLessThanOrEqual(MAX_POSITION);
  });

  it('folding keeps one code point per code point, and leaves CJK alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'aZÉéßİ가が京ﬁǅ\u0301\u0130Ως𝒜 1') }), (s) => {
        expect([...foldText(s)].length).toBe([...s].length);
      }),
    );
    expect(foldText('がぎ Ünïcödé')).toBe('がぎ unicode');
  });
});

describe('queries', () => {
  it('makes each CJK run a phrase of its bigrams, ANDed with words', () => {
    expect(parseQuery('普京与泽连斯基 Harbour').tsquery).toBe("('普京' <-> '京与' <-> '与泽' <-> '泽连' <-> '连斯' <-> '斯基') & 'harbour'");
    expect(parseQuery('普京').tsquery).toBe("'普京'");
    expect(parseQuery('京').tsquery).toBe("'京'");
  });

  it('has nothing to search in punctuation or quotes, and survives tsquery syntax', () => {
    expect(parseQuery('  !!! ，。').tsquery).toBe('');
    expect(parseQuery("a' | b & !c:* <->").tsquery).toBe("'a' & 'b' & 'c'");
  });
});

describe('snippets', () => {
  it('marks the first match and its neighbours, escaped, within 200 characters', () => {
    const text = `${'x '.repeat(200)}<b>普京</b> & 泽连斯基 ${'y '.repeat(200)}`;
    const s = makeSnippet(text, parseQuery('普京').terms);
    expect(s).toContain('&lt;b&gt;<mark>普京</mark>&lt;/b&gt; &amp; 泽连斯基');
    expect(s.replace(/<\/?mark>/g, '').replace(/&[a-z]+;/g, '_').length).toBeLessThanOrEqual(SNIPPET_CHARS);
  });

  it('marks whole words only, accents folded', () => {
    expect(makeSnippet('The Café cafeteria, CAFE.', parseQuery('cafe').terms)).toBe('The <mark>Café</mark> cafeteria, <mark>CAFE</mark>.');
  });

  it('never lets markup through, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (text, q) => {
        const s = makeSnippet(text, parseQuery(q).terms).replace(/<\/?mark>/g, '');
        expect(s).not.toMatch(/[<>"']/);
      }),
    );
  });
});
