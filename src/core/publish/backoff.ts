/**
 * Exponential backoff with equal jitter (half the delay fixed, half random), for retrying failed
 * publishes. (The metrics server's bind retry has its own, linear schedule: `serve/bind_retry.ts`.)
 * @module
 */

/** Delays of a backoff schedule. */
export interface BackoffPolicy {
  /** The first delay, in milliseconds. */
  readonly initialDelayMs: number;
  /** The largest delay, in milliseconds. */
  readonly maxDelayMs: number;
  /** Spread each delay randomly over [delay/2, delay], so that many processes do not retry in step. */
  readonly jitter: boolean;
}

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return policy.jitter ? exp / 2 + Math.random() * (exp / 2) : exp;
}
