/**
 * Plain text of an article body: text extraction, word counts, reading time, excerpt.
 *
 * Counting model: every CJK character (Han, Hiragana, Katakana, Hangul) is one word;
 * elsewhere a word is a run of letters/digits (inner `'`, `’`, `-`, `.` keep it whole:
 * "don't", "e-mail", "3.14"). Punctuation and symbols are not words.
 */
import { load, type CheerioAPI } from 'cheerio/slim';
import type { AnyNode } from 'domhandler';
import { firstHeadingIn, splitMore } from './markdown';
import { sanitizeHtml } from './sanitize';
import type { RenderedBody } from './types';

// ---------------------------------------------------------------- characters

const CJK_CLASS = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC`;
/** Chinese and Japanese characters and full-width punctuation (Korean separates words by spaces). */
const WIDE_CLASS = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u30FC\u3001-\u303F\uFF01-\uFF60`;
/** Wide, plus the curly quotes, ellipsis and dash that Chinese text uses but Latin text shares. */
const WIDE_OR_SHARED_CLASS = String.raw`${WIDE_CLASS}\u2018\u2019\u201C\u201D\u2026\u2014`;

const CJK_CHAR = new RegExp(`[${CJK_CLASS}]`, 'u');
const CJK_CHARS = new RegExp(`[${CJK_CLASS}]`, 'gu');
const LATIN_WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:['’.\-][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*/gu;

/**
 * A line break inside CJK text is not a space (CSS Text 3, segment break transformation):
 * "中文\n中文" reads "中文中文". One side must be wide, so English `”\n“` keeps its space.
 */
const CJK_SEGMENT_BREAK = new RegExp(
  `(?<=[${WIDE_CLASS}])[^\\S\\n]*\\n\\s*(?=[${WIDE_OR_SHARED_CLASS}])|` +
    `(?<=[${WIDE_OR_SHARED_CLASS}])[^\\S\\n]*\\n\\s*(?=[${WIDE_CLASS}])`,
  'gu',
);

/** Collapse whitespace the way a browser would show it: one space, none across CJK line breaks. */
export function collapseWhitespace(text: string): string {
  return text.replace(CJK_SEGMENT_BREAK, '').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------- HTML to text

/** Elements that end a line of text (a browser lays them out as blocks or rows). */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'caption', 'dd', 'details', 'div', 'dl',
  'dt', 'fieldset', 'figcaption', 'figure', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table',
  'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul', 'br', 'video', 'audio',
]);

/**
 * Elements whose text is not article text. Sanitized HTML has none of the dangerous
 * ones, but htmlToText must not leak script source when given raw HTML. Ruby
 * annotations (rt, rp) would count the same word twice.
 */
const NOT_TEXT = new Set([
  'script', 'style', 'noscript', 'template', 'head', 'title', 'textarea', 'select',
  'option', 'button', 'iframe', 'object', 'embed', 'svg', 'math', 'rt', 'rp',
]);

export interface HtmlToTextOptions {
  /** Extra element names whose text is left out (e.g. `['h1']` for excerpts). */
  skip?: readonly string[];
}

/** Marker pushed on the walk stack to close a block element. */
const END_BLOCK = Symbol('end-block');

/**
 * Visible text of an HTML fragment: entities decoded, one line per block element,
 * whitespace collapsed within lines. The DOM walk is iterative, so deep markup cannot
 * overflow the stack (parsing very deep raw HTML is slow, though: prefer sanitized
 * HTML, whose depth sanitizeHtml bounds).
 */
export function htmlToText(html: string, options: HtmlToTextOptions = {}): string {
  return textOf(load(html, null, false), options.skip);
}

function textOf($: CheerioAPI, skip?: readonly string[]): string {
  const skipped = new Set(skip);
  const lines: string[] = [];
  let line = '';
  const endLine = () => {
    const clean = collapseWhitespace(line);
    if (clean !== '') lines.push(clean);
    line = '';
  };

  const stack: (AnyNode | typeof END_BLOCK)[] = [...$.root().contents().get()].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node === END_BLOCK) {
      endLine();
      continue;
    }
    if (node.type === 'text') {
      line += node.data;
      continue;
    }
    if (!('name' in node) || !('children' in node)) continue; // comments, directives
    const name = node.name.toLowerCase();
    if (NOT_TEXT.has(name) || skipped.has(name)) continue;
    if (BLOCK.has(name)) {
      endLine();
      stack.push(END_BLOCK);
    }
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  endLine();
  return lines.join('\n');
}

// ---------------------------------------------------------------- counting

export interface WordStats {
  /** All words, CJK characters included. */
  words: number;
  /** How many of them are CJK characters. */
  cjk: number;
}

export function wordStats(text: string): WordStats {
  const cjk = text.match(CJK_CHARS)?.length ?? 0;
  const latin = text.replace(CJK_CHARS, ' ').match(LATIN_WORD)?.length ?? 0;
  return { words: cjk + latin, cjk };
}

export function countWords(text: string): number {
  return wordStats(text).words;
}

/** Reading speeds used by Medium's reading-time estimate. */
export const LATIN_WORDS_PER_MINUTE = 265;
export const CJK_CHARS_PER_MINUTE = 500;

/**
 * Minutes to read: non-CJK words at 265 per minute plus CJK characters at 500 per
 * minute (Medium's published model), rounded to the nearest minute; at least 1 for
 * a non-empty text, 0 for an empty one.
 * @param words total word count (CJK characters included, as wordStats().words)
 * @param cjkChars how many of those words are CJK characters
 */
