import type { Config } from "../config/index.ts";
import { kvStore } from "./kv.ts";
import type { Store } from "./store.ts";

export type { Store } from "./store.ts";

export function createStore(config: Config, env: Env): Store {
  return kvStore(env.CACHE);
}
