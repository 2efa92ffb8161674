import type { Config } from "../config/index.ts";
import { durableObjectLimiter } from "./durable-object.ts";
import type { RateLimiter } from "./types.ts";
import { upstashLimiter } from "./upstash.ts";

export { takeFromBinding } from "./binding.ts";
export { fallbackLimits } from "./fallback.ts";
export type { RateDecision, RateLimiter, RateRule } from "./types.ts";

/** Per-key limits: Upstash when configured (one Redis for cache and limits), the Durable Object bucket otherwise. */
export function createRateLimiter(config: Config, env: Env): RateLimiter {
  return config.upstash ? upstashLimiter(config.upstash) : durableObjectLimiter(env.RATE_LIMITER);
}
