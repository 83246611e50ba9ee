import fc from 'fast-check';
import { sampleBody } from '../support/sample';
import { describe, expect, it, vi } from 'vitest';
import { sanitizeForProcessing, sanitizeHtml } from '../../functions/core/sanitize';
import { unsafeReasons } from '../support/safety-oracle';

// ---------------------------------------------------------------- allowlist

describe('sanitizeHtml: article markup', () => {
  it('keeps ordinary article structure', () => {
    const html =
      '<h2>Title</h2><p>Some <em>em</em>, <strong>strong</strong>, <code>code</code>, <kbd>K</kbd>, ' +
      '<mark>m</mark>, <sub>1</sub><sup>2</sup>, <del>d</del><ins>i</ins>, <abbr title="HyperText">HTML</abbr>.</p>' +
      '<blockquote><p>quote</p></blockquote><ul><li>a</li></ul><ol start="3"><li>b</li></ol>' +
      '<dl><dt>t</dt><dd>d</dd></dl><hr /><details open><summary>more</summary><p>x</p></details>' +
      '<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>';
    expect(sanitizeHtml(html)).toBe(html);
  });

  it('keeps tables with spans and alignment', () => {
    const html =
      '<table><caption>c</caption><thead><tr><th scope="col" align="center">h</th></tr></thead>' +
      '<tbody><tr><td colspan="2" rowspan="3" align="right">x</td></tr></tbody></table>';
    expect(sanitizeHtml(html)).toBe(html);
  });

  it('keeps responsive images, pictures and figures', () => {
    const html =
      '<figure><picture><source type="image/webp" srcset="https://cdn.example/a-320.webp 320w, https://cdn.example/a-640.webp 640w" sizes="100vw" />' +
      '<img src="https://cdn.example/a.jpg" srcset="https://cdn.example/a-320.jpg 320w" sizes="100vw" alt="a cat" width="640" height="480" loading="lazy" decoding="async" />' +
      '</picture><figcaption>cap</figcaption></figure>';
    expect(sanitizeHtml(html)).toBe(html);
  });

  it('keeps the language class of code blocks and drops other classes and ids', () => {
    expect(sanitizeHtml('<pre class="x"><code class="language-ts other">let a</code></pre>')).toBe(
      '<pre><code class="language-ts">let a</code></pre>',
    );
    expect(sanitizeHtml('<p id="main" class="big">x</p><img class="bigimg" src="a.png">')).toBe('<p>x</p><img src="a.png" />');
  });

  it('unwraps unknown and layout tags but keeps their text', () => {
    expect(sanitizeHtml('<section><font color="red">hello</font> <center>world</center></section>')).toBe('hello world');
  });

  it('drops dangerous and interactive elements together with their content', () => {
    for (const tag of ['script', 'style', 'iframe', 'object', 'form', 'button', 'textarea', 'select', 'noscript', 'template', 'svg', 'math', 'frameset', 'title']) {
      expect(sanitizeHtml(`a<${tag}>secret<b>x</b></${tag}>b`), tag).toBe('ab');
    }
    for (const tag of ['embed', 'input', 'frame', 'meta', 'link', 'base']) {
      expect(sanitizeHtml(`a<${tag} src="x" href="y">b`), tag).toBe('ab');
    }
  });

  it('normalizes numeric attributes and keeps only valid alignment', () => {
    expect(sanitizeHtml('<img src="a.png" width="970px" height="374px" align="CENTER">')).toBe(
      '<img src="a.png" width="970" height="374" align="center" />',
    );
    expect(sanitizeHtml('<img src="a.png" width="50%" height="auto">')).toBe('<img src="a.png" width="50%" />');
    expect(sanitizeHtml('<p align="evil">x</p><span align="center">y</span>')).toBe('<p>x</p><span>y</span>');
  });

  it('keeps empty alt (decorative image) but no other empty attribute', () => {
    expect(sanitizeHtml('<img src="a.png" alt title="">')).toBe('<img src="a.png" alt="" />');
  });

  it('adds rel="noopener noreferrer" to target=_blank links and keeps the author rel', () => {
    expect(sanitizeHtml('<a href="https://x.example" target="_blank">x</a>')).toBe(
      '<a href="https://x.example" target="_blank" rel="noopener noreferrer">x</a>',
    );
    expect(sanitizeHtml('<a href="/x" target="_BLANK" rel="nofollow noopener">x</a>')).toBe(
      '<a href="/x" target="_blank" rel="nofollow noopener noreferrer">x</a>',
    );
    // Named targets could drive another window: dropped.
    expect(sanitizeHtml('<a href="/x" target="other">x</a>')).toBe('<a href="/x">x</a>');
  });

  it('removes srcdoc, formaction, event handlers and data-* attributes', () => {
    const out = sanitizeHtml(
      '<img src="a.jpg" data-src="b.jpg" onerror="x()">' +
        '<p onclick="x()" onmouseover="y()" srcdoc="<script>" formaction="javascript:1">t</p>',
    );
    expect(out).toBe('<img src="a.jpg" /><p>t</p>');
  });

  it('keeps referrerpolicy="no-referrer" on images only (hot-link protected originals need it)', () => {
    expect(sanitizeHtml('<img src="a.jpg" referrerpolicy="No-Referrer">')).toBe('<img src="a.jpg" referrerpolicy="no-referrer" />');
    expect(sanitizeHtml('<img src="a.jpg" referrerpolicy="unsafe-url">')).toBe('<img src="a.jpg" />');
    expect(sanitizeHtml('<a href="/x" referrerpolicy="no-referrer">x</a>')).toBe('<a href="/x">x</a>');
  });

  it('keeps lazy-load hints for the image step, and drops them in the final pass', () => {
    const html = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="https://a.example/b.jpg" data-srcset="https://a.example/b.jpg 2x" onerror="x()">';
    const pre = sanitizeForProcessing(html);
    expect(pre).toContain('data-src="https://a.example/b.jpg"');
    expect(pre).toContain('data-srcset=');
    expect(pre).not.toContain('onerror');
    expect(sanitizeHtml(pre)).not.toContain('data-src');
  });

  it('keeps harmless inline styles only', () => {
    expect(sanitizeHtml('<p style="text-align:center;color:#666666;font-weight:bold">x</p>')).toBe(
      '<p style="text-align:center;color:#666666;font-weight:bold">x</p>',
    );
    expect(
      sanitizeHtml(
        '<p style="position:fixed;top:0;background-image:url(javascript:x);color:expression(alert(1));' +
          'behavior:url(x.htc);-moz-binding:url(x);width:expression(1);background-color:rgb(1, 2, 3)">x</p>',
      ),
    ).toBe('<p style="background-color:rgb(1, 2, 3)">x</p>');
    expect(sanitizeHtml('<span style="color: var(--x)">x</span>')).toBe('<span>x</span>');
  });

  it('keeps video and audio with controls, never autoplay', () => {
    expect(sanitizeHtml('<video src="https://v.example/a.mp4" autoplay muted poster="p.jpg"></video>')).toBe(
      '<video src="https://v.example/a.mp4" muted poster="p.jpg" controls></video>',
    );
    expect(sanitizeHtml('<audio src="javascript:alert(1)" autoplay><source src="a.mp3" type="audio/mpeg"></audio>')).toBe(
      '<audio controls><source src="a.mp3" type="audio/mpeg" /></audio>',
    );
  });

  it('drops comments, including the more marker', () => {
    expect(sanitizeHtml('<p>a</p><!-- more --><p>b</p><!--[if IE]><script>x</script><![endif]-->')).toBe('<p>a</p><p>b</p>');
  });
});

