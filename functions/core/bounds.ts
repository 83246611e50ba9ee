/**
 * Every record fits, by construction. DynamoDB refuses an item over 400 KB, a partition key
 * over 2,048 bytes, a sort key over 1,024 bytes, maps nested deeper than 32 levels, empty
 * attribute names and numbers outside its range; the SDK refuses unsafe integers. Any of
 * those turns an upload into a message that fails on every retry. So the article record
 * is bounded here, field by field, with byte budgets derived from those limits, before it
 * is saved; whatever is cut leaves a coded warning (BOUND_CODES). Pure: no I/O.
 *
 * Budgets (UTF-8 bytes, as DynamoDB counts them):
 *   summary  8 KB   copied into every listing item; a list page is one Query of up to
 *                   101 items, and a Query returns at most 1 MB (1 MB / 101 ≈ 10 KB per
 *                   item, keys included). 100 items of a transaction then stay far under 4 MB.
 *   item   300 KB   the whole article record; the rest of the 400 KB is headroom for the
 *                   index's own attributes (keys, sequencer, superseded body keys).
 *   front matter 64 KB, images list 96 KB, both inside the item budget.
 * Long index keys get a stable hashed form (boundedKey); the exact, bounded value stays in
 * the item.
 */
import { createHash } from 'node:crypto';
import type { ArticleRecord } from '../ports';
import { SUMMARY_MAX_BYTES } from '../write-budget';
import type { ArticleSummary, ErrorInfo, Image, ImageRef, Warning } from './types';

/** DynamoDB's and S3's own limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). */
export const DYNAMO = {
  itemBytes: 400 * 1024,
  partitionKeyBytes: 2048,
  sortKeyBytes: 1024,
} as const;

export const S3_KEY_BYTES = 1024;

/** What one listing item may carry of the article (see the module comment); the write budget's figure. */
export const SUMMARY_BUDGET = SUMMARY_MAX_BYTES;
/** The whole article record as stored. */
export const ITEM_BUDGET = 300 * 1024;

export const BUDGETS = {
  title: 512,
  excerpt: 1024,
  slug: 256,
  /** One category, tag or author name. */
  name: 256,
  /** All names of an article together (they are all in the summary). */
  names: 2048,
  /** An index key made from a value (facet keys); longer ones are hashed. */
  facetKey: 400,
  frontMatter: 64 * 1024,
  /** Levels of nesting inside front matter: the item and its map add a few of DynamoDB's 32. */
  frontMatterDepth: 24,
  frontMatterKey: 256,
  frontMatterString: 16 * 1024,
  warnings: 50,
  warningMessage: 300,
  warningUrl: 512,
  images: 200,
  imagesBytes: 96 * 1024,
  /** An image address as written, where it is only reported (images list, cover, warnings). */
  address: 512,
  errorCode: 64,
  errorMessage: 1024,
  /** A placeholder is a tiny data URI; anything larger is dropped. */
  placeholder: 2048,
} as const;

/** Stable codes of the warnings left by a cut, in one place. */
export const BOUND_CODES = {
  title: 'title_truncated',
  excerpt: 'excerpt_truncated',
  slug: 'slug_truncated',
  facetValue: 'facet_value_truncated',
  frontMatter: 'front_matter_truncated',
  warnings: 'warnings_truncated',
  images: 'images_truncated',
  summary: 'summary_truncated',
} as const;

/** Error codes of a record that cannot be stored in any bounded form. */
export const TOO_LARGE_CODE = 'article_too_large';

// ---------------------------------------------------------------------------------
// Measuring and cutting
// ---------------------------------------------------------------------------------

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * `s` cut to at most `maxBytes` UTF-8 bytes on a code point boundary (never inside a
 * surrogate pair), with `mark` appended when cut. `s` itself when it fits.
 */
export function truncateUtf8(s: string, maxBytes: number, mark = '…'): string {
  if (s.length * 3 <= maxBytes || utf8Bytes(s) <= maxBytes) return s;
  const room = Math.max(0, maxBytes - utf8Bytes(mark));
  let used = 0;
  let end = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    // A lone surrogate is written as U+FFFD (3 bytes).
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (used + n > room) break;
    used += n;
    end += ch.length;
  }
  return s.slice(0, end) + (utf8Bytes(mark) <= maxBytes ? mark : '');
}

/**
 * A key part of at most `maxBytes`: the value itself when it fits, else a readable prefix,
 * `~`, and the sha256 of the whole value (base64url), so distinct values stay distinct and
 * the same value always gets the same key.
 */
export function boundedKey(value: string, maxBytes: number): string {
  if (utf8Bytes(value) <= maxBytes) return value;
  const digest = createHash('sha256').update(value, 'utf8').digest('base64url');
  return `${truncateUtf8(value, maxBytes - digest.length - 1, '')}~${digest}`;
}

