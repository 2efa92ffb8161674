import { z } from "zod";

const emptyToUndefined = (v: unknown) => (v === "" ? undefined : v);
const seconds = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "production"]).default("production"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  DATABASE_WS_PROXY: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  DATABASE_HTTP_ENDPOINT: z.preprocess(emptyToUndefined, z.url({ protocol: /^https?$/ }).optional()),
  PROVIDER_URL: z.url({ protocol: /^https?$/ }),
  QUEUE_RETRY_BASE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  // Cloudflare Queues: a retry may be delayed by at most 12 hours, and a consumer retries at most 100 times.
  QUEUE_RETRY_MAX_DELAY_SECONDS: z.coerce.number().int().min(1).max(43_200).default(1_800),
  QUEUE_MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(100),
  // Edge copies that outlive Postgres (docs/operations.md "Retries, outages and dead letters"): fresh this long,
  // then re-checked in Postgres, kept STALE more for when it cannot answer (KV keeps nothing < 60 s).
  API_KEY_CACHE_SECONDS: seconds(1, 86_400, 60),
  API_KEY_STALE_SECONDS: seconds(60, 30 * 86_400, 7 * 86_400),
  API_KEY_HOT_SECONDS: seconds(1, 300, 10),
  SUBSCRIBER_CACHE_SECONDS: seconds(1, 86_400, 3_600),
  SUBSCRIBER_STALE_SECONDS: seconds(60, 30 * 86_400, 7 * 86_400),
  // The local stack's write journal (src/subscribers/journal.ts): "on" for `npm run dev`, whose queue lives
  // in memory only. Refused in production, where Cloudflare Queues keep every message themselves.
  WRITE_JOURNAL: z.enum(["on", "off"]).default("off"),
  // A queue's message retention (Cloudflare's default, 4 days): a write still pending after the retry
  // budget plus this has no message left anywhere and reads as failed, `expired`.
  QUEUE_RETENTION_SECONDS: seconds(60, 14 * 86_400, 4 * 86_400),
  AUTH_FAILURE_IP_LIMIT: z.coerce.number().int().min(1).default(100),
  AUTH_FAILURE_IP_PERIOD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(8_000),
  PROVIDER_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  PROVIDER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  PROVIDER_RETRY_BASE_MS: z.coerce.number().int().min(0).max(30_000).default(500),
  PROVIDER_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_073_741_824).default(134_217_728),
  PROVIDER_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(100).default(5),
  PROVIDER_BREAKER_HALF_OPEN_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  CORS_ORIGINS: z.string().default("*"),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(16 * 1024),
  DEFAULT_KEY_RATE_LIMIT: z.coerce.number().int().min(1).default(600),
  DEFAULT_KEY_RATE_PERIOD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  PUBLIC_IP_RATE_LIMIT: z.coerce.number().int().min(1).default(300),
  PUBLIC_IP_RATE_PERIOD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  // Keys the email hashes kept after a delete or an erasure (src/subscribers/tombstones.ts). A secret
  // in production; outside it, a fixed development key is used when none is set.
  ERASURE_HASH_KEY: z.preprocess(emptyToUndefined, z.string().min(16).optional()),
  // How long after a subscriber change commits the consumer re-checks the edge cache against Postgres.
  CACHE_SETTLE_SECONDS: z.coerce.number().int().min(0).max(60).default(2),
  // Webhook delivery (src/webhooks/deliver.ts): the wait before each retry, in seconds, in order (the
  // number of entries is the number of retries); each is jittered by ±20 %.
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d{1,5}(,\d{1,5}){0,29}$/)
    .default("5,30,120,600,1800,3600,7200,14400,28800,36000"),
  // A round is sent after the consumer returns (ctx.waitUntil, which runs at most 30 s more): below that.
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(25_000).default(10_000),
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(4),
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().int().min(60).default(259_200),
  WEBHOOK_SECRET_OVERLAP_SECONDS: z.coerce.number().int().min(0).default(86_400),
  // Per-isolate request rollups flushed to Postgres once a minute (src/status/rollup.ts); "off" for the bench's comparison.
  METRICS_ROLLUPS: z.enum(["on", "off"]).default("on"),
  // Largest search index part (src/plans/search-index.ts); KV takes up to 25 MiB a value, but a part
  // is read whole for every query it overlaps. Tests set it small to get many parts from few plans.
  SEARCH_INDEX_PART_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(4 * 1024 * 1024)
    .default(1024 * 1024),
  UPSTASH_REDIS_REST_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  UPSTASH_REDIS_REST_TOKEN: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
});

