import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SharpEncoder, targetWidths } from '../../functions/adapters/sharp-encoder';
import { ImageError } from '../../functions/core/errors';
import type { EncodeSettings, EncodedImage } from '../../functions/ports';

const SETTINGS: EncodeSettings = { widths: [320, 640, 960, 1280, 1920], formats: ['webp'], maxPixels: 100_000_000 };
const encoder = new SharpEncoder();

/** Deterministic noise, so JPEGs have real scan data to truncate. */
function noise(width: number, height: number, channels: 3 | 4 = 3): Buffer {
  const buf = Buffer.alloc(width * height * channels);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + (i >> 7) * 31) % 251;
  return buf;
}

function gradient(width: number, height: number): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      buf[i] = (x * 255) / width;
      buf[i + 1] = (y * 255) / height;
      buf[i + 2] = 128;
    }
  }
  return buf;
}

const jpeg = (w: number, h: number) => sharp(noise(w, h), { raw: { width: w, height: h, channels: 3 } }).jpeg().toBuffer();
const solid = (w: number, h: number, background: string | sharp.RGBA, channels: 3 | 4 = 3) =>
  sharp({ create: { width: w, height: h, channels, background } });

async function animatedGif(frames: number, w: number, h: number): Promise<Buffer> {
  const colours = ['#ff0000', '#00ff00', '#0000ff', '#ffff00'];
  const pngs = await Promise.all(
    Array.from({ length: frames }, (_, i) => solid(w, h, colours[i % colours.length]!).png().toBuffer()),
  );
  return sharp(pngs, { join: { animated: true } }).gif({ delay: pngs.map(() => 100), loop: 0 }).toBuffer();
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return (err as ImageError).code;
  }
  throw new Error('expected an ImageError');
}

function byFormat(img: EncodedImage, format: string) {
  return img.variants.filter((v) => v.format === format).sort((a, b) => a.width - b.width);
}

describe('targetWidths', () => {
  it('never goes above the source and adds the source width below the largest', () => {
    expect(targetWidths(530, SETTINGS.widths)).toEqual([320, 530]);
    expect(targetWidths(2400, SETTINGS.widths)).toEqual([320, 640, 960, 1280, 1920]);
    expect(targetWidths(1920, SETTINGS.widths)).toEqual([320, 640, 960, 1280, 1920]);
    expect(targetWidths(100, SETTINGS.widths)).toEqual([100]);
    expect(targetWidths(640, SETTINGS.widths)).toEqual([320, 640]);
  });
});

