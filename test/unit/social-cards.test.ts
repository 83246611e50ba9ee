/**
 * Social cards: the cover cut to 1200×630 and 1080×1080 with sharp's attention strategy.
 * The images are generated: a saturated, high-contrast subject off-centre on a flat grey
 * background, placed where a centre crop would cut it away (the control shows that).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SOCIAL_SETTINGS, SharpEncoder } from '../../functions/adapters/sharp-encoder';

const encoder = new SharpEncoder();

/** A red disc with yellow stripes, centred at (cx, cy), on flat grey. */
async function scene(width: number, height: number, cx: number, cy: number, r = 150): Promise<Buffer> {
  const stripes = Array.from({ length: 6 }, (_, i) => `<rect x="${cx - r}" y="${cy - r + i * 50 + 10}" width="${2 * r}" height="12" fill="#ffee00"/>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><clipPath id="c"><circle cx="${cx}" cy="${cy}" r="${r}"/></clipPath></defs>
    <rect width="100%" height="100%" fill="#808080"/>
    <circle cx="${cx}" cy="${cy}" r="${r}" fill="#e00000"/>
    <g clip-path="url(#c)">${stripes}</g></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Pixels that are clearly the subject's red. */
async function redPixels(img: Uint8Array | Buffer): Promise<number> {
  const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i]! > 170 && data[i + 1]! < 90 && data[i + 2]! < 90) n++;
  return n;
}

async function centreCrop(img: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(img).resize(width, height, { fit: 'cover', position: 'centre' }).png().toBuffer();
}

describe('SharpEncoder.socialCards', () => {
  it('keeps a subject in the left corner of a landscape image in the square card', async () => {
    const src = await scene(1600, 900, 170, 700);
    const { og, square } = await encoder.socialCards(src);
    expect([square.width, square.height, square.format, square.contentType]).toEqual([1080, 1080, 'jpeg', 'image/jpeg']);
    expect([og.width, og.height]).toEqual([1200, 630]);
    expect((await sharp(square.bytes).metadata()).format).toBe('jpeg');
    // The disc is ~70,000 px at the source scale, ×1.44 in the square card: most of it is kept.
    const whole = (await redPixels(await sharp(src).resize(1920, 1080).png().toBuffer()));
    expect(await redPixels(square.bytes)).toBeGreaterThan(whole * 0.9);
    // The control: a centre crop loses the subject, so the check above can fail.
    expect(await redPixels(await centreCrop(src, 1080, 1080))).toBeLessThan(whole * 0.05);
  });

  it('keeps a subject at the bottom of a portrait image in the Open Graph card', async () => {
    const src = await scene(900, 1600, 600, 1420);
    const { og } = await encoder.socialCards(src);
    expect([og.width, og.height]).toEqual([SOCIAL_SETTINGS.og.width, SOCIAL_SETTINGS.og.height]);
    const whole = await redPixels(await sharp(src).resize(1200).png().toBuffer());
    expect(await redPixels(og.bytes)).toBeGreaterThan(whole * 0.9);
    expect(await redPixels(await centreCrop(src, 1200, 630))).toBeLessThan(whole * 0.05);
  });

  it('fills the card from a small or transparent source (enlarged, flattened onto white)', async () => {
    const small = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } } }).png().toBuffer();
    const { og, square } = await encoder.socialCards(small);
    expect([og.width, og.height, square.width, square.height]).toEqual([1200, 630, 1080, 1080]);
    const { dominant } = await sharp(og.bytes).stats();
    expect(dominant.r).toBeGreaterThan(240);
    expect(dominant.b).toBeGreaterThan(240);
  });

  it('names its settings in a key that changes with them', () => {
    expect(encoder.socialKey()).toMatch(/^s1-[0-9a-f]{8}$/);
  });
});
