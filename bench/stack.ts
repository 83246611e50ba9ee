/**
 * Local-stack benchmarks, in one child process running the embedded stack: the sample
 * article end to end, an unchanged re-upload's CPU, a 20-article batch. List latency runs
 * in another child (API handler + local API server + in-memory DynamoDB Local).
 */
import { Child } from './lib/child';
import { median, round } from './lib/stats';

const WORKER = new URL('./workers/stack-job.ts', import.meta.url).pathname;
const LIST_WORKER = new URL('./workers/list-job.ts', import.meta.url).pathname;

type SeedRun = { ms: number; putMs: number; cpuS: number; jvmCpuS: number; steps: Record<string, number> | null; trace: Record<string, { calls: number; sumMs: number; wallMs: number }> };
type AgainRun = { firstCpuS: number; againCpuS: number; firstJvmCpuS: number; againJvmCpuS: number; outcome: string | null };

export interface StackOptions {
  seedRuns: number;
  againRuns: number;
  batchArticles: number;
}

export async function stackBenchmarks(o: StackOptions, log: (s: string) => void) {
  const child = await Child.start(WORKER);
  try {
    await child.call('start');
    log('local stack up; sample article end to end');
    const seed = await child.call<SeedRun[]>('seed', { warmup: 1, runs: o.seedRuns });
    log('unchanged re-upload CPU');
    const again = await child.call<AgainRun[]>('unchanged', { runs: o.againRuns });
    if (!again.every((a) => a.outcome === 'unchanged')) throw new Error(`re-upload outcomes: ${again.map((a) => a.outcome).join(', ')}`);
    log(`batch of ${o.batchArticles} articles × 5 images`);
    const batch = await child.call<{ ms: number; cpuS: number; articles: number; images: number }>('batch', { articles: o.batchArticles, images: 5 });
    const origin = await child.call<{ distinctPaths: number; maxFetchesPerPath: number }>('origin');
    const warnings = await child.call<string[]>('errors');

    const stepNames = [...new Set(seed.flatMap((r) => Object.keys(r.steps ?? {})))];
    const steps = Object.fromEntries(stepNames.map((s) => [s, median(seed.map((r) => r.steps?.[s] ?? NaN).filter((x) => !Number.isNaN(x)))]));
    const ratio = median(again.map((a) => a.againCpuS / a.firstCpuS));
    return {
      seedEndToEndMs: Math.round(median(seed.map((r) => r.ms))),
      unchangedReuploadCpuRatio: round(ratio, 4),
      extra: {
        seed: {
          runsMs: seed.map((r) => Math.round(r.ms)),
          putMedianMs: round(median(seed.map((r) => r.putMs)), 1),
          /** CPU per run: this process (handlers, sharp, s3rver, API server) and DynamoDB Local's JVM. */
          cpuSMedian: round(median(seed.map((r) => r.cpuS))),
          jvmCpuSMedian: round(median(seed.map((r) => r.jvmCpuS))),
          /** Median ms per ingest step, from the handler's "article processed" log line. */
          handlerStepsMedianMs: steps,
          /** Per adapter call type: calls, summed ms, and wall ms covered (calls overlap). */
          traceMedian: Object.fromEntries(
            [...new Set(seed.flatMap((r) => Object.keys(r.trace)))].map((cat) => [
              cat,
              {
                calls: median(seed.map((r) => r.trace[cat]?.calls ?? 0)),
                sumMs: median(seed.map((r) => r.trace[cat]?.sumMs ?? 0)),
                wallMs: median(seed.map((r) => r.trace[cat]?.wallMs ?? 0)),
              },
            ]),
          ),
        },
        unchangedReupload: {
          firstCpuS: again.map((a) => round(a.firstCpuS)),
          againCpuS: again.map((a) => round(a.againCpuS, 4)),
          /** DynamoDB Local's JVM is a separate process: its CPU, for the record. */
          withDynamoLocalJvmRatio: round(median(again.map((a) => (a.againCpuS + a.againJvmCpuS) / (a.firstCpuS + a.firstJvmCpuS))), 4),
        },
        batch: {
          articles: batch.articles,
          images: batch.images,
          wallMs: Math.round(batch.ms),
          cpuS: round(batch.cpuS),
          articlesPerMinute: round((batch.articles / batch.ms) * 60_000, 1),
          cpuSPerArticle: round(batch.cpuS / batch.articles),
        },
        originFetches: origin,
        handlerWarnings: warnings,
      },
    };
  } finally {
    await child.call('stop').catch(() => {});
    await child.stop();
  }
}

export async function listBenchmark(o: { small: number; large: number; requests: number }, log: (s: string) => void) {
  const child = await Child.start(LIST_WORKER);
  try {
    await child.call('start');
    log(`list latency at ${o.small} and ${o.large} articles`);
    const list = await child.call<any>('listLatency', { ...o, warmup: 50, jvmWarmup: 300, loadConcurrency: 16 });
    return {
      listLatencyRatio20kTo1k: round(list.p50LargeMs / list.p50SmallMs),
      extra: {
        list: {
          p50At1kMs: round(list.p50SmallMs, 2),
          p50At20kMs: round(list.p50LargeMs, 2),
          p95At1kMs: round(list.p95SmallMs, 2),
          p95At20kMs: round(list.p95LargeMs, 2),
          requestsEach: list.requests,
          /** Category y (1,000 articles) against x (20,000) in the same table, requests alternating. */
          interleavedSameTable: {
            p50Category20kMs: round(list.interleaved.p50LargeCategoryMs, 2),
            p50Category1kMs: round(list.interleaved.p50SmallCategoryMs, 2),
            ratio: round(list.interleaved.ratio),
          },
          itemsWritten: list.itemsWritten,
          itemsPerArticle: list.itemsPerArticle,
          bulkLoadMs: Math.round(list.loadMs),
        },
      },
    };
  } finally {
    await child.call('stop').catch(() => {});
    await child.stop();
  }
}