/**
 * The size DynamoDB counts for a value (an item is a map of its attributes): strings and
 * names by UTF-8 bytes, numbers by significant digits, 1 byte for booleans and null,
 * 3 bytes plus 1 per element for lists and maps. Slightly over, never under.
 */
export function dynamoSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return utf8Bytes(value);
    case 'number':
    case 'bigint':
      return Math.ceil(String(value).replace(/^-|e.*$|\./gi, '').length / 2) + 2;
    case 'boolean':
      return 1;
    case 'object': {
      if (value === null) return 1;
      if (value instanceof Uint8Array) return value.byteLength;
      let n = 3;
      if (Array.isArray(value)) {
        for (const v of value) if (v !== undefined) n += 1 + dynamoSize(v);
      } else {
        for (const [k, v] of Object.entries(value)) if (v !== undefined) n += 1 + utf8Bytes(k) + dynamoSize(v);
      }
      return n;
    }
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------

/** The fields of an article that every listing item and search row copies. */
export function summaryFields(r: ArticleSummary): ArticleSummary {
  return {
    id: r.id,
    slug: r.slug,
    title: r.title,
    date: r.date,
    updated: r.updated,
    author: r.author,
    authors: r.authors,
    categories: r.categories,
    tags: r.tags,
    excerpt: r.excerpt,
    cover: r.cover,
    wordCount: r.wordCount,
    readingMinutes: r.readingMinutes,
    imageCount: r.imageCount,
    sourceKey: r.sourceKey,
    status: r.status,
    warnings: r.warnings,
    error: r.error,
    processedAt: r.processedAt,
  };
}

/** Collects what was cut: one warning per code, the first message of each. */
class Cuts {
  private readonly found = new Map<string, Warning>();
  add(code: string, message: string): void {
    if (!this.found.has(code)) this.found.set(code, { code, message });
  }
  get warnings(): Warning[] {
    return [...this.found.values()];
  }
}

/**
 * The record, bounded so that it and each listing's copy of its summary fit DynamoDB's
 * limits. A record that cannot fit in any bounded form (it cannot happen with the budgets
 * above, but the check is what guarantees it) becomes `failed` with TOO_LARGE_CODE.
 */
export function boundRecord(input: ArticleRecord): ArticleRecord {
  const cuts = new Cuts();
  const text = (value: string, max: number, code: string, what: string) => {
    const out = truncateUtf8(value, max);
    if (out !== value) cuts.add(code, `The ${what} is longer than ${max} bytes and was shortened.`);
    return out;
  };

  const r: ArticleRecord = { ...input };
  r.title = text(r.title, BUDGETS.title, BOUND_CODES.title, 'title');
  r.excerpt = text(r.excerpt, BUDGETS.excerpt, BOUND_CODES.excerpt, 'excerpt');
  const slug = truncateUtf8(r.slug, BUDGETS.slug, '');
  if (slug !== r.slug) cuts.add(BOUND_CODES.slug, `The slug is longer than ${BUDGETS.slug} bytes and was shortened.`);
  r.slug = slug;

  Object.assign(r, boundNames(r, cuts));
  const fm = boundFrontMatter(r.frontMatter);
  if (fm.note) cuts.add(BOUND_CODES.frontMatter, fm.note);
  r.frontMatter = fm.data;
  r.images = boundImages(r.images, cuts);
  r.cover = r.cover && boundImage(r.cover);
  r.error = r.error && boundError(r.error);
  r.warnings = boundWarnings(r.warnings, cuts.warnings, BUDGETS.warnings);

  const fitted = fitSummary(r);
  if (dynamoSize(summaryFields(fitted)) > SUMMARY_BUDGET || dynamoSize(fitted) > ITEM_BUDGET) return tooLarge(fitted);
  return fitted;
}

/** Names: each within BUDGETS.name, all of them together within BUDGETS.names (authors first). */
function boundNames(r: ArticleRecord, cuts: Cuts): Pick<ArticleRecord, 'author' | 'authors' | 'categories' | 'tags'> {
  let left = BUDGETS.names;
  let dropped = 0;
  const fit = (names: string[]) => {
    const out: string[] = [];
    for (const raw of names) {
      const name = truncateUtf8(raw, BUDGETS.name);
      if (name !== raw) cuts.add(BOUND_CODES.facetValue, `A category, tag or author name is longer than ${BUDGETS.name} bytes and was shortened.`);
      if (out.includes(name)) continue;
      const n = utf8Bytes(name) + 1;
      if (n > left) {
        dropped++;
        continue;
      }
      left -= n;
      out.push(name);
    }
    return out;
  };
  const authors = fit(r.authors);
  const categories = fit(r.categories);
  const tags = fit(r.tags);
  if (dropped) {
    cuts.add(
      BOUND_CODES.facetValue,
      `The article's categories, tags and authors together are longer than ${BUDGETS.names} bytes: ${dropped} of them were left out.`,
    );
  }
  const author = r.author === null ? null : (authors[0] ?? truncateUtf8(r.author, BUDGETS.name));
  return { author, authors, categories, tags };
}

