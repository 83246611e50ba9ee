import { describe, expect, it } from 'vitest';
import { firstHeading, renderBody, splitMore } from '../../functions/core/markdown';

describe('renderBody', () => {
  it('renders CommonMark with GFM tables and strikethrough', () => {
    const html = renderBody(
      '# Hello *World*\n\nPara with `a<b` and **bold** ~~gone~~.\n\n```ts\nconst a = 1 < 2;\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
      'markdown',
    );
    expect(html).toContain('<h1>Hello <em>World</em></h1>');
    expect(html).toContain('<p>Para with <code>a&lt;b</code> and <strong>bold</strong> <s>gone</s>.</p>');
    expect(html).toContain('<pre><code class="language-ts">const a = 1 &lt; 2;\n</code></pre>');
    expect(html).toMatch(/<table>\s*<thead>\s*<tr>\s*<th>a<\/th>/);
    expect(html).toMatch(/<td>2<\/td>/);
  });

  it('passes raw HTML through (sanitizing is a later step)', () => {
    expect(renderBody('<div align="center">\n*not md*\n</div>\n\n*md*', 'markdown')).toBe(
      '<div align="center">\n*not md*\n</div>\n<p><em>md</em></p>\n',
    );
    expect(renderBody('a <span style="color:red">b</span>', 'markdown')).toBe('<p>a <span style="color:red">b</span></p>\n');
  });

  it('does not linkify bare URLs nor apply typographic replacements', () => {
    expect(renderBody('visit https://example.com "quotes" -- (c) ...', 'markdown')).toBe(
      '<p>visit https://example.com &quot;quotes&quot; -- (c) ...</p>\n',
    );
  });

  it('keeps Chinese text as characters', () => {
    expect(renderBody('中文“引号”，**加粗**。', 'markdown')).toBe('<p>中文“引号”，<strong>加粗</strong>。</p>\n');
  });

  it('returns HTML bodies untouched', () => {
    const body = '# not a heading\n<p>*x*</p>\n\n    indented';
    expect(renderBody(body, 'html')).toBe(body);
  });

  it('keeps the <!-- more --> marker, as a block or inline', () => {
    expect(renderBody('Intro.\n\n<!-- more -->\n\nRest.', 'markdown')).toBe('<p>Intro.</p>\n<!-- more -->\n<p>Rest.</p>\n');
    // An HTML comment may interrupt a paragraph.
    expect(renderBody('Intro.\n<!--more-->\nRest.', 'markdown')).toBe('<p>Intro.</p>\n<!--more-->\n<p>Rest.</p>\n');
    expect(renderBody('Intro <!-- more --> inline', 'markdown')).toBe('<p>Intro <!-- more --> inline</p>\n');
  });

  it('renders a 1 MB body', () => {
    const chunk =
      '## Section\n\nSome *emphasis*, a [link](https://example.com/a?b=1) and `code`. 中文段落，包含标点。\n\n' +
      '- item one\n- item **two**\n\n> a quote\n\n```js\nconsole.log("x");\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n';
    const count = Math.ceil(1_000_000 / chunk.length);
    const html = renderBody(chunk.repeat(count), 'markdown');
    expect(html.match(/<h2>Section<\/h2>/g)).toHaveLength(count);
    expect(html.match(/<table>/g)).toHaveLength(count);
    expect(html.match(/<pre><code class="language-js">/g)).toHaveLength(count);
  });

  it('survives 50,000 levels of nesting without blowing the stack', () => {
    const quotes = renderBody('>'.repeat(50_000) + ' deep', 'markdown');
    const depth = quotes.match(/<blockquote>/g)?.length ?? 0;
    expect(depth).toBeGreaterThan(10);
    expect(depth).toBeLessThanOrEqual(100); // markdown-it's maxNesting
    expect(quotes.match(/<\/blockquote>/g)?.length).toBe(depth);

    const lists = renderBody('- '.repeat(50_000) + 'deep', 'markdown');
    expect(lists.match(/<ul>/g)?.length ?? 0).toBeLessThanOrEqual(100);

    const brackets = renderBody('['.repeat(50_000) + 'a' + ']'.repeat(50_000) + '(b)', 'markdown');
    expect(brackets.startsWith('<p>[[[')).toBe(true);

    const stars = renderBody('*'.repeat(50_000) + 'a' + '*'.repeat(50_000), 'markdown');
    expect(stars).toContain('<strong>');

    const divs = renderBody('<div>'.repeat(50_000), 'markdown');
    expect(divs).toBe('<div>'.repeat(50_000));
  });
});

describe('splitMore', () => {
  it('splits at the first marker, whatever its spacing or case', () => {
    expect(splitMore('<p>a</p>\n<!-- more -->\n<p>b</p><!--more--><p>c</p>')).toEqual({
      before: '<p>a</p>\n',
      after: '\n<p>b</p><!--more--><p>c</p>',
      hasMore: true,
    });
    expect(splitMore('a<!--MORE-->b')).toEqual({ before: 'a', after: 'b', hasMore: true });
    expect(splitMore('a<!--\n  more\t-->b')).toEqual({ before: 'a', after: 'b', hasMore: true });
  });

  it('reports no marker when there is none', () => {
    expect(splitMore('<p>a</p><!-- less -->')).toEqual({ before: '<p>a</p><!-- less -->', after: '', hasMore: false });
  });

  it('does not take a marker shown in a code block for the real one', () => {
    const html = renderBody('```\n<!-- more -->\n```\n\nText', 'markdown');
    expect(splitMore(html).hasMore).toBe(false);
  });
});

describe('firstHeading', () => {
  it('returns the text of the first h1', () => {
    expect(firstHeading(renderBody('Intro\n\n## Sub\n\n# Hello *World*\n\n# Second', 'markdown'))).toBe('Hello World');
  });

  it('decodes entities and collapses whitespace', () => {
    expect(firstHeading('<H1 class="t">\n  A &amp; B <small>&lt;v2&gt;</small>\n</H1>')).toBe('A & B <v2>');
    expect(firstHeading('<h1>标题：&#x4E2D;文</h1>')).toBe('标题：中文');
  });

  it('returns null without an h1 or with an empty one', () => {
    expect(firstHeading('<h2>Sub</h2><p>text</p><header>x</header>')).toBeNull();
    expect(firstHeading('<h1> <img src="a.png"> </h1>')).toBeNull();
    expect(firstHeading('')).toBeNull();
  });

  it('leaves out script text inside the heading', () => {
    expect(firstHeading('<h1>Title<script>evil()</script></h1>')).toBe('Title');
  });

  it('walks very deep markup without recursion', () => {
    const depth = 20_000; // beyond what a recursive text() survives
    expect(firstHeading('<h1>' + '<span>'.repeat(depth) + 'deep' + '</span>'.repeat(depth) + '</h1>')).toBe('deep');
  }, 60_000);
});
