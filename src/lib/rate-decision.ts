/** The answer of every limiter backend, in the units the RateLimit headers need. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the allowance is whole again. */
  resetSeconds: number;
  /** Seconds until the next request can succeed (0 when allowed). */
  retryAfterSeconds: number;
  periodSeconds: number;
}
