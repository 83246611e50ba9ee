/**
 * Hot counters: 300 articles all in one category, ingested through the ingest handler and
 * the local queue at the local stack's full concurrency (2 batches of 5 in flight, 3 events
 * of a batch at once: 6 transactions racing for the one count item). Transaction conflicts
 * are retried with backoff inside the write, so no event fails, nothing is retried by the
 * queue, and the count is exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/adapters/logger';
import { encodeS3Key } from '../../functions/core/events';
import { createIngestHandler } from '../../functions/ingest/batch';
import { LocalQueue, readDeadLetters } from '../../local/queue';
import { ingestWorld, md, type IngestWorld } from './ingest-world';

const ARTICLES = 300;
let w: IngestWorld;
const dir = mkdtempSync(join(tmpdir(), 'hot-category-'));
beforeAll(async () => {
  w = await ingestWorld('hot');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a hot category', () => {
  it(`${ARTICLES} articles in one category: 0 failed events, an exact count`, async () => {
    const category = 'Everything';
    const keys = Array.from({ length: ARTICLES }, (_, i) => `hot/${String(i).padStart(3, '0')}.md`);
    const etags = await pLimit(8).map(keys, (k) => w.put(k, md(k, [category])));

    const handler = createIngestHandler({ objects: w.objects, index: w.index, log: silentLogger }, w.settings);
    const deadLetterFile = join(dir, 'dead-letters.jsonl');
    // The local stack's queue settings (local/stack.ts passes none: these are LocalQueue's defaults).
    const queue = new LocalQueue({ handler: handler as never, deadLetterFile, retryDelayMs: 25 });
    const started = performance.now();
    keys.forEach((k, i) =>
      queue.send(
        JSON.stringify({
          Records: [
            {
              eventName: 'ObjectCreated:Put',
              eventTime: new Date().toISOString(),
              s3: { bucket: { name: w.incoming }, object: { key: encodeS3Key(k), eTag: etags[i], size: 100, sequencer: (0x100000 + i).toString(16) } },
            },
          ],
        }),
      ),
    );
    await queue.idle();
    const seconds = (performance.now() - started) / 1000;
    queue.close();
    const counts = await w.index.counts('category');
    console.info(
      `[hot category] ${ARTICLES} articles in ${seconds.toFixed(1)} s (${(ARTICLES / seconds).toFixed(1)}/s); ` +
        `transactions sent ${w.index.stats.transactions}, contention retries ${w.index.stats.contentionRetries}; queue ${JSON.stringify(queue.stats)}`,
    );
    expect(queue.stats.retried).toBe(0);
    expect(queue.stats.deadLettered).toBe(0);
    expect(readDeadLetters(deadLetterFile)).toEqual([]);
    expect(counts).toEqual([{ name: category, count: ARTICLES }]);
    const page = await w.index.list({ status: 'published', limit: 100, facet: { name: 'category', value: category } });
    expect(page.items).toHaveLength(100);
  }, 600_000);
});
