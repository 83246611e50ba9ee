/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own
 * report, so CI logs state the totals in a form any reader (or tool) understands.
 */
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

function count(tasks: TaskLike[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, totals);
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (state === 'pass') totals.passed++;
    else if (state === 'fail') totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: TaskLike[] = [], errors: unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that failed to load has no tests but is a failure all the same.
    const broken = files.filter((f) => f.result?.state === 'fail' && !(f.tasks ?? []).length).length;
    totals.failed += broken + errors.length;
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}
