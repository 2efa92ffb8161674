import type { RateRule } from "../config/index.ts";

export type { RateRule } from "../config/index.ts";

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

/**
 * One interface for per-key and per-IP limits. The rule is passed on every call because per-key
 * limits are data (each key may carry its own), not configuration.
 */
export interface RateLimiter {
  readonly backend: "durable_object" | "upstash";
  take(identifier: string, rule: RateRule): Promise<RateDecision>;
}
