import type { RateDecision, RateRule } from "./types.ts";

export interface BucketState {
  tokens: number;
  updatedMs: number;
  limit: number;
  periodSeconds: number;
}

export interface TakeMany {
  /** At most this many tokens are handed out (a lease); at least one when the request is allowed. */
  want: number;
  /** Tokens an earlier lease did not use, returned before taking (never above the limit). */
  giveBack: number;
}

/**
 * Token bucket: holds at most `limit` tokens, refills `limit` per `periodSeconds` continuously,
 * each request takes one. Pure, so the Durable Object only stores and serialises it.
 * `granted` is how many tokens left the bucket: 1 for a single take, up to `want` for a lease.
 */
export function takeTokens(
  prev: BucketState | undefined,
  rule: RateRule,
  nowMs: number,
  { want, giveBack }: TakeMany = { want: 1, giveBack: 0 },
): { state: BucketState; decision: RateDecision; granted: number } {
  const ratePerMs = rule.limit / (rule.periodSeconds * 1000);
  let tokens = rule.limit;
  if (prev) {
    const elapsed = Math.max(0, nowMs - prev.updatedMs);
    // A key whose limit changed keeps what it had used, capped by the new size.
    tokens = Math.min(rule.limit, prev.tokens + elapsed * ratePerMs + Math.max(0, giveBack));
  }
  const granted = tokens >= 1 ? Math.min(Math.max(1, Math.floor(want)), Math.floor(tokens)) : 0;
  tokens -= granted;
  const missingForOne = granted > 0 ? 0 : 1 - tokens;
  const decision: RateDecision = {
    allowed: granted > 0,
    limit: rule.limit,
    remaining: Math.floor(tokens),
    resetSeconds: Math.ceil((rule.limit - tokens) / ratePerMs / 1000),
    retryAfterSeconds: granted > 0 ? 0 : Math.max(1, Math.ceil(missingForOne / ratePerMs / 1000)),
    periodSeconds: rule.periodSeconds,
  };
  return { state: { tokens, updatedMs: nowMs, limit: rule.limit, periodSeconds: rule.periodSeconds }, decision, granted };
}
