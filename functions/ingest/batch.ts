/**
 * One Lambda invocation's worth of work: every record of the batch is handled, and one
 * failing record never loses the others. SQS messages that fail are reported back
 * (ReportBatchItemFailures) so only they are retried, then dead-lettered.
 *
 * Not @aws-lambda-powertools/batch (declined, measured): processPartialResponse ran a
 * 10-message batch 10 at once (processInParallel; peak concurrency 10) or 1 at a time, where
 * ingest wants 3 (sharp's memory on one vCPU), and direct S3 invocations are not SQS records.
 */
import pLimit from 'p-limit';
import type { Logger } from '../ports';
import { errorMessage } from '../core/errors';
import { parseLambdaEvent, type WorkItem } from '../core/events';
import { ingestEvent, type IngestDeps, type IngestSettings, type IngestOutcome } from '../core/ingest';

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

async function runItem(deps: IngestDeps, settings: IngestSettings, item: WorkItem, log: Logger): Promise<boolean> {
  if (item.malformed) {
    log.error('unreadable message', { messageId: item.messageId, reason: item.malformed });
    return false;
  }
  let ok = true;
  // Events inside one message are applied in order; a failure still lets the rest run.
  for (const ev of item.events) {
    const started = Date.now();
    try {
      const outcome: IngestOutcome = await ingestEvent(deps, settings, ev);
      log.info('event handled', { key: ev.key, kind: ev.kind, sequencer: ev.sequencer, outcome, ms: Date.now() - started });
    } catch (err) {
      ok = false;
      log.error('event failed; it will be retried', { key: ev.key, kind: ev.kind, error: errorMessage(err), ms: Date.now() - started });
    }
  }
  return ok;
}

export function createIngestHandler(deps: IngestDeps, settings: IngestSettings, concurrency = 3) {
  return async (event: unknown): Promise<BatchResult> => {
    const items = parseLambdaEvent(event);
    const results = await pLimit(concurrency).map(items, (item) => runItem(deps, settings, item, deps.log));
    const failures = items.filter((item, i) => !results[i]);
    const direct = failures.filter((f) => f.messageId === null);
    // A direct S3 invocation has no partial-failure channel: fail it so Lambda retries.
    if (direct.length) throw new Error(`${direct.length} S3 record(s) failed`);
    return { batchItemFailures: failures.map((f) => ({ itemIdentifier: f.messageId! })) };
  };
}
