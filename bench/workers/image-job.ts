/**
 * One image-processing contender in its own process (see bench/lib/child.ts).
 *
 *   ours      SharpEncoder.encode per source, 4 sources at a time (rehost's concurrency)
 *   ours-files  the same, writing every variant to disk (eleventy-img writes files)
 *   bare      the most direct sharp script making the same outputs: one pipeline per
 *             output straight from the source bytes, plus the placeholder and the colour
 *   bare-variants  the same without placeholder and colour
 *   eleventy  @11ty/eleventy-img v6 (its own sharp), same widths, formats and settings
 *
 * Nothing is imported at module scope that loads sharp: eleventy-img brings its own
 * sharp/libvips, and two libvips versions must not share a process.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { measure, serve } from '../lib/child';
import { mapLimit } from '../lib/stats';

export type Mode = 'ours' | 'ours-files' | 'bare' | 'bare-variants' | 'eleventy';

export interface JobSpec {
  mode: Mode;
  files: { path: string; width: number; widths: number[] }[];
  /** The pipeline's configuration (IMAGE_WIDTHS, IMAGE_FORMATS, IMAGE_MAX_PIXELS). */
  config: { widths: number[]; formats: ('webp' | 'avif')[]; maxPixels: number };
  /** ENCODER_SETTINGS, passed in so the eleventy child never loads our sharp. */
  settings: {
    webp: Record<string, unknown>;
    jpeg: Record<string, unknown>;
    placeholder: { size: number; quality: number };
  };
  outDir: string;
  concurrency: number;
}

export interface Output {
  source: string;
  format: string;
  width: number;
  bytes: number;
}

export interface RunResult {
  cpuS: number;
  wallMs: number;
  outputs: Output[];
}

let job: (() => Promise<Output[]>) | null = null;

async function setup(spec: JobSpec): Promise<void> {
  const sources = spec.files.map((f) => ({ ...f, name: basename(f.path), bytes: readFileSync(f.path) }));
  mkdirSync(spec.outDir, { recursive: true });
  const S = spec.settings;

  if (spec.mode === 'ours' || spec.mode === 'ours-files') {
    const { SharpEncoder } = await import('../../functions/adapters/sharp-encoder');
    const encoder = new SharpEncoder();
    const write = spec.mode === 'ours-files';
    job = async () =>
      (
        await mapLimit(sources, spec.concurrency, async (s) => {
          const r = await encoder.encode(s.bytes, spec.config);
          if (write) {
            await Promise.all(r.variants.map((v) => writeFile(join(spec.outDir, `${s.name}-${v.width}.${v.format}`), v.bytes)));
          }
          return r.variants.map((v) => ({ source: s.name, format: v.format, width: v.width, bytes: v.bytes.byteLength }));
        })
      ).flat();
    return;
  }

  if (spec.mode === 'bare' || spec.mode === 'bare-variants') {
    const sharp = (await import('sharp')).default;
    const extras = spec.mode === 'bare';
    job = async () =>
      (
        await mapLimit(sources, spec.concurrency, async (s) => {
          const variants = s.widths.flatMap((w) =>
            (['webp', 'jpeg'] as const).map(async (format) => {
              let p = sharp(s.bytes, { autoOrient: true });
              if (w < s.width) p = p.resize({ width: w });
              p = format === 'webp' ? p.webp(S.webp) : p.jpeg(S.jpeg);
              const { info } = await p.toBuffer({ resolveWithObject: true });
              return { source: s.name, format, width: info.width, bytes: info.size };
            }),
          );
          const side = extras
            ? [
                sharp(s.bytes, { autoOrient: true })
                  .resize(S.placeholder.size, S.placeholder.size, { fit: 'inside' })
                  .webp({ quality: S.placeholder.quality })
                  .toBuffer(),
                sharp(s.bytes).stats(),
              ]
            : [];
          const [out] = await Promise.all([Promise.all(variants), ...side]);
          return out as Output[];
        })
      ).flat();
    return;
  }

  if (spec.mode === 'eleventy') {
    const Image = (await import('@11ty/eleventy-img')).default;
    job = async () => {
      // eleventy-img queues work itself (its `concurrency`), so everything is handed over at once.
      const results = await Promise.all(
        sources.map((s) =>
          Image(s.bytes, {
            widths: s.widths,
            formats: ['webp', 'jpeg'],
            outputDir: spec.outDir,
            useCache: false,
            dryRun: false,
            minimumThreshold: 1,
            sharpWebpOptions: S.webp,
            sharpJpegOptions: S.jpeg,
          }).then((meta) => ({ s, meta })),
        ),
      );
      return results.flatMap(({ s, meta }) =>
        Object.entries(meta).flatMap(([format, list]) =>
          list.map((m) => ({ source: s.name, format, width: m.width, bytes: m.size })),
        ),
      );
    };
    return;
  }
  throw new Error(`unknown mode ${spec.mode as string}`);
}

serve({
  setup,
  async run(): Promise<RunResult> {
    if (!job) throw new Error('setup first');
    const { cpuS, wallMs, value } = await measure(job);
    return { cpuS, wallMs, outputs: value };
  },
  /** The sharp this contender runs on (eleventy-img ships its own). */
  versions: async (mode: Mode) => {
    const from = mode === 'eleventy' ? createRequire(import.meta.url).resolve('@11ty/eleventy-img') : import.meta.url;
    const sharp = createRequire(from)('sharp') as typeof import('sharp');
    return { sharp: sharp.versions.sharp, vips: sharp.versions.vips, threadsPerImage: sharp.concurrency() };
  },
});
