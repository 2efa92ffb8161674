import { DurableObject } from "cloudflare:workers";
import { count } from "../lib/meter.ts";
import type { BucketState } from "./bucket.ts";
import { takeTokens } from "./bucket.ts";
import type { LeaseGrant, LeaseTable } from "./lease.ts";
import { leasingLimiter } from "./lease.ts";
import type { RateLimiter, RateRule } from "./types.ts";

const STATE_KEY = "bucket";

/**
 * One instance per limited identity (API key id or client IP). A Durable Object handles its calls
 * one at a time and lives in one place, so the count is exact worldwide; the bucket is written to
 * storage so an evicted instance does not hand out a fresh allowance.
 */
export class RateLimiterObject extends DurableObject<Env> {
  private state: BucketState | undefined;
  private loaded = false;

  /** Takes up to `want` tokens (a lease for the calling isolate) after returning `giveBack` unused ones. */
  async take(limit: number, periodSeconds: number, want = 1, giveBack = 0): Promise<LeaseGrant> {
    if (!this.loaded) {
      this.state = await this.ctx.storage.get<BucketState>(STATE_KEY);
      this.loaded = true;
    }
    const { state, decision, granted } = takeTokens(this.state, { limit, periodSeconds }, Date.now(), { want, giveBack });
    this.state = state;
    // Not awaited: the output gate holds the reply until the write is durable, without a round trip here.
    void this.ctx.storage.put(STATE_KEY, state);
    // An idle bucket is full again after one period; drop it then so storage does not grow.
    void this.ctx.storage.setAlarm(Date.now() + periodSeconds * 1000 + 1000);
    // Storage rows this call wrote (the bucket and the alarm), for the caller's meter.
    return { decision, granted, rowsWritten: 2 };
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.state = undefined;
  }
}

/** The bucket per identity, reached through this isolate's leases (one object call per lease, not per request). */
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