function boundError(e: ErrorInfo): ErrorInfo {
  return { code: truncateUtf8(e.code, BUDGETS.errorCode, ''), message: truncateUtf8(e.message, BUDGETS.errorMessage) };
}

function boundImage(img: Image): Image {
  const placeholder = img.placeholder !== null && utf8Bytes(img.placeholder) > BUDGETS.placeholder ? null : img.placeholder;
  return { ...img, placeholder, original: truncateUtf8(img.original, BUDGETS.address) };
}

function boundImages(refs: ImageRef[], cuts: Cuts): ImageRef[] {
  const out: ImageRef[] = [];
  let bytes = 0;
  for (const ref of refs) {
    const bounded: ImageRef = {
      ...ref,
      original: truncateUtf8(ref.original, BUDGETS.address),
      ...(ref.url !== undefined ? { url: truncateUtf8(ref.url, BUDGETS.address) } : {}),
      ...(ref.error ? { error: boundError(ref.error) } : {}),
    };
    const size = dynamoSize(bounded) + 1;
    if (out.length >= BUDGETS.images || bytes + size > BUDGETS.imagesBytes) break;
    bytes += size;
    out.push(bounded);
  }
  if (out.length < refs.length) {
    cuts.add(BOUND_CODES.images, `The article has ${refs.length} image references; the first ${out.length} are listed.`);
  }
  return out;
}

/**
 * At most `max` warnings, each bounded; the cuts' own warnings are always kept, and when
 * warnings are left out, one `warnings_truncated` says how many.
 */
function boundWarnings(warnings: Warning[], own: Warning[], max: number): Warning[] {
  const one = (w: Warning): Warning => ({
    code: truncateUtf8(w.code, BUDGETS.errorCode, ''),
    message: truncateUtf8(w.message, BUDGETS.warningMessage),
    ...(w.url !== undefined ? { url: truncateUtf8(w.url, BUDGETS.warningUrl) } : {}),
  });
  const ownCodes = new Set(own.map((w) => w.code));
  const others = warnings.filter((w) => !ownCodes.has(w.code) && w.code !== BOUND_CODES.warnings);
  const all = [...others, ...own];
  if (all.length <= max) return all.map(one);
  const room = Math.max(0, max - own.length - 1);
  const left = all.length - room - own.length;
  return [
    ...others.slice(0, room).map(one),
    ...own.map(one),
    { code: BOUND_CODES.warnings, message: `${left} more warnings were left out (an article keeps at most ${max}).` },
  ];
}

/**
 * Steps that shrink the summary, mildest first, each leaving a warning: applied in turn
 * until the summary fits SUMMARY_BUDGET.
 */
const SUMMARY_STEPS: ((r: ArticleRecord) => Partial<ArticleRecord>)[] = [
  (r) => ({ warnings: capWarnings(r.warnings.map(shortWarning), 20) }),
  (r) => ({ excerpt: truncateUtf8(r.excerpt, 256) }),
  (r) => ({ warnings: capWarnings(r.warnings, 8) }),
  (r) => ({ title: truncateUtf8(r.title, 200), cover: r.cover && { ...r.cover, original: truncateUtf8(r.cover.original, 128), placeholder: null } }),
  (r) => ({ tags: r.tags.slice(0, 5), categories: r.categories.slice(0, 3), authors: r.authors.slice(0, 3) }),
  (r) => ({ excerpt: '', cover: null, warnings: capWarnings(r.warnings.map((w) => ({ code: w.code, message: '' })), 8) }),
];

const OWN_CODES: ReadonlySet<string> = new Set(Object.values(BOUND_CODES));

/** At most `max` warnings, keeping those that say what was cut. */
function capWarnings(warnings: Warning[], max: number): Warning[] {
  return boundWarnings(warnings.filter((w) => !OWN_CODES.has(w.code)), warnings.filter((w) => OWN_CODES.has(w.code)), max);
}

function shortWarning(w: Warning): Warning {
  return { code: w.code, message: truncateUtf8(w.message, 120) };
}

function fitSummary(r: ArticleRecord): ArticleRecord {
  let out = r;
  for (const step of SUMMARY_STEPS) {
    if (dynamoSize(summaryFields(out)) <= SUMMARY_BUDGET) break;
    out = { ...out, ...step(out) };
    const note: Warning = { code: BOUND_CODES.summary, message: `The article's summary was shortened to fit ${SUMMARY_BUDGET} bytes.` };
    if (!out.warnings.some((w) => w.code === note.code)) out = { ...out, warnings: [...out.warnings, note] };
  }
  return out;
}

