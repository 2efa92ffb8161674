import type { Config } from "../config/index.ts";
import { kvStore } from "./kv.ts";
import type { Store } from "./store.ts";
import { upstashStore } from "./upstash.ts";

export type { Store } from "./store.ts";

/** Upstash Redis when both UPSTASH_* secrets are set, Workers KV otherwise. */
export function createStore(config: Config, env: Env): Store {
  return config.upstash ? upstashStore(config.upstash) : kvStore(env.CACHE);
}