export function readingMinutes(words: number, cjkChars = 0): number {
  if (!(words > 0)) return 0;
  const cjk = Math.min(Math.max(cjkChars, 0), words);
  const minutes = (words - cjk) / LATIN_WORDS_PER_MINUTE + cjk / CJK_CHARS_PER_MINUTE;
  return Math.max(1, Math.round(minutes));
}

// ---------------------------------------------------------------- excerpt

/** Sentence ends that need no look-ahead: full-width punctuation is unambiguous. */
const FULL_STOPS = new Set(['。', '！', '？', '．', '｡']);
const ASCII_STOPS = new Set(['.', '!', '?']);
/** Closing quotes and brackets that belong to the sentence they follow. */
const CLOSERS = new Set(['”', '’', '"', "'", '」', '』', '）', ')', '】', '》', '〕', ']']);
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const TRAILING_JOINERS = /[\s,，、;；:：\-–—(（“‘「『]+$/u;
const ENDS_SENTENCE = /[。！？．｡.!?][”’"'」』）)】》〕\]]*$/u;

/**
 * About the first `target` characters of `text`, never more than `max` code points
 * (a surrogate pair is never split).
 * - A text of at most `target` characters is returned whole.
 * - Otherwise it ends at the sentence end (。！？ anywhere, .!? before a space, CJK or
 *   the end; closing quotes included) nearest to `target` between 60% of `target`
 *   and `max`; the end of a text that fits in `max` also counts as a sentence end.
 * - Failing that it is cut at `target`, moved back to the last space when that would
 *   split a Latin word (CJK is cut at a character), and gets a trailing '…'.
 * Whitespace is collapsed (see collapseWhitespace).
 */
export function makeExcerpt(text: string, target = 200, max = 400): string {
  if (max <= 0) return '';
  const chars = Array.from(collapseWhitespace(text));
  const goal = Math.min(target, max);
  if (chars.length <= goal) return chars.join('');

  const end = sentenceEndNear(chars, goal, Math.round(goal * 0.6), max);
  if (end !== undefined) return chars.slice(0, end).join('').trim();

  let cut = Math.min(goal, max - 1); // room for the ellipsis
  const midWord = WORD_CHAR.test(chars[cut - 1] ?? '') && !CJK_CHAR.test(chars[cut - 1] ?? '') &&
    WORD_CHAR.test(chars[cut] ?? '') && !CJK_CHAR.test(chars[cut] ?? '');
  if (midWord) {
    const space = chars.lastIndexOf(' ', cut);
    if (space > cut / 2) cut = space; // a single very long "word" is cut anyway
  }
  const head = chars.slice(0, cut).join('').replace(TRAILING_JOINERS, '');
  if (head === '') return '';
  return ENDS_SENTENCE.test(head) ? head : `${head}…`;
}

/** Index just after the sentence end in [min, max] closest to goal (earlier wins ties). */
function sentenceEndNear(chars: string[], goal: number, min: number, max: number): number | undefined {
  let best: number | undefined;
  const consider = (end: number) => {
    if (end < min || end > max) return;
    if (best === undefined || Math.abs(end - goal) < Math.abs(best - goal)) best = end;
  };
  const limit = Math.min(chars.length, max);
  for (let i = 0; i < limit; i++) {
    const c = chars[i]!;
    const full = FULL_STOPS.has(c);
    if (!full && !ASCII_STOPS.has(c)) continue;
    let end = i + 1;
    while (end < chars.length && CLOSERS.has(chars[end]!)) end++;
    const next = chars[end];
    if (full || next === undefined || next === ' ' || CJK_CHAR.test(next)) consider(end);
  }
  if (chars.length <= max) consider(chars.length);
  return best;
}

// ---------------------------------------------------------------- measure

/** Hard cap on an author's `<!-- more -->` excerpt (it is otherwise kept whole). */
export const MORE_EXCERPT_MAX = 1000;

export interface MeasureInput {
  /**
   * HTML before sanitizing (markdown-it output or the HTML file, images rewritten or
   * not): the only place where the `<!-- more -->` comment still exists.
   */
  rawHtml: string;
  /** The sanitized body; computed from rawHtml when omitted. */
  safeHtml?: string;
}

export type BodyMeasures = Omit<RenderedBody, 'html'>;

/**
 * Excerpt, word count, reading time and first heading of a body.
 * Counts and heading come from the sanitized HTML (what readers get). The excerpt is
 * the text before `<!-- more -->` when the author placed one (sanitized first, kept
 * whole up to MORE_EXCERPT_MAX), else makeExcerpt of the whole text. Excerpts leave
 * out h1 text: it is almost always the title again.
 */
export function measure({ rawHtml, safeHtml }: MeasureInput): BodyMeasures {
  const $ = load(safeHtml ?? sanitizeHtml(rawHtml), null, false); // parsed once, read thrice
  const { words, cjk } = wordStats(textOf($));
  return {
    excerpt: excerptOf(rawHtml, $),
    wordCount: words,
    readingMinutes: readingMinutes(words, cjk),
    firstHeading: firstHeadingIn($),
  };
}

/** Excerpts leave out h1 text: it is almost always the title again. */
const EXCERPT_SKIP = ['h1'];

function excerptOf(rawHtml: string, $safe: CheerioAPI): string {
  const { before, hasMore } = splitMore(rawHtml);
  if (hasMore) {
    const text = htmlToText(sanitizeHtml(before), { skip: EXCERPT_SKIP });
    if (text !== '') return makeExcerpt(text, MORE_EXCERPT_MAX, MORE_EXCERPT_MAX);
  }
  return makeExcerpt(textOf($safe, EXCERPT_SKIP));
}
