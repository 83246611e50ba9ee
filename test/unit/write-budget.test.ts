/**
 * The one-transaction budget: the per-article caps keep the largest transition inside
 * DynamoDB's transaction limits, and contention waits grow with full jitter.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTENTION } from '../../functions/adapters/dynamo-index';
import { backoffDelay } from '../../functions/core/backoff';
import { FACET_CAPS, SUMMARY_MAX_BYTES, TRANSACTION_LIMITS, worstCaseTransactionItems } from '../../functions/write-budget';
import { META_LIMITS } from '../../functions/core/normalize';

describe('the transaction budget', () => {
  const n = FACET_CAPS.categories + FACET_CAPS.tags + FACET_CAPS.authors;

  it('fits the largest transition in 100 items, and not one value more', () => {
    expect(worstCaseTransactionItems(n)).toBeLessThanOrEqual(TRANSACTION_LIMITS.maxItems);
    expect(worstCaseTransactionItems(n + 1)).toBeGreaterThan(TRANSACTION_LIMITS.maxItems);
  });

  it('fits its bytes in 4 MB with a 400 KB article and full-size summaries', () => {
    const listingPuts = 2 + n;
    const keysOnly = worstCaseTransactionItems(n) - 1 - listingPuts;
    const bytes = 400 * 1024 + listingPuts * (SUMMARY_MAX_BYTES + 8 * 1024) + keysOnly * 6 * 1024;
    expect(bytes).toBeLessThan(TRANSACTION_LIMITS.maxBytes);
  });

  it('is what front matter is cut to', () => {
    expect([META_LIMITS.categories, META_LIMITS.tags, META_LIMITS.authors]).toEqual([FACET_CAPS.categories, FACET_CAPS.tags, FACET_CAPS.authors]);
  });
});

describe('contention backoff', () => {
  it('waits a uniform share of an exponentially growing, capped window', () => {
    const p = DEFAULT_CONTENTION;
    for (let attempt = 1; attempt < p.attempts; attempt++) {
      const window = Math.min(p.capMs, p.baseMs * 2 ** attempt);
      expect(backoffDelay(attempt, p, () => 0)).toBe(0);
      expect(backoffDelay(attempt, p, () => 0.999999)).toBe(window - 1);
    }
    expect(backoffDelay(30, p, () => 0.5)).toBe(p.capMs / 2);
  });
});
