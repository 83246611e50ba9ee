/**
 * Encoder settings against bytes, CPU and a rough quality figure, to justify
 * ENCODER_SETTINGS. Each source is decoded once to raw pixels at its largest target width
 * (as SharpEncoder does); a setting then encodes every target width from those pixels.
 * Quality: PSNR of the 960-pixel variant against the same resize of the raw pixels
 * (a crude proxy for what a reader sees, but it ranks settings of one codec well).
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { serve } from '../lib/child';
import { median } from '../lib/stats';

const REF_WIDTH = 960;

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}
interface Source {
  raw: Raw;
  widths: number[];
  ref: Buffer;
}

let sources: Source[] = [];

const fromRaw = (r: Raw) => sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } });

async function setup(arg: { files: { path: string; widths: number[] }[] }) {
  sharp.cache(false);
  sources = await Promise.all(
    arg.files.map(async (f) => {
      const largest = Math.max(...f.widths);
      const { data, info } = await sharp(readFileSync(f.path), { autoOrient: true })
        .resize({ width: largest })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const raw: Raw = { data, width: info.width, height: info.height, channels: 3 };
      const ref = await fromRaw(raw).resize({ width: REF_WIDTH }).raw().toBuffer();
      return { raw, widths: f.widths, ref };
    }),
  );
  return true;
}

function psnr(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

type Format = 'webp' | 'avif' | 'jpeg';

async function encodeAll(format: Format, options: Record<string, unknown>) {
  let bytes = 0;
  const refs: Buffer[] = [];
  await Promise.all(
    sources.map(async (s, i) => {
      const outs = await Promise.all(
        s.widths.map(async (w) => {
          let p = fromRaw(s.raw);
          if (w !== s.raw.width) p = p.resize({ width: w });
          const data = await p[format](options).toBuffer();
          return { w, data };
        }),
      );
      for (const o of outs) bytes += o.data.length;
      refs[i] = outs.find((o) => o.w === REF_WIDTH)!.data;
    }),
  );
  return { bytes, refs };
}

async function run(arg: { format: Format; options: Record<string, unknown>; reps: number }) {
  const cpu: number[] = [];
  let last: Awaited<ReturnType<typeof encodeAll>> | null = null;
  for (let r = 0; r < arg.reps; r++) {
    const c0 = process.cpuUsage();
    last = await encodeAll(arg.format, arg.options);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  const quality = await Promise.all(
    sources.map(async (s, i) => psnr(s.ref, await sharp(last!.refs[i]!).removeAlpha().raw().toBuffer())),
  );
  return { cpuS: median(cpu), bytes: last!.bytes, psnrDb: quality.reduce((n, q) => n + q, 0) / quality.length };
}

serve({ setup, run });
