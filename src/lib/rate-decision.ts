/** The answer of every limiter backend, in the units the RateLimit headers need. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /**
   * Requests left. Absent when the counter does not say: the Workers Rate Limiting binding answers
   * only whether a request fits, so an allowed per-IP request carries no RateLimit-Remaining.
   */
  remaining?: number;
  /** Seconds until the allowance is whole again; absent with `remaining`. */
  resetSeconds?: number;
  /** Seconds until the next request can succeed (0 when allowed). */
  retryAfterSeconds: number;
  periodSeconds: number;
}
