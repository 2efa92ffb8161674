import type { Principal } from "../auth/principal.ts";
import type { RateDecision } from "../ratelimit/index.ts";
import type { Runtime } from "../runtime.ts";

export type CacheOutcome = "hit" | "miss" | "bypass" | "error";

export interface AppVariables {
  requestId: string;
  rt: Runtime;
  /** Set by handlers that read through the cache; logged and exposed in Server-Timing. */
  cacheOutcome?: CacheOutcome;
  /** Set by requireScope once the API key is verified. */
  principal?: Principal;
  /** The rate limit decision for this request, echoed as RateLimit-* headers. */
  rateLimit?: RateDecision;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
