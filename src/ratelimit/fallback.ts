import { inIsolateMemory } from "../lib/isolate-memory.ts";
import type { BucketState } from "./bucket.ts";
import { takeTokens } from "./bucket.ts";
import { leaseCap } from "./lease.ts";
import { BASE_LEASE_TTL_MS } from "./load.ts";
import type { RateDecision, RateRule } from "./types.ts";

/**
 * What limits a request when its limiter cannot answer (the key's Durable Object unreachable or
 * overloaded, Redis down, the rate limiting binding failing): never nothing. Each isolate keeps a
 * token bucket of its own per identity, holding at most the largest lease it could have taken
 * (`leaseCap`) and refilled at one such lease per base lease lifetime, never faster than the rule
 * itself. So during an outage one isolate lets through at most what it could have leased, and a
 * client spread over N isolates at most N times that. After a failure the identity stays on the
 * local bucket for `tripMs` before its limiter is asked again, so a failing or overloaded object
 * gets at most one call per isolate and identity in that time.
 */
export interface IsolateFallback {
  /** True while `identifier`'s limiter failed within the last `tripMs`: its requests are counted here. */
  active(identifier: string): boolean;
  /** Records that `identifier`'s limiter failed just now. */
  trip(identifier: string): void;
  take(identifier: string, rule: RateRule): RateDecision;
}

interface FallbackOptions {
  tripMs: number;
  /** Identities remembered per isolate; the oldest is forgotten first (its bucket starts full again). */
  maxEntries: number;
  now: () => number;
}

interface Entry {
  trippedUntilMs: number;
  buckets: Map<string, BucketState>;
}

const DEFAULTS: FallbackOptions = { tripMs: BASE_LEASE_TTL_MS, maxEntries: 10_000, now: () => Date.now() };

/** The local rule: at most one full lease in hand, refilled one lease per base lifetime, never faster than `rule`. */
export function localRule(rule: RateRule): RateRule {
  const cap = leaseCap(rule);
  const perSecond = Math.min(rule.limit / rule.periodSeconds, cap / (BASE_LEASE_TTL_MS / 1000));
  return { limit: cap, periodSeconds: cap / perSecond };
}

export function isolateFallback(options: Partial<FallbackOptions> = {}, table = new Map<string, Entry>()): IsolateFallback {
  const o = { ...DEFAULTS, ...options };
  const entry = (identifier: string): Entry => {
    let e = table.get(identifier);
    if (!e) {
      if (table.size >= o.maxEntries) table.delete(table.keys().next().value as string);
      e = { trippedUntilMs: 0, buckets: new Map() };
      table.set(identifier, e);
    }
    return e;
  };
  return {
    active: (identifier) => (table.get(identifier)?.trippedUntilMs ?? 0) > o.now(),
    trip(identifier) {
      entry(identifier).trippedUntilMs = o.now() + o.tripMs;
    },
    take(identifier, rule) {
      const e = entry(identifier);
      const ruleKey = `${rule.limit}/${rule.periodSeconds}`;
      const { state, decision } = takeTokens(e.buckets.get(ruleKey), localRule(rule), o.now());
      e.buckets.set(ruleKey, state);
      // The headers keep describing the real rule; what is left is what this isolate may still let through.
      return { ...decision, limit: rule.limit, periodSeconds: rule.periodSeconds };
    },
  };
}

/** This isolate's fallback buckets, for every limit the middleware applies. */
export const fallbackLimits: IsolateFallback = isolateFallback(
  {},
  inIsolateMemory(new Map<string, Entry>(), (m) => m.clear()),
);
