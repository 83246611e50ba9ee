/**
 * Full-jitter exponential backoff, shared by every retry loop that waits between attempts
 * (DynamoDB transaction contention, the API's signed AWS requests). Pure: no timers here
 * beyond `sleep`.
 */

/** Before retry n: a uniform wait in [0, min(capMs, baseMs · 2^n)). */
export interface Backoff {
  baseMs: number;
  capMs: number;
}

/**
 * Full jitter: concurrent callers that failed together spread out instead of colliding
 * again in step. A small helper rather than the SDK's retry strategy: the SDK does not retry
 * TransactionCanceledException, and Powertools has no general retry utility.
 */
export function backoffDelay(attempt: number, p: Backoff, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(p.capMs, p.baseMs * 2 ** attempt));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
