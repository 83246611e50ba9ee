/**
 * Generator tags in Markdown bodies, read as the generators read them. Pure: no I/O.
 *
 * Runs on the Markdown source before it is rendered:
 * - image tags (Hexo `{% asset_img %}`, `{% img %}`/`{% image %}`, Hugo `{{< figure >}}`)
 *   become one-line `<figure><img …><figcaption>…</figcaption></figure>` blocks, so the
 *   image step discovers, re-hosts and turns the `<img>` into a `<picture>`;
 * - code tags (Hexo `{% codeblock %}`/`{% code %}`, Jekyll/Eleventy `{% highlight %}`,
 *   Hugo `{{< highlight >}}`) become `<pre><code class="language-x">` blocks written on
 *   one line (newlines as `&#10;`), so nothing inside can become Markdown (a `#` line is
 *   never a heading);
 * - raw blocks (`{% raw %}`, Nunjucks `{% verbatim %}`) become their text, untouched;
 * - every other tag (`{% … %}`, `{{ … }}`, `{{< … >}}`, `{{% … %}}`) is removed with a
 *   `template_tag_removed` warning naming it; the text between a paired tag's opening
 *   and closing stays. Liquid/Nunjucks comments (`{% comment %}…{% endcomment %}`) go whole.
 *
 * Code the author wrote as Markdown (fenced blocks, inline code spans) is left as written:
 * it shows templates rather than using them. Only what the generator itself would strip
 * there is stripped: `{% raw %}` markers (Jekyll) and Hugo's comment escapes (a
 * shortcode written with `/*` and `*` + `/` inside its delimiters prints as written).
 */
import MarkdownIt from 'markdown-it';
import { escapeHtml } from './escape';
import type { Warning } from './types';

export interface TagContext {
  /**
   * The post's file name without extension: Hexo's `post_asset_folder` keeps a post's
   * assets in a folder of that name next to it, so `{% asset_img a.jpg %}` is `<post>/a.jpg`.
   */
  postName: string;
}

export interface TagResult {
  markdown: string;
  warnings: Warning[];
}

/** Distinct removed tag names reported one by one; the rest are summed up in one warning. */
export const MAX_TAG_WARNINGS = 10;

const inline = new MarkdownIt('default', { html: true, linkify: false, typographer: false });

// ------------------------------------------------------------------ lexing

type Kind = 'liquid' | 'output' | 'hugo';

interface Tag {
  kind: Kind;
  /** Offsets of the whole tag in the source. */
  start: number;
  end: number;
  /** The text between the delimiters, trimmed (Liquid's `-` whitespace control removed). */
  inner: string;
  /** `{{% … %}}`: Hugo renders the inner content as Markdown. */
  markdownForm?: boolean;
}

type Finder = (re: RegExp, from: number) => number;

/**
 * The first match of a /g regex at or after `from`, remembered: the scan only moves
 * forward, so a repeated search (many unclosed `{{`) reuses the last answer instead of
 * scanning to the end again. This keeps the pass linear on hostile input.
 */
function forwardFinder(src: string): Finder {
  const cache = new Map<string, { from: number; at: number }>();
  return (re, from) => {
    const hit = cache.get(re.source);
    if (hit && hit.from <= from && (hit.at === -1 || hit.at >= from)) return hit.at;
    re.lastIndex = from;
    const at = re.exec(src)?.index ?? -1;
    cache.set(re.source, { from, at });
    return at;
  };
}

const CLOSERS: Record<string, RegExp> = { '%}': /%\}/g, '}}': /\}\}/g, '>}}': />\}\}/g, '%}}': /%\}\}/g };
const BLANK_LINE = /\n[ \t]*\n/g;

