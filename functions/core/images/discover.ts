/**
 * Finds the images of an article: in the rendered (not yet sanitized) HTML and in front
 * matter, and works out where each one's bytes are.
 *
 * Each `<img>` is one reference, with its possible sources best first:
 *   1. the target of a link wrapping it, when that is an image file
 *      (`<a href="x.jpg"><img src="x_small.jpg"></a>`: the link is the full-size original;
 *      the href is then rewritten to the re-hosted copy),
 *   2. the largest candidate of `data-srcset`/`srcset`,
 *   3. the address: `data-src`, `data-original`, `data-lazy-src`, else `src` (lazy-load
 *      libraries put a placeholder in `src`, so with any lazy attribute it is ignored),
 *   4. the largest candidate of each `<source>` of an enclosing `<picture>` (these may be
 *      art-directed crops, so they come after the image's own addresses).
 * The re-hosting step tries them in that order and keeps the first that works.
 *
 * Addresses resolve to a remote URL (http/https, `//host` as https), an object in the
 * upload bucket (no scheme: relative to the article's key, or to the bucket root with a
 * leading `/`; never above the root), or the bytes of a `data:` URI.
 */
import { createHash } from 'node:crypto';
import { load, type CheerioAPI } from 'cheerio/slim';
import parseSrcsetStandard from 'parse-srcset';
import type { Element } from 'domhandler';
import { ImageError } from '../errors';
import { S3_KEY_BYTES } from '../bounds';

export type ImageSource =
  | { kind: 'remote'; key: string; url: string }
  | { kind: 'object'; key: string; bucket: string; objectKey: string }
  | { kind: 'data'; key: string; bytes: Uint8Array };

/** One possible source of an image: the address as written, and what it resolved to. */
export interface Candidate {
  raw: string;
  /** Set when the address resolved; `error` otherwise. */
  source?: ImageSource;
  error?: ImageError;
}

export interface BodyImage {
  img: Element;
  /** The enclosing `<picture>`, replaced as a whole. */
  picture: Element | null;
  /** The enclosing link to an image file, whose href follows the re-hosted image. */
  link: Element | null;
  /** The address the article shows (lazy attributes resolved), as written. */
  original: string;
  /** Best first, distinct sources. */
  candidates: Candidate[];
  /** Source key of the link target, when it is among the candidates. */
  linkKey: string | null;
}

export interface Discovery {
  $: CheerioAPI;
  body: BodyImage[];
  /** Front-matter images, in field priority order: the cover is the first that works. */
  cover: Candidate[];
}

export interface DiscoverContext {
  /** The article's own key in the upload bucket (decoded). */
  articleKey: string;
  incomingBucket: string;
}

/** Attributes lazy-load libraries keep the real address in, in order of trust. */
export const LAZY_SRC_ATTRS = ['data-src', 'data-original', 'data-lazy-src'] as const;
export const LAZY_SRCSET_ATTRS = ['data-srcset', 'data-lazy-srcset'] as const;

/** Front-matter fields that name an image, in priority order (keys compared loosely). */
export const FRONT_MATTER_IMAGE_FIELDS = [
  'cover',
  'image',
  'images',
  'headimg',
  'thumbnail',
  'banner',
  'feature_image',
  'featured_image',
  'og_image',
] as const;

const IMAGE_FILE = /\.(jpe?g|jfif|png|gif|webp|avif|bmp|tiff?|svg)$/i;

/** Serializes text as characters (Chinese stays Chinese), escaping only what HTML needs. */
export function loadHtml(html: string): CheerioAPI {
  return load(html, { xml: { xmlMode: false, decodeEntities: true, encodeEntities: 'utf8' } }, false);
}

export function discoverImages(html: string, frontMatter: Record<string, unknown>, ctx: DiscoverContext): Discovery {
  const $ = loadHtml(html);
  const body: BodyImage[] = [];
  for (const img of $('img').toArray()) {
    const ref = bodyImage($, img, ctx);
    if (ref) body.push(ref);
  }
  const cover = distinct(frontMatterImages(frontMatter).map((raw) => candidate(raw, ctx)));
  return { $, body, cover };
}

