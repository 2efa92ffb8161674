/**
 * How a key's Durable Object keeps its own call rate under its soft limit (~1,000 requests a second
 * per object). Every active isolate calls the object at least once per lease lifetime, so the calls
 * grow with the number of isolates serving the key, which no lease size bounds. The object counts its
 * calls and tells callers how long to keep their leases: above the target rate the lifetime grows in
 * proportion, so the calls of N isolates come back to about the target (up to the longest lifetime).
 */
export const TARGET_CALLS_PER_SECOND = 250;
export const BASE_LEASE_TTL_MS = 1_000;
export const MAX_LEASE_TTL_MS = 10_000;

/** Calls counted in 1 s windows: the current one and the one before. */
export interface CallRate {
  windowStartMs: number;
  calls: number;
  previous: number;
}

export const newCallRate = (): CallRate => ({ windowStartMs: 0, calls: 0, previous: 0 });

/** Counts one call at `nowMs` and returns the calls per second seen (the busier of the two windows). */
export function observeCall(rate: CallRate, nowMs: number): number {
  const elapsed = nowMs - rate.windowStartMs;
  if (elapsed >= 1_000) {
    // A gap of more than a window means the one before was quiet.
    rate.previous = elapsed < 2_000 ? rate.calls : 0;
    rate.windowStartMs = nowMs;
    rate.calls = 0;
  }
  rate.calls += 1;
  return Math.max(rate.previous, rate.calls);
}

/** The lease lifetime that brings `callsPerSecond` back to the target, within [base, max]. */
export function leaseTtlMs(callsPerSecond: number): number {
  const scaled = Math.ceil((BASE_LEASE_TTL_MS * callsPerSecond) / TARGET_CALLS_PER_SECOND);
  return Math.min(MAX_LEASE_TTL_MS, Math.max(BASE_LEASE_TTL_MS, scaled));
}
