import { DurableObject } from "cloudflare:workers";
import { takeToken } from "./bucket.ts";
import type { BucketState } from "./bucket.ts";
import type { RateDecision, RateLimiter, RateRule } from "./types.ts";

const STATE_KEY = "bucket";

/**
 * One instance per limited identity (API key id or client IP). A Durable Object handles its calls
 * one at a time and lives in one place, so the count is exact worldwide; the bucket is written to
 * storage so an evicted instance does not hand out a fresh allowance.
 */
export class RateLimiterObject extends DurableObject<Env> {
  private state: BucketState | undefined;
  private loaded = false;

  async take(limit: number, periodSeconds: number): Promise<RateDecision> {
    if (!this.loaded) {
      this.state = await this.ctx.storage.get<BucketState>(STATE_KEY);
      this.loaded = true;
    }
    const { state, decision } = takeToken(this.state, { limit, periodSeconds }, Date.now());
    this.state = state;
    // Not awaited: the output gate holds the reply until the write is durable, without a round trip here.
    void this.ctx.storage.put(STATE_KEY, state);
    // An idle bucket is full again after one period; drop it then so storage does not grow.
    void this.ctx.storage.setAlarm(Date.now() + periodSeconds * 1000 + 1000);
    return decision;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.state = undefined;
  }
}

export function durableObjectLimiter(ns: DurableObjectNamespace<RateLimiterObject>): RateLimiter {
  return {
    backend: "durable_object",
    take: (identifier: string, rule: RateRule) => ns.getByName(identifier).take(rule.limit, rule.periodSeconds),
  };
}
