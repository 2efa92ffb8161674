import type { EdgeCache } from "./cache/edge.ts";
import { edgeCache } from "./cache/edge.ts";
import { createStore } from "./cache/index.ts";
import type { MeteredKv } from "./cache/meter.ts";
import { meteredKv } from "./cache/meter.ts";
import type { Store } from "./cache/store.ts";
import type { Config } from "./config/index.ts";
import { getConfig } from "./config/index.ts";
import type { Database, DbHandle, Reader } from "./db/client.ts";
import { createDb, createReader } from "./db/client.ts";
import type { LogFields, Logger } from "./lib/log.ts";
import { createLogger } from "./lib/log.ts";
import { count, queueUnitsOf } from "./lib/meter.ts";
import { keepLines } from "./lib/sampling.ts";
import type { RateLimiter } from "./ratelimit/index.ts";
import { createRateLimiter } from "./ratelimit/index.ts";

/**
 * What services need for one invocation (request, queue batch or cron run), free of Hono types.
 * The database pool is opened on first use, so a cache hit never opens a connection.
 */
export interface Runtime {
  readonly config: Config;
  readonly cache: Store;
  /**
   * This location's Cache API, for a request (its keys need the Worker's origin); undefined in queue
   * batches and cron runs. `edgeReads` is the same when the read-through may use it (CACHE_API_READS).
   */
  readonly edge: EdgeCache | undefined;
  readonly edgeReads: EdgeCache | undefined;
  /** The queues this Worker sends to, by role (bindings in wrangler.toml). */
  readonly queues: Queues;
  /**
   * The KV namespace itself, metered, for what KV keeps beyond the cache Store (parked dead letters,
   * the local write journal). Cached values go through `cache`.
   */
  readonly kv: MeteredKv;
  /** Honours LOG_LEVEL; its lines carry this invocation's id (request_id, batch_id or run_id). */
  readonly log: Logger;
  /** Per-key limits (Upstash when configured, Durable Objects otherwise); per-IP limits use the rate limiting bindings. */
  readonly limiter: RateLimiter;
  /** The WebSocket pool, opened on first call: for transactions and anything needing a session. */
  db(): Database;
  /**
   * Neon's HTTP client: one round trip per statement over Neon's warm connections, nothing to open or
   * close. For reads that stand alone (a cache miss, a lookup, a page); a transaction needs db().
   */
  reader(): Reader;
  /** True once db() or reader() was called in this invocation (used by logs and tests). */
  readonly dbUsed: boolean;
  /**
   * Lets work this invocation started finish after its answer is sent (ctx.waitUntil). Without an
   * execution context to hand it to, the caller must await the work itself: `deferred` says which.
   */
  defer(work: Promise<unknown>): void;
  readonly deferred: boolean;
  dispose(): Promise<void>;
}

interface Queues {
  readonly subscriberWrites: Queue<unknown>;
  readonly deadLetters: Queue<unknown>;
  readonly webhookDeliveries: Queue<unknown>;
}

/**
 * The cache store and limiter hold no per-request state, so they are built once per env (as the
 * config is): built per request, they showed in the /search profile, and Upstash got a client per request.
 */
const shared = new WeakMap<object, { cache: Store; limiter?: RateLimiter }>();

/**
 * `sampledLines`: a request's runtime, whose successful lines are a sample at LOG_SAMPLE_RATE
 * (src/lib/log.ts); queue batches and cron runs keep every line. `requestUrl`: a request's, whose
 * origin names its Cache API entries.
 */
export function createRuntime(
  env: Env,
  context: LogFields = {},
  waitUntil?: (work: Promise<unknown>) => void,
  opts: { sampledLines?: boolean; requestUrl?: string } = {},
): Runtime {
  const config = getConfig(env);
  const sampling = opts.sampledLines ? { rate: config.logSampleRate, kept: keepLines(config.logSampleRate) } : undefined;
  let handle: DbHandle | undefined;
  let readerUsed = false;
  const parts = shared.get(env) ?? { cache: createStore(config, env) };
  shared.set(env, parts);
  const log = createLogger(config.logLevel, context, sampling);
  const { requestUrl } = opts;
  // Built on first use: most requests are answered from isolate memory and never need it.
  let edge: EdgeCache | undefined;
  const edgeOf = () => {
    if (requestUrl) edge ??= edgeCache(new URL(requestUrl).origin, log);
    return edge;
  };
  return {
    config,
    cache: parts.cache,
    get edge() {
      return edgeOf();
    },
    get edgeReads() {
      return config.cacheApiReads ? edgeOf() : undefined;
    },
    queues: {
      subscriberWrites: meteredQueue(env.SUBSCRIBER_QUEUE),
      deadLetters: meteredQueue(env.DEAD_LETTER_QUEUE),
      webhookDeliveries: meteredQueue(env.WEBHOOK_QUEUE),
    },
    get kv() {
      return meteredKv(env.CACHE);
    },
    log,
    get limiter() {
      parts.limiter ??= createRateLimiter(config, env);
      return parts.limiter;
    },
    db() {
      handle ??= createDb(config);
      return handle.db;
    },
    reader() {
      readerUsed = true;
      return createReader(config);
    },
    get dbUsed() {
      return handle !== undefined || readerUsed;
    },
    defer(work) {
      if (waitUntil) waitUntil(work);
    },
    deferred: waitUntil !== undefined,
    async dispose() {
      const h = handle;
      handle = undefined;
      await h?.close().catch(() => {});
    },
  };
}

/** A producer binding whose sends are counted in Queues' billed 64 KB units (`queue_sent`). */
function meteredQueue<T>(queue: Queue<T>): Queue<T> {
  return {
    send(body, options) {
      count("queue_sent", queueUnitsOf(body));
      return queue.send(body, options);
    },
    sendBatch(messages, options) {
      let units = 0;
      for (const m of messages) units += queueUnitsOf(m.body);
      count("queue_sent", units);
      return queue.sendBatch(messages, options);
    },
  } as Queue<T>;
}
