import type { Principal } from "../auth/index.ts";
import type { CacheOutcome } from "../cache/read-through.ts";
import type { RateDecision } from "../ratelimit/index.ts";
import type { Runtime } from "../runtime.ts";

/** Which level answered a cacheable read, fastest first (src/http/edge-cache.ts); logged as `cache_level`. */
export type CacheLevel = "memory" | "edge" | "kv" | "database";

/**
 * Read these with c.get("…"), not c.var.…: Hono's c.var builds a fresh object from every variable
 * on each access (docs/benchmarks.md has the profile).
 */
interface AppVariables {
  requestId: string;
  rt: Runtime;
  /** Set by handlers that read through the cache; logged and exposed in Server-Timing. */
  cacheOutcome?: CacheOutcome;
  /** Which level of a multi-level cache answered (src/http/edge-cache.ts); logged beside the outcome. */
  cacheLevel?: CacheLevel;
  /** Set by requireScope once the API key is verified. */
  principal?: Principal;
  /** The rate limit decision for this request, echoed as RateLimit-* headers. */
  rateLimit?: RateDecision;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
