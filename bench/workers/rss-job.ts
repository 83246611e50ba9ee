/**
 * Peak memory while SharpEncoder encodes one large image, in a fresh process: resident
 * memory sampled every 2 ms (libvips works on its own threads, so the event loop is free
 * to sample) and the kernel's high-water mark (resourceUsage().maxRSS) at the end.
 */
import { readFileSync } from 'node:fs';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import { measure, serve } from '../lib/child';

const MB = 1024 * 1024;

serve({
  async encode(arg: { path: string; widths: number[]; formats: ('webp' | 'avif')[]; maxPixels: number }) {
    const encoder = new SharpEncoder();
    const bytes = readFileSync(arg.path);
    const baselineMb = process.memoryUsage().rss / MB;
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    const m = await measure(() => encoder.encode(bytes, { widths: arg.widths, formats: arg.formats, maxPixels: arg.maxPixels }));
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      baselineMb,
      peakSampledMb: peak / MB,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      cpuS: m.cpuS,
      wallMs: m.wallMs,
      variants: m.value.variants.length,
      outputBytes: m.value.variants.reduce((n, v) => n + v.bytes.byteLength, 0),
    };
  },
});