export type ProviderSettings = Readonly<{
  /** Per attempt, until the response headers arrive. The real provider sometimes takes 4+ s. */
  timeoutMs: number;
  /** For the whole body once headers arrived. */
  bodyTimeoutMs: number;
  maxAttempts: number;
  /** First backoff delay; grows exponentially with jitter, capped at 8x. */
  retryBaseMs: number;
  maxBytes: number;
  /** Consecutive failed attempts that open the breaker. */
  breakerThreshold: number;
  breakerHalfOpenMs: number;
}>;

export type Config = Readonly<{
  environment: "development" | "test" | "production";
  logLevel: "debug" | "info" | "warn" | "error";
  databaseUrl: string;
  /** Local only: host:port/path of the WebSocket->TCP relay in front of a plain Postgres. */
  databaseWsProxy: string | undefined;
  /** Local only: URL of the SQL-over-HTTP stand-in (Neon's `/sql` endpoint) in front of the same Postgres. */
  databaseHttpEndpoint: string | undefined;
  providerUrl: string;
  provider: ProviderSettings;
  /** How the consumer retries a write that failed transiently (src/config/retry.ts). */
  queueRetry: RetryPolicy;
  /** Seconds a queue keeps a message (QUEUE_RETENTION_SECONDS). */
  queueRetentionSeconds: number;
  /** Whether accepted writes are journalled in KV (the local stack only, src/subscribers/journal.ts). */
  writeJournal: boolean;
  /** Failed authentications allowed per client IP before 429. */
  authFailureIpLimit: RateRule;
  /** Edge copies of API key lookups and of subscribers, in seconds (docs/operations.md "Retries, outages and dead letters"). */
  edgeCopies: EdgeCopies;
  upstash: { url: string; token: string } | undefined;
  /** Key of the email hashes in subscriber tombstones. */
  erasureHashKey: string;
  /** Delay of the second, durable cache pass after a subscriber change (docs/api.md "Cache bounds"). */
  cacheSettleSeconds: number;
  webhooks: WebhookSettings;
  /** Whether requests are counted into per-minute rollups (METRICS_ROLLUPS). */
  metricsRollups: boolean;
  searchIndexPartBytes: number;
  /** "*" or the exact browser origins CORS allows. */
  corsOrigins: "*" | readonly string[];
  maxBodyBytes: number;
  /** For keys without a rate limit of their own. */
  defaultKeyRateLimit: RateRule;
  /** Per client IP on public routes. */
  publicIpRateLimit: RateRule;
}>;

interface WebhookSettings {
  /** Seconds before each retry, in order; a delivery gets this many retries after its first attempt. */
  retrySchedule: readonly number[];
  timeoutMs: number;
  /** Deliveries in flight to one endpoint at once. */
  endpointConcurrency: number;
  /** An endpoint failing for this long is disabled. */
  disableAfterMs: number;
  /** How long the previous secret keeps signing after a rotation. */
  secretOverlapMs: number;
  /** Outside production, http and loopback receivers are allowed (tests and local development). */
  allowInsecure: boolean;
}

type EdgeCopies = Readonly<Record<"apiKeyFresh" | "apiKeyStale" | "apiKeyHot" | "subscriberFresh" | "subscriberStale", number>>;

export interface RetryPolicy {
  /** First delay; doubles per delivery attempt. */
  baseSeconds: number;
  /** No single delay is longer than this. */
  maxDelaySeconds: number;
  /** Retries before the message is dead-lettered; at most the consumer's max_retries in wrangler.toml. */
  maxRetries: number;
}

