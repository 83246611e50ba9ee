/**
 * Generator tags (functions/core/tags.ts): each dialect's syntax as its documentation
 * writes it, rendered through the Markdown step.
 */
import { describe, expect, it } from 'vitest';
import { renderArticleBody } from '../../functions/core/markdown';
import { sanitizeHtml } from '../../functions/core/sanitize';
import { hugoParams, renderTags, splitArgs, stripTemplateSyntax } from '../../functions/core/tags';

const render = (md: string, postName = 'my-post') => {
  const r = renderArticleBody(md, 'markdown', { postName });
  return { html: sanitizeHtml(r.html).trim(), warnings: r.warnings };
};

describe('Hexo image tags', () => {
  it('asset_img: a figure whose image is in the post asset folder, the title as caption', () => {
    expect(render('{% asset_img west-lake.jpg "The lake at dawn" %}').html).toBe(
      '<figure><img src="my-post/west-lake.jpg" alt="The lake at dawn" /><figcaption>The lake at dawn</figcaption></figure>',
    );
  });

  it('asset_img: [class] slug [width] [height] [title [alt]], quoted names with spaces', () => {
    expect(render(`{% asset_img left "spaced asset.jpg" 640 480 '"A title" "An alt"' %}`, 'post').html).toBe(
      '<figure><img src="post/spaced%20asset.jpg" alt="An alt" width="640" height="480" /><figcaption>A title</figcaption></figure>',
    );
    expect(render('{% asset_image sub/pic.png %}', 'p').html).toBe('<figure><img src="p/sub/pic.png" alt="" /></figure>');
  });

  it('img: [class names] /path [width] [height] [title text [alt text]]', () => {
    expect(render(`{% img right /images/a.jpg 300 '"Sunset" "The sun going down"' %}`).html).toBe(
      '<figure><img src="/images/a.jpg" alt="The sun going down" width="300" /><figcaption>Sunset</figcaption></figure>',
    );
    expect(render('{% image https://img.example.com/b.png %}').html).toBe(
      '<figure><img src="https://img.example.com/b.png" alt="" /></figure>',
    );
  });

  it('escapes what the arguments hold', () => {
    expect(render(`{% asset_img a.jpg '"<b>x</b>" "a\\"b"' %}`).html).toContain('<figcaption>&lt;b&gt;x&lt;/b&gt;</figcaption>');
  });
});

describe('code tags', () => {
  it('Hexo codeblock: lang, caption and link; a # line is code, never a heading', () => {
    const { html } = render(
      '{% codeblock _.compact http://underscorejs.org/#compact Underscore.js %}\n# a comment\n\n_.compact([0, 1, false]);\n{% endcodeblock %}',
    );
    expect(html).toBe(
      '<figure><pre><code># a comment\n\n_.compact([0, 1, false]);</code></pre><figcaption><span>_.compact</span> <a href="http://underscorejs.org/#compact">Underscore.js</a></figcaption></figure>',
    );
    expect(render('{% code lang:js line_number:false %}\nlet a = 1 < 2 && b;\n{% endcode %}').html).toBe(
      '<pre><code class="language-js">let a = 1 &lt; 2 &amp;&amp; b;</code></pre>',
    );
  });

  it('Jekyll and Eleventy highlight, with Liquid whitespace control and quoted languages', () => {
    expect(render('{% highlight ruby linenos %}\ndef foo\n  puts "foo"\nend\n{% endhighlight %}').html).toBe(
      '<pre><code class="language-ruby">def foo\n  puts "foo"\nend</code></pre>',
    );
    expect(render('{%- highlight "js" -%}\n# x\n{%- endhighlight -%}').html).toBe(
      '<pre><code class="language-js"># x</code></pre>',
    );
  });

  it('Hugo highlight, with options, in both shortcode forms', () => {
    expect(render('{{< highlight go "linenos=table,hl_lines=8 15-17" >}}\n// main\nfunc main() {}\n{{< /highlight >}}').html).toBe(
      '<pre><code class="language-go">// main\nfunc main() {}</code></pre>',
    );
    expect(render('{{% highlight python %}}\n# py\n{{% /highlight %}}').html).toBe('<pre><code class="language-python"># py</code></pre>');
  });

  it('ends the paragraph before it and starts one after it', () => {
    const { html } = render('Before\n{% highlight sh %}\nls\n{% endhighlight %}\nAfter *em*');
    expect(html).toBe('<p>Before</p>\n<pre><code class="language-sh">ls</code></pre>\n<p>After <em>em</em></p>');
  });
});

