/**
 * Normalize front-matter fields from Hexo, Hugo, Jekyll and feed exporters into one shape.
 * Pure: no I/O. Bad values become null or are dropped, with a warning, never an exception.
 */
import { BOUND_CODES } from './bounds';
import { readDate } from './dates';
import { stripTemplateSyntax } from './tags';
import type { NormalizedMeta, Warning } from './types';
import { FACET_CAPS } from '../write-budget';

export { parseDate } from './dates';

/** Bounds for what goes into the index (one item per tag/category/author). */
export const META_LIMITS = {
  /** Derived from the one-transaction write budget (functions/write-budget.ts). */
  ...FACET_CAPS,
  /** Code points of one tag, category or author: these become index keys. */
  nameLength: 100,
  /** Code points of a slug. */
  slugLength: 100,
} as const;

export interface NormalizeOptions {
  /** IANA zone for dates written without an offset (DEFAULT_TIMEZONE). */
  defaultTimezone: string;
  /** The article's object key or file name; the slug falls back to it. */
  fileName: string;
  /** Warnings from parseFrontMatter, passed through first. */
  warnings?: Warning[];
}

/** Hugo's order; `published` counts only when it holds a date (it is also a status flag). */
const DATE_FIELDS = ['date', 'publishDate', 'publish_date', 'pubDate', 'published'];
/** When the article goes live (Hugo's publishDate); else its date. A future one schedules it. */
const PUBLISH_FIELDS = ['publishDate', 'publish_date'];
const UPDATED_FIELDS = ['updated', 'lastmod', 'modified', 'updatedAt', 'updated_at', 'last_modified_at'];
const EXCERPT_FIELDS = ['excerpt', 'description', 'summary'];

export function normalizeMeta(data: Record<string, unknown>, opts: NormalizeOptions): NormalizedMeta {
  const warnings: Warning[] = [...(opts.warnings ?? [])];
  const get = fieldReader(data);

  const date = firstDate(get, DATE_FIELDS, opts.defaultTimezone, warnings);
  const updated = firstDate(get, UPDATED_FIELDS, opts.defaultTimezone, warnings);
  // A bad publishDate was already reported when it was the date; otherwise `date` stands.
  const publishAt = firstDate(get, PUBLISH_FIELDS, opts.defaultTimezone, []) ?? date;

  // Author names are not split on commas: "Smith, John" is one person.
  const authors = bounded(
    'authors',
    [...toStringList(authorNames(get('author')), { split: false }), ...toStringList(authorNames(get('authors')), { split: false })],
    META_LIMITS.authors,
    warnings,
  );
  const categories = bounded(
    'categories',
    [...toStringList(get('categories')), ...toStringList(get('category'))],
    META_LIMITS.categories,
    warnings,
  );
  const tags = bounded('tags', [...toStringList(get('tags')), ...toStringList(get('tag'))], META_LIMITS.tags, warnings);

  return {
    title: titleText(get('title'), warnings),
    date,
    updated,
    publishAt,
    author: authors[0] ?? null,
    authors,
    categories,
    tags,
    slug: slugField(get('slug'), opts.fileName, warnings),
    excerpt: firstString(get, EXCERPT_FIELDS),
    // Hexo keeps drafts in `source/_drafts/`: a key with that segment is a draft.
    draft: isTrue(get('draft')) || isFalse(get('published')) || /(?:^|\/)_drafts\//.test(opts.fileName),
    warnings,
  };
}

/**
 * Reads a field by exact name, else case-insensitively: Hugo lowercases every key, so
 * `lastMod`, `Lastmod` and `lastmod` are the same field there.
 */