function bodyImage($: CheerioAPI, img: Element, ctx: DiscoverContext): BodyImage | null {
  const $img = $(img);
  // Fallback copies for script-less readers; the sanitizer drops them with their content.
  if ($img.closest('noscript, template').length) return null;
  const attr = (name: string) => $img.attr(name)?.trim() || undefined;

  const lazy = LAZY_SRC_ATTRS.map(attr).find(Boolean);
  const lazySrcset = LAZY_SRCSET_ATTRS.map(attr).find(Boolean);
  // With any lazy attribute present, `src` is a placeholder (a spinner, a blurred preview).
  const address = lazy ?? (lazySrcset ? undefined : attr('src'));
  const srcset = lazySrcset ?? attr('srcset');
  const fromSrcset = srcset ? largestCandidate(srcset) : undefined;

  const parent = img.parent;
  const picture = parent && parent.type === 'tag' && parent.name === 'picture' ? parent : null;
  const fromPicture: string[] = [];
  if (picture) {
    for (const source of $(picture).children('source').toArray()) {
      const set = [...LAZY_SRCSET_ATTRS, 'srcset'].map((a) => $(source).attr(a)?.trim()).find(Boolean);
      const best = set ? largestCandidate(set) : undefined;
      if (best) fromPicture.push(best);
    }
  }

  const a = $img.closest('a');
  const href = a.attr('href')?.trim();
  const link = href && isImageFileUrl(href) && a.find('img').length === 1 ? (a.get(0) as Element) : null;

  const raws = [link ? href! : undefined, fromSrcset, address, ...fromPicture].filter((r): r is string => !!r);
  if (raws.length === 0) return null; // an <img> with no address shows nothing: not an image
  const candidates = distinct(raws.map((raw) => candidate(raw, ctx)));
  const linkKey = link ? (candidate(href!, ctx).source?.key ?? null) : null;
  // A data: placeholder next to a real srcset is not what the article shows.
  const shown = address && !(/^data:/i.test(address) && fromSrcset) ? address : (fromSrcset ?? raws[0]!);
  return { img, picture, link, original: shown, candidates, linkKey };
}