describe('raw blocks', () => {
  it('become their text, tags inside untouched', () => {
    expect(render('{% raw %}Write {{ page.title }} and {% include x %}.{% endraw %}')).toEqual({
      html: '<p>Write {{ page.title }} and {% include x %}.</p>',
      warnings: [],
    });
    expect(render('{% verbatim %}{{ a }}{% endverbatim %}').html).toBe('<p>{{ a }}</p>');
  });

  it('inside fenced code and code spans, only the markers go', () => {
    expect(render('```liquid\n{% raw %}{{ page.title }}{% endraw %}\n```').html).toBe(
      '<pre><code class="language-liquid">{{ page.title }}\n</code></pre>',
    );
    expect(render('Use `{% raw %}{{ x }}{% endraw %}` here.').html).toBe('<p>Use <code>{{ x }}</code> here.</p>');
  });
});

describe('Hugo figure', () => {
  it('reads every parameter of the embedded figure shortcode', () => {
    const { html } = render(
      '{{< figure src="harbour.jpg" link="https://example.com/full" target="_blank" rel="noopener" alt="Boats" title="Dusk" caption="The **harbour**" attr="Photo: Ann" attrlink="https://example.com/ann" class="wide" width="600" height="400" >}}',
    );
    expect(html).toBe(
      '<figure><a href="https://example.com/full" target="_blank" rel="noopener noreferrer"><img src="harbour.jpg" alt="Boats" width="600" height="400" /></a>' +
        '<figcaption><strong>Dusk</strong> The <strong>harbour</strong> <a href="https://example.com/ann">Photo: Ann</a></figcaption></figure>',
    );
  });

  it('takes the alt from the caption when none is given; the self-closing and % forms too', () => {
    expect(render('{{< figure src="/img/a.png" caption="A *quiet* bay" />}}').html).toBe(
      '<figure><img src="/img/a.png" alt="A quiet bay" /><figcaption>A <em>quiet</em> bay</figcaption></figure>',
    );
    expect(render('{{% figure src=`b.png` %}}').html).toBe('<figure><img src="b.png" alt="" /></figure>');
  });

  it("prints Hugo's escaped shortcodes as written", () => {
    expect(render('{{</* figure src="x.jpg" */>}}').html).toBe('<p>{{&lt; figure src="x.jpg" &gt;}}</p>');
    expect(render('```\n{{%/* notice */%}}\n```').html).toBe('<pre><code>{{% notice %}}\n</code></pre>');
  });
});

describe('other tags', () => {
  it('are removed with template_tag_removed naming each, once, the text between kept', () => {
    const { html, warnings } = render(
      '{% include note.html %} A {{ page.title }} {% if x %}kept{% endif %} {{< notice info >}}inside{{< /notice >}} {{% ref "a.md" %}} {% include b.html %}',
    );
    expect(html).toBe('<p>A  kept inside</p>');
    expect(warnings.map((w) => w.code)).toEqual(Array(5).fill('template_tag_removed'));
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/\{% include %\}.*\(2 times\)[\s\S]*\{\{ page\.title \}\}[\s\S]*\{% if %\}[\s\S]*\{\{< notice >\}\}[\s\S]*\{\{< ref >\}\}/);
  });

  it('drops Liquid comments with their content, silently', () => {
    expect(render('A {% comment %}secret{% endcomment %} B')).toEqual({ html: '<p>A  B</p>', warnings: [] });
  });

  it('bounds the warnings', () => {
    const many = Array.from({ length: 30 }, (_, i) => `{% tag${i} %}`).join(' ');
    const { warnings } = render(many);
    expect(warnings).toHaveLength(11);
    expect(warnings[10]!.message).toContain('20 more');
  });

  it('leaves text that only looks like a tag alone', () => {
    expect(render('Braces { and } and {{ unclosed\n\nand {% across\n\nparagraphs %}').warnings).toEqual([]);
    expect(renderTags('No tags here.', { postName: 'p' }).markdown).toBe('No tags here.');
    expect(renderArticleBody('<p>{% raw %}</p>', 'html', { postName: 'p' }).html).toBe('<p>{% raw %}</p>');
  });

  it('stays linear on unclosed tags', () => {
    for (const evil of ['{{'.repeat(100_000), '{% highlight %}'.repeat(20_000), '```\n' + '{{</*'.repeat(50_000), '`{{ '.repeat(50_000)]) {
      expect(() => renderTags(evil, { postName: 'p' })).not.toThrow();
    }
  });
});

describe('argument parsing', () => {
  it('splits like Nunjucks: quotes group and are removed', () => {
    expect(splitArgs(` a "b c" 'd "e"' f"g h" `)).toEqual(['a', 'b c', 'd "e"', 'fg h']);
  });

  it('reads Hugo named, raw-string and positional parameters', () => {
    expect(hugoParams('go "linenos=table" src="a \\"q\\".jpg" Alt=`x y` w=5')).toEqual({
      named: { src: 'a "q".jpg', alt: 'x y', w: '5' },
      positional: ['go', 'linenos=table'],
    });
  });

  it('stripTemplateSyntax removes every kind', () => {
    expect(stripTemplateSyntax('A {{ x }} B {% y %} C {{< z >}} D {{% w %}}')).toBe('A B C D');
  });
});