describe('sanitizeHtml: URL schemes', () => {
  it.each([
    ['https://example.com/a?b=1&c=2', 'https://example.com/a?b=1&amp;c=2'],
    ['http://example.com', 'http://example.com'],
    ['mailto:a@example.com', 'mailto:a@example.com'],
    ['tel:+123', 'tel:+123'],
    ['/relative/path', '/relative/path'],
    ['../up', '../up'],
    ['#anchor', '#anchor'],
    ['//cdn.example/x', '//cdn.example/x'],
  ])('keeps link %s', (href, escaped) => {
    expect(sanitizeHtml(`<a href="${href}">x</a>`)).toBe(`<a href="${escaped}">x</a>`);
  });

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'jav&#x09;ascript:alert(1)',
    'jav&#x0A;ascript:alert(1)',
    '&#106;avascript:alert(1)',
    '&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)',
    'javascript&colon;alert(1)',
    '\u0001javascript:alert(1)',
    'vbscript:msgbox(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'ftp://example.com/file',
  ])('drops link %s', (href) => {
    expect(sanitizeHtml(`<a href="${href}">x</a>`)).toBe('<a>x</a>');
  });

  it('allows data: image sources of raster types only', () => {
    for (const type of ['png', 'jpeg', 'gif', 'webp', 'avif']) {
      const src = `data:image/${type};base64,AAAA`;
      expect(sanitizeHtml(`<img src="${src}">`), type).toBe(`<img src="${src}" />`);
    }
    for (const src of [
      'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=',
      'data:image/svg+xml,<svg onload=alert(1)>',
      'data:text/html,<script>alert(1)</script>',
      'DATA:image/SVG+xml,x',
      'da&#x09;ta:image/svg+xml,x',
    ]) {
      expect(sanitizeHtml(`<img src="${src}" alt="a">`), src).toBe('<img alt="a" />');
    }
  });

  it('allows http(s) and relative URLs only in srcset', () => {
    expect(
      sanitizeHtml('<img srcset="data:image/png;base64,AA 1x, https://a.example/b.png 2x, javascript:alert(1) 3x, c.png 4x">'),
    ).toBe('<img srcset="https://a.example/b.png 2x, c.png 4x" />');
    expect(sanitizeHtml('<picture><source srcset="javascript:alert(1)"></picture>')).toBe('<picture><source /></picture>');
    expect(sanitizeHtml('<img src="javascript:alert(1)" alt="x">')).toBe('<img alt="x" />');
    expect(sanitizeHtml('<img src="mailto:a@b.example">')).toBe('<img />');
  });

  it('keeps well-formed srcset candidates only, without logging the rest', () => {
    const log = vi.spyOn(console, 'log');
    try {
      expect(
        sanitizeHtml('<img srcset=" a.png  1.5x ,b.png 640w,c.png, d.png 2X, e.png 1x 2x, f.png 0w, g.png nonsense, h.png 1e9x">'),
      ).toBe('<img srcset="a.png 1.5x, b.png 640w, c.png" />');
      expect(sanitizeHtml('<img srcset=", ,">')).toBe('<img />');
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
  });
});

