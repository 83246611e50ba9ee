import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../../functions/core/frontmatter';
import {
  META_LIMITS,
  normalizeMeta,
  parseDate,
  slugFromFileName,
  slugify,
  toStringList,
} from '../../functions/core/normalize';

const SAMPLE = new URL('../fixtures/sample/000_c0ba3bdfef9b4790.txt', import.meta.url);
const SH = 'Asia/Shanghai';
const NY = 'America/New_York';

const meta = (data: Record<string, unknown>, defaultTimezone = 'UTC', fileName = 'posts/hello.md') =>
  normalizeMeta(data, { defaultTimezone, fileName });

describe('the sample upload', () => {
  it('normalizes to the expected metadata', () => {
    const parsed = parseFrontMatter(readFileSync(SAMPLE, 'utf8'));
    const m = normalizeMeta(parsed.data, {
      defaultTimezone: SH,
      fileName: '2022/000_c0ba3bdfef9b4790.txt',
      warnings: parsed.warnings,
    });
    expect(m).toEqual({
      title: '俄方：无普京与泽连斯基会谈计划',
      date: '2022-03-02T06:50:07.000Z',
      updated: null,
      publishAt: '2022-03-02T06:50:07.000Z',
      author: '观察者网',
      authors: ['观察者网'],
      categories: ['新媒体', '观察者网', '头条'],
      tags: [],
      slug: '000_c0ba3bdfef9b4790',
      excerpt: null,
      draft: false,
      warnings: [],
    });
  });
});

describe('title', () => {
  it('is trimmed, numbers stringified, otherwise null', () => {
    expect(meta({ title: '  Hello  ' }).title).toBe('Hello');
    expect(meta({ title: 2022 }).title).toBe('2022');
    expect(meta({ title: '   ' }).title).toBeNull();
    expect(meta({ title: ['a'] }).title).toBeNull();
    expect(meta({}).title).toBeNull();
  });
});

describe('parseDate', () => {
  it('reads RFC 2822 with GMT and with numeric offsets', () => {
    expect(parseDate('Wed, 02 Mar 2022 06:50:07 GMT', SH)).toBe('2022-03-02T06:50:07.000Z');
    expect(parseDate('Wed, 02 Mar 2022 14:50:07 +0800', 'UTC')).toBe('2022-03-02T06:50:07.000Z');
    expect(parseDate('2 Mar 2022 01:50:07 -0500', 'UTC')).toBe('2022-03-02T06:50:07.000Z');
  });

  it('reads YAML-style timestamps', () => {
    expect(parseDate('2022-03-02T06:50:07+08:00', 'UTC')).toBe('2022-03-01T22:50:07.000Z');
    expect(parseDate('2022-03-02t06:50:07.5z', SH)).toBe('2022-03-02T06:50:07.500Z');
    expect(parseDate('2001-12-14 21:59:43.10 -5', 'UTC')).toBe('2001-12-15T02:59:43.100Z');
    expect(parseDate('2022-03-02 06:50:07', 'UTC')).toBe('2022-03-02T06:50:07.000Z');
  });

  it('reads a date without an offset in the default zone (Asia/Shanghai)', () => {
    expect(parseDate('2022-03-02 06:50:07', SH)).toBe('2022-03-01T22:50:07.000Z');
    expect(parseDate('2013/7/13 20:46:25', SH)).toBe('2013-07-13T12:46:25.000Z');
  });

  it('makes a date-only value midnight in the default zone', () => {
    expect(parseDate('2022-03-02', SH)).toBe('2022-03-01T16:00:00.000Z');
    expect(parseDate('2013/07/13', SH)).toBe('2013-07-12T16:00:00.000Z');
    expect(parseDate('2022-03-02', 'UTC')).toBe('2022-03-02T00:00:00.000Z');
  });

  it('follows daylight saving time (America/New_York summer vs winter)', () => {
    expect(parseDate('2022-07-01 12:00', NY)).toBe('2022-07-01T16:00:00.000Z');
    expect(parseDate('2022-01-01 12:00', NY)).toBe('2022-01-01T17:00:00.000Z');
    // Clocks went back at 02:00 EDT: 01:30 happened twice; the first (EDT) is taken.
    expect(parseDate('2022-11-06 01:30', NY)).toBe('2022-11-06T05:30:00.000Z');
    // Clocks jumped from 02:00 to 03:00: 02:30 does not exist and moves forward to 03:30 EDT.
    expect(parseDate('2022-03-13 02:30', NY)).toBe('2022-03-13T07:30:00.000Z');
  });

  it('accepts Date objects, epoch seconds and milliseconds, and month names', () => {
    expect(parseDate(new Date(Date.UTC(2022, 2, 2, 6, 50, 7)), SH)).toBe('2022-03-02T06:50:07.000Z');
    expect(parseDate(1646203807, SH)).toBe('2022-03-02T06:50:07.000Z');
    expect(parseDate(1646203807000, SH)).toBe('2022-03-02T06:50:07.000Z');
    expect(parseDate('March 2, 2022', 'UTC')).toBe('2022-03-02T00:00:00.000Z');
    expect(parseDate('Wed Mar 02 2022 14:50:07 GMT+0800 (China Standard Time)', 'UTC')).toBe('2022-03-02T06:50:07.000Z');
  });

  it('returns null for what is not a date', () => {
    for (const bad of ['not a date', '2022-03-02 123:00', '2022-003-02', '2022-03-02T10:00+25:00', '02/03/2022', '', 2022, true, null, {}, new Date(NaN)]) {
      expect(parseDate(bad, SH)).toBeNull();
    }
  });

  it('round-trips any ISO string produced from fc.date()', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), fc.constantFrom('UTC', SH, NY), (d, tz) => {
        expect(parseDate(d.toISOString(), tz)).toBe(d.toISOString());
      }),
    );
  });

  it('reads local wall time consistently with the zone offset it resolves to', () => {
    // For any instant, its New York wall time (formatted by Intl) parses back to it,
    // except the repeated hour in autumn, which resolves to its first occurrence.
    const fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone: NY, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    fc.assert(
      fc.property(fc.date({ min: new Date('1980-01-01T00:00:00Z'), max: new Date('2037-12-31T00:00:00Z'), noInvalidDate: true }), (d) => {
        const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
        const p = Object.fromEntries(fmt.formatToParts(whole).map((x) => [x.type, x.value]));
        const wall = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
        const back = parseDate(wall, NY);
        expect(back).not.toBeNull();
        const diff = whole.getTime() - new Date(back as string).getTime();
        expect([0, 3_600_000]).toContain(diff);
      }),
    );
  });
});