function fieldReader(data: Record<string, unknown>): (name: string) => unknown {
  let lower: Map<string, unknown> | undefined;
  return (name) => {
    if (Object.hasOwn(data, name)) return data[name];
    if (!lower) {
      lower = new Map();
      for (const [k, v] of Object.entries(data)) if (!lower.has(k.toLowerCase())) lower.set(k.toLowerCase(), v);
    }
    return lower.get(name.toLowerCase());
  };
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** `published: true/false/yes/no` is Jekyll's status flag, not a date. */
function isFlag(v: unknown): boolean {
  return typeof v === 'boolean' || (typeof v === 'string' && /^(?:true|false|yes|no)$/i.test(v.trim()));
}

function firstDate(
  get: (name: string) => unknown,
  fields: string[],
  timeZone: string,
  warnings: Warning[],
): string | null {
  for (const field of fields) {
    const value = get(field);
    if (isBlank(value) || (field === 'published' && isFlag(value))) continue;
    const { iso, rolledOver } = readDate(value, timeZone);
    if (iso && rolledOver) {
      warnings.push({
        code: 'date_out_of_range',
        message: `front matter "${field}" ${preview(value)} has a field out of range; read as Hexo reads it, carried over into the next unit: ${iso}`,
      });
    }
    if (iso) return iso;
    // Fall through to the next field: a bad `date` should not hide a good `publishDate`.
    warnings.push({
      code: 'invalid_date',
      message: `front matter "${field}" is not a date we can read: ${preview(value)} (use e.g. 2022-03-02 06:50:07 or 2022-03-02T06:50:07+08:00)`,
    });
  }
  return null;
}

function preview(v: unknown): string {
  let text: string;
  try {
    text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    text = String(v);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// C0 and C1 controls (YAML's "\0", "\a", "\e", "\N" escapes put them in strings).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F]/g;

/** One line of clean text: NFC, no control characters, white space (line breaks too) as single spaces. */
export function singleLine(s: string): string {
  return s.normalize('NFC').replace(CONTROL, '').replace(/[\s\u0085]+/g, ' ').trim();
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') return null;
  const text = singleLine(v);
  return text === '' ? null : text;
}

function firstString(get: (name: string) => unknown, fields: string[]): string | null {
  for (const field of fields) {
    const v = get(field);
    const text = typeof v === 'string' ? singleLine(v) : '';
    if (text !== '') return text;
  }
  return null;
}

function isTrue(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

function isFalse(v: unknown): boolean {
  return v === false || (typeof v === 'string' && v.trim().toLowerCase() === 'false');
}

/** A front-matter title without template syntax; null (with a warning) when nothing else is left. */
function titleText(v: unknown, warnings: Warning[]): string | null {
  const text = scalarText(v);
  if (text === null || !/\{[{%]/.test(text)) return text;
  const clean = stripTemplateSyntax(text);
  if (clean !== '') return clean;
  warnings.push({
    code: 'template_title',
    message: `front matter "title" ${preview(v)} is only template syntax; the first heading or the file name is used instead`,
  });
  return null;
}

/**
 * `author` as a string, a list, `{name: …}`, or a list of those. WordPress exports write
 * `{login, email, display_name, first_name, last_name}`: the display name, else the first
 * and last name, else the login. Never the email.
 */
function authorNames(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(authorNames);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const text = (x: unknown) => (typeof x === 'string' ? singleLine(x) : '');
    const full = [text(o['first_name']), text(o['last_name'])].filter(Boolean).join(' ');
    return [o['name'], o['display_name'], full, o['login']].map(text).find(Boolean);
  }
  return v;
}

/** Keys that hold an e-mail address: never published, wherever they are in front matter. */
const EMAIL_KEY = /^(?:author[_-]?)?e-?mail(?:[_-]?address)?$/i;

/** Front matter as it is published: without e-mail addresses (WordPress exports carry the author's). */
export function withoutEmails(data: Record<string, unknown>): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (EMAIL_KEY.test(k)) continue;
      Object.defineProperty(out, k, { value: walk(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return walk(data) as Record<string, unknown>;
}

/**
 * Flattens a tag/category/author value into trimmed, NFC-normalized, distinct strings.
 *
 * Accepts a scalar, a list, nested lists (Hexo's `categories: [[A, B], C]` hierarchy is
 * flattened to A, B, C) and `{name: …}` objects. A top-level string is split on commas
 * (ASCII or full-width `，`) but not on spaces: `tags: "a, b"` is two tags, while
 * `tags: machine learning` stays one (Jekyll would split it on spaces, which breaks
 * multi-word and CJK tags; Hugo expects lists anyway). List items are never split.
 */
export function toStringList(value: unknown, opts: { split?: boolean } = {}): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (raw: string) => {
    const s = singleLine(raw);
    if (s !== '' && !seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  };
  const walk = (v: unknown, depth: number) => {
    if (Array.isArray(v)) {
      if (depth < 8) for (const item of v) walk(item, depth + 1);
    } else if (typeof v === 'object' && v !== null) {
      const name = (v as Record<string, unknown>).name;
      if (typeof name === 'string') add(name);
    } else {
      const text = scalarText(v);
      if (text !== null) add(text);
    }
  };
  if (typeof value === 'string' && opts.split !== false && /[,，]/.test(value)) {
    for (const part of value.split(/[,，]/)) add(part);
  } else {
    walk(value, 0);
  }
  return out;
}

/** Caps a list (and each name's length) so the index stays bounded, warning when it cuts. */
function bounded(field: 'tags' | 'categories' | 'authors', names: string[], max: number, warnings: Warning[]): string[] {
  const distinct = [...new Set(names)];
  const kept = distinct.slice(0, max).map((name) => {
    const chars = Array.from(name);
    if (chars.length <= META_LIMITS.nameLength) return name;
    warnings.push({
      code: 'name_too_long',
      message: `a name in front matter "${field}" is longer than ${META_LIMITS.nameLength} characters and was shortened`,
    });
    return chars.slice(0, META_LIMITS.nameLength).join('').trim();
  });
  if (distinct.length > max) {
    warnings.push({
      code: `too_many_${field}`,
      message: `front matter lists ${distinct.length} ${field}; only the first ${max} are kept`,
    });
  }
  return [...new Set(kept)];
}

/**
 * A URL-safe slug: NFC, lowercase, Unicode letters and digits kept (Chinese stays
 * Chinese), whitespace and dots become '-', '/' and other reserved or punctuation
 * characters are removed. May return '' when nothing usable is left.
 */
export function slugify(input: string, maxLength: number = META_LIMITS.slugLength): string {
  const slug = input
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\s.]+/gu, '-')
    .replace(/[^\p{L}\p{M}\p{N}_-]+/gu, '')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  const chars = Array.from(slug);
  return chars.length <= maxLength ? slug : chars.slice(0, maxLength).join('').replace(/[-_]+$/, '');
}

/**
 * The slug a file name implies: directories and extension stripped; Jekyll's
 * `YYYY-MM-DD-` post prefix dropped; a Hugo page bundle (`my-post/index.md`) takes its
 * directory's name. Null when nothing usable is left.
 */
export function slugFromFileName(fileName: string): string | null {
  const parts = fileName.split(/[\\/]+/).filter(Boolean);
  let base = (parts.pop() ?? '').replace(/(.)\.[^.]+$/, '$1');
  if ((base === 'index' || base === '_index') && parts.length > 0) base = parts.pop() ?? base;
  const undated = /^\d{4}-\d{2}-\d{2}-(.+)$/.exec(base);
  const slug = slugify(undated?.[1] ?? base);
  return slug === '' ? null : slug;
}

/** Unreserved URL characters (letters of any script included): such a slug is kept as written. */
const URL_SAFE_SLUG = /^[\p{L}\p{M}\p{N}._~-]+$/u;

function slugField(value: unknown, fileName: string, warnings: Warning[]): string | null {
  const text = scalarText(value);
  if (text !== null) {
    const nfc = text.normalize('NFC');
    if (URL_SAFE_SLUG.test(nfc) && !/^\.+$/.test(nfc) && Array.from(nfc).length <= META_LIMITS.slugLength) return nfc;
    const slug = slugify(text);
    if (slug !== '' && slug !== slugify(text, Infinity)) {
      warnings.push({
        code: BOUND_CODES.slug,
        message: `front matter "slug" is longer than ${META_LIMITS.slugLength} characters and was shortened`,
      });
    }
    if (slug !== '') return slug;
    warnings.push({
      code: 'invalid_slug',
      message: `front matter "slug" ${preview(value)} has no usable characters; the file name is used instead`,
    });
  }
  return slugFromFileName(fileName);
}
