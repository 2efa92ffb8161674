// The fixed assumptions of `npm run cost`, printed with its output. The issue that asked for the
// tool fixes the mix and the read levels; the rest are this project's, each with its reason.

export interface Mix {
  name: string;
  read: number;
  write: number;
  search: number;
}

export const MIXES: Mix[] = [
  { name: "80/5/15", read: 0.8, write: 0.05, search: 0.15 },
  { name: "60/30/10", read: 0.6, write: 0.3, search: 0.1 },
  { name: "95/2/3", read: 0.95, write: 0.02, search: 0.03 },
];

export const LOADS = [
  { key: "1m", rpm: 1_000_000 },
  { key: "10m", rpm: 10_000_000 },
] as const;
export type LoadKey = (typeof LOADS)[number]["key"];

export const MINUTES_A_MONTH = 60 * 24 * 30;

export const ASSUMPTIONS = {
  /** Of subscriber reads (by id or email), answered from isolate memory. */
  readsFromMemory: 0.2,
  /** Of the reads that would reach KV, at most this share answered by the Cache API where it is in front. */
  kvBoundFromCacheApi: 0.3,
  /** Of the reads that reach KV (after memory and the Cache API), missing it: a Postgres read and a fill. */
  kvBoundMisses: 0.05,
  /** Which writes: every one with an Idempotency-Key (the dearer case). */
  writeKinds: { create: 0.5, update: 0.4, delete: 0.08, forget: 0.02 },
  /**
   * Isolates the load spreads over (Cloudflare does not publish this): what per-isolate work such
   * as the search index's generation check is multiplied by.
   */
  isolates: { "1m": 2_000, "10m": 10_000 } as Record<string, number>,
  /**
   * A rate-limit Durable Object call per authenticated request, at least: one isolate here takes
   * leases from one busy bucket, while thousands of isolates each see thin traffic per key.
   */
  minDoCallsPerAuthenticatedRequest: 0.1,
  /** Time a Durable Object is billed active per call (128 MB). */
  doActiveSecondsPerCall: 0.005,
  /**
   * CPU per operation, from `npm run bench:profile` (2026-11-26: profile time over requests, an
   * upper bound); the meter counts I/O, not CPU.
   */
  cpuMs: { read: 0.39, write: 2.05, search: 0.47, consumerPerMessage: 1 },
  /** KV storage: 10 M subscribers cached by id and by email, 1 KB each (an edge copy lives an hour). */
  kvStorageGb: { "1m": 20, "10m": 20 } as Record<string, number>,
  /** Neon sized for the Postgres load: 2 CU at 1M/min; a 16 CU primary and an 8 CU replica at 10M/min. */
  neon: {
    "1m": { cu: 2, storageGb: 500 },
    "10m": { cu: 24, storageGb: 5_000 },
  } as Record<string, { cu: number; storageGb: number }>,
  /** Bytes moved per Postgres round trip (Neon bills public transfer). */
  bytesPerDbRoundTrip: 1_024,
};