function tooLarge(r: ArticleRecord): ArticleRecord {
  return {
    ...r,
    title: truncateUtf8(r.title, 200),
    excerpt: '',
    author: null,
    authors: [],
    categories: [],
    tags: [],
    cover: null,
    status: 'failed',
    warnings: [],
    error: {
      code: TOO_LARGE_CODE,
      message: 'The article cannot be stored even after shortening its fields: reduce its front matter, tags or images.',
    },
    images: [],
    frontMatter: {},
    bodyKey: null,
  };
}

// ---------------------------------------------------------------------------------
// Front matter
// ---------------------------------------------------------------------------------

const UNMARSHALLABLE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

/** DynamoDB's number range; and the SDK refuses integers it cannot represent exactly. */
function storableNumber(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  if (Number.isInteger(n)) return Number.isSafeInteger(n);
  const abs = Math.abs(n);
  return abs < 1e125 && abs > 1e-125;
}

/**
 * Front matter as stored: no empty keys, keys within BUDGETS.frontMatterKey, strings within
 * BUDGETS.frontMatterString, numbers DynamoDB can hold (others as text), nesting within
 * BUDGETS.frontMatterDepth, and entries kept in order while the whole stays within
 * BUDGETS.frontMatter. Anything cut leaves one front_matter_truncated warning.
 */
export function boundFrontMatter(data: Record<string, unknown>): { data: Record<string, unknown>; note: string | null } {
  const found: string[] = [];
  const note = (what: string) => {
    if (!found.includes(what)) found.push(what);
  };
  let left = BUDGETS.frontMatter - 3;

  // Returns the bounded value, or undefined when it does not fit what is left.
  const walk = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'string': {
        const s = truncateUtf8(v, Math.min(BUDGETS.frontMatterString, left));
        if (s !== v) note(`values longer than ${BUDGETS.frontMatterString} bytes were shortened`);
        return s;
      }
      case 'number':
        if (storableNumber(v)) return v;
        note('numbers DynamoDB cannot store are kept as text');
        return Number.isFinite(v) ? String(v) : null;
      case 'bigint':
        note('numbers DynamoDB cannot store are kept as text');
        return v.toString();
      case 'boolean':
        return v;
      case 'object':
        break;
      default:
        return null;
    }
    if (v === null) return null;
    if (depth >= BUDGETS.frontMatterDepth) {
      note(`values nested more than ${BUDGETS.frontMatterDepth} levels deep were left out`);
      return undefined;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const item of v) {
        if (left < 16) {
          note(`entries past ${BUDGETS.frontMatter} bytes were left out`);
          break;
        }
        const before = left;
        left -= 1;
        const b = walk(item, depth + 1);
        if (b === undefined) {
          left = before;
          continue;
        }
        left = before - 1 - dynamoSize(b);
        out.push(b);
      }
      left -= 3;
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [rawKey, item] of Object.entries(v as Record<string, unknown>)) {
      if (rawKey === '') {
        note('empty keys were left out');
        continue;
      }
      // The SDK's marshaller cannot write these: it assigns map keys to a plain object
      // (`__proto__` vanishes, leaving an empty value DynamoDB refuses) and tells maps by
      // their `constructor` (an own `constructor` key makes it throw).
      if (UNMARSHALLABLE_KEYS.has(rawKey)) {
        note(`the keys "__proto__" and "constructor" were left out`);
        continue;
      }
      if (left < 16) {
        note(`entries past ${BUDGETS.frontMatter} bytes were left out`);
        break;
      }
      const key = truncateUtf8(rawKey, BUDGETS.frontMatterKey);
      if (key !== rawKey) note(`keys longer than ${BUDGETS.frontMatterKey} bytes were shortened`);
      if (Object.hasOwn(out, key)) continue;
      const before = left;
      left -= 1 + utf8Bytes(key);
      const b = left > 0 ? walk(item, depth + 1) : undefined;
      if (b === undefined) {
        left = before;
        if (before - 1 - utf8Bytes(key) <= 0) note(`entries past ${BUDGETS.frontMatter} bytes were left out`);
        continue;
      }
      left = before - 1 - utf8Bytes(key) - dynamoSize(b);
      // defineProperty: a `__proto__` key stays data.
      Object.defineProperty(out, key, { value: b, enumerable: true, writable: true, configurable: true });
    }
    left -= 3;
    return out;
  };
  const out = (walk(data, 0) ?? {}) as Record<string, unknown>;
  return { data: out, note: found.length ? `Front matter was cut to fit the index: ${found.join('; ')}.` : null };
}