/** The tag starting at `i`, or null when `{` does not open one (a tag never spans a blank line). */
function tagAt(src: string, i: number, find: Finder): Tag | null {
  if (src[i] !== '{') return null;
  const two = src.slice(i, i + 3);
  let close: string;
  let kind: Kind;
  let open = 2;
  let markdownForm = false;
  if (two === '{{<' || two === '{{%') {
    kind = 'hugo';
    open = 3;
    markdownForm = two === '{{%';
    close = two === '{{<' ? '>}}' : '%}}';
  } else if (src.startsWith('{%', i)) {
    kind = 'liquid';
    close = '%}';
  } else if (src.startsWith('{{', i)) {
    kind = 'output';
    close = '}}';
  } else {
    return null;
  }
  const endAt = find(CLOSERS[close]!, i + open);
  if (endAt < 0) return null;
  const blank = find(BLANK_LINE, i);
  if (blank >= 0 && blank < endAt) return null;
  let inner = src.slice(i + open, endAt);
  if (kind !== 'hugo') inner = inner.replace(/^-/, '').replace(/-$/, '');
  inner = inner.trim();
  if (inner === '') return null;
  return { kind, start: i, end: endAt + close.length, inner, markdownForm };
}

// A Hugo comment escape: `{{<` `/*` … `*` `/` `>}}` (or with `%`): Hugo prints the tag itself.
// The inner part stops at the next opening, so a run of unclosed openings is linear.
const HUGO_ESCAPE = /\{\{(<|%)\/\*((?:(?!\*\/[>%]\}\}|\{\{[<%]\/\*)[^]){0,2000})\*\/[>%]\}\}/g;
const RAW_MARKER = /\{%-?\s*(?:end)?raw\s*-?%\}/g;

function unescapeInCode(code: string): string {
  return code.replace(RAW_MARKER, '').replace(HUGO_ESCAPE, (_, d: string, inner: string) => `{{${d}${inner}${d === '<' ? '>' : '%'}}}`);
}

/** The name of a tag: its first word (`/name` for a Hugo closing shortcode). */
function tagName(tag: Tag): string {
  if (tag.kind === 'output') return tag.inner;
  return /^\/?\s*[^\s/"'`]+/.exec(tag.inner)?.[0].replace(/\s+/g, '') ?? tag.inner;
}

/**
 * Arguments as Nunjucks/Liquid read them (Hexo's tag args): split on white space, a
 * quoted string is one argument without its quotes, pieces written together join.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end > i) {
        cur += text.slice(i + 1, end);
        has = true;
        i = end;
        continue;
      }
    }
    if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Hugo shortcode parameters: `name="v"`, name=`raw`, name=v, or positional values. */
export function hugoParams(text: string): { named: Record<string, string>; positional: string[] } {
  const named: Record<string, string> = {};
  const positional: string[] = [];
  const re = /(?:([\w-]+)\s*=\s*)?(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`|([^\s"`]+))/gy;
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) break;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? m[4] ?? '');
    if (m[1]) named[m[1].toLowerCase()] = value;
    else positional.push(value);
    i = re.lastIndex;
  }
  return { named, positional };
}

// ------------------------------------------------------------------ rendering


function attr(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : ` ${name}="${escapeHtml(value)}"`;
}

