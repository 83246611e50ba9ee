/**
 * `npm run bench`: speed, size and memory of the pipeline against its targets.
 *
 * Prints a table and writes bench/results.json (the target keys plus `extra`). Every
 * comparison runs side by side in this one run, on the same machine and inputs; each
 * contender runs in its own process (see bench/lib/child.ts) and figures are medians
 * after a warm-up. Only 127.0.0.1 is ever contacted.
 *
 *   npm run bench                       everything (about 10 minutes on 2 cores)
 *   npm run bench -- --quick            fewer rounds, smaller list table: a smoke test
 *   npm run bench -- --only=images,list sections: bundle, images, memory, stack, list, search, settings
 *
 * --quick and --only write bench/.work/results-partial.json instead of bench/results.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { bundleBenchmarks, coldStartMarkdown } from './bundle';
import { imageBenchmarks } from './images';
import { memoryBenchmark } from './memory';
import { settingsBenchmark } from './settings';
import { searchBenchmark } from './search';
import { listBenchmark, stackBenchmarks } from './stack';

// The SDK's "Node 22 required from 2027" notice, once per child, is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = new URL('..', import.meta.url).pathname;
const WORK = join(ROOT, 'bench', '.work');
const SECTIONS = ['bundle', 'images', 'memory', 'stack', 'list', 'search', 'settings'] as const;
type Section = (typeof SECTIONS)[number];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? (onlyArg.slice(7).split(',') as Section[]) : [...SECTIONS];
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}" (have: ${SECTIONS.join(', ')})`);
const partial = quick || only.length < SECTIONS.length;

const TARGETS: { key: string; target: string; ok: (v: number) => boolean; unit: string }[] = [
  { key: 'imagePipelineVsSharpCpu', target: '<= 1.10', ok: (v) => v <= 1.1, unit: '×' },
  { key: 'vsEleventyImgWall', target: '>= 1.25', ok: (v) => v >= 1.25, unit: '×' },
  { key: 'vsEleventyImgCpu', target: '<= 1.0', ok: (v) => v <= 1.0, unit: '×' },
  { key: 'seedEndToEndMs', target: '<= 1000', ok: (v) => v <= 1000, unit: 'ms' },
  { key: 'unchangedReuploadCpuRatio', target: '<= 0.05', ok: (v) => v <= 0.05, unit: '×' },
  // The API carries no AWS SDK (it signs its own requests: functions/adapters/aws-http.ts);
  // the budget keeps an SDK client, and ingest-only libraries, from creeping back in.
  { key: 'bundleBytes.api', target: '<= 250000', ok: (v) => v <= 250_000, unit: 'B' },
  { key: 'apiColdImportMs', target: '<= 60', ok: (v) => v <= 60, unit: 'ms' },
  // Reported, no target: import plus sharp plus clients, for the ingest function.
  { key: 'ingestColdInitMs', target: '', ok: () => true, unit: 'ms' },
  { key: 'listLatencyRatio20kTo1k', target: '<= 1.3', ok: (v) => v <= 1.3, unit: '×' },
  { key: 'peakRssMb40MP', target: '<= 600', ok: (v) => v <= 600, unit: 'MB' },
  { key: 'searchLatencyRatio100kTo1k', target: '<= 3', ok: (v) => v <= 3, unit: '×' },
  { key: 'searchWriteMsPerArticle', target: '(report)', ok: () => true, unit: 'ms' },
  { key: 'searchBytesPerArticle', target: '(report)', ok: () => true, unit: 'B' },
];

const started = Date.now();
const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const results: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      arch: process.arch,
      loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
      sharp: sharp.versions.sharp,
      libvips: sharp.versions.vips,
      commit: gitCommit(),
      date: new Date().toISOString(),
      quick,
    },
    notes: {
      arm64:
        'Not measured: this machine is x86_64 and emulating arm64 would measure the emulator. sharp ships a ' +
        'prebuilt libvips for linux-arm64 built from the same libraries (libwebp, libjpeg-turbo, libspng, aom; ' +
        'NEON where x86 uses SSE/AVX), so the ratios between contenders are expected to carry over, absolute ' +
        'times are not; Lambda bills arm64 about 20% less per GB-second. Run `npm run bench` on an arm64 host ' +
        '(e.g. a Graviton instance) before switching the ingest function\'s architecture.',
      noise:
        'Other work may share this machine: CPU ratios and medians are robust to it, absolute wall times are not. ' +
        'See loadAverageAtStart/End.',
    },
  };
  const run = async <T>(section: Section, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!only.includes(section)) return undefined;
    const t0 = Date.now();
    log(`${section}…`);
    const r = await fn();
    (extra.sectionSeconds ??= {}) as Record<string, number>;
    (extra.sectionSeconds as Record<string, number>)[section] = Math.round((Date.now() - t0) / 1000);
    return r;
  };

  const bundle = await run('bundle', () => bundleBenchmarks(WORK, quick ? 3 : 15));
  if (bundle) {
    results.bundleBytes = bundle.bundleBytes;
    results.apiColdImportMs = bundle.apiColdImportMs;
    results.ingestColdInitMs = bundle.ingestColdInitMs;
    extra.bundle = bundle.extra;
  }
  const images = await run('images', () => imageBenchmarks(WORK, quick ? 2 : 5));
  if (images) {
    results.imagePipelineVsSharpCpu = images.imagePipelineVsSharpCpu;
    results.vsEleventyImgWall = images.vsEleventyImgWall;
    results.vsEleventyImgCpu = images.vsEleventyImgCpu;
    extra.images = images.extra;
  }
  const memory = await run('memory', () => memoryBenchmark(WORK, quick ? 1 : 3));
  if (memory) {
    results.peakRssMb40MP = memory.peakRssMb40MP;
    extra.memory = memory.extra;
  }
  const stack = await run('stack', () =>
    stackBenchmarks({ seedRuns: quick ? 3 : 7, againRuns: quick ? 2 : 5, batchArticles: quick ? 4 : 20 }, log),
  );
  if (stack) {
    results.seedEndToEndMs = stack.seedEndToEndMs;
    results.unchangedReuploadCpuRatio = stack.unchangedReuploadCpuRatio;
    extra.stack = stack.extra;
    const batch = stack.extra.batch;
    extra.articlesPerMinute = { value: batch.articlesPerMinute, articles: batch.articles, imagesEach: 5 };
  }
  const list = await run('list', () =>
    // --only=list needs no corpus; settings needs the corpus the image section writes.
    listBenchmark({ small: 1000, large: quick ? 5000 : 20_000, requests: quick ? 30 : 100 }, log),
  );
  if (list) {
    results.listLatencyRatio20kTo1k = list.listLatencyRatio20kTo1k;
    extra.list = list.extra.list;
  }
  const search = await run('search', () => searchBenchmark({ small: 1000, large: quick ? 10_000 : 100_000, queries: quick ? 30 : 100 }, log));
  if (search) {
    results.searchLatencyRatio100kTo1k = search.searchLatencyRatio100kTo1k;
    results.searchWriteMsPerArticle = search.searchWriteMsPerArticle;
    results.searchBytesPerArticle = search.searchBytesPerArticle;
    extra.search = search.extra;
  }
  if (only.includes('settings') && !only.includes('images')) {
    // The settings table reads the corpus the image section writes.
    const { corpus } = await import('./lib/images');
    const dir = join(WORK, 'corpus');
    mkdirSync(dir, { recursive: true });
    for (const s of await corpus(1)) writeFileSync(join(dir, s.name), s.bytes);
  }
  const settings = await run('settings', () => settingsBenchmark(WORK, log));
  if (settings) extra.settings = settings;

  (extra.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  extra.totalSeconds = Math.round((Date.now() - started) / 1000);

  // The target keys in the order of the issue, then `extra`.
  const ordered: Record<string, unknown> = {};
  for (const k of ['imagePipelineVsSharpCpu', 'vsEleventyImgWall', 'vsEleventyImgCpu', 'seedEndToEndMs', 'unchangedReuploadCpuRatio', 'bundleBytes', 'apiColdImportMs', 'ingestColdInitMs', 'listLatencyRatio20kTo1k', 'peakRssMb40MP', 'searchLatencyRatio100kTo1k', 'searchWriteMsPerArticle', 'searchBytesPerArticle']) {
    if (k in results) ordered[k] = results[k];
  }
  ordered.extra = extra;
  const out = partial ? join(WORK, 'results-partial.json') : join(ROOT, 'bench', 'results.json');
  writeFileSync(out, JSON.stringify(ordered, null, 2) + '\n');

  printTable(results, extra);
  log(`wrote ${out.replace(ROOT, '')} in ${extra.totalSeconds} s`);
  const missed = TARGETS.filter((t) => value(results, t.key) !== undefined && !t.ok(value(results, t.key)!));
  if (missed.length) log(`targets missed: ${missed.map((t) => t.key).join(', ')} (see the Performance section for floors)`);
}

function value(results: Record<string, unknown>, key: string): number | undefined {
  const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], results);
  return typeof v === 'number' ? v : undefined;
}

function printTable(results: Record<string, unknown>, extra: Record<string, any>): void {
  const rows = TARGETS.filter((t) => value(results, t.key) !== undefined).map((t) => {
    const v = value(results, t.key)!;
    return [t.key, `${v.toLocaleString('en-US')} ${t.unit}`, t.target, !t.target ? '' : t.ok(v) ? 'ok' : 'MISSED'];
  });
  const extras: string[][] = [];
  if (extra.articlesPerMinute) extras.push(['extra: articles/minute (20 × 5 images)', String(extra.articlesPerMinute.value), '', '']);
  if (extra.settings) {
    const a = extra.settings.avifVsWebp;
    extras.push(['extra: AVIF ÷ WebP (CPU, bytes)', `${a.cpuRatio} ×, ${a.bytesRatio} ×`, '', '']);
  }
  const all = [['key', 'value', 'target', ''], ...rows, ...extras];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(all[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.slice(1).map(line)];
  if (extra.settings) {
    out.push('', 'encoder settings (3 corpus images, every target width):', '');
    const t = extra.settings.encoderSettingsTable as { setting: string; bytes: number; cpuS: number; psnrDb: number }[];
    const w = Math.max(...t.map((r) => r.setting.length));
    out.push(`| ${'setting'.padEnd(w)} | bytes     | CPU s  | PSNR dB |`);
    for (const r of t) out.push(`| ${r.setting.padEnd(w)} | ${String(r.bytes).padStart(9)} | ${r.cpuS.toFixed(2).padStart(6)} | ${r.psnrDb.toFixed(2).padStart(7)} |`);
  }
  if (extra.bundle) out.push('', `cold start, Node.js ${process.version}, medians of ${extra.bundle.runs} interleaved runs:`, '', coldStartMarkdown(extra.bundle.coldStart));
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