describe('date and updated fields', () => {
  it('falls back from date to publishDate, pubDate, published', () => {
    expect(meta({ publishDate: '2022-01-02' }).date).toBe('2022-01-02T00:00:00.000Z');
    expect(meta({ pubDate: '2022-01-03' }).date).toBe('2022-01-03T00:00:00.000Z');
    expect(meta({ published: '2022-01-04' }).date).toBe('2022-01-04T00:00:00.000Z');
    expect(meta({ date: '2022-01-01', publishDate: '2022-01-02' }).date).toBe('2022-01-01T00:00:00.000Z');
  });

  it('does not take `published: false` (a status flag) for a date', () => {
    const m = meta({ published: false });
    expect(m.date).toBeNull();
    expect(m.warnings).toEqual([]);
    expect(m.draft).toBe(true);
  });

  it('warns about an unreadable date, naming the field and the value, and tries the next field', () => {
    const m = meta({ date: 'next tuesday', pubDate: '2022-01-03' });
    expect(m.date).toBe('2022-01-03T00:00:00.000Z');
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]?.code).toBe('invalid_date');
    expect(m.warnings[0]?.message).toContain('"date"');
    expect(m.warnings[0]?.message).toContain('next tuesday');

    const none = meta({ date: ['2022', '01'] });
    expect(none.date).toBeNull();
    expect(none.warnings.map((w) => w.code)).toEqual(['invalid_date']);
  });

  it('reads updated from updated, lastmod, modified, lastMod, updatedAt', () => {
    expect(meta({ updated: '2022-02-01' }).updated).toBe('2022-02-01T00:00:00.000Z');
    expect(meta({ lastmod: '2022-02-02' }).updated).toBe('2022-02-02T00:00:00.000Z');
    expect(meta({ modified: '2022-02-03' }).updated).toBe('2022-02-03T00:00:00.000Z');
    expect(meta({ lastMod: '2022-02-04' }).updated).toBe('2022-02-04T00:00:00.000Z');
    expect(meta({ updatedAt: '2022-02-05' }).updated).toBe('2022-02-05T00:00:00.000Z');
    expect(meta({ updated: '2022-02-01', lastmod: '2022-02-02' }).updated).toBe('2022-02-01T00:00:00.000Z');
  });

  it('matches keys case-insensitively like Hugo', () => {
    expect(meta({ Date: '2022-01-01', LastMod: '2022-01-02', Title: 'T' })).toMatchObject({
      date: '2022-01-01T00:00:00.000Z',
      updated: '2022-01-02T00:00:00.000Z',
      title: 'T',
    });
  });

  it('reads TOML local date-times in the default zone', () => {
    const { data } = parseFrontMatter('+++\ndate = 2022-03-02T14:50:07\n+++\n');
    expect(meta(data, SH).date).toBe('2022-03-02T06:50:07.000Z');
  });
});

