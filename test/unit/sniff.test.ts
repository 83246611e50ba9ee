import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { sniffImageType } from '../../functions/core/sniff';

const enc = (s: string) => new TextEncoder().encode(s);

function ftyp(major: string, compatible: string[]): Uint8Array {
  const size = 16 + 4 * compatible.length;
  const out = new Uint8Array(size + 8);
  new DataView(out.buffer).setUint32(0, size);
  out.set(enc('ftyp'), 4);
  out.set(enc(major), 8);
  compatible.forEach((b, i) => out.set(enc(b), 16 + 4 * i));
  return out;
}

describe('sniffImageType on images sharp wrote', () => {
  const encoded: Record<string, Uint8Array> = {};
  beforeAll(async () => {
    const base = () => sharp({ create: { width: 4, height: 4, channels: 3, background: '#3366cc' } });
    encoded.jpeg = await base().jpeg().toBuffer();
    encoded.png = await base().png().toBuffer();
    encoded.gif = await base().gif().toBuffer();
    encoded.webp = await base().webp().toBuffer();
    encoded.avif = await base().avif().toBuffer();
    encoded.tiff = await base().tiff().toBuffer();
  });

  it.each(['jpeg', 'png', 'gif', 'webp', 'avif', 'tiff'])('%s', (type) => {
    expect(sniffImageType(encoded[type]!)).toBe(type);
  });
});

describe('sniffImageType on headers', () => {
  it('HEIC by its ftyp brands', () => {
    expect(sniffImageType(ftyp('heic', ['mif1', 'heic']))).toBe('heic');
    expect(sniffImageType(ftyp('mif1', ['heic']))).toBe('heic');
  });

  it('AVIF wins when a generic HEIF file lists the avif brand', () => {
    expect(sniffImageType(ftyp('mif1', ['avif', 'miaf']))).toBe('avif');
  });

  it('an MP4 video is not an image', () => {
    expect(sniffImageType(ftyp('isom', ['iso2', 'mp41']))).toBeNull();
  });

  it('big-endian TIFF', () => {
    expect(sniffImageType(Uint8Array.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('tiff');
  });

  it('BMP needs a known DIB header size, not just "BM"', () => {
    const bmp = new Uint8Array(54);
    bmp.set(enc('BM'));
    bmp[14] = 40;
    expect(sniffImageType(bmp)).toBe('bmp');
    expect(sniffImageType(enc('BM is how this text starts, nothing more'))).toBeNull();
  });

  it('ICO', () => {
    const ico = new Uint8Array(22);
    ico.set([0, 0, 1, 0, 1, 0, 16, 16, 0, 0]);
    expect(sniffImageType(ico)).toBe('ico');
    const zeroImages = new Uint8Array(22);
    zeroImages.set([0, 0, 1, 0, 0, 0]);
    expect(sniffImageType(zeroImages)).toBeNull();
  });

  it('truncated signatures are not images', () => {
    expect(sniffImageType(Uint8Array.from([0xff, 0xd8]))).toBeNull();
    expect(sniffImageType(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]))).toBeNull();
    expect(sniffImageType(enc('RIFF\0\0\0\0WAVE'))).toBeNull();
    expect(sniffImageType(new Uint8Array(0))).toBeNull();
  });
});

describe('sniffImageType on SVG', () => {
  it.each([
    ['bare', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['with BOM and whitespace', '\uFEFF \n\t<svg viewBox="0 0 1 1"></svg>'],
    ['with an XML prolog', '<?xml version="1.0" encoding="UTF-8"?>\n<svg></svg>'],
    ['with comments', '<!-- made by hand --><!-- twice -->\n<svg>'],
    [
      'with a DOCTYPE and an internal subset',
      '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" [ <!ENTITY a "b>c"> ]>\n<svg>',
    ],
    ['a self-closing root', '<svg/>'],
  ])('%s', (_name, text) => {
    expect(sniffImageType(enc(text))).toBe('svg');
  });

  it.each([
    ['HTML', '<!DOCTYPE html><html><body><svg></svg></body></html>'],
    ['HTML without doctype', '<html><svg></svg></html>'],
    ['an element whose name starts with svg', '<svgfoo/>'],
    ['text mentioning svg', 'hello <svg>'],
    ['an unterminated comment', '<!-- <svg>'],
    ['JSON', '{"svg": "<svg>"}'],
    ['an XML document of another kind', '<?xml version="1.0"?><rss></rss>'],
  ])('%s is not SVG', (_name, text) => {
    expect(sniffImageType(enc(text))).toBeNull();
  });
});
