import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import type { RateDecision, RateLimiter, RateRule } from "./types.ts";

/**
 * @upstash/ratelimit fixes the algorithm's numbers at construction, so one instance is kept per
 * distinct rule (there are few: the defaults plus the keys with their own limit).
 */
export function upstashLimiter(conn: { url: string; token: string }): RateLimiter {
  // One quick retry: a limiter that cannot answer fast lets the request through (see the middleware).
  const redis = new Redis({ url: conn.url, token: conn.token, enableTelemetry: false, retry: { retries: 1, backoff: () => 50 } });
  const byRule = new Map<string, Ratelimit>();
  return {
    backend: "upstash",
    async take(identifier: string, rule: RateRule): Promise<RateDecision> {
      const ruleKey = `${rule.limit}/${rule.periodSeconds}`;
      let rl = byRule.get(ruleKey);
      if (!rl) {
        rl = new Ratelimit({
          redis,
          limiter: Ratelimit.slidingWindow(rule.limit, `${rule.periodSeconds} s`),
          // The rule is part of the prefix: changing a key's limit starts it on a fresh window.
          prefix: `rl:${ruleKey}`,
          // No per-isolate memory of blocked ids: every decision comes from Redis.
          ephemeralCache: false,
          analytics: false,
        });
        byRule.set(ruleKey, rl);
      }
      const r = await rl.limit(identifier);
      const resetSeconds = Math.max(0, Math.ceil((r.reset - Date.now()) / 1000));
      return {
        allowed: r.success,
        limit: r.limit,
        remaining: Math.max(0, r.remaining),
        resetSeconds,
        retryAfterSeconds: r.success ? 0 : Math.max(1, resetSeconds),
        periodSeconds: rule.periodSeconds,
      };
    },
  };
}