describe('author and authors', () => {
  it('accepts a string, a list, or an object with a name', () => {
    expect(meta({ author: ' Alice ' })).toMatchObject({ author: 'Alice', authors: ['Alice'] });
    expect(meta({ author: ['Alice', 'Bob'] })).toMatchObject({ author: 'Alice', authors: ['Alice', 'Bob'] });
    expect(meta({ author: { name: 'Alice', email: 'a@example.com' } })).toMatchObject({ author: 'Alice', authors: ['Alice'] });
    expect(meta({})).toMatchObject({ author: null, authors: [] });
  });

  it('merges author and authors in order, deduplicated, without splitting names on commas', () => {
    expect(meta({ author: 'Smith, John', authors: ['Bob', 'Smith, John', ' Carol '] })).toMatchObject({
      author: 'Smith, John',
      authors: ['Smith, John', 'Bob', 'Carol'],
    });
    expect(meta({ authors: 'Dana' })).toMatchObject({ author: 'Dana', authors: ['Dana'] });
  });

  it(`keeps at most ${META_LIMITS.authors} authors, with a warning`, () => {
    const m = meta({ authors: Array.from({ length: 12 }, (_, i) => `A${i}`) });
    expect(m.authors).toEqual(Array.from({ length: META_LIMITS.authors }, (_, i) => `A${i}`));
    expect(m.warnings.map((w) => w.code)).toEqual(['too_many_authors']);
  });
});

describe('categories and tags', () => {
  it('accept a scalar, a list, or a comma-separated string', () => {
    expect(meta({ tags: 'news' }).tags).toEqual(['news']);
    expect(meta({ tags: 42 }).tags).toEqual(['42']);
    expect(meta({ tags: ['a', ' b ', ''] }).tags).toEqual(['a', 'b']);
    expect(meta({ tags: 'a, b,,c' }).tags).toEqual(['a', 'b', 'c']);
    expect(meta({ tags: '新闻，国际' }).tags).toEqual(['新闻', '国际']);
    // Without commas a string is one value (not split on spaces as Jekyll would).
    expect(meta({ tags: 'machine learning' }).tags).toEqual(['machine learning']);
  });

  it("flatten Hexo's nested category lists and YAML nested sequences", () => {
    expect(meta({ categories: [['A', 'B'], 'C'] }).categories).toEqual(['A', 'B', 'C']);
    const { data } = parseFrontMatter('---\ncategories:\n  - - Tech\n    - Web\n  - Life\n---\n');
    expect(meta(data).categories).toEqual(['Tech', 'Web', 'Life']);
  });

  it("accept Jekyll's singular `category`", () => {
    expect(meta({ category: 'Tech' }).categories).toEqual(['Tech']);
    expect(meta({ categories: ['Tech'], category: 'Life' }).categories).toEqual(['Tech', 'Life']);
  });

  it('deduplicate case-sensitively after NFC normalization', () => {
    expect(meta({ tags: ['caf\u00e9', 'cafe\u0301', 'Café', 'café'] }).tags).toEqual(['caf\u00e9', 'Café']);
  });

  it(`keep at most ${META_LIMITS.tags} tags and ${META_LIMITS.categories} categories, with warnings`, () => {
    const m = meta({
      tags: Array.from({ length: 25 }, (_, i) => `t${i}`),
      categories: Array.from({ length: 11 }, (_, i) => `c${i}`),
    });
    expect(m.tags).toHaveLength(META_LIMITS.tags);
    expect(m.tags[META_LIMITS.tags - 1]).toBe(`t${META_LIMITS.tags - 1}`);
    expect(m.categories).toHaveLength(META_LIMITS.categories);
    expect(m.warnings.map((w) => w.code).sort()).toEqual(['too_many_categories', 'too_many_tags']);
  });

  it('shortens an over-long name, with a warning', () => {
    const m = meta({ tags: ['标'.repeat(300)] });
    expect(Array.from(m.tags[0] ?? '')).toHaveLength(META_LIMITS.nameLength);
    expect(m.warnings.map((w) => w.code)).toEqual(['name_too_long']);
  });

  it('toStringList ignores values that are not names', () => {
    expect(toStringList(null)).toEqual([]);
    expect(toStringList({ slug: 'x' })).toEqual([]);
    expect(toStringList([{ name: 'N' }, [['deep']], true])).toEqual(['N', 'deep', 'true']);
  });
});

