import type { ApiKeyLookup } from "./auth/api-keys.ts";
import { hotCache } from "./cache/hot.ts";
import { ByteLru } from "./lib/byte-lru.ts";
import type { BodyMemo, ManifestMemo, PartMemo } from "./plans/search-index.ts";
import type { LeaseTable } from "./ratelimit/lease.ts";
import { createRollupState } from "./status/rollup.ts";

/**
 * Everything this isolate remembers between requests, in one place. Workers reuse an isolate for
 * many requests, so module state outlives a request: each entry here is a bounded, short-lived
 * memory of plain data that saves a round trip, never a source of truth, and never a promise shared
 * between requests (see src/auth/api-keys.ts). Each is explained where it is used.
 */
export const isolateMemory = {
  /** Cache entries that may be a little stale (src/cache/read-through.ts `hotSeconds`). */
  cacheEntries: hotCache(5_000),
  /** API key → its SHA-256 (src/auth/api-keys.ts). */
  apiKeyHashes: hotCache(1_000),
  /** Key hashes that matched no active key (src/auth/api-keys.ts). */
  unknownApiKeys: hotCache(10_000),
  /** Client addresses over their failed-authentication limit (src/http/middleware/rate-limit.ts). */
  lockedOutClients: hotCache(10_000),
  /** The last /v1/stats answer, for a couple of seconds (src/stats/service.ts). */
  stats: hotCache(1),
  /** Parsed /search bounds (src/plans/search.ts). */
  searchBounds: hotCache(1_024),
  /** API key lookups in flight, as plain data other requests poll (src/auth/api-keys.ts). */
  apiKeyLookups: new Map<string, ApiKeyLookup>(),
  /** Rate-limit tokens leased from the shared buckets (src/ratelimit/lease.ts). */
  rateLeases: new Map() as LeaseTable,
  /**
   * This isolate's copy of the /search index (src/plans/search-index.ts): the manifest, the parts
   * recent queries read, and recent answers, within 32 MiB together (an isolate has 128 MB for
   * everything); a wider answer is streamed part by part, never held.
   */
  searchIndex: {
    manifest: null as ManifestMemo | null,
    /** The generation marker as last read, for callers that need only the generation. */
    marker: null as { generation: string | null; loadedAt: number } | null,
    parts: new ByteLru<PartMemo>(22 * 1024 * 1024),
    bodies: new ByteLru<BodyMemo>(8 * 1024 * 1024),
  },
  /** Which isolate queued a journalled write (src/queue/journal.ts): one id per isolate, made on first use. */
  journal: { epoch: null as string | null },
  /** This isolate's request counts per minute and route group, until flushed (src/status/rollup.ts). */
  requestRollups: createRollupState(),
};

/** Forgets everything, as a fresh isolate would have: what tests use to see the edge cache's path. */
export function resetIsolateMemory(): void {
  for (const c of [
    isolateMemory.cacheEntries,
    isolateMemory.apiKeyHashes,
    isolateMemory.unknownApiKeys,
    isolateMemory.lockedOutClients,
    isolateMemory.searchBounds,
    isolateMemory.stats,
  ])
    c.clear();
  isolateMemory.apiKeyLookups.clear();
  isolateMemory.rateLeases.clear();
  isolateMemory.searchIndex.manifest = null;
  isolateMemory.searchIndex.marker = null;
  isolateMemory.searchIndex.parts.clear();
  isolateMemory.searchIndex.bodies.clear();
  isolateMemory.requestRollups = createRollupState();
  isolateMemory.journal.epoch = null;
}
