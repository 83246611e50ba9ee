/**
 * ImageEncoder over sharp (libvips).
 *
 * - The header is read first and the pixel budget (width × height × frames) checked before
 *   anything is decoded; `limitInputPixels` backs that up inside libvips.
 * - A still image is decoded once: oriented from EXIF, converted to sRGB and shrunk to
 *   the largest width needed (shrink-on-load does most of that for JPEG and WebP), into
 *   raw pixels. Every variant, the placeholder and the colour are made from that buffer.
 * - Animated GIF/WebP stay animated (all frames): WebP plus a GIF fallback. sharp cannot
 *   write animated AVIF, and rebuilding frames from raw pixels loses the animation, so
 *   each animated variant decodes the (usually small) source again.
 * - SVG is rasterized, at up to twice its declared width (crisp on 2x screens) but no
 *   wider than the largest configured width; it is never written out as SVG.
 * - Outputs carry no metadata at all (no EXIF, GPS, XMP or ICC): sharp's default.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import sharp, { type Sharp } from 'sharp';
import { ImageError } from '../core/errors';
import type { EncodeSettings, EncodedFormat, EncodedImage, EncodedVariant, ImageEncoder } from '../ports';
import { ENCODER_SETTINGS, transformKeyOf } from './encoder-settings';

export { ENCODER_SETTINGS };

/**
 * The cover's link-preview cards. sharp's attention strategy crops to the region with the
 * most luminance frequency, saturation and skin tones, so faces and subjects stay in frame.
 * JPEG, because every link-preview scraper reads it; transparency is flattened onto white.
 */
export const SOCIAL_SETTINGS = {
  version: 1,
  og: { width: 1200, height: 630 },
  square: { width: 1080, height: 1080 },
  jpeg: { quality: 82, progressive: true, optimiseCoding: true, mozjpeg: false },
  background: '#ffffff',
} as const;

const CONTENT_TYPES: Record<EncodedFormat, string> = {
  webp: 'image/webp',
  avif: 'image/avif',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
};

/** Decodable formats, as sharp's metadata names them. */
const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff', 'svg']);
const ANIMATABLE = new Set(['gif', 'webp']);

let tuned = false;
/**
 * libvips' operation cache only helps when the same image is processed again, which a
 * Lambda never does: off, so memory goes to the images at hand. On glibc Linux sharp
 * defaults to one thread per image (fragmentation worries); the process is short-lived,
 * so use every core.
 */
function tuneSharp(concurrency: number): void {
  if (tuned) return;
  tuned = true;
  sharp.cache(false);
  sharp.concurrency(concurrency);
}

/** The widths to write: configured ones below the source's width, plus the source's own
 *  width when it is not above the largest configured width. */
export function targetWidths(sourceWidth: number, widths: readonly number[]): number[] {
  const sorted = [...new Set(widths)].sort((a, b) => a - b);
  const largest = sorted[sorted.length - 1] ?? sourceWidth;
  const out = sorted.filter((w) => w < sourceWidth);
  if (sourceWidth <= largest) out.push(sourceWidth);
  return out.length ? out : [Math.min(sourceWidth, largest)];
}

function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}

/** sharp's errors, turned into the stable codes. */
function toImageError(err: unknown): ImageError {
  if (err instanceof ImageError) return err;
  const msg = describe(err);
  if (/unsupported image format/i.test(msg)) {
    return new ImageError('image_not_an_image', 'the data is not an image in a supported format');
  }
  if (/pixel limit/i.test(msg)) return new ImageError('image_too_many_pixels', 'the image has too many pixels');
  return new ImageError('image_corrupt', `the image could not be decoded: ${msg}`);
}

interface Plan {
  format: string;
  animated: boolean;
  /** Size after orientation (SVG: after rasterizing). */
  width: number;
  height: number;
  density?: number;
}

export class SharpEncoder implements ImageEncoder {
  constructor(opts: { concurrency?: number } = {}) {
    tuneSharp(opts.concurrency ?? os.availableParallelism());
  }

  transformKey(settings: Pick<EncodeSettings, 'widths' | 'formats'>): string {
    return transformKeyOf(settings);
  }

