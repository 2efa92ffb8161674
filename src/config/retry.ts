import type { RetryPolicy } from "./index.ts";

/** Delay before the next delivery of a message that failed transiently on delivery `attempts` (1-based). */
export function retryDelaySeconds(attempts: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelaySeconds, policy.baseSeconds * 2 ** Math.max(0, attempts - 1));
}

/** Whether a message that just failed on delivery `attempts` may be retried, or must be dead-lettered. */
export const mayRetry = (attempts: number, policy: RetryPolicy) => attempts <= policy.maxRetries;

/**
 * How long a write keeps being retried before it is dead-lettered: the sum of every delay. A database
 * outage shorter than this loses nothing and needs nobody; a longer one parks the writes (see
 * src/dead-letters/dead-letter.ts) until the database is back.
 */
export function retryBudgetSeconds(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt <= policy.maxRetries; attempt++) total += retryDelaySeconds(attempt, policy);
  return total;
}
