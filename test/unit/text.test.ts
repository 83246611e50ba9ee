import fc from 'fast-check';
import { sampleBody } from '../support/sample';
import { describe, expect, it } from 'vitest';
import { renderBody } from '../../functions/core/markdown';
import { sanitizeHtml } from '../../functions/core/sanitize';
import {
  collapseWhitespace,
  countWords,
  htmlToText,
  makeExcerpt,
  measure,
  MORE_EXCERPT_MAX,
  readingMinutes,
  wordStats,
} from '../../functions/core/text';

const codePoints = (s: string) => Array.from(s).length;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('htmlToText', () => {
  it('puts block elements on their own lines and decodes entities', () => {
    expect(
      htmlToText('<h1>T</h1><p>a &amp; b &lt;c&gt; &#x4E2D;&nbsp;x<br>next\n   line</p><ul><li>x</li><li>y</li></ul><table><tr><td>1</td><td>2</td></tr></table>'),
    ).toBe('T\na & b <c> 中 x\nnext line\nx\ny\n1\n2');
  });

  it('keeps inline elements in the line', () => {
    expect(htmlToText('<p>one <em>two</em><strong>three</strong> <a href="/x">four</a></p>')).toBe('one twothree four');
  });

  it('joins CJK lines without a space but Latin lines with one', () => {
    expect(htmlToText('<p>中文\n中文。\n“引号”</p><p>Latin\nline</p><p>中文\nLatin</p><p>“Quote”\n“quote”</p>')).toBe(
      '中文中文。“引号”\nLatin line\n中文 Latin\n“Quote” “quote”',
    );
    expect(htmlToText('<p>中文 中文</p>')).toBe('中文 中文'); // an explicit space stays
    expect(htmlToText('<p>안녕\n하세요</p><p>かな\nカナ</p>')).toBe('안녕 하세요\nかなカナ'); // Korean spaces words
  });

  it('leaves out script, style, template, ruby annotations and comments', () => {
    expect(
      htmlToText('<p>a<script>var x = "<p>";</script><style>p{}</style><template>t</template><!-- c -->b</p><ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>字'),
    ).toBe('ab\n漢字');
  });

  it('skips the element names it is asked to', () => {
    expect(htmlToText('<h1>Title</h1><p>Body</p>', { skip: ['h1'] })).toBe('Body');
  });

  it('returns an empty string for markup without text', () => {
    expect(htmlToText('<p> </p><img src="a.png" alt="alt is not text"><hr>')).toBe('');
  });

  it('walks deep markup without recursion', () => {
    const depth = 20_000;
    expect(htmlToText('<b>'.repeat(depth) + 'deep' + '</b>'.repeat(depth))).toBe('deep');
  }, 60_000);
});

describe('countWords / wordStats', () => {
  it.each([
    ['', 0, 0],
    ['Hello, world!', 2, 0],
    ['你好，世界', 4, 4],
    ['I love 北京 3.14 times', 6, 2],
    ['こんにちは、カタカナ', 9, 9],
    ['コーヒー', 4, 4],
    ['안녕하세요 세계', 7, 7],
    ["don't e-mail naïve café", 4, 0],
    ['cafe\u0301 Ελληνικά русский عربى', 4, 0],
    ['— !!! … 😀 ¿? 1', 1, 0],
    ['TV24和CNN', 3, 1],
  ])('%j has %i words, %i CJK', (text, words, cjk) => {
    expect(wordStats(text)).toEqual({ words, cjk });
    expect(countWords(text)).toBe(words);
  });

  it('counts each CJK character once, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('中', '文', 'か', 'カ', '한'), { maxLength: 50 }), fc.constantFrom('', ' ', '，', '\n'), (chars, sep) => {
        expect(countWords(chars.join(sep))).toBe(chars.length);
      }),
    );
  });
});

describe('readingMinutes', () => {
  it('is 0 for nothing and at least 1 for any text', () => {
    expect(readingMinutes(0)).toBe(0);
    expect(readingMinutes(-5)).toBe(0);
    expect(readingMinutes(Number.NaN)).toBe(0);
    expect(readingMinutes(1)).toBe(1);
    expect(readingMinutes(1, 1)).toBe(1);
  });

  it('reads Latin words at 265 and CJK characters at 500 per minute', () => {
    expect(readingMinutes(265 * 4)).toBe(4);
    expect(readingMinutes(500 * 6, 500 * 6)).toBe(6);
    expect(readingMinutes(265 * 2 + 500 * 3, 500 * 3)).toBe(5);
    // More CJK characters than words is nonsense: clamped.
    expect(readingMinutes(500, 10_000)).toBe(1);
  });

  it('never decreases when the text grows', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), fc.nat(1000), (a, b, extra) => {
        const cjk = Math.min(a, b);
        const words = Math.max(a, b);
        expect(readingMinutes(words + extra, cjk)).toBeGreaterThanOrEqual(readingMinutes(words, cjk));
      }),
    );
  });
});