function isImageFileUrl(href: string): boolean {
  if (/^data:image\//i.test(href)) return false;
  return IMAGE_FILE.test(href.replace(/[?#].*$/s, ''));
}

function candidate(raw: string, ctx: DiscoverContext): Candidate {
  try {
    return { raw, source: resolveImageAddress(raw, ctx) };
  } catch (err) {
    if (err instanceof ImageError) return { raw, error: err };
    throw err;
  }
}

/** Drops candidates resolving to a source already listed (errors are kept once per address). */
function distinct(list: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    const key = c.source?.key ?? `error:${c.raw}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------
// srcset
// ---------------------------------------------------------------------------------

export interface SrcsetCandidate {
  url: string;
  /** Width descriptor (`640w`). */
  w?: number;
  /** Density descriptor (`2x`); a candidate without descriptors is 1x. */
  x?: number;
}

/**
 * Parses a srcset as the HTML standard does (URLs may contain commas, descriptors follow),
 * with parse-srcset, the parser sanitize-html already uses for the same attributes.
 */
export function parseSrcset(value: string): SrcsetCandidate[] {
  return parseSrcsetStandard(value).map(({ url, w, d }) => ({ url, ...(w !== undefined ? { w } : {}), ...(d !== undefined ? { x: d } : {}) }));
}

/** The best candidate to re-host: the widest, else the densest. */
export function largestCandidate(srcset: string): string | undefined {
  const list = parseSrcset(srcset);
  const withW = list.filter((c) => c.w !== undefined);
  const pool = withW.length ? withW : list;
  const size = (c: SrcsetCandidate) => (withW.length ? c.w! : (c.x ?? 1));
  return pool.reduce<SrcsetCandidate | undefined>((best, c) => (!best || size(c) > size(best) ? c : best), undefined)
    ?.url;
}

// ---------------------------------------------------------------------------------
// Front matter
// ---------------------------------------------------------------------------------

/** Image addresses named in front matter, in field priority order, each once. */
export function frontMatterImages(fm: Record<string, unknown>): string[] {
  const byField = new Map<string, unknown>();
  for (const [key, value] of Object.entries(fm)) {
    const loose = key.trim().toLowerCase().replace(/[-:\s]/g, '_');
    if (!byField.has(loose)) byField.set(loose, value);
  }
  const out: string[] = [];
  for (const field of FRONT_MATTER_IMAGE_FIELDS) collect(byField.get(field), out, 0);
  return [...new Set(out)];
}

function collect(value: unknown, out: string[], depth: number): void {
  if (typeof value === 'string') {
    if (value.trim()) out.push(value.trim());
  } else if (Array.isArray(value) && depth === 0) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value && typeof value === 'object' && depth <= 1) {
    // { url }, { src }, Hugo's cover: { image }, Jekyll's image: { path }
    const o = value as Record<string, unknown>;
    const inner = [o['url'], o['src'], o['image'], o['path']].find((v) => typeof v === 'string' && v.trim());
    if (inner) collect(inner, out, 2);
  }
}

// ---------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------

const hash = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Longer image URLs are not fetched (servers refuse them; the image record keeps the URL). */
const MAX_URL_LENGTH = 8192;

/** Where an image address points. Throws ImageError('image_unsupported_url') when nowhere usable. */
export function resolveImageAddress(raw: string, ctx: DiscoverContext): ImageSource {
  let s = raw.trim();
  if (!s) throw new ImageError('image_unsupported_url', 'the image address is empty');
  if (/^data:/i.test(s)) return decodeDataUri(s);
  if (s.startsWith('//')) s = `https:${s}`;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s)?.[1]?.toLowerCase();
  if (scheme === undefined) return objectSource(s, raw, ctx);
  if (scheme !== 'http' && scheme !== 'https') {
    throw new ImageError('image_unsupported_url', `"${scheme}:" image addresses are not supported`);
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ImageError('image_unsupported_url', 'the image URL is malformed');
  }
  url.hash = '';
  if (url.href.length > MAX_URL_LENGTH) {
    throw new ImageError('image_unsupported_url', `the image URL is longer than ${MAX_URL_LENGTH} characters`);
  }
  return { kind: 'remote', key: url.href, url: url.href };
}

/** A path without a scheme: an object in the upload bucket, next to the article. */
function objectSource(path: string, raw: string, ctx: DiscoverContext): ImageSource {
  const clean = path.replace(/[?#].*$/s, '');
  const parts = clean.startsWith('/') ? [] : ctx.articleKey.split('/').slice(0, -1);
  for (const part of clean.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      seg = part;
    }
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) {
        throw new ImageError('image_unsupported_url', `"${raw}" points above the root of the upload bucket`);
      }
      parts.pop();
      continue;
    }
    // An encoded slash would change which "directory" the key is in behind our back.
    if (seg.includes('/')) throw new ImageError('image_unsupported_url', `"${raw}" is not a usable path`);
    parts.push(seg);
  }
  const objectKey = parts.join('/');
  if (!objectKey || clean.endsWith('/')) {
    throw new ImageError('image_unsupported_url', `"${raw}" does not name a file`);
  }
  // S3 refuses longer keys (KeyTooLongError): no such object can exist.
  if (Buffer.byteLength(objectKey, 'utf8') > S3_KEY_BYTES) {
    throw new ImageError('image_not_found', `the path names a key longer than S3's ${S3_KEY_BYTES} bytes: no such file can exist`);
  }
  return { kind: 'object', key: `s3://${ctx.incomingBucket}/${objectKey}`, bucket: ctx.incomingBucket, objectKey };
}

/** `data:[<type>][;base64],<data>`, base64 or percent-encoded. */
export function decodeDataUri(uri: string): ImageSource {
  const comma = uri.indexOf(',');
  if (comma < 0) throw new ImageError('image_unsupported_url', 'the data: URI has no data');
  const meta = uri.slice(5, comma);
  const payload = uri.slice(comma + 1);
  let bytes: Uint8Array;
  if (/;\s*base64\s*$/i.test(meta)) {
    const b64 = percentDecode(payload).toString('latin1').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64)) {
      throw new ImageError('image_unsupported_url', 'the data: URI is not valid base64');
    }
    bytes = Buffer.from(b64, 'base64');
  } else {
    bytes = percentDecode(payload);
  }
  return { kind: 'data', key: `data:${hash(bytes).slice(0, 32)}`, bytes };
}

/** %XX escapes to bytes, everything else as UTF-8 (decodeURIComponent rejects binary). */
function percentDecode(s: string): Buffer {
  if (!s.includes('%')) return Buffer.from(s, 'utf8');
  const chunks: Buffer[] = [];
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === '%' && /^[0-9a-f]{2}$/i.test(hex)) {
      if (text) chunks.push(Buffer.from(text, 'utf8'));
      text = '';
      chunks.push(Buffer.from([parseInt(hex, 16)]));
      i += 2;
    } else {
      text += s[i];
    }
  }
  if (text) chunks.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(chunks);
}