  socialKey(): string {
    return `s${SOCIAL_SETTINGS.version}-${createHash('sha256').update(JSON.stringify(SOCIAL_SETTINGS)).digest('hex').slice(0, 8)}`;
  }

  async socialCards(bytes: Uint8Array): Promise<{ og: EncodedVariant; square: EncodedVariant }> {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const card = async (size: { width: number; height: number }): Promise<EncodedVariant> => {
      // The first frame of an animation; an image smaller than the card is enlarged to fill it.
      const { data, info } = await sharp(input, { failOn: ENCODER_SETTINGS.failOn })
        .resize(size.width, size.height, { fit: 'cover', position: sharp.strategy.attention })
        .flatten({ background: SOCIAL_SETTINGS.background })
        .jpeg(SOCIAL_SETTINGS.jpeg)
        .toBuffer({ resolveWithObject: true });
      return { format: 'jpeg', contentType: 'image/jpeg', width: info.width, height: info.height, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    };
    try {
      const [og, square] = await Promise.all([card(SOCIAL_SETTINGS.og), card(SOCIAL_SETTINGS.square)]);
      return { og, square };
    } catch (err) {
      throw toImageError(err);
    }
  }

  async encode(bytes: Uint8Array, settings: EncodeSettings): Promise<EncodedImage> {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const plan = await this.plan(input, settings);
    try {
      return plan.animated
        ? await this.encodeAnimated(input, plan, settings)
        : await this.encodeStill(input, plan, settings);
    } catch (err) {
      throw toImageError(err);
    }
  }

  /** Header only: what the image is, how big it will be, and whether that is allowed. */
  private async plan(input: Buffer, settings: EncodeSettings): Promise<Plan> {
    if (input.length === 0) throw new ImageError('image_not_an_image', 'the image is empty');
    let meta: sharp.Metadata;
    try {
      // No pixel limit here: reading the header allocates nothing, and we want our own code.
      meta = await sharp(input, { limitInputPixels: false }).metadata();
    } catch (err) {
      throw toImageError(err);
    }
    const format = meta.format as string | undefined;
    if (!format || !ACCEPTED.has(format) || (format === 'heif' && meta.compression !== 'av1')) {
      throw new ImageError('image_not_an_image', `unsupported image format${format ? ` "${format}"` : ''}`);
    }
    if (!meta.width || !meta.height) throw new ImageError('image_corrupt', 'the image has no dimensions');

    const pages = meta.pages ?? 1;
    const animated = pages > 1 && ANIMATABLE.has(format);
    let { width, height } = meta;
    let density: number | undefined;
    if (format === 'svg') {
      const largest = Math.max(...settings.widths);
      const wanted = Math.max(1, Math.min(largest, Math.round(width * ENCODER_SETTINGS.svgScale)));
      // libvips takes densities from 1 to 100000 dpi; the size follows from the one used.
      const base = meta.density ?? 72;
      density = Math.min(100_000, Math.max(1, (base * wanted) / width));
      const scale = density / base;
      [width, height] = [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
    } else if ((meta.orientation ?? 1) >= 5) {
      [width, height] = [height, width];
    }
    // A still multi-page file (TIFF, HEIF) decodes its first page only; an animation all of them.
    const pixels = width * height * (animated ? pages : 1);
    if (pixels > settings.maxPixels) {
      throw new ImageError(
        'image_too_many_pixels',
        `the image has ${pixels} pixels${animated ? ` in ${pages} frames` : ''}, ` +
          `over the limit of ${settings.maxPixels}`,
      );
    }
    return { format, animated, width, height, density };
  }

  private source(input: Buffer, plan: Plan, settings: EncodeSettings, extra: sharp.SharpOptions = {}): Sharp {
    return sharp(input, {
      failOn: ENCODER_SETTINGS.failOn,
      // libvips counts the frames of an animation into the height, as we do.
      limitInputPixels: Math.max(settings.maxPixels, 1),
      ...(plan.density ? { density: plan.density } : {}),
      ...extra,
    });
  }

  private async encodeStill(input: Buffer, plan: Plan, settings: EncodeSettings): Promise<EncodedImage> {
    const widths = targetWidths(plan.width, settings.widths);
    const largest = widths[widths.length - 1]!;

    // The one decode: orient, sRGB, 8 bits, shrunk to the largest width needed.
    let pipeline = this.source(input, plan, settings, { autoOrient: true });
    if (largest < plan.width) pipeline = pipeline.resize({ width: largest });
    const { data, info } = await pipeline
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });

    const raw = { width: info.width, height: info.height, channels: info.channels };
    let opaque = raw.channels % 2 === 1; // 1 or 3 bands: no alpha
    if (!opaque) opaque = (await sharp(data, { raw }).stats()).isOpaque;
    const base = (): Sharp => {
      const s = sharp(data, { raw });
      return opaque && raw.channels % 2 === 0 ? s.removeAlpha() : s;
    };

    const fallback: 'jpeg' | 'png' = opaque ? 'jpeg' : 'png';
    const formats: EncodedFormat[] = [...modernFormats(settings.formats, false), fallback];
    const jobs: Promise<EncodedVariant>[] = [];
    for (const w of widths) {
      for (const f of formats) {
        const sized = w === raw.width ? base() : base().resize({ width: w });
        jobs.push(encodeVariant(sized, f));
      }
    }
    const [variants, placeholder, color] = await Promise.all([
      Promise.all(jobs),
      makePlaceholder(base()),
      dominantColor(base()),
    ]);
    return { width: plan.width, height: plan.height, animated: false, fallback, variants, placeholder, color };
  }

