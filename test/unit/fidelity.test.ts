/**
 * Fields read as the generators read them (issue 15): dates out of range, WordPress
 * authors, slugs as written, Hexo's _drafts folder, template syntax in titles.
 */
import { describe, expect, it } from 'vitest';
import { buildArticle } from '../../functions/core/article';
import { readDate } from '../../functions/core/dates';
import { normalizeMeta, withoutEmails } from '../../functions/core/normalize';

const meta = (data: Record<string, unknown>, fileName = 'posts/hello.md') =>
  normalizeMeta(data, { defaultTimezone: 'UTC', fileName });

const build = (text: string, key = 'posts/hello.md') =>
  buildArticle(new TextEncoder().encode(text), {
    id: 'x',
    key,
    uploadedAt: '2024-01-01T00:00:00.000Z',
    defaultTimezone: 'UTC',
  });

describe('dates as Hexo reads them', () => {
  it('rolls a field out of range over into the next unit, as moment and js-yaml do', () => {
    expect(readDate('2020-05-01 18:51:79', 'UTC')).toEqual({ iso: '2020-05-01T18:52:19.000Z', rolledOver: true });
    expect(readDate('2022-02-30', 'UTC')).toEqual({ iso: '2022-03-02T00:00:00.000Z', rolledOver: true });
    expect(readDate('2024-02-30', 'UTC').iso).toBe('2024-03-01T00:00:00.000Z');
    expect(readDate('2022-13-01', 'UTC').iso).toBe('2023-01-01T00:00:00.000Z');
    expect(readDate('2022-03-02 24:00', 'UTC').iso).toBe('2022-03-03T00:00:00.000Z');
    expect(readDate('2022-03-02 10:60:00+08:00', 'UTC').iso).toBe('2022-03-02T03:00:00.000Z');
    expect(readDate('2022-03-02 10:59:59', 'UTC')).toEqual({ iso: '2022-03-02T10:59:59.000Z', rolledOver: false });
  });

  it('warns with date_out_of_range and keeps the date', () => {
    const m = meta({ date: '2020-05-01 18:51:79' });
    expect(m.date).toBe('2020-05-01T18:52:19.000Z');
    expect(m.warnings).toEqual([expect.objectContaining({ code: 'date_out_of_range' })]);
    expect(m.warnings[0]!.message).toContain('18:51:79');
  });

  it('refuses only what no generator reads', () => {
    for (const bad of ['2022-03-02 123:00', 'yesterday', '2022-03-02T10:00+25:00']) {
      expect(readDate(bad, 'UTC').iso).toBeNull();
    }
    expect(meta({ date: 'yesterday' }).warnings[0]!.code).toBe('invalid_date');
  });
});

describe('WordPress export authors', () => {
  const wp = { login: 'jdoe', email: 'jdoe@example.com', display_name: 'Jane Doe', first_name: 'Jane', last_name: 'Q. Doe' };

  it('takes display_name, then first and last name, then login', () => {
    expect(meta({ author: wp }).authors).toEqual(['Jane Doe']);
    expect(meta({ author: { ...wp, display_name: '' } }).authors).toEqual(['Jane Q. Doe']);
    expect(meta({ author: { login: 'jdoe', email: 'jdoe@example.com', last_name: 'Doe' } }).authors).toEqual(['Doe']);
    expect(meta({ author: { login: 'jdoe', email: 'jdoe@example.com' } }).authors).toEqual(['jdoe']);
    expect(meta({ authors: [wp, { login: 'b' }] }).authors).toEqual(['Jane Doe', 'b']);
  });

  it('never takes or publishes the email', async () => {
    expect(meta({ author: { email: 'jdoe@example.com' } }).authors).toEqual([]);
    expect(withoutEmails({ author: wp, authors: [{ Email: 'a@b.c', name: 'A' }], author_email: 'x@y.z' })).toEqual({
      author: { login: 'jdoe', display_name: 'Jane Doe', first_name: 'Jane', last_name: 'Q. Doe' },
      authors: [{ name: 'A' }],
    });
    const { record, html } = await build(
      '---\ntitle: T\nauthor:\n  login: jdoe\n  email: jdoe@example.com\n  display_name: Jane Doe\n---\nBody.\n',
    );
    expect(record.author).toBe('Jane Doe');
    expect(JSON.stringify(record)).not.toContain('jdoe@example.com');
    expect(html).not.toContain('jdoe@example.com');
  });
});

describe('slugs', () => {
  it('keeps a URL-safe front-matter slug as written, a leading "-" included', () => {
    expect(meta({ slug: '-leading-dash' }).slug).toBe('-leading-dash');
    expect(meta({ slug: 'Mixed_Case.v2~x' }).slug).toBe('Mixed_Case.v2~x');
    expect(meta({ slug: '中文-标题' }).slug).toBe('中文-标题');
    expect(meta({ slug: 2022 }).slug).toBe('2022');
  });

  it('makes any other slug URL-safe', () => {
    expect(meta({ slug: 'Hello World/Part 2?' }).slug).toBe('hello-worldpart-2');
    expect(meta({ slug: '..' }, 'posts/a.md').slug).toBe('a');
  });
});

describe("Hexo's _drafts folder", () => {
  it('makes an article under a _drafts/ segment a draft', async () => {
    expect(meta({}, 'source/_drafts/idea.md').draft).toBe(true);
    expect(meta({}, '_drafts/idea.md').draft).toBe(true);
    expect(meta({}, 'source/_posts/idea.md').draft).toBe(false);
    expect(meta({}, 'source/my_drafts/idea.md').draft).toBe(false);
    expect((await build('---\ntitle: Idea\n---\nText.\n', 'blog/source/_drafts/idea.md')).record.status).toBe('draft');
  });
});

describe('titles', () => {
  it('never contain template syntax', async () => {
    expect(meta({ title: '{{ site.title }}: Notes {% raw %}' }).title).toBe(': Notes');
    const only = meta({ title: '{{ page.title }}' });
    expect(only.title).toBeNull();
    expect(only.warnings[0]!.code).toBe('template_title');
    const { record } = await build('---\ntitle: "{{ page.title }}"\n---\n# Real heading {{ x }}\n\nText.\n');
    expect(record.title).toBe('Real heading');
  });

  it('without a front-matter title: the first heading outside code, then the file name', async () => {
    const inCode = '{% codeblock lang:sh %}\n# install it\nnpm i\n{% endcodeblock %}\n\n';
    expect((await build(`${inCode}# Real title\n\nText.\n`)).record.title).toBe('Real title');
    expect((await build(`{% highlight sh %}\n# not a title\n{% endhighlight %}\n\nText.\n`, 'a/my-post.md')).record.title).toBe('my-post');
    expect((await build('{{< highlight sh >}}\n# not a title\n{{< /highlight >}}\n\nText.\n', 'a/hugo.md')).record.title).toBe('hugo');
    expect((await build('```sh\n# not a title\n```\n\n# {{ page.title }}\n\nText.\n', 'a/only-tags.md')).record.title).toBe('only-tags');
  });
});