describe('slug', () => {
  it('uses the front matter slug, made URL-safe', () => {
    expect(meta({ slug: 'Hello World/Part 2?' }).slug).toBe('hello-worldpart-2');
    expect(meta({ slug: '俄方：无普京 会谈' }).slug).toBe('俄方无普京-会谈');
  });

  it('falls back to the file name without directories and extension', () => {
    expect(meta({}, 'UTC', '2022/03/My Post.md').slug).toBe('my-post');
    expect(meta({ slug: '///' }, 'UTC', 'posts/hello.md')).toMatchObject({ slug: 'hello' });
    expect(slugFromFileName('posts\\中文 标题.markdown')).toBe('中文-标题');
    expect(slugFromFileName('_posts/2022-03-02-hello-world.md')).toBe('hello-world');
    expect(slugFromFileName('content/posts/my-bundle/index.md')).toBe('my-bundle');
    expect(slugFromFileName('.md')).toBe('md');
    expect(slugFromFileName('!!!.md')).toBeNull();
  });

  it('slugify keeps only URL-safe characters and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
        const slug = slugify(s);
        expect(slug).toMatch(/^[\p{L}\p{M}\p{N}_-]*$/u);
        expect(slug).not.toMatch(/^-|-$|--/);
        expect(encodeURIComponent(slug)).not.toMatch(/%2F|%3F|%23/i);
        expect(slugify(slug)).toBe(slug);
      }),
    );
  });
});

describe('excerpt and draft', () => {
  it('takes excerpt, description or summary (strings only)', () => {
    expect(meta({ excerpt: ' E ', description: 'D' }).excerpt).toBe('E');
    expect(meta({ description: 'D', summary: 'S' }).excerpt).toBe('D');
    expect(meta({ summary: 'S' }).excerpt).toBe('S');
    expect(meta({ excerpt: 42, summary: ['x'] }).excerpt).toBeNull();
  });

  it('is a draft with draft: true / "true" or published: false', () => {
    expect(meta({ draft: true }).draft).toBe(true);
    expect(meta({ draft: 'true' }).draft).toBe(true);
    expect(meta({ published: false }).draft).toBe(true);
    expect(meta({ published: 'false' }).draft).toBe(true);
    expect(meta({ draft: false, published: true }).draft).toBe(false);
    expect(meta({ published: '2022-01-01' }).draft).toBe(false);
  });
});

describe('warnings', () => {
  it('passes parse warnings through, first', () => {
    const parsed = parseFrontMatter('---\ntitle: a\ntitle: b\ndate: someday\n---\n');
    const m = normalizeMeta(parsed.data, { defaultTimezone: 'UTC', fileName: 'x.md', warnings: parsed.warnings });
    expect(m.title).toBe('b');
    expect(m.warnings.map((w) => w.code)).toEqual(['duplicate_front_matter_key', 'invalid_date']);
  });
});

describe('control characters from YAML escapes', () => {
  it('never reach titles, names, excerpts or tags, and line breaks become spaces', () => {
    const meta = normalizeMeta(
      { title: 'Bad\u0000 title\u0007\nhere', author: 'Ann\u001b[31m', tags: ['x\u0000y', 'ok'], description: 'one\r\ntwo\u0085' },
      { defaultTimezone: 'UTC', fileName: 'a.md' },
    );
    expect(meta.title).toBe('Bad title here');
    expect(meta.author).toBe('Ann[31m');
    expect(meta.tags).toEqual(['xy', 'ok']);
    expect(meta.excerpt).toBe('one two');
  });
});

describe('publishAt (scheduled posts)', () => {
  const at = (data: Record<string, unknown>) => normalizeMeta(data, { defaultTimezone: 'UTC', fileName: 'p.md' }).publishAt;
  it('is publishDate or publish_date when given, else the date', () => {
    expect(at({ date: '2020-01-01', publishDate: '2030-01-01' })).toBe('2030-01-01T00:00:00.000Z');
    expect(at({ date: '2020-01-01', publish_date: '2030-01-02' })).toBe('2030-01-02T00:00:00.000Z');
    expect(at({ date: '2030-01-03' })).toBe('2030-01-03T00:00:00.000Z');
    expect(at({ publish_date: '2030-01-04' })).toBe('2030-01-04T00:00:00.000Z');
    expect(at({})).toBeNull();
  });
});