  private async encodeAnimated(input: Buffer, plan: Plan, settings: EncodeSettings): Promise<EncodedImage> {
    const widths = targetWidths(plan.width, settings.widths);
    const formats: EncodedFormat[] = [...modernFormats(settings.formats, true), 'gif'];
    const jobs: Promise<EncodedVariant>[] = [];
    for (const w of widths) {
      for (const f of formats) {
        let s = this.source(input, plan, settings, { animated: true });
        if (w !== plan.width) s = s.resize({ width: w });
        // Frame delays and the loop count are carried over by sharp.
        jobs.push(encodeVariant(s, f));
      }
    }
    const first = () => this.source(input, plan, settings, { pages: 1 });
    const [variants, placeholder, color] = await Promise.all([
      Promise.all(jobs),
      makePlaceholder(first()),
      dominantColor(first()),
    ]);
    return { width: plan.width, height: plan.height, animated: true, fallback: 'gif', variants, placeholder, color };
  }
}

/** Modern formats, best first. Animations get WebP only: sharp writes AVIF as a still. */
function modernFormats(configured: readonly ('webp' | 'avif')[], animated: boolean): EncodedFormat[] {
  const set = new Set(configured);
  if (animated) return set.size ? ['webp'] : [];
  return (['avif', 'webp'] as const).filter((f) => set.has(f));
}

async function encodeVariant(s: Sharp, format: EncodedFormat): Promise<EncodedVariant> {
  const S = ENCODER_SETTINGS;
  const out =
    format === 'webp'
      ? s.webp(S.webp)
      : format === 'avif'
        ? s.avif(S.avif)
        : format === 'jpeg'
          ? s.jpeg(S.jpeg)
          : format === 'png'
            ? s.png(S.png)
            : s.gif(S.gif);
  const { data, info } = await out.toBuffer({ resolveWithObject: true });
  return {
    format,
    contentType: CONTENT_TYPES[format],
    width: info.width,
    // For animations libvips reports the height of all frames stacked.
    height: info.pageHeight ?? info.height,
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

async function makePlaceholder(s: Sharp): Promise<string> {
  const { size, quality } = ENCODER_SETTINGS.placeholder;
  const data = await s.resize(size, size, { fit: 'inside' }).webp({ quality }).toBuffer();
  return `data:image/webp;base64,${data.toString('base64')}`;
}

async function dominantColor(s: Sharp): Promise<string> {
  const { r, g, b } = (await s.stats()).dominant;
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
