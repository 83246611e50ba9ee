/**
 * The encoder settings table (quality/effort against bytes, CPU seconds and PSNR) and
 * AVIF's cost against WebP, on part of the image corpus.
 */
import { join } from 'node:path';
import { ENCODER_SETTINGS, targetWidths } from '../functions/adapters/sharp-encoder';
import { pipelineImageConfig } from './images';
import { Child } from './lib/child';
import { round } from './lib/stats';

const WORKER = new URL('./workers/settings-job.ts', import.meta.url).pathname;

type Format = 'webp' | 'avif' | 'jpeg';
const S = ENCODER_SETTINGS;

/** The settings in use first in each block, then the alternatives. */
const ROWS: { label: string; format: Format; options: Record<string, unknown>; reps: number }[] = [
  { label: 'webp q80 effort 4 (in use)', format: 'webp', options: { ...S.webp }, reps: 3 },
  { label: 'webp q70 effort 4', format: 'webp', options: { ...S.webp, quality: 70 }, reps: 3 },
  { label: 'webp q75 effort 4', format: 'webp', options: { ...S.webp, quality: 75 }, reps: 3 },
  { label: 'webp q85 effort 4', format: 'webp', options: { ...S.webp, quality: 85 }, reps: 3 },
  { label: 'webp q80 effort 2', format: 'webp', options: { ...S.webp, effort: 2 }, reps: 3 },
  { label: 'webp q80 effort 6', format: 'webp', options: { ...S.webp, effort: 6 }, reps: 2 },
  { label: 'jpeg q80 progressive, optimised coding (in use)', format: 'jpeg', options: { ...S.jpeg }, reps: 3 },
  { label: 'jpeg q75', format: 'jpeg', options: { ...S.jpeg, quality: 75 }, reps: 3 },
  { label: 'jpeg q85', format: 'jpeg', options: { ...S.jpeg, quality: 85 }, reps: 3 },
  { label: 'jpeg q80 mozjpeg', format: 'jpeg', options: { ...S.jpeg, mozjpeg: true }, reps: 3 },
  { label: 'avif q50 effort 4 (if IMAGE_FORMATS has avif)', format: 'avif', options: { ...S.avif }, reps: 1 },
  // AVIF at effort 4 costs ~20 CPU-seconds here per setting, at quality 60 ~50: one alternative only.
  { label: 'avif q50 effort 2', format: 'avif', options: { ...S.avif, effort: 2 }, reps: 1 },
];

export async function settingsBenchmark(workDir: string, log: (s: string) => void) {
  const config = pipelineImageConfig();
  // Three of the corpus images (written by the image benchmark): 1 MP JPEG, 2 MP PNG, 3 MP JPEG.
  const files = [
    { name: '1mp.jpg', width: 1224 },
    { name: '2mp.png', width: 1733 },
    { name: '3mp.jpg', width: 2121 },
  ].map((f) => ({ path: join(workDir, 'corpus', f.name), widths: targetWidths(f.width, config.widths) }));
  const child = await Child.start(WORKER);
  const table: { setting: string; bytes: number; cpuS: number; psnrDb: number }[] = [];
  try {
    await child.call('setup', { files });
    for (const row of ROWS) {
      log(`  ${row.label}`);
      const r = await child.call<{ cpuS: number; bytes: number; psnrDb: number }>('run', row);
      table.push({ setting: row.label, bytes: r.bytes, cpuS: round(r.cpuS), psnrDb: round(r.psnrDb, 2) });
    }
  } finally {
    await child.stop();
  }
  const find = (prefix: string) => table.find((t) => t.setting.startsWith(prefix))!;
  const webp = find('webp q80 effort 4');
  const avif = find('avif q50 effort 4');
  return {
    encoderSettingsTable: table,
    avifVsWebp: {
      cpuRatio: round(avif.cpuS / webp.cpuS, 2),
      bytesRatio: round(avif.bytes / webp.bytes, 3),
      psnrDb: { avif: avif.psnrDb, webp: webp.psnrDb },
    },
    settingsCorpus: files.map((f) => f.path.split('/').pop()),
  };
}