describe('makeExcerpt', () => {
  const sentence = (n: number) => `Sentence number ${n} says something worth reading about the topic.`;

  it('returns a short text whole, whitespace collapsed', () => {
    expect(makeExcerpt('  Short\n\ntext.  ')).toBe('Short text.');
  });

  it('ends at the sentence end nearest to the target', () => {
    const text = [1, 2, 3, 4, 5, 6, 7, 8].map(sentence).join(' ');
    const excerpt = makeExcerpt(text);
    expect(text.startsWith(excerpt)).toBe(true);
    expect(excerpt.endsWith('topic.')).toBe(true);
    const sentences = excerpt.split('. ').length;
    const len = sentence(1).length + 1;
    expect(Math.abs(codePoints(excerpt) - 200)).toBeLessThanOrEqual(len / 2 + 1);
    expect(sentences).toBe(Math.round(200 / len));
  });

  it('does not take decimals or abbreviations inside a word for a sentence end', () => {
    const text = `Pi is 3.14159 and e is 2.71828 while the file is named report.final.pdf ${'and more words '.repeat(30)}`;
    const excerpt = makeExcerpt(text);
    expect(excerpt.endsWith('…')).toBe(true);
    expect(excerpt).toContain('3.14159');
  });

  it('cuts Latin text without a sentence end at a word boundary, with an ellipsis', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`);
    const excerpt = makeExcerpt(words.join(' '));
    expect(excerpt.endsWith('…')).toBe(true);
    const kept = excerpt.slice(0, -1).split(' ');
    expect(kept).toEqual(words.slice(0, kept.length)); // whole words only
    expect(codePoints(excerpt)).toBeLessThanOrEqual(201);
    expect(codePoints(excerpt)).toBeGreaterThan(150);
  });

  it('cuts CJK text without punctuation at a character', () => {
    const text = '这是一个没有标点的很长的句子'.repeat(40);
    const excerpt = makeExcerpt(text);
    expect(excerpt).toBe(`${Array.from(text).slice(0, 200).join('')}…`);
  });

  it('takes a Chinese sentence end followed by CJK text or a closing quote', () => {
    const first = '第一句话'.repeat(30) + '。';
    const second = '他说：“' + '第二句话'.repeat(10) + '！”';
    const text = first + second + '第三句话'.repeat(100);
    expect(makeExcerpt(text)).toBe(first + second);
  });

  it('drops a dangling comma before the ellipsis', () => {
    const text = `${'字'.repeat(199)}，${'字'.repeat(300)}`;
    expect(makeExcerpt(text)).toBe(`${'字'.repeat(199)}…`);
  });

  it('never splits a surrogate pair and counts code points', () => {
    const excerpt = makeExcerpt('😀'.repeat(1000), 200, 400);
    expect(excerpt).toBe(`${'😀'.repeat(200)}…`);
    expect(excerpt).not.toMatch(LONE_SURROGATE);
  });

  it('respects max even when target is larger', () => {
    expect(codePoints(makeExcerpt('a'.repeat(500), 450, 300))).toBeLessThanOrEqual(300);
    expect(makeExcerpt('anything', 200, 0)).toBe('');
  });

  it('is a bounded, clean prefix of the text for any input', () => {
    const word = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.constantFrom('。', '.', '!', '?', '”', ' ', '\n', '中文', '😀', 'word', '，'),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 200 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 500 }), (parts, target, max) => {
        const text = parts.join('');
        const excerpt = makeExcerpt(text, target, max);
        expect(codePoints(excerpt)).toBeLessThanOrEqual(max);
        expect(excerpt).not.toMatch(LONE_SURROGATE);
        expect(excerpt).toBe(excerpt.trim());
        expect(excerpt).not.toMatch(/\s\s/);
        const body = excerpt.endsWith('…') ? excerpt.slice(0, -1) : excerpt;
        expect(collapseWhitespace(text).startsWith(body)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('measure', () => {
  it('uses the text before <!-- more --> as the excerpt, whole', () => {
    const intro = 'An intro sentence that the author chose as the excerpt. '.repeat(12).trim();
    const raw = renderBody(`# Title\n\n${intro}\n\n<!-- more -->\n\nThe rest of the article.`, 'markdown');
    const m = measure({ rawHtml: raw, safeHtml: sanitizeHtml(raw) });
    expect(codePoints(intro)).toBeGreaterThan(400);
    expect(m.excerpt).toBe(intro);
    expect(m.firstHeading).toBe('Title');
    expect(m.wordCount).toBe(countWords(`Title ${intro} The rest of the article.`));
  });

  it('caps a long <!-- more --> excerpt at MORE_EXCERPT_MAX characters', () => {
    const intro = Array.from({ length: 40 }, (_, i) => `Intro sentence ${i} is here to be long enough.`).join(' ');
    const raw = `<p>${intro}</p><!-- more --><p>rest</p>`;
    const m = measure({ rawHtml: raw });
    expect(codePoints(m.excerpt)).toBeLessThanOrEqual(MORE_EXCERPT_MAX);
    expect(codePoints(m.excerpt)).toBeGreaterThan(MORE_EXCERPT_MAX * 0.6);
    expect(m.excerpt.endsWith('enough.')).toBe(true);
    expect(intro.startsWith(m.excerpt)).toBe(true);
  });

  it('sanitizes the <!-- more --> excerpt source', () => {
    const raw = '<p>Visible<script>alert(1)</script><svg><text>svg text</text></svg></p><!-- more --><p>rest</p>';
    expect(measure({ rawHtml: raw }).excerpt).toBe('Visible');
  });

  it('falls back to an automatic excerpt without a marker or with nothing before it', () => {
    const text = 'Plain words only '.repeat(40).trim();
    for (const raw of [`<h1>Heading</h1><p>${text}</p>`, `<!-- more --><h1>Heading</h1><p>${text}</p>`]) {
      const m = measure({ rawHtml: raw });
      expect(m.excerpt).toBe(makeExcerpt(text)); // the h1 (the title, usually) is left out
      expect(m.firstHeading).toBe('Heading');
    }
  });

  it('counts what readers get: sanitized text', () => {
    const raw = '<p>one two</p><script>three four five</script><p>六七</p>';
    const m = measure({ rawHtml: raw });
    expect(m.wordCount).toBe(4);
    expect(m.readingMinutes).toBe(1);
    expect(m.firstHeading).toBeNull();
  });

  it('reports an empty body as empty', () => {
    expect(measure({ rawHtml: '' })).toEqual({ excerpt: '', wordCount: 0, readingMinutes: 0, firstHeading: null });
    expect(measure({ rawHtml: '<p> </p><img src="a.png">' }).wordCount).toBe(0);
  });

  describe('on the sample article', () => {
    const body = sampleBody();
    const rawHtml = renderBody(body, 'markdown');
    const safeHtml = sanitizeHtml(rawHtml);
    const m = measure({ rawHtml, safeHtml });

    it('makes a Chinese excerpt ending at 。, no markup, no entities', () => {
      expect(m.excerpt.startsWith('（观察者网讯）据乌克兰“TV24”消息')).toBe(true);
      expect(codePoints(m.excerpt)).toBeLessThanOrEqual(400);
      expect(codePoints(m.excerpt)).toBeGreaterThanOrEqual(120);
      expect(m.excerpt).toMatch(/。[”’」』）]*$/);
      expect(m.excerpt).not.toMatch(/[<>]|&[#a-z0-9]+;/i);
      expect(m.excerpt).not.toMatch(/\s/); // paragraph breaks inside Chinese text are not spaces
    });

    it('counts Han characters and Latin words', () => {
      // Independent count: strip tags with a regex, count Han characters and ASCII alnum runs.
      const text = body.replace(/<[^>]*>/g, ' ');
      const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
      const latin = text.match(/[A-Za-z0-9]+/g)?.length ?? 0;
      expect(m.wordCount).toBe(han + latin);
      expect(m.readingMinutes).toBe(Math.max(1, Math.round(latin / 265 + han / 500)));
      expect(m.firstHeading).toBeNull();
    });

    it('gives the same result from the HTML body kind', () => {
      expect(measure({ rawHtml: renderBody(body, 'html') })).toEqual(m);
    });
  });
});