describe('SharpEncoder', () => {
  it('writes each width in webp and a JPEG fallback, none wider than the source', async () => {
    const out = await encoder.encode(await jpeg(530, 300), SETTINGS);
    expect(out.fallback).toBe('jpeg');
    expect(out.animated).toBe(false);
    expect(byFormat(out, 'webp').map((v) => v.width)).toEqual([320, 530]);
    expect(byFormat(out, 'jpeg').map((v) => v.width)).toEqual([320, 530]);
    for (const v of out.variants) {
      const meta = await sharp(v.bytes).metadata();
      expect(meta.format).toBe(v.format);
      expect(meta.width).toBe(v.width);
      expect(meta.height).toBe(v.height);
      expect(v.contentType).toBe(`image/${v.format}`);
    }
    const big = byFormat(out, 'jpeg')[1]!;
    expect(big.height).toBe(300);
  });

  it('caps a large source at the largest configured width', { timeout: 60_000 }, async () => {
    // smooth, like a photo: AVIF takes seconds on noise
    const src = await sharp(gradient(2400, 120), { raw: { width: 2400, height: 120, channels: 3 } }).jpeg().toBuffer();
    const out = await encoder.encode(src, { ...SETTINGS, formats: ['avif', 'webp'] });
    expect(Math.max(...out.variants.map((v) => v.width))).toBe(1920);
    expect(new Set(out.variants.map((v) => v.format))).toEqual(new Set(['avif', 'webp', 'jpeg']));
    expect(byFormat(out, 'avif')).toHaveLength(5);
    expect((await sharp(byFormat(out, 'avif')[0]!.bytes).metadata()).format).toBe('heif');
  });

  it('applies EXIF orientation and strips EXIF and GPS', async () => {
    const src = await sharp(noise(200, 100), { raw: { width: 200, height: 100, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExif({
        IFD0: { Make: 'CamCo', Copyright: 'secret-owner' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' },
      })
      .toBuffer();
    const srcMeta = await sharp(src).metadata();
    expect(srcMeta.orientation).toBe(6);
    expect(srcMeta.exif?.toString('latin1')).toContain('CamCo');

    const out = await encoder.encode(src, SETTINGS);
    expect([out.width, out.height]).toEqual([100, 200]);
    for (const v of out.variants) {
      expect(v.height).toBeGreaterThan(v.width);
      const meta = await sharp(v.bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(Buffer.from(v.bytes).includes('CamCo')).toBe(false);
      expect(Buffer.from(v.bytes).includes('secret-owner')).toBe(false);
    }
  });

  it('converts CMYK and wide-gamut sources to sRGB without a profile', async () => {
    const cmyk = await solid(64, 64, '#3366cc').toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const p3 = await solid(64, 64, '#3366cc').withIccProfile('p3').png().toBuffer();
    expect((await sharp(p3).metadata()).icc).toBeDefined();
    for (const src of [cmyk, p3]) {
      const out = await encoder.encode(src, SETTINGS);
      for (const v of out.variants) {
        const meta = await sharp(v.bytes).metadata();
        expect(meta.space).toBe('srgb');
        expect(meta.channels).toBe(3);
        expect(meta.icc).toBeUndefined();
      }
    }
  });

  it('keeps transparency with a PNG fallback, and uses JPEG for an opaque RGBA PNG', async () => {
    const transparent = await solid(300, 200, { r: 255, g: 0, b: 0, alpha: 0.5 }, 4).png().toBuffer();
    const t = await encoder.encode(transparent, SETTINGS);
    expect(t.fallback).toBe('png');
    expect(byFormat(t, 'png').map((v) => v.width)).toEqual([300]);
    expect((await sharp(byFormat(t, 'png')[0]!.bytes).metadata()).hasAlpha).toBe(true);
    expect((await sharp(byFormat(t, 'webp')[0]!.bytes).metadata()).hasAlpha).toBe(true);

    const opaque = await solid(300, 200, { r: 255, g: 0, b: 0, alpha: 1 }, 4).png().toBuffer();
    expect((await sharp(opaque).metadata()).hasAlpha).toBe(true);
    const o = await encoder.encode(opaque, SETTINGS);
    expect(o.fallback).toBe('jpeg');
    expect(byFormat(o, 'png')).toHaveLength(0);
  });

  it('keeps an animated GIF animated (WebP and GIF, every frame)', async () => {
    const gif = await animatedGif(3, 400, 100);
    const out = await encoder.encode(gif, { ...SETTINGS, formats: ['avif', 'webp'] });
    expect(out.animated).toBe(true);
    expect(out.fallback).toBe('gif');
    expect(new Set(out.variants.map((v) => v.format))).toEqual(new Set(['webp', 'gif']));
    expect(byFormat(out, 'gif').map((v) => v.width)).toEqual([320, 400]);
    for (const v of out.variants) {
      const meta = await sharp(v.bytes, { animated: true }).metadata();
      expect(meta.pages).toBe(3);
      expect(meta.pageHeight).toBe(v.height);
      expect(v.height).toBe(Math.round((v.width * 100) / 400));
    }
    expect(out.placeholder).toMatch(/^data:image\/webp;base64,/);
  });

  it('counts every frame of an animation toward the pixel limit', async () => {
    const gif = await animatedGif(4, 100, 100);
    const maxPixels = 100 * 100 * 2;
    expect(await codeOf(encoder.encode(gif, { ...SETTINGS, maxPixels }))).toBe('image_too_many_pixels');
    const still = await solid(100, 100, '#ff0000').gif().toBuffer();
    await expect(encoder.encode(still, { ...SETTINGS, maxPixels })).resolves.toBeDefined();
  });

  it('rasterizes SVG (scripts and all) and never writes SVG', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">' +
        '<script>alert(document.cookie)</script><rect width="100" height="50" fill="#0000ff"/></svg>',
    );
    const out = await encoder.encode(svg, SETTINGS);
    // twice the declared width, for 2x screens
    expect([out.width, out.height]).toEqual([200, 100]);
    expect(out.variants.length).toBeGreaterThan(0);
    for (const v of out.variants) {
      expect(['webp', 'jpeg']).toContain(v.format);
      expect(v.contentType).not.toContain('svg');
      expect(Buffer.from(v.bytes).includes('<script')).toBe(false);
      const meta = await sharp(v.bytes).metadata();
      expect(meta.format).not.toBe('svg');
      expect([meta.width, meta.height]).toEqual([200, 100]);
    }
  });

  it('rejects a truncated JPEG as corrupt', async () => {
    const full = await jpeg(400, 300);
    const truncated = full.subarray(0, Math.floor(full.length * 0.6));
    // The header is intact: only decoding can tell.
    expect((await sharp(truncated).metadata()).width).toBe(400);
    expect(await codeOf(encoder.encode(truncated, SETTINGS))).toBe('image_corrupt');
  });

  it('rejects data that is not an image', async () => {
    expect(await codeOf(encoder.encode(Buffer.from('<html><body>404</body></html>'), SETTINGS))).toBe(
      'image_not_an_image',
    );
    expect(await codeOf(encoder.encode(new Uint8Array(0), SETTINGS))).toBe('image_not_an_image');
  });

  it('refuses a pixel flood from the header, before decoding', async () => {
    // A PNG whose header claims 100000×100000 but whose pixel data is a few bytes: decoding
    // would fail as corrupt, so image_too_many_pixels proves the header check came first.
    const png = pngWithHeader(100_000, 100_000);
    expect((await sharp(png, { limitInputPixels: false }).metadata()).width).toBe(100_000);
    expect(await codeOf(encoder.encode(png, SETTINGS))).toBe('image_too_many_pixels');
    expect(await codeOf(encoder.encode(await jpeg(200, 100), { ...SETTINGS, maxPixels: 19_999 }))).toBe(
      'image_too_many_pixels',
    );
  });

  it('makes a tiny placeholder and the dominant colour', async () => {
    const out = await encoder.encode(await solid(800, 600, '#3366cc').jpeg().toBuffer(), SETTINGS);
    expect(out.placeholder).toMatch(/^data:image\/webp;base64,[A-Za-z0-9+/=]+$/);
    expect(out.placeholder!.length).toBeLessThan(1024);
    const ph = await sharp(Buffer.from(out.placeholder!.split(',')[1]!, 'base64')).metadata();
    expect(Math.max(ph.width!, ph.height!)).toBeLessThanOrEqual(16);
    expect(out.color).toMatch(/^#[0-9a-f]{6}$/);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(out.color!.slice(i, i + 2), 16));
    // stats().dominant reports the centre of a 16-level bin
    expect(Math.abs(r! - 0x33)).toBeLessThanOrEqual(16);
    expect(Math.abs(g! - 0x66)).toBeLessThanOrEqual(16);
    expect(Math.abs(b! - 0xcc)).toBeLessThanOrEqual(16);
  });

  it('names its settings in a transform key', () => {
    const a = encoder.transformKey(SETTINGS);
    expect(encoder.transformKey({ widths: [...SETTINGS.widths].reverse(), formats: ['webp'] })).toBe(a);
    expect(encoder.transformKey({ ...SETTINGS, formats: ['avif', 'webp'] })).not.toBe(a);
    expect(encoder.transformKey({ ...SETTINGS, widths: [320, 640] })).not.toBe(a);
  });
});

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function pngWithHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
