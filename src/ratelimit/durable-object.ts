import { DurableObject } from "cloudflare:workers";
import { count } from "../lib/meter.ts";
import type { BucketState } from "./bucket.ts";
import { takeTokens } from "./bucket.ts";
import type { LeaseGrant, LeaseTable } from "./lease.ts";
import { leasingLimiter } from "./lease.ts";
import type { CallRate } from "./load.ts";
import { leaseTtlMs, newCallRate, observeCall } from "./load.ts";
import type { RateLimiter, RateRule } from "./types.ts";

/**
 * One instance per API key. A Durable Object handles its calls one at a time and lives in one
 * place, so the count is exact worldwide. The bucket lives in the object's memory only: nothing is
 * written to storage per call (no put, no alarm, no delete), so a call bills one request and no
 * row. An object that restarts (evicted after being idle, a deploy, the runtime moving or resetting
 * it) starts with a full bucket: at most one extra allowance (`limit` tokens) per restart, the price
 * of writing nothing per call. An idle object's bucket had mostly refilled anyway.
 */
export class RateLimiterObject extends DurableObject<Env> {
  private state: BucketState | undefined;
  private readonly calls: CallRate = newCallRate();

  /** Takes up to `want` tokens (a lease for the calling isolate) after returning `giveBack` unused ones. */
  async take(limit: number, periodSeconds: number, want = 1, giveBack = 0): Promise<LeaseGrant> {
    const now = Date.now();
    const { state, decision, granted } = takeTokens(this.state, { limit, periodSeconds }, now, { want, giveBack });
    this.state = state;
    // A busy object asks its callers to come back less often (src/ratelimit/load.ts).
    return { decision, granted, rowsWritten: 0, ttlMs: leaseTtlMs(observeCall(this.calls, now)) };
  }

  /** Only objects of the earlier, storing version have an alarm set: it clears what they stored, once. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

/** The bucket per API key, reached through this isolate's leases (one object call per lease, not per request). */
export function durableObjectLimiter(ns: DurableObjectNamespace<RateLimiterObject>, leases?: LeaseTable): RateLimiter {
  return leasingLimiter(
    "durable_object",
    async (identifier: string, rule: RateRule, want: number, giveBack: number) => {
      count("do_requests");
      const grant = await ns.getByName(identifier).take(rule.limit, rule.periodSeconds, want, giveBack);
      count("do_rows_written", grant.rowsWritten ?? 0);
      return grant;
    },
    {},
    leases,
  );
}