describe('sanitizeHtml: text', () => {
  it('keeps characters as characters and escapes only markup', () => {
    const out = sanitizeHtml('<p title="“标题” &quot;q&quot; <x>">中文“引号”&nbsp;&copy; &#x4E2D; 1 &lt; 2 &amp; 3 &gt; 0 "q" \'a\'</p>');
    expect(out).toBe('<p title="“标题” &quot;q&quot; &lt;x&gt;">中文“引号”\u00a0© 中 1 &lt; 2 &amp; 3 &gt; 0 "q" \'a\'</p>');
  });

  it('turns markup-looking text into text', () => {
    expect(sanitizeHtml('&lt;script&gt;alert(1)&lt;/script&gt;')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(sanitizeHtml('a < b > c')).toBe('a &lt; b &gt; c');
  });

  it('sanitizes the sample article: images and links kept, no entities for Chinese', () => {
    const html = sampleBody();
    const out = sanitizeHtml(html);
    expect(out).toMatch(/referrerpolicy="no-referrer"/);
    expect(out).not.toMatch(/&#|&[a-z]+;(?<!&amp;|&lt;|&gt;|&quot;)/i);
    expect(out).toContain('（观察者网讯）据乌克兰“TV24”消息');
    expect(out).toContain('<span style="color:#666666">泽连斯基3月1日接受CNN和路透社采访，图自其脸书视频截图</span>');
    expect(out.match(/<img /g)).toHaveLength(html.match(/<img /g)!.length);
    expect(out.match(/rel="noopener noreferrer"/g)).toHaveLength(html.match(/target="_blank"/g)!.length);
    expect(unsafeReasons(out)).toEqual([]);
    expect(sanitizeHtml(out)).toBe(out);
  });
});

describe('sanitizeHtml: deep and large input', () => {
  it('survives 50,000 nested elements and bounds the output depth', () => {
    const depth = 50_000;
    const out = sanitizeHtml('<div>'.repeat(depth) + 'deep text' + '</div>'.repeat(depth));
    expect(out).toContain('deep text');
    const opened = out.match(/<div>/g)?.length ?? 0;
    expect(opened).toBeGreaterThan(100);
    expect(opened).toBeLessThan(1000);
    expect(out.match(/<\/div>/g)?.length).toBe(opened);
  }, 60_000); // htmlparser2's open-element stack makes this ~1 s alone, more on a busy machine
});

// ---------------------------------------------------------------- XSS payloads

/** OWASP XSS filter evasion cheat sheet families (and a few from sanitizer bug trackers). */
const XSS: [string, string][] = [
  ['script tag', '<script>alert(1)</script>'],
  ['script with src', '<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>'],
  ['img onerror', '<img src=x onerror=alert(1)>'],
  ['img onerror no quotes/space', '<img/src=x/onerror=alert(1)>'],
  ['img javascript src', '<IMG SRC="javascript:alert(\'XSS\');">'],
  ['img mixed case', '<IMG SRC=JaVaScRiPt:alert(1)>'],
  ['img tab entity', '<IMG SRC="jav&#x09;ascript:alert(1);">'],
  ['img newline entity', '<IMG SRC="jav&#x0A;ascript:alert(1);">'],
  ['img decimal entities', '<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>'],
  ['img padded decimal entities', '<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097>'],
  ['img hex entities no semicolons', '<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61>'],
  ['leading space in href', '<a href=" javascript:alert(1)">x</a>'],
  ['control char in href', '<a href="&#14;  javascript:alert(1)">x</a>'],
  ['vbscript', '<a href="vbscript:msgbox(1)">x</a>'],
  ['data html link', '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'],
  ['svg onload', '<svg onload=alert(1)><circle r=1></svg>'],
  ['svg script', '<svg><script>alert(1)</script></svg>'],
  ['svg animate href', '<svg><a><animate attributeName=href values=javascript:alert(1) /><text x=20 y=20>X</text></a></svg>'],
  ['mathml href', '<math><mtext><a href="javascript:alert(1)">x</a></mtext></math>'],
  ['mathml maction', '<math href="javascript:alert(1)">CLICK</math>'],
  ['iframe srcdoc', '<iframe srcdoc="<script>alert(1)</script>"></iframe>'],
  ['iframe javascript', '<iframe src="javascript:alert(1)"></iframe>'],
  ['srcdoc on allowed tag', '<p srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">x</p>'],
  ['form formaction', '<form><button formaction="javascript:alert(1)">X</button></form>'],
  ['formaction on allowed tag', '<a formaction="javascript:alert(1)" href="/x">x</a>'],
  ['input autofocus onfocus', '<input autofocus onfocus=alert(1)>'],
  ['body onload', '<body onload=alert(1)>'],
  ['details ontoggle', '<details open ontoggle=alert(1)><summary>x</summary></details>'],
  ['nested script split', '<scr<script>ipt>alert(1)</scr</script>ipt>'],
  ['unclosed script', '<script>alert(1)'],
  ['unclosed img', '<img src="x" onerror="alert(1)"'],
  ['extra open bracket', '<<SCRIPT>alert("XSS");//<</SCRIPT>'],
  ['no closing bracket', '<SCRIPT SRC=http://xss.example/xss.js?< B >'],
  ['style expression', '<div style="width: expression(alert(1));">x</div>'],
  ['style url javascript', '<div style="background-image: url(javascript:alert(1))">x</div>'],
  ['style tag import', '<style>@import "http://xss.example/xss.css";</style>'],
  ['meta refresh', '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(1);">'],
  ['meta refresh data', '<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg">'],
  ['base href', '<BASE HREF="javascript:alert(1);//"><a href="x">x</a>'],
  ['link stylesheet', '<LINK REL="stylesheet" HREF="javascript:alert(1);">'],
  ['object data', '<object data="javascript:alert(1)"></object>'],
  ['embed src', '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" type="image/svg+xml">'],
  ['video poster javascript', '<video poster=javascript:alert(1)//></video>'],
  ['video source onerror', '<video><source onerror="alert(1)"></video>'],
  ['table background', '<TABLE BACKGROUND="javascript:alert(1)"><td>x</td></TABLE>'],
  ['attribute breakout', '<a href="/x" title="a&quot; onmouseover=&quot;alert(1)">x</a>'],
  ['odd attribute name', '<img """><script>alert(1)</script>">'],
  ['comment breakout', '<!--<img src="--><img src=x onerror=alert(1)//">'],
  ['cdata', '<![CDATA[<script>alert(1)</script>]]>'],
  ['textarea breakout', '<textarea></textarea><img src=x onerror=alert(1)>'],
  ['xmp breakout', '<xmp><script>alert(1)</script></xmp>'],
  ['noscript breakout', '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'],
  ['template', '<template><img src=x onerror=alert(1)></template>'],
  ['srcset javascript', '<img srcset="javascript:alert(1) 1x">'],
  ['svg data image', '<img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">'],
  ['option breakout', '<select><option>&lt;/option&gt;&lt;img src=x onerror=alert(1)&gt;</option></select>'],
];

describe('sanitizeHtml: XSS payloads', () => {
  it('has a meaningful payload table', () => {
    expect(XSS.length).toBeGreaterThanOrEqual(25);
  });

  it.each(XSS)('%s', (_name, payload) => {
    const out = sanitizeHtml(payload);
    expect(unsafeReasons(out)).toEqual([]);
    expect(sanitizeHtml(out)).toBe(out);
  });

  it('the oracle itself catches unsafe markup', () => {
    for (const bad of [
      '<script>x</script>',
      '<img src=x onerror=alert(1)>',
      '<a href="jav&#x09;ascript:alert(1)">x</a>',
      '<img src="data:image/svg+xml,x">',
      '<img srcset="a.png 1x, javascript:alert(1) 2x">',
      '<p srcdoc="x">',
      '<div style="width:expression(1)">',
    ]) {
      expect(unsafeReasons(bad), bad).not.toEqual([]);
    }
    expect(unsafeReasons('<img src="data:image/png;base64,AA"><a href="/x">javascript: is text</a>')).toEqual([]);
  });
});

// ---------------------------------------------------------------- properties

const HTMLISH_TOKENS = [
  '<', '>', '</', '/>', '=', '"', "'", '`', ' ', '\t', '\n', '&', ';', '#', '-', '!', '--', '<!--', '-->',
  '<![CDATA[', ']]>', '<?', '?>', 'a', 'p', 'img', 'script', 'svg', 'math', 'iframe', 'style', 'textarea',
  'xmp', 'noscript', 'template', 'title', 'option', 'table', 'td', 'b', 'i', 'div', 'video', 'source',
  'href', 'src', 'srcset', 'srcdoc', 'style', 'onerror', 'onload', 'formaction', 'target', '_blank',
  'rel', 'align', 'width', 'class', 'language-js', 'alt', 'javascript:', 'JaVaScRiPt:', 'vbscript:',
  'data:', 'data:image/png,', 'data:image/svg+xml,', 'http://x/', 'alert(1)', '&#106;', '&#x09;',
  '&#x6A', '&amp;', '&lt;', '&gt;', '&quot;', '&nbsp;', '&colon;', '\u0000', '\u00a0', '中文', '😀',
  'expression(', 'url(', 'color:red', 'text-align:center', ':', ',', ' 1x', '<!-- more -->',
];
const htmlish = fc.array(fc.constantFrom(...HTMLISH_TOKENS), { maxLength: 60 }).map((t) => t.join(''));
const tagged = fc
  .tuple(
    fc.constantFrom('a', 'img', 'p', 'script', 'svg', 'iframe', 'video', 'source', 'span', 'td', 'x-y'),
    fc.array(
      fc.tuple(
        fc.constantFrom('href', 'src', 'srcset', 'style', 'onclick', 'srcdoc', 'formaction', 'target', 'align', 'width', 'alt', 'title', 'class'),
        fc.array(fc.constantFrom(...HTMLISH_TOKENS), { maxLength: 8 }).map((t) => t.join('')),
        fc.constantFrom('"', "'", ''),
      ),
      { maxLength: 4 },
    ),
    htmlish,
  )
  .map(
    ([tag, attrs, inner]) =>
      `<${tag}${attrs.map(([n, v, q]) => ` ${n}=${q}${v}${q}`).join('')}>${inner}</${tag}>`,
  );

describe('sanitizeHtml: properties', () => {
  it('is idempotent on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const once = sanitizeHtml(s);
        expect(sanitizeHtml(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent on HTML-ish strings', () => {
    fc.assert(
      fc.property(fc.oneof(htmlish, tagged), (s) => {
        const once = sanitizeHtml(s);
        expect(sanitizeHtml(once)).toBe(once);
      }),
      { numRuns: 1500 },
    );
  });

  it('never outputs an executable construct', () => {
    fc.assert(
      fc.property(fc.oneof(htmlish, tagged, fc.string({ unit: 'binary-ascii', maxLength: 120 })), (s) => {
        expect(unsafeReasons(sanitizeHtml(s))).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });
});
