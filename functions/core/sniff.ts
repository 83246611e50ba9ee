/**
 * The image type, read from the bytes themselves. An origin's Content-Type is a claim
 * by a stranger; the magic numbers are what decoders will actually see.
 */

export type ImageType = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'tiff' | 'svg' | 'bmp' | 'ico';

function startsWith(bytes: Uint8Array, sig: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  return sig.every((b, i) => bytes[offset + i] === b);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

/** ISO base media file (AVIF, HEIC): an `ftyp` box listing brands. */
function sniffFtyp(bytes: Uint8Array): ImageType | null {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return null;
  const boxSize = Math.min(u32be(bytes, 0), bytes.length);
  if (boxSize < 16) return null;
  const brands = [ascii(bytes, 8, 12)];
  // bytes 12..16 are the minor version; compatible brands follow.
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(ascii(bytes, at, at + 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (brands.some((b) => HEIF_BRANDS.has(b))) return 'heic';
  return null;
}

const BMP_DIB_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

function sniffBmp(bytes: Uint8Array): boolean {
  if (bytes.length < 18 || !startsWith(bytes, [0x42, 0x4d])) return false;
  const dib = bytes[14]! | (bytes[15]! << 8) | (bytes[16]! << 16) | (bytes[17]! << 24);
  return BMP_DIB_HEADER_SIZES.has(dib);
}

function sniffIco(bytes: Uint8Array): boolean {
  // reserved 0, type 1 (icon), at least one image, and the first entry's reserved byte 0
  if (bytes.length < 22 || !startsWith(bytes, [0, 0, 1, 0])) return false;
  const count = bytes[4]! | (bytes[5]! << 8);
  return count > 0 && bytes[9] === 0;
}

/** How much text to look through for the root element of an SVG. */
const SVG_SNIFF_CHARS = 64 * 1024;

/**
 * SVG is text: after an optional BOM, whitespace, XML declaration, comments, processing
 * instructions and a DOCTYPE, the first element must be `<svg`.
 */
export function looksLikeSvg(bytes: Uint8Array): boolean {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, SVG_SNIFF_CHARS));
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return false;
      i = end + 3;
    } else if (/^<!doctype\s/i.test(text.slice(i, i + 10))) {
      const end = skipDoctype(text, i);
      if (end < 0) return false;
      i = end;
    } else {
      return /^<svg[\s>/]/.test(text.slice(i, i + 5));
    }
  }
}

/** Index after a DOCTYPE, which may hold an internal subset in brackets. */
function skipDoctype(text: string, start: number): number {
  let inSubset = false;
  let quote: string | null = null;
  for (let i = start + 9; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') inSubset = true;
    else if (c === ']') inSubset = false;
    else if (c === '>' && !inSubset) return i + 1;
  }
  return -1;
}

export function sniffImageType(bytes: Uint8Array): ImageType | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  const ftyp = sniffFtyp(bytes);
  if (ftyp) return ftyp;
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (sniffBmp(bytes)) return 'bmp';
  if (sniffIco(bytes)) return 'ico';
  if (looksLikeSvg(bytes)) return 'svg';
  return null;
}