export interface RateRule {
  limit: number;
  periodSeconds: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

// Bindings are fixed for the life of an isolate, so the parse runs once per distinct env object.
const cache = new WeakMap<object, Config>();

export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    // Names only: values may be secrets.
    const fields = parsed.error.issues.map((i) => i.path.join(".")).join(", ");
    throw new ConfigError(`invalid configuration: ${fields}`);
  }
  const v = parsed.data;
  if (v.ENVIRONMENT === "production" && !v.ERASURE_HASH_KEY) throw new ConfigError("invalid configuration: ERASURE_HASH_KEY");
  if (v.ENVIRONMENT === "production" && v.WRITE_JOURNAL === "on") throw new ConfigError("invalid configuration: WRITE_JOURNAL");
  // One local relay serves both (scripts/lib/ws-relay.ts); with only one set, half of the queries
  // would go to Neon's public endpoint instead.
  if (!v.DATABASE_WS_PROXY !== !v.DATABASE_HTTP_ENDPOINT) {
    throw new ConfigError("invalid configuration: DATABASE_WS_PROXY and DATABASE_HTTP_ENDPOINT are set together or not at all");
  }
  const config: Config = Object.freeze({
    environment: v.ENVIRONMENT,
    logLevel: v.LOG_LEVEL,
    databaseUrl: v.DATABASE_URL,
    databaseWsProxy: v.DATABASE_WS_PROXY,
    databaseHttpEndpoint: v.DATABASE_HTTP_ENDPOINT,
    providerUrl: v.PROVIDER_URL,
    provider: Object.freeze({
      timeoutMs: v.PROVIDER_TIMEOUT_MS,
      bodyTimeoutMs: v.PROVIDER_BODY_TIMEOUT_MS,
      maxAttempts: v.PROVIDER_MAX_ATTEMPTS,
      retryBaseMs: v.PROVIDER_RETRY_BASE_MS,
      maxBytes: v.PROVIDER_MAX_BYTES,
      breakerThreshold: v.PROVIDER_BREAKER_THRESHOLD,
      breakerHalfOpenMs: v.PROVIDER_BREAKER_HALF_OPEN_SECONDS * 1000,
    }),
    queueRetry: Object.freeze({
      baseSeconds: v.QUEUE_RETRY_BASE_SECONDS,
      maxDelaySeconds: v.QUEUE_RETRY_MAX_DELAY_SECONDS,
      maxRetries: v.QUEUE_MAX_RETRIES,
    }),
    queueRetentionSeconds: v.QUEUE_RETENTION_SECONDS,
    writeJournal: v.WRITE_JOURNAL === "on",
    authFailureIpLimit: { limit: v.AUTH_FAILURE_IP_LIMIT, periodSeconds: v.AUTH_FAILURE_IP_PERIOD_SECONDS },
    edgeCopies: Object.freeze({
      apiKeyFresh: v.API_KEY_CACHE_SECONDS,
      apiKeyStale: v.API_KEY_STALE_SECONDS,
      apiKeyHot: v.API_KEY_HOT_SECONDS,
      subscriberFresh: v.SUBSCRIBER_CACHE_SECONDS,
      subscriberStale: v.SUBSCRIBER_STALE_SECONDS,
    }),
    upstash:
      v.UPSTASH_REDIS_REST_URL && v.UPSTASH_REDIS_REST_TOKEN
        ? { url: v.UPSTASH_REDIS_REST_URL, token: v.UPSTASH_REDIS_REST_TOKEN }
        : undefined,
    corsOrigins:
      v.CORS_ORIGINS.trim() === "*"
        ? "*"
        : Object.freeze(
            v.CORS_ORIGINS.split(",")
              .map((o) => o.trim())
              .filter(Boolean),
          ),
    maxBodyBytes: v.MAX_BODY_BYTES,
    erasureHashKey: v.ERASURE_HASH_KEY ?? "development-only-erasure-hash-key",
    cacheSettleSeconds: v.CACHE_SETTLE_SECONDS,
    webhooks: Object.freeze({
      retrySchedule: Object.freeze(v.WEBHOOK_RETRY_SCHEDULE_SECONDS.split(",").map(Number)),
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      endpointConcurrency: v.WEBHOOK_ENDPOINT_CONCURRENCY,
      disableAfterMs: v.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      secretOverlapMs: v.WEBHOOK_SECRET_OVERLAP_SECONDS * 1000,
      allowInsecure: v.ENVIRONMENT !== "production",
    }),
    metricsRollups: v.METRICS_ROLLUPS === "on",
    searchIndexPartBytes: v.SEARCH_INDEX_PART_BYTES,
    defaultKeyRateLimit: { limit: v.DEFAULT_KEY_RATE_LIMIT, periodSeconds: v.DEFAULT_KEY_RATE_PERIOD_SECONDS },
    publicIpRateLimit: { limit: v.PUBLIC_IP_RATE_LIMIT, periodSeconds: v.PUBLIC_IP_RATE_PERIOD_SECONDS },
  });
  cache.set(env, config);
  return config;
}