/** Code as one line of HTML: nothing in it can start a Markdown block. */
function codeBlock(code: string, lang: string | undefined, caption?: string): string {
  const body = escapeHtml(code.replace(/^\n/, '').replace(/\n[ \t]*$/, '')).replace(/\n/g, '&#10;');
  const cls = lang && /^[\w+#.-]+$/.test(lang) ? ` class="language-${lang.toLowerCase()}"` : '';
  const pre = `<pre><code${cls}>${body}</code></pre>`;
  return caption ? `<figure>${pre}<figcaption>${caption}</figcaption></figure>` : pre;
}

interface Figure {
  src: string;
  alt?: string;
  width?: string;
  height?: string;
  /** HTML (already escaped or rendered). */
  caption?: string;
  link?: string;
  target?: string;
  rel?: string;
}

function figure(f: Figure): string {
  const size = (v?: string) => (v && /^\d+(?:\.\d+)?(?:px)?$/.test(v) ? v.replace(/px$/, '') : undefined);
  let img = `<img${attr('src', f.src)} alt="${escapeHtml(f.alt ?? '')}"${attr('width', size(f.width))}${attr('height', size(f.height))}>`;
  if (f.link) img = `<a${attr('href', f.link)}${attr('target', f.target)}${attr('rel', f.rel)}>${img}</a>`;
  const caption = f.caption ? `<figcaption>${f.caption.replace(/\n/g, ' ')}</figcaption>` : '';
  return `<figure>${img}${caption}</figure>`;
}

/** Inline Markdown of a caption (Hugo markdownifies it), on one line. */
function markdownify(text: string): string {
  return inline.renderInline(text).trim();
}

/** Hexo's img tag: `[class names] /path/to/image [width] [height] [title text [alt text]]`. */
const HEXO_URL = /((([A-Za-z]{3,9}:(?:\/\/)?)(?:[-;:&=+$,\w]+@)?[A-Za-z0-9.-]+|(?:www.|[-;:&=+$,\w]+@)[A-Za-z0-9.-]+)((?:\/[+~%/.\w-_]*)?\??(?:[-+=&;%@.\w_]*)#?(?:[.!/\\\w]*))?)/;

function hexoImage(args: string[], srcIndex: (args: string[]) => number): Figure | null {
  const at = srcIndex(args);
  if (at < 0) return null;
  const src = args[at]!;
  const rest = args.slice(at + 1);
  let width: string | undefined;
  let height: string | undefined;
  if (rest.length && !/\D/.test(rest[0]!)) {
    width = rest.shift();
    if (rest.length && !/\D/.test(rest[0]!)) height = rest.shift();
  }
  // Hexo joins the rest and reads `"title" "alt"` (or '…') out of it.
  const meta = rest.join(' ');
  let title: string | undefined;
  let alt: string | undefined;
  if (meta) {
    const q1 = meta.startsWith('"') ? '"' : "'";
    const q2 = meta.endsWith('"') ? '"' : "'";
    const m = new RegExp(`${q1}?([^${q1}]+)?${q1}?\\s*${q2}?([^${q2}]+)?${q2}?`).exec(meta);
    title = m?.[1]?.trim() || undefined;
    alt = m?.[2]?.trim() || undefined;
  }
  return { src, width, height, alt: alt ?? title, caption: title ? escapeHtml(title) : undefined };
}

function hugoFigure(params: ReturnType<typeof hugoParams>): Figure | null {
  const p = params.named;
  const src = p['src'] ?? params.positional[0];
  if (!src) return null;
  // Hugo's figure.html: title as the caption's heading, caption (Markdown), then attr (linked with attrlink).
  const parts: string[] = [];
  if (p['title']) parts.push(`<strong>${escapeHtml(p['title'])}</strong>`);
  const credit = p['attr'] ? (p['attrlink'] ? `<a href="${escapeHtml(p['attrlink'])}">${markdownify(p['attr'])}</a>` : markdownify(p['attr'])) : '';
  const text = [p['caption'] ? markdownify(p['caption']) : '', credit].filter(Boolean).join(' ');
  if (text) parts.push(text);
  const plainCaption = p['caption'] ? inline.renderInline(p['caption']).replace(/<[^>]*>/g, '') : undefined;
  return {
    src,
    alt: p['alt'] ?? plainCaption,
    width: p['width'],
    height: p['height'],
    link: p['link'],
    target: p['target'],
    rel: p['rel'],
    caption: parts.length ? parts.join(' ') : undefined,
  };
}

/** Hexo's codeblock arguments: `[title] [lang:language] [url] [link text] [key:value …]`. */
function hexoCode(args: string[]): { lang?: string; caption?: string } {
  let lang: string | undefined;
  const rest: string[] = [];
  for (const a of args) {
    const colon = a.indexOf(':');
    const key = colon > 0 ? a.slice(0, colon) : '';
    if (key === 'lang') lang = a.slice(colon + 1);
    else if (['line_number', 'line_threshold', 'first_line', 'wrap', 'mark', 'language_attr', 'highlight'].includes(key)) continue;
    else rest.push(a);
  }
  const text = rest.join(' ');
  const m = /^(\S[\s\S]*?)\s+(https?:\/\/\S+)(?:\s+(.+))?$/i.exec(text);
  const caption = m
    ? `<span>${escapeHtml(m[1]!)}</span> <a href="${escapeHtml(m[2]!)}">${escapeHtml(m[3] ?? 'link')}</a>`
    : text
      ? `<span>${escapeHtml(text)}</span>`
      : undefined;
  return { lang, caption };
}

// ------------------------------------------------------------------ the pass

/** Block tags whose content is taken verbatim up to their end tag. */
const LIQUID_BLOCKS: Record<string, string> = {
  codeblock: 'endcodeblock',
  code: 'endcode',
  highlight: 'endhighlight',
  raw: 'endraw',
  verbatim: 'endverbatim',
  comment: 'endcomment',
};

const endRes = new Map<string, RegExp>();

/** The end tag of a block (`{% endraw %}`, `{{< /highlight >}}`), cached per name. */
function endTagRe(kind: 'liquid' | 'hugo', name: string): RegExp {
  const key = `${kind}:${name}`;
  let re = endRes.get(key);
  if (!re) {
    const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = kind === 'liquid'
      ? new RegExp(`\\{%-?\\s*${n}\\s*-?%\\}`, 'g')
      : new RegExp(`\\{\\{(?:<\\s*/\\s*${n}\\s*>|%\\s*/\\s*${n}\\s*%)\\}\\}`, 'g');
    endRes.set(key, re);
  }
  return re;
}

function findEnd(src: string, find: Finder, kind: 'liquid' | 'hugo', name: string, from: number): { start: number; end: number } | null {
  const re = endTagRe(kind, name);
  const at = find(re, from);
  if (at < 0) return null;
  re.lastIndex = at;
  const m = re.exec(src)!;
  return { start: at, end: at + m[0].length };
}

/** Longer backtick runs are taken literally (keeps the code-span search bounded). */
const MAX_BACKTICKS = 32;

/** A fenced code block opening at a line start: its fence (``` or ~~~, 3+). */
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const BACKTICKS = /`+/y;

export function renderTags(src: string, ctx: TagContext): TagResult {
  if (!/\{[{%]/.test(src)) return { markdown: src, warnings: [] };
  const removed = new Map<string, number>();
  const find = forwardFinder(src);
  let out = '';
  let i = 0;
  let lineStart = true;

  /** Appends a block of HTML on lines of its own. */
  const block = (html: string) => {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += `${html}\n\n`;
  };
  const remove = (tag: Tag) => {
    // A closing tag goes with its opening one, reported once.
    if (/^(?:\/|end)/.test(tagName(tag)) && tag.kind !== 'output') return;
    const name = tag.kind === 'output' ? `{{ ${tag.inner} }}` : tag.kind === 'hugo' ? `{{< ${tagName(tag)} >}}` : `{% ${tagName(tag)} %}`;
    removed.set(name, (removed.get(name) ?? 0) + 1);
  };

  while (i < src.length) {
    // Fenced code: copied, only the generator's own escapes taken out.
    if (lineStart) {
      const fence = FENCE_OPEN.exec(src.slice(i, i + 64));
      if (fence) {
        const marker = fence[1]!;
        const closeRe = new RegExp(`\\n {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*(?=\\n|$)`, 'g');
        const at = find(closeRe, i);
        let end = src.length;
        if (at >= 0) {
          closeRe.lastIndex = at;
          end = at + closeRe.exec(src)![0].length;
        }
        out += unescapeInCode(src.slice(i, end));
        i = end;
        lineStart = false;
        continue;
      }
    }
    const c = src[i]!;
    if (c === '\n') {
      out += c;
      i++;
      lineStart = true;
      continue;
    }
    // Inline code span: a run of backticks closed by a run of the same length.
    if (c === '`') {
      BACKTICKS.lastIndex = i;
      const run = BACKTICKS.exec(src)![0];
      const at = run.length <= MAX_BACKTICKS ? find(new RegExp(`(?<!\`)${run}(?!\`)`, 'g'), i + run.length) : -1;
      const blank = find(BLANK_LINE, i);
      if (at >= 0 && (blank < 0 || blank > at)) {
        out += unescapeInCode(src.slice(i, at + run.length));
        i = at + run.length;
      } else {
        out += run;
        i += run.length;
      }
      lineStart = false;
      continue;
    }
    const tag = c === '{' ? tagAt(src, i, find) : null;
    if (!tag) {
      out += c;
      i++;
      if (!/[ \t]/.test(c)) lineStart = false;
      continue;
    }
    i = handleTag(tag);
    lineStart = false;
  }

  function handleTag(tag: Tag): number {
    if (tag.kind === 'hugo') {
      // A Hugo comment prints the shortcode as written.
      const esc = /^\/\*([\s\S]*)\*\/$/.exec(tag.inner);
      if (esc) {
        out += unescapeInCode(src.slice(tag.start, tag.end));
        return tag.end;
      }
      const selfClosing = tag.inner.endsWith('/');
      const inner = selfClosing ? tag.inner.slice(0, -1).trim() : tag.inner;
      const name = tagName({ ...tag, inner });
      const args = inner.slice(name.length);
      if (name === 'figure') {
        const f = hugoFigure(hugoParams(args));
        if (f) {
          block(figure(f));
          return tag.end;
        }
      }
      if (name === 'highlight' && !selfClosing) {
        const end = findEnd(src, find, 'hugo', name, tag.end);
        if (end) {
          const lang = hugoParams(args).positional[0];
          block(codeBlock(src.slice(tag.end, end.start), lang));
          return end.end;
        }
      }
      remove({ ...tag, inner });
      return tag.end;
    }
    if (tag.kind === 'output') {
      remove(tag);
      return tag.end;
    }
    const name = tagName(tag);
    const args = splitArgs(tag.inner.slice(name.length));
    const endName = LIQUID_BLOCKS[name];
    if (endName) {
      const end = findEnd(src, find, 'liquid', endName, tag.end);
      if (end) {
        const content = src.slice(tag.end, end.start);
        if (name === 'raw' || name === 'verbatim') out += content;
        else if (name === 'highlight') block(codeBlock(content, args[0]));
        else if (name === 'codeblock' || name === 'code') {
          const { lang, caption } = hexoCode(args);
          block(codeBlock(content, lang, caption));
        }
        // comment: dropped with its content, as the generator does.
        return end.end;
      }
    }
    if (name === 'asset_img' || name === 'asset_image') {
      // Hexo finds whichever argument names one of the post's assets: here, the first file name.
      const f = hexoImage(args, (a) => {
        const i = a.findIndex((x) => /\.[A-Za-z0-9]{2,5}$/.test(x));
        return i >= 0 ? i : a.length ? 0 : -1;
      });
      if (f) {
        const file = f.src.replace(/^\.?\/+/, '');
        block(figure({ ...f, src: `${encodePath(ctx.postName)}/${encodePath(file)}` }));
        return tag.end;
      }
    }
    if (name === 'img' || name === 'image') {
      const f = hexoImage(args, (a) => a.findIndex((x) => HEXO_URL.test(x) || x.startsWith('/')));
      if (f) {
        block(figure(f));
        return tag.end;
      }
    }
    remove(tag);
    return tag.end;
  }

  return { markdown: out, warnings: removedWarnings(removed) };
}

/** Path segments percent-encoded, slashes kept (the image step decodes them again). */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function removedWarnings(removed: Map<string, number>): Warning[] {
  const list = [...removed.entries()];
  const warnings: Warning[] = list.slice(0, MAX_TAG_WARNINGS).map(([name, count]) => ({
    code: 'template_tag_removed',
    message: `the template tag ${preview(name)} was removed${count > 1 ? ` (${count} times)` : ''}: it only means something to the site generator`,
  }));
  if (list.length > MAX_TAG_WARNINGS) {
    warnings.push({
      code: 'template_tag_removed',
      message: `${list.length - MAX_TAG_WARNINGS} more kinds of template tags were removed`,
    });
  }
  return warnings;
}

function preview(name: string): string {
  const chars = Array.from(name.replace(/\s+/g, ' '));
  return chars.length > 80 ? `${chars.slice(0, 77).join('')}...` : name.replace(/\s+/g, ' ');
}

/** Template syntax (`{% … %}`, `{{ … }}`, shortcodes) taken out of one line of text. */
export function stripTemplateSyntax(text: string): string {
  return text
    // Each inner part stops at the next opening: linear however many are left unclosed.
    .replace(/\{\{[<%](?:(?![>%]\}\}|\{\{)[^])*[>%]\}\}/g, ' ')
    .replace(/\{%(?:(?!%\}|\{%)[^])*%\}/g, ' ')
    .replace(/\{\{(?:(?!\}\}|\{\{)[^])*\}\}/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
