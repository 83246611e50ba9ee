/**
 * Photo-like test images, made on the spot and reproducible from a seed: smooth colour
 * fields (gradients plus low-frequency waves), a few hard-edged shapes, and per-pixel
 * grain. Pure noise would be unrealistically hard to compress and a flat gradient
 * unrealistically easy; this sits in between, like a camera photo.
 */
import sharp from 'sharp';
import { seededRandom as prng } from '../../local/seeded-random';

export interface SourceImage {
  name: string;
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  bytes: Buffer;
}


/** Raw 8-bit RGB pixels. */
export function photoPixels(width: number, height: number, seed: number): Buffer {
  const rnd = prng(seed);
  const px = Buffer.allocUnsafe(width * height * 3);
  // Separable waves: per-column and per-row tables keep the inner loop free of trig.
  const cols: Float32Array[] = [];
  const rows: Float32Array[] = [];
  for (let c = 0; c < 3; c++) {
    const col = new Float32Array(width);
    const row = new Float32Array(height);
    const [fx, px0, fy, py0, gx, gy] = [1 + rnd() * 5, rnd() * 6.3, 1 + rnd() * 5, rnd() * 6.3, rnd() * 120 - 60, rnd() * 120 - 60];
    for (let x = 0; x < width; x++) col[x] = 40 * Math.sin((fx * 2 * Math.PI * x) / width + px0) + (gx * x) / width;
    for (let y = 0; y < height; y++) row[y] = 40 * Math.sin((fy * 2 * Math.PI * y) / height + py0) + (gy * y) / height;
    cols.push(col);
    rows.push(row);
  }
  const base = [60 + rnd() * 120, 60 + rnd() * 120, 60 + rnd() * 120];
  let state = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        // xorshift32 grain, about ±12 levels
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const grain = ((state >>> 0) % 25) - 12;
        const v = base[c]! + cols[c]![x]! + rows[c]![y]! + grain;
        px[i++] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  // Hard-edged shapes (buildings, frames, text blocks) give the encoders edges to keep.
  const shapes = 6 + Math.floor(rnd() * 6);
  for (let s = 0; s < shapes; s++) {
    const w = Math.floor(width * (0.05 + rnd() * 0.3));
    const h = Math.floor(height * (0.05 + rnd() * 0.3));
    const x0 = Math.floor(rnd() * (width - w));
    const y0 = Math.floor(rnd() * (height - h));
    const shift = [rnd() * 140 - 70, rnd() * 140 - 70, rnd() * 140 - 70];
    for (let y = y0; y < y0 + h; y++) {
      let j = (y * width + x0) * 3;
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++, j++) {
          const v = px[j]! + shift[c]!;
          px[j] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return px;
}

/** A photo-like JPEG (quality 90, like a camera or an editor's export) or PNG (opaque RGB). */
export async function photo(width: number, height: number, format: 'jpeg' | 'png', seed: number): Promise<Buffer> {
  const img = sharp(photoPixels(width, height, seed), { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png({ compressionLevel: 6 }).toBuffer();
}

/** Width × height with the given megapixels and aspect ratio. */
export function dims(megapixels: number, aspect = 3 / 2): { width: number; height: number } {
  const height = Math.round(Math.sqrt((megapixels * 1e6) / aspect));
  return { width: Math.round(height * aspect), height };
}

/** The CPU corpus: 1 to 6 megapixels, four JPEGs and two PNGs. */
export const CORPUS_SPEC: { mp: number; format: 'jpeg' | 'png' }[] = [
  { mp: 1, format: 'jpeg' },
  { mp: 2, format: 'png' },
  { mp: 3, format: 'jpeg' },
  { mp: 4, format: 'png' },
  { mp: 5, format: 'jpeg' },
  { mp: 6, format: 'jpeg' },
];

export async function corpus(seed = 1): Promise<SourceImage[]> {
  return Promise.all(
    CORPUS_SPEC.map(async ({ mp, format }, i) => {
      const { width, height } = dims(mp);
      const bytes = await photo(width, height, format, seed + i);
      return { name: `${mp}mp.${format === 'jpeg' ? 'jpg' : 'png'}`, format, width, height, bytes };
    }),
  );
}
