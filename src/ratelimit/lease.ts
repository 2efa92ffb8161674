import { inIsolateMemory } from "../lib/isolate-memory.ts";
import { BASE_LEASE_TTL_MS, TARGET_CALLS_PER_SECOND } from "./load.ts";
import type { RateDecision, RateLimiter, RateRule } from "./types.ts";

/** What the shared bucket answers to a lease request. */
export interface LeaseGrant {
  /** The bucket after the grant (remaining excludes the granted tokens). */
  decision: RateDecision;
  /** Tokens that left the bucket for this isolate; 0 when refused. */
  granted: number;
  /** Storage rows the bucket wrote to answer (a Durable Object bills each). */
  rowsWritten?: number;
  /** How long to keep this lease: longer while the bucket is busy (src/ratelimit/load.ts). */
  ttlMs?: number;
}

/** Takes up to `want` tokens from the shared bucket of `identifier`, after returning `giveBack` unused ones. */
export type TakeFromBucket = (identifier: string, rule: RateRule, want: number, giveBack: number) => Promise<LeaseGrant>;

export interface LeaseOptions {
  /** The largest lease as a share of the limit: bounds what one isolate can hold back from the others. */
  maxShare: number;
  /** The largest lease in tokens, unless the key's rate needs more to keep its object's calls near the target. */
  maxTokens: number;
  /** Unused leased tokens go back to the bucket after this long (with the isolate's next call), unless the bucket says longer. */
  ttlMs: number;
  /** Leases kept per isolate before expired ones are dropped (their tokens simply refill). */
  maxEntries: number;
  now: () => number;
}

const DEFAULTS: LeaseOptions = { maxShare: 0.02, maxTokens: 256, ttlMs: BASE_LEASE_TTL_MS, maxEntries: 10_000, now: () => Date.now() };

/**
 * The largest lease for `rule`: at most `maxShare` of the limit (what one isolate may hold back from
 * the others), and `maxTokens`, raised for fast keys to a second's refill over the target call rate,
 * so that calls made because leases ran out stay below the target however fast the key is used.
 */
export function leaseCap(rule: RateRule, o: Pick<LeaseOptions, "maxShare" | "maxTokens"> = DEFAULTS): number {
  const perSecond = rule.limit / rule.periodSeconds;
  const tokens = Math.max(o.maxTokens, Math.ceil(perSecond / TARGET_CALLS_PER_SECOND));
  return Math.max(1, Math.min(tokens, Math.floor(rule.limit * o.maxShare)));
}

interface Lease {
  /** Tokens this isolate may still hand out without asking the bucket. */
  tokens: number;
  /** Size of the last grant; the next one doubles while leases keep being used within their TTL. */
  size: number;
  expiresAtMs: number;
  /** The bucket's answer at the last grant or refusal. */
  remote: RateDecision | undefined;
  /** A refusal is remembered until a token can exist again (or the lease TTL, if sooner). */
  deniedUntilMs: number;
  /** When the bucket said the next token exists (for Retry-After while the refusal is remembered). */
  retryAtMs: number;
}

export type LeaseTable = Map<string, Lease>;

/** Rate-limit tokens this isolate leased from the shared buckets. */
const isolateLeases: LeaseTable = inIsolateMemory(new Map(), (m) => m.clear());

/**
 * A limiter whose isolate takes tokens from the shared bucket in leases: one bucket call per lease,
 * not per request. Every token handed out left the bucket first, so a limit is never exceeded; the
 * price is that tokens leased to one isolate and not used within `ttlMs` are unavailable to others
 * until then, so a client spread over many isolates can be refused slightly early. Leases start at
 * one token and double only while an identity keeps using them within their TTL (slow start), so
 * light traffic and small limits (below 1 / maxShare) stay exact, one bucket call per request.
 *
 * Only plain numbers are shared between requests, never a promise: in workerd the code after an
 * `await` runs in the context of the request whose I/O settled the promise, so a request waiting on
 * another's refill would build its response in that other request (seen as "Cannot perform I/O on
 * behalf of a different request" 500s under load). A request that finds no tokens asks the bucket
 * itself; concurrent refills simply add their grants to the pool.
 */
export function leasingLimiter(
  backend: RateLimiter["backend"],
  takeFromBucket: TakeFromBucket,
  options: Partial<LeaseOptions> = {},
  leases: LeaseTable = isolateLeases,
): RateLimiter {
  const o = { ...DEFAULTS, ...options };

  function sweep(): void {
    const now = o.now();
    for (const [key, lease] of leases) {
      if (now >= lease.expiresAtMs && now >= lease.deniedUntilMs) leases.delete(key);
    }
  }

  return {
    backend,
    async take(identifier: string, rule: RateRule): Promise<RateDecision> {
      const key = `${identifier}|${rule.limit}/${rule.periodSeconds}`;
      let lease = leases.get(key);
      if (!lease) {
        if (leases.size >= o.maxEntries) sweep();
        lease = { tokens: 0, size: 0, expiresAtMs: 0, remote: undefined, deniedUntilMs: 0, retryAtMs: 0 };
        leases.set(key, lease);
      }
      const now = o.now();
      const live = now < lease.expiresAtMs;
      // Tokens first: a concurrent refill may have been granted while another was refused.
      if (lease.tokens > 0 && live && lease.remote) {
        lease.tokens -= 1;
        // What this client could still do: the bucket's remainder plus what is leased here.
        return { ...lease.remote, allowed: true, remaining: (lease.remote.remaining ?? 0) + lease.tokens, retryAfterSeconds: 0 };
      }
      if (lease.remote && now < lease.deniedUntilMs) {
        return { ...lease.remote, retryAfterSeconds: Math.max(1, Math.ceil((lease.retryAtMs - now) / 1000)) };
      }
      const want = live && lease.size > 0 ? Math.min(leaseCap(rule, o), lease.size * 2) : 1;
      // Expired tokens go back with this call (and leave the pool first, so no one returns them twice).
      const giveBack = live ? 0 : lease.tokens;
      lease.tokens -= giveBack;
      const { decision, granted, ttlMs = o.ttlMs } = await takeFromBucket(identifier, rule, want, giveBack);
      const at = o.now();
      lease.remote = decision;
      if (granted === 0) {
        lease.size = 0;
        lease.retryAtMs = at + decision.retryAfterSeconds * 1000;
        lease.deniedUntilMs = at + Math.min(ttlMs, decision.retryAfterSeconds * 1000);
        return decision;
      }
      // One token is this request's; the rest join whatever concurrent refills already added.
      lease.tokens += granted - 1;
      lease.size = granted;
      lease.expiresAtMs = at + ttlMs;
      lease.deniedUntilMs = 0;
      return { ...decision, allowed: true, remaining: (decision.remaining ?? 0) + lease.tokens, retryAfterSeconds: 0 };
    },
  };
}
