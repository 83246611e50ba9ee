/** peakRssMb40MP: one 40-megapixel JPEG through SharpEncoder, in a fresh process per run. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineImageConfig } from './images';
import { Child } from './lib/child';
import { photo } from './lib/images';
import { median, round } from './lib/stats';

const WORKER = new URL('./workers/rss-job.ts', import.meta.url).pathname;

type Rss = { baselineMb: number; peakSampledMb: number; maxRssMb: number; cpuS: number; wallMs: number; variants: number; outputBytes: number };

export async function memoryBenchmark(workDir: string, runs: number) {
  const [width, height] = [8000, 5000];
  const path = join(workDir, '40mp.jpg');
  const bytes = await photo(width, height, 'jpeg', 40);
  writeFileSync(path, bytes);
  const config = pipelineImageConfig();
  const results: Rss[] = [];
  for (let i = 0; i < runs; i++) {
    const child = await Child.start(WORKER);
    try {
      results.push(await child.call<Rss>('encode', { path, widths: config.widths, formats: config.formats, maxPixels: config.maxPixels }));
    } finally {
      await child.stop();
    }
  }
  const peak = (r: Rss) => Math.max(r.maxRssMb, r.peakSampledMb);
  return {
    peakRssMb40MP: round(Math.max(...results.map(peak)), 1),
    extra: {
      image: { width, height, bytes: bytes.length },
      runs,
      peakMbPerRun: results.map((r) => round(peak(r), 1)),
      baselineMbMedian: round(median(results.map((r) => r.baselineMb)), 1),
      encodeCpuSMedian: round(median(results.map((r) => r.cpuS))),
      encodeWallMsMedian: Math.round(median(results.map((r) => r.wallMs))),
      variants: results[0]?.variants,
    },
  };
}
