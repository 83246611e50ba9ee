/**
 * Body rendering: Markdown to HTML (HTML files pass through untouched).
 *
 * The output is raw, untrusted HTML: it must go through sanitizeHtml() (sanitize.ts)
 * before anyone sees it.
 */
import MarkdownIt from 'markdown-it';
import { load, type CheerioAPI } from 'cheerio/slim';
import type { AnyNode } from 'domhandler';
import { renderTags, type TagContext } from './tags';
import type { Warning } from './types';

export type BodyKind = 'markdown' | 'html';

/**
 * CommonMark plus GFM tables and strikethrough (markdown-it's default preset: blog
 * exports use tables). Raw HTML passes through, so Hexo's `<!-- more -->` survives;
 * no linkify, no typographic replacements (they would rewrite the author's quotes).
 * The preset's maxNesting (100) bounds recursion: deeper input is cut short instead of blowing the stack.
 */
const md = new MarkdownIt('default', {
  html: true,
  linkify: false,
  typographer: false,
});

export function renderBody(body: string, kind: BodyKind): string {
  return kind === 'html' ? body : md.render(body);
}

/**
 * An article body: generator tags read first (tags.ts), then rendered. HTML files are
 * not Markdown templates and pass through as they are.
 */
export function renderArticleBody(body: string, kind: BodyKind, ctx: TagContext): { html: string; warnings: Warning[] } {
  if (kind === 'html') return { html: body, warnings: [] };
  const { markdown, warnings } = renderTags(body, ctx);
  return { html: md.render(markdown), warnings };
}

/** Hexo's excerpt marker, with the spacing variants Hexo itself accepts. */
const MORE_MARKER = /<!--\s*more\s*-->/i;

export interface MoreSplit {
  /** HTML before the first marker (the whole input when there is none). */
  before: string;
  /** HTML after the first marker ('' when there is none). */
  after: string;
  hasMore: boolean;
}

/** Split rendered HTML at the first `<!-- more -->` marker. */
export function splitMore(html: string): MoreSplit {
  const match = MORE_MARKER.exec(html);
  if (!match) return { before: html, after: '', hasMore: false };
  return {
    before: html.slice(0, match.index),
    after: html.slice(match.index + match[0].length),
    hasMore: true,
  };
}

/**
 * Text of the first `<h1>`, whitespace collapsed; null when there is none or it is empty.
 * Meant for sanitized HTML, but safe on any input: the text walk is iterative, so very
 * deep markup cannot overflow the stack.
 */
export function firstHeading(html: string): string | null {
  if (!/<h1[\s>/]/i.test(html)) return null; // skip the parse for the common case
  return firstHeadingIn(load(html, null, false));
}

/** firstHeading() on an already parsed document. */
export function firstHeadingIn($: CheerioAPI): string | null {
  // A plain walk: cheerio's selector engine is quadratic on wide fragments.
  const h1 = firstElement($.root().get(0)!, 'h1');
  if (!h1) return null;
  const text = nodeText(h1).replace(/\s+/g, ' ').trim();
  return text === '' ? null : text;
}

/** The first element named `name`, in document order, without recursion. */
function firstElement(root: AnyNode, name: string): AnyNode | undefined {
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node !== root && 'name' in node && node.name.toLowerCase() === name) return node;
    if ('children' in node) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return undefined;
}

/** Concatenated text of a subtree (entity-decoded by the parser), without recursion. */
function nodeText(root: AnyNode): string {
  let text = '';
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const type: string = node.type;
    if (type === 'text' && 'data' in node) text += node.data;
    else if ('children' in node && type !== 'script' && type !== 'style') {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
  }
  return text;
}
