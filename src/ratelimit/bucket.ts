import type { RateDecision, RateRule } from "./types.ts";

export interface BucketState {
  tokens: number;
  updatedMs: number;
  limit: number;
  periodSeconds: number;
}

/**
 * Token bucket: holds at most `limit` tokens, refills `limit` per `periodSeconds` continuously,
 * each request takes one. Pure, so the Durable Object only stores and serialises it.
 */
export function takeToken(prev: BucketState | undefined, rule: RateRule, nowMs: number): { state: BucketState; decision: RateDecision } {
  const ratePerMs = rule.limit / (rule.periodSeconds * 1000);
  let tokens = rule.limit;
  if (prev) {
    const elapsed = Math.max(0, nowMs - prev.updatedMs);
    // A key whose limit changed keeps what it had used, capped by the new size.
    tokens = Math.min(rule.limit, prev.tokens + elapsed * ratePerMs);
  }
  const allowed = tokens >= 1;
  if (allowed) tokens -= 1;
  const missingForOne = allowed ? 0 : 1 - tokens;
  const decision: RateDecision = {
    allowed,
    limit: rule.limit,
    remaining: Math.floor(tokens),
    resetSeconds: Math.ceil((rule.limit - tokens) / ratePerMs / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(missingForOne / ratePerMs / 1000)),
    periodSeconds: rule.periodSeconds,
  };
  return { state: { tokens, updatedMs: nowMs, limit: rule.limit, periodSeconds: rule.periodSeconds }, decision };
}
