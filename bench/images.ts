/**
 * CPU and wall time of our image step against a bare sharp script and @11ty/eleventy-img,
 * all on the same photo-like sources, widths, formats and encoder settings. Every
 * contender runs in its own process; after a warm-up run each, the contenders take turns
 * (the order rotating every round), so background load hits them alike.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../functions/config';
import { DEFAULT_IMAGE_CONCURRENCY } from '../functions/core/images/rehost';
import { ENCODER_SETTINGS, targetWidths } from '../functions/adapters/sharp-encoder';
import { Child } from './lib/child';
import { corpus, CORPUS_SPEC } from './lib/images';
import { median, round } from './lib/stats';
import type { JobSpec, Mode, Output, RunResult } from './workers/image-job';

const WORKER = new URL('./workers/image-job.ts', import.meta.url).pathname;

export function pipelineImageConfig() {
  return loadConfig({ MEDIA_BASE_URL: 'https://media.example.test' }).image;
}

export interface ModeRuns {
  cpuS: number[];
  wallMs: number[];
  outputs: Output[];
  versions: { sharp: string; vips: string; threadsPerImage: number };
}

export async function runContenders(
  modes: Mode[],
  files: JobSpec['files'],
  workDir: string,
  rounds: number,
  config = pipelineImageConfig(),
): Promise<Record<string, ModeRuns>> {
  const children = new Map<Mode, Child>();
  const runs: Record<string, ModeRuns> = {};
  try {
    for (const mode of modes) {
      const child = await Child.start(WORKER);
      children.set(mode, child);
      const spec: JobSpec = {
        mode,
        files,
        config: { widths: config.widths, formats: config.formats, maxPixels: config.maxPixels },
        settings: { webp: ENCODER_SETTINGS.webp, jpeg: { ...ENCODER_SETTINGS.jpeg }, placeholder: ENCODER_SETTINGS.placeholder },
        outDir: join(workDir, `out-${mode}`),
        concurrency: DEFAULT_IMAGE_CONCURRENCY,
      };
      await child.call('setup', spec);
      runs[mode] = { cpuS: [], wallMs: [], outputs: [], versions: await child.call('versions', mode) };
    }
    // Warm-up: first-run costs (lazy module loading, libvips start-up, page faults).
    for (const mode of modes) runs[mode]!.outputs = (await children.get(mode)!.call<RunResult>('run')).outputs;
    for (let r = 0; r < rounds; r++) {
      const order = modes.map((_, i) => modes[(i + r) % modes.length]!);
      for (const mode of order) {
        const res = await children.get(mode)!.call<RunResult>('run');
        runs[mode]!.cpuS.push(res.cpuS);
        runs[mode]!.wallMs.push(res.wallMs);
      }
    }
  } finally {
    await Promise.all([...children.values()].map((c) => c.stop()));
  }
  return runs;
}

/** The same set of (source, format, width) outputs, or an error naming the difference. */
export function assertSameOutputs(a: Output[], b: Output[], what: string): void {
  const key = (o: Output) => `${o.source} ${o.format} ${o.width}`;
  const sa = new Set(a.map(key));
  const sb = new Set(b.map(key));
  const missing = [...sa].filter((k) => !sb.has(k));
  const extra = [...sb].filter((k) => !sa.has(k));
  if (missing.length || extra.length || a.length !== b.length) {
    throw new Error(`${what}: outputs differ (missing ${missing.slice(0, 5).join(', ')}; extra ${extra.slice(0, 5).join(', ')})`);
  }
}

const totalBytes = (o: Output[]) => o.reduce((n, x) => n + x.bytes, 0);

export async function imageBenchmarks(workDir: string, rounds: number) {
  const dir = join(workDir, 'corpus');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = pipelineImageConfig();
  const sources = await corpus(1);
  const files = sources.map((s) => {
    const path = join(dir, s.name);
    writeFileSync(path, s.bytes);
    return { path, width: s.width, widths: targetWidths(s.width, config.widths) };
  });

  const runs = await runContenders(['ours', 'bare', 'bare-variants', 'ours-files', 'eleventy'], files, workDir, rounds, config);
  const ours = runs['ours']!;
  assertSameOutputs(ours.outputs, runs['bare']!.outputs, 'bare sharp');
  assertSameOutputs(ours.outputs, runs['eleventy']!.outputs, 'eleventy-img');

  const m = (mode: string, k: 'cpuS' | 'wallMs') => median(runs[mode]![k]);
  const paired = (a: string, b: string, k: 'cpuS' | 'wallMs') =>
    median(runs[a]![k].map((x, i) => x / runs[b]![k][i]!));
  return {
    imagePipelineVsSharpCpu: round(m('ours', 'cpuS') / m('bare', 'cpuS')),
    vsEleventyImgWall: round(m('eleventy', 'wallMs') / m('ours-files', 'wallMs')),
    vsEleventyImgCpu: round(m('ours-files', 'cpuS') / m('eleventy', 'cpuS')),
    extra: {
      corpus: sources.map((s) => ({ name: s.name, width: s.width, height: s.height, bytes: s.bytes.length })),
      corpusMegapixels: CORPUS_SPEC.reduce((n, s) => n + s.mp, 0),
      widths: config.widths,
      outputsPerRun: ours.outputs.length,
      rounds,
      medians: Object.fromEntries(
        Object.entries(runs).map(([mode, r]) => [
          mode,
          { cpuS: round(median(r.cpuS)), wallMs: Math.round(median(r.wallMs)), outputBytes: totalBytes(r.outputs), ...r.versions },
        ]),
      ),
      raw: Object.fromEntries(Object.entries(runs).map(([mode, r]) => [mode, { cpuS: r.cpuS.map((x) => round(x)), wallMs: r.wallMs.map(Math.round) }])),
      pairedRatios: {
        oursVsBareCpu: round(paired('ours', 'bare', 'cpuS')),
        oursVsBareVariantsOnlyCpu: round(paired('ours', 'bare-variants', 'cpuS')),
        eleventyVsOursWall: round(paired('eleventy', 'ours-files', 'wallMs')),
        oursVsEleventyCpu: round(paired('ours-files', 'eleventy', 'cpuS')),
      },
      oursVsBareVariantsOnlyCpu: round(m('ours', 'cpuS') / m('bare-variants', 'cpuS')),
      oursCpuPerMegapixelS: round(m('ours', 'cpuS') / CORPUS_SPEC.reduce((n, s) => n + s.mp, 0)),
    },
  };
}
