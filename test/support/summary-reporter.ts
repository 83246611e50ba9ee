/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own
 * report, so CI logs state the totals in a form any reader (or tool) understands. The
 * line before it names the Node.js that ran the suite (the one pinned in devDependencies).
 */
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

/** Counts tests; returns how many failed below `tasks`. */
function count(tasks: TaskLike[], totals: { passed: number; failed: number; skipped: number }): number {
  let failedHere = 0;
  for (const t of tasks) {
    if (t.type !== 'test') {
      const failedBelow = count(t.tasks ?? [], totals);
      // A suite (or file) that failed by itself, e.g. in beforeAll, is a failure even
      // though its tests only show as skipped.
      if (t.result?.state === 'fail' && failedBelow === 0) {
        totals.failed++;
        failedHere++;
      }
      failedHere += failedBelow;
      continue;
    }
    const state = t.result?.state;
    if (state === 'pass') totals.passed++;
    else if (state === 'fail') {
      totals.failed++;
      failedHere++;
    } else totals.skipped++;
  }
  return failedHere;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: TaskLike[] = [], errors: unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    totals.failed += errors.length;
    process.stdout.write(`\nran on Node.js ${process.version} (${process.execPath})`);
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}
