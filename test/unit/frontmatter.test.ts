import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArticleError } from '../../functions/core/errors';
import { FRONT_MATTER_LIMITS, parseFrontMatter } from '../../functions/core/frontmatter';

const SAMPLE = new URL('../fixtures/sample/000_c0ba3bdfef9b4790.txt', import.meta.url);

/** The ArticleError parseFrontMatter throws for `text` (fails the test if it does not throw one). */
function failure(text: string): ArticleError {
  try {
    parseFrontMatter(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ArticleError);
    return err as ArticleError;
  }
  throw new Error('expected parseFrontMatter to throw');
}

describe('parseFrontMatter: YAML', () => {
  it('reads the sample upload (a blank line before the opening ---)', () => {
    const parsed = parseFrontMatter(readFileSync(SAMPLE, 'utf8'));
    expect(parsed.format).toBe('yaml');
    expect(parsed.data.title).toBe('俄方：无普京与泽连斯基会谈计划');
    expect(parsed.data.categories).toEqual(['新媒体', '观察者网', '头条']);
    expect(parsed.data.date).toBe('Wed, 02 Mar 2022 06:50:07 GMT');
    expect(parsed.data.comments).toBe(false);
    expect(parsed.body.startsWith('\n<div>')).toBe(true);
    expect(parsed.body).not.toContain('thumbnail:');
  });

  it('splits data and body', () => {
    const parsed = parseFrontMatter('---\ntitle: Hello\ntags: [a, b]\n---\n# Body\n\ntext\n');
    expect(parsed).toEqual({ format: 'yaml', data: { title: 'Hello', tags: ['a', 'b'] }, body: '# Body\n\ntext\n', warnings: [] });
  });

  it('keeps timestamps as strings (core schema) so normalize applies the time zone', () => {
    const { data } = parseFrontMatter('---\ndate: 2022-03-02 06:50:07\nupdated: 2022-03-02\n---\n');
    expect(data).toEqual({ date: '2022-03-02 06:50:07', updated: '2022-03-02' });
  });

  it('accepts `...` as the closing line and an empty front matter', () => {
    expect(parseFrontMatter('---\ntitle: x\n...\nbody').data).toEqual({ title: 'x' });
    expect(parseFrontMatter('---\n---\nbody')).toMatchObject({ format: 'yaml', data: {}, body: 'body' });
    expect(parseFrontMatter('---\n# only a comment\n---\nbody')).toMatchObject({ format: 'yaml', data: {} });
  });

  it('strips a BOM and normalizes CRLF and CR line endings', () => {
    const parsed = parseFrontMatter('\ufeff---\r\ntitle: Hi\r\ntags:\r\n  - a\r\n---\r\nline 1\r\nline 2\rline 3');
    expect(parsed.format).toBe('yaml');
    expect(parsed.data).toEqual({ title: 'Hi', tags: ['a'] });
    expect(parsed.body).toBe('line 1\nline 2\nline 3');
  });

  it('indents with hard tabs like Hexo does (each leading tab = two spaces)', () => {
    const parsed = parseFrontMatter('---\ntitle: T\ntags:\n\t- x\n\t- y\nmeta:\n\tinner:\n\t\tvalue: 1\n---\nbody');
    expect(parsed.data).toEqual({ title: 'T', tags: ['x', 'y'], meta: { inner: { value: 1 } } });
  });

  it('keeps the last value of a duplicate key and reports it', () => {
    const parsed = parseFrontMatter('---\ntitle: first\ndate: 2022-01-01\ntitle: second\n---\n');
    expect(parsed.data.title).toBe('second');
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings?.[0]?.code).toBe('duplicate_front_matter_key');
    expect(parsed.warnings?.[0]?.message).toContain('"title"');
    expect(parsed.warnings?.[0]?.message).toContain('line 4');
  });

  it('never executes unknown tags such as !!js/function: the value stays text, with a warning', () => {
    const g = globalThis as { __frontMatterPwned?: boolean };
    const parsed = parseFrontMatter(
      '---\nrun: !!js/function "function () { globalThis.__frontMatterPwned = true }"\nother: !custom value\n---\n',
    );
    expect(parsed.data).toEqual({ run: 'function () { globalThis.__frontMatterPwned = true }', other: 'value' });
    expect(g.__frontMatterPwned).toBeUndefined();
    expect(parsed.warnings?.map((w) => w.code)).toEqual(['front_matter_unknown_tag', 'front_matter_unknown_tag']);
  });

  it('keeps a __proto__ key as plain data without touching prototypes', () => {
    const parsed = parseFrontMatter('---\n__proto__: {polluted: yes}\ntitle: x\n---\n');
    expect(Object.getPrototypeOf(parsed.data)).toBe(Object.prototype);
    expect(Object.keys(parsed.data)).toEqual(['__proto__', 'title']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('supports merge keys (js-yaml, which Hexo uses, does)', () => {
    const { data } = parseFrontMatter('---\nbase: &b {lang: zh}\npage:\n  <<: *b\n  title: x\n---\n');
    expect(data.page).toEqual({ lang: 'zh', title: 'x' });
  });
});

describe('parseFrontMatter: Hexo without the opening ---', () => {
  it('reads `key: value` lines closed by ---', () => {
    const parsed = parseFrontMatter('title: Hello World\ndate: 2013/7/13 20:46:25\ntags:\n- a\n---\nbody text\n');
    expect(parsed.format).toBe('yaml');
    expect(parsed.data).toEqual({ title: 'Hello World', date: '2013/7/13 20:46:25', tags: ['a'] });
    expect(parsed.body).toBe('body text\n');
  });

  it('does not eat Markdown whose --- is a horizontal rule', () => {
    for (const md of [
      '# Title\n\nSome text\n\n---\n\nmore',
      'Note: this paragraph\nwraps onto a second line\n---\ntext',
      'Just prose here.\n---\n',
      '<div>html: yes</div>\n---\n',
    ]) {
      expect(parseFrontMatter(md)).toEqual({ format: 'none', data: {}, body: md, warnings: [] });
    }
  });

  it('treats a leading --- with no YAML after it as a rule, not an unclosed front matter', () => {
    const md = '---\n\n# Title\ntext\n';
    expect(parseFrontMatter(md)).toEqual({ format: 'none', data: {}, body: md, warnings: [] });
  });
});

describe('parseFrontMatter: JSON', () => {
  it("reads Hexo's `;;;` JSON without braces", () => {
    const parsed = parseFrontMatter('"title": "Hello",\n"date": "2013/7/13 20:46:25"\n;;;\nbody');
    expect(parsed).toMatchObject({ format: 'json', data: { title: 'Hello', date: '2013/7/13 20:46:25' }, body: 'body' });
  });

  it("reads Hexo's `;;;` JSON with an opening ;;; line, with or without braces", () => {
    expect(parseFrontMatter(';;;\n"title": "A"\n;;;\nbody')).toMatchObject({ format: 'json', data: { title: 'A' }, body: 'body' });
    expect(parseFrontMatter(';;;\n{"title": "B"}\n;;;\nbody')).toMatchObject({ format: 'json', data: { title: 'B' }, body: 'body' });
  });

  it("reads Hugo's JSON object, matching braces outside strings only", () => {
    const parsed = parseFrontMatter('{\n  "title": "Braces } and \\" quotes {",\n  "tags": ["a", "b"],\n  "x": {"y": 1}\n}\nbody here');
    expect(parsed.format).toBe('json');
    expect(parsed.data).toEqual({ title: 'Braces } and " quotes {', tags: ['a', 'b'], x: { y: 1 } });
    expect(parsed.body).toBe('body here');
  });

  it('leaves template tags such as {% raw %} alone', () => {
    const md = '{% include note.html %}\nbody';
    expect(parseFrontMatter(md).format).toBe('none');
    expect(parseFrontMatter('{{< figure src="x" >}}\n').format).toBe('none');
  });

  it('rejects broken JSON and a JSON front matter that is not an object', () => {
    expect(failure('{\n  "title": "x",\n  "b": \n}\nbody').message).toMatch(/^JSON front matter/);
    expect(failure('{\n  "title": "never closed"\nbody').message).toContain('no matching closing "}"');
    expect(failure(';;;\n[1, 2]\n;;;\n').message).toContain('must be an object');
    expect(failure('"title": "x",\n"bad": \n;;;\nbody').code).toBe('invalid_front_matter');
  });
});

describe('parseFrontMatter: TOML', () => {
  it('reads +++ TOML; dates become their text (local ones stay local)', () => {
    const parsed = parseFrontMatter(
      '+++\ntitle = "T"\ndate = 2022-03-02T06:50:07\nupdated = 2022-03-02T06:50:07+08:00\nday = 2022-03-02\ntags = ["a", "b"]\n[params]\nx = 1\n+++\nbody',
    );
    expect(parsed).toEqual({
      format: 'toml',
      data: {
        title: 'T',
        date: '2022-03-02T06:50:07.000',
        updated: '2022-03-02T06:50:07.000+08:00',
        day: '2022-03-02',
        tags: ['a', 'b'],
        params: { x: 1 },
      },
      body: 'body',
      warnings: [],
    });
  });

  it('keeps integers too large for a JS number as text, exactly', () => {
    expect(parseFrontMatter('+++\nid = 12345678901234567890\n+++\n').data.id).toBe('12345678901234567890');
  });

  it('reports errors with line and column in the whole file', () => {
    const err = failure('\n+++\ntitle = "T"\nbad = \n+++\nbody');
    expect(err.code).toBe('invalid_front_matter');
    expect(err.message).toMatch(/^TOML front matter, line 4 column 7: /);
  });
});

describe('parseFrontMatter: none', () => {
  it('returns the whole (normalized) text as the body', () => {
    expect(parseFrontMatter('\ufeff# Hi\r\n\r\ntext')).toEqual({ format: 'none', data: {}, body: '# Hi\n\ntext', warnings: [] });
    expect(parseFrontMatter('')).toEqual({ format: 'none', data: {}, body: '', warnings: [] });
    expect(parseFrontMatter('<html><body>x</body></html>').format).toBe('none');
  });
});

describe('parseFrontMatter: errors tell the author what to fix', () => {
  it('gives line and column in the whole file (after blank lines and the --- line)', () => {
    const err = failure('\n\n---\ntitle: ok\nsummary: Note: this needs quotes\n---\nbody');
    expect(err.code).toBe('invalid_front_matter');
    expect(err.message).toMatch(/^YAML front matter, line 5 column 10: /);
    expect(err.message).toContain('quote');
  });

  it('counts columns in the original text when lines are tab-indented', () => {
    // Tab-expanded the `v` sits at column 6; in the author's file it is column 5.
    expect(failure('---\nobj:\n\tk: v: w\n---\n').message).toMatch(/^YAML front matter, line 3 column 5: /);
    expect(failure('---\nobj:\n  k: v: w\n---\n').message).toMatch(/^YAML front matter, line 3 column 6: /);
  });

  it('rejects a front matter that is a list or a single value', () => {
    expect(failure('---\n- a\n- b\n---\n').message).toContain('it is a list');
    expect(failure('---\njust some words\n---\n').message).toContain('it is a single value');
  });

  it('rejects an opening --- followed by YAML that is never closed', () => {
    expect(failure('---\ntitle: x\nbody text').message).toContain('never closed');
    expect(failure('+++\ntitle = "x"\n').message).toContain('never closed');
  });
});

describe('parseFrontMatter: resource bounds', () => {
  it('stops a billion-laughs document at the alias limit instead of expanding it', () => {
    // 9^26 expansions: without a bound this would never finish (or exhaust memory).
    const names = 'abcdefghijklmnopqrstuvwxyz';
    let doc = '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < names.length; i++) {
      doc += `${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]\n`;
    }
    const err = failure(`${doc}---\nbody`);
    expect(err.code).toBe('invalid_front_matter');
    expect(err.message).toContain(`more than ${FRONT_MATTER_LIMITS.maxAliasCount} times`);
  });

  it('rejects a recursive alias', () => {
    expect(failure('---\na: &x [1, *x]\n---\n').message).toContain('refers to itself');
  });

  it('rejects deep nesting in every dialect without overflowing the stack', () => {
    const depth = 40_000;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    for (const text of [
      `---\na: ${nested}\n---\n`,
      `---\na: ${'- '.repeat(depth)}x\n---\n`,
      `{"a": ${nested}}\n`,
      `+++\na = ${nested}\n+++\n`,
      `---\na: ${'['.repeat(30)}${']'.repeat(30)}\n---\n`,
    ]) {
      expect(failure(text).code).toBe('invalid_front_matter');
    }
  });

  it('rejects oversized front matter and too many values', () => {
    const big = `---\ntitle: ${'x'.repeat(FRONT_MATTER_LIMITS.maxChars)}\n---\n`;
    expect(failure(big).message).toContain('longer than');
    const many = `---\na: [${Array(FRONT_MATTER_LIMITS.maxValues + 1).fill('1').join(',')}]\n---\n`;
    expect(failure(many).message).toContain('more than');
  });
});
