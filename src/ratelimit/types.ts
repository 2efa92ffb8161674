import type { RateRule } from "../config/index.ts";
import type { RateDecision } from "../lib/rate-decision.ts";

export type { RateRule } from "../config/index.ts";
export type { RateDecision } from "../lib/rate-decision.ts";

/**
 * One interface for per-key limits (per-IP limits are the rate limiting bindings, ./binding.ts). The
 * rule is passed on every call because per-key limits are data (each key may carry its own).
 */
export interface RateLimiter {
  readonly backend: "durable_object" | "upstash";
  take(identifier: string, rule: RateRule): Promise<RateDecision>;
}
