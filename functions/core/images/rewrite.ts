/**
 * Puts re-hosted images into the body: each becomes a `<picture>` with a `<source>` per
 * modern format and a fallback `<img>` (src, srcset, sizes, width, height, alt kept,
 * loading="lazy", decoding="async"). An image that failed keeps its original address,
 * with its lazy-load attributes turned into real ones so it still shows.
 */
import type { ImageRecord, StoredVariant } from '../../ports';
import type { ErrorInfo, Image, ImageRef, Warning } from '../types';
import { LAZY_SRCSET_ATTRS, LAZY_SRC_ATTRS, type BodyImage, type Discovery } from './discover';

/** What became of one reference (or of the front-matter cover). */
export type RefOutcome =
  | { ok: true; record: ImageRecord; sourceKey: string; raw: string }
  | { ok: false; error: ErrorInfo; raw: string };

export interface RewriteResult {
  html: string;
  cover: Image | null;
  images: ImageRef[];
  imageCount: number;
  warnings: Warning[];
}

/** Replaced by ours on a re-hosted image. `referrerpolicy`/`crossorigin` were for the old host. */
const REPLACED_ATTRS = new Set([
  'src',
  'srcset',
  'sizes',
  'width',
  'height',
  'loading',
  'decoding',
  'referrerpolicy',
  'crossorigin',
  'data-sizes',
  ...LAZY_SRC_ATTRS,
  ...LAZY_SRCSET_ATTRS,
]);

/** Long data: URIs are shortened where an address is only reported, not used. */
export function shortAddress(raw: string): string {
  return /^data:/i.test(raw) && raw.length > 80 ? `${raw.slice(0, 60)}… (${raw.length} characters)` : raw;
}

function mediaUrl(base: string, key: string): string {
  return `${base.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function srcset(base: string, variants: StoredVariant[]): string {
  return variants.map((v) => `${mediaUrl(base, v.key)} ${v.width}w`).join(', ');
}

/** The API's view of a re-hosted image. */
export function toImage(record: ImageRecord, original: string, mediaBaseUrl: string): Image {
  const largest = record.fallback.variants[record.fallback.variants.length - 1]!;
  return {
    url: mediaUrl(mediaBaseUrl, largest.key),
    width: largest.width,
    height: largest.height,
    srcset: srcset(mediaBaseUrl, record.fallback.variants),
    sources: record.sources.map((s) => ({ type: s.type, srcset: srcset(mediaBaseUrl, s.variants) })),
    placeholder: record.placeholder,
    color: record.color,
    original: shortAddress(original),
  };
}

/** `530`, `970px`, ` 530.0 ` → a number of CSS pixels; `100%`, `auto` → null. */
function declaredPx(value: string | undefined): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$/i.exec(value ?? '');
  const n = m ? Math.round(Number(m[1])) : 0;
  return n >= 1 ? n : null;
}

/** The article's display width if it gave one (height from the real aspect ratio), else the image's size. */
export function displaySize(
  declared: { width?: string; height?: string },
  real: { width: number; height: number },
): { width: number; height: number } {
  const w = declaredPx(declared.width);
  if (w) return { width: w, height: Math.max(1, Math.round((w * real.height) / real.width)) };
  const h = declaredPx(declared.height);
  if (h) return { width: Math.max(1, Math.round((h * real.width) / real.height)), height: h };
  return { width: real.width, height: real.height };
}

export function rewriteImages(
  disc: Discovery,
  body: RefOutcome[],
  coverOutcome: RefOutcome | null,
  mediaBaseUrl: string,
  /** The cover's social cards, when they were cut. */
  social?: ImageRecord['social'],
): RewriteResult {
  const images: ImageRef[] = [];
  const warnings = new Map<string, Warning>();
  const warn = (o: Extract<RefOutcome, { ok: false }>) => {
    const url = shortAddress(o.raw);
    const key = `${o.error.code}\n${url}`;
    if (!warnings.has(key)) {
      warnings.set(key, { code: o.error.code, message: `Image kept its original address: ${o.error.message}`, url });
    }
  };

  let firstBodyImage: Image | null = null;
  for (const [i, ref] of disc.body.entries()) {
    const outcome = body[i]!;
    const original = shortAddress(ref.original);
    if (outcome.ok) {
      const image = toImage(outcome.record, ref.original, mediaBaseUrl);
      firstBodyImage ??= image;
      replaceWithPicture(disc, ref, image, outcome.sourceKey);
      images.push({ original, status: 'rehosted', url: image.url, width: image.width, height: image.height });
    } else {
      keepOriginal(disc, ref);
      warn(outcome);
      images.push({ original, status: 'failed', error: outcome.error });
    }
  }

  let cover: Image | null = null;
  if (coverOutcome?.ok) cover = toImage(coverOutcome.record, coverOutcome.raw, mediaBaseUrl);
  else if (coverOutcome) warn(coverOutcome);
  cover ??= firstBodyImage;
  if (cover && social) {
    const card = (v: StoredVariant) => ({ url: mediaUrl(mediaBaseUrl, v.key), width: v.width, height: v.height });
    cover = { ...cover, social: { og: card(social.og), square: card(social.square) } };
  }

  return { html: disc.$.html(), cover, images, imageCount: disc.body.length, warnings: [...warnings.values()] };
}

function replaceWithPicture(disc: Discovery, ref: BodyImage, image: Image, sourceKey: string): void {
  const { $ } = disc;
  const $old = $(ref.img);
  const size = displaySize({ width: $old.attr('width'), height: $old.attr('height') }, image);
  const sizes = `(max-width: ${size.width}px) 100vw, ${size.width}px`;

  const $img = $('<img>').attr({
    src: image.url,
    srcset: image.srcset,
    sizes,
    width: String(size.width),
    height: String(size.height),
  });
  const alt = $old.attr('alt');
  if (alt !== undefined) $img.attr('alt', alt);
  for (const [name, value] of Object.entries(ref.img.attribs)) {
    if (!REPLACED_ATTRS.has(name) && name !== 'alt') $img.attr(name, value);
  }
  $img.attr({ loading: 'lazy', decoding: 'async' });

  let $out = $img;
  if (image.sources.length > 0) {
    $out = $('<picture></picture>');
    for (const s of image.sources) $out.append($('<source>').attr({ type: s.type, srcset: s.srcset, sizes }));
    $out.append($img);
  }
  $(ref.picture ?? ref.img).replaceWith($out);
  // The link led to the full-size original: it now leads to the re-hosted copy.
  if (ref.link && ref.linkKey === sourceKey) $(ref.link).attr('href', image.url);
}

function keepOriginal(disc: Discovery, ref: BodyImage): void {
  const { $ } = disc;
  const realSrcset = (el: BodyImage['img']) => LAZY_SRCSET_ATTRS.map((a) => $(el).attr(a)?.trim()).find(Boolean);
  const $img = $(ref.img);
  $img.attr('src', ref.original);
  const set = realSrcset(ref.img);
  if (set) $img.attr('srcset', set);
  for (const a of [...LAZY_SRC_ATTRS, ...LAZY_SRCSET_ATTRS]) $img.removeAttr(a);
  if (ref.picture) {
    for (const source of $(ref.picture).children('source').toArray()) {
      const s = realSrcset(source);
      if (s) $(source).attr('srcset', s);
      for (const a of LAZY_SRCSET_ATTRS) $(source).removeAttr(a);
    }
  }
}
