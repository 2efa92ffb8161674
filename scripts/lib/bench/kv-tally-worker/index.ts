// The app as `npm run build` bundles it, behind a shim that sees every write to its KV binding
// (CACHE): each put and delete goes to a KeyWriteRate (../key-write-rate.ts) before KV, so the bench
// can report the most writes one key received within a second under its own load. It sees what the
// app's metering cannot: writes from every code path (the cache store, the metered raw KV, anything
// that bypasses both), across all requests, batches and cron runs of the isolate; the bench serves
// all of them from this one isolate. Built by scripts/lib/bench/stack.ts as the harness is (wrangler
// deploy --dry-run); what it adds per KV write is one Map update. GET /__bench/kv-writes answers the
// figures (?reset=1: and starts over); every other request goes to the app unchanged.
import app from "../../../../src/index.ts";
import { KeyWriteRate } from "../key-write-rate.ts";

// wrangler.toml binds the rate limiter's class: the entry module must export it.
export { RateLimiterObject } from "../../../../src/ratelimit/durable-object.ts";

const TALLY_PATH = "/__bench/kv-writes";
const rate = new KeyWriteRate();

function talliedKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "put" && prop !== "delete") return value.bind(target);
      return (key: string, ...rest: unknown[]) => {
        rate.note(key, Date.now());
        return value.call(target, key, ...rest);
      };
    },
  });
}

/**
 * One wrapped env per env: the app keys its per-env state (config, cache store, limiter) on the env
 * object, so a new one per request would rebuild them and slow what the bench measures.
 */
const wrapped = new WeakMap<Env, Env>();
function tallied(env: Env): Env {
  let w = wrapped.get(env);
  if (!w) {
    w = { ...env, CACHE: talliedKv(env.CACHE) };
    wrapped.set(env, w);
  }
  return w;
}

export default {
  fetch(request, env, ctx) {
    if (request.url.endsWith(TALLY_PATH) || request.url.endsWith(`${TALLY_PATH}?reset=1`)) {
      const snapshot = rate.snapshot();
      if (request.url.endsWith("?reset=1")) rate.reset();
      return Response.json(snapshot);
    }
    return app.fetch(request, tallied(env), ctx);
  },
  queue: (batch, env, ctx) => app.queue(batch, tallied(env), ctx),
  scheduled: (controller, env, ctx) => app.scheduled(controller, tallied(env), ctx),
} satisfies ExportedHandler<Env>;
