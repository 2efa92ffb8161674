import { ConfigSchema, DEVELOPMENT_SIGNING_SECRET } from "./schema.ts";

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
  /** Signs and verifies signed API keys (src/auth/signed-keys.ts). */
  apiKeySigningSecret: string;
  /** Whether the read-through keeps copies in the Cache API (CACHE_API_READS). */
  cacheApiReads: boolean;
  /** Key of the email hashes in subscriber tombstones. */
  erasureHashKey: string;
  /** Epoch ms until which older Idempotency-Key records in KV are read (LEGACY_IDEMPOTENCY_UNTIL); 0: never. */
  legacyIdempotencyUntilMs: number;
  /** Delay of the second, durable cache pass after a subscriber change (docs/api.md "Cache bounds"). */
  cacheSettleSeconds: number;
  webhooks: WebhookSettings;
  /** Whether requests are counted into per-minute rollups in Postgres (METRICS_ROLLUPS, and no Analytics Engine SQL API). */
  metricsRollups: boolean;
  /** Where the status page and /v1/admin/metrics read request series (docs/operations.md "Metrics"). */
  analyticsSql: { accountId: string; token: string } | undefined;
  /** Share of successful requests whose lines are written (LOG_SAMPLE_RATE). */
  logSampleRate: number;
  /** One successful request in this many writes its Analytics Engine point (METRICS_SAMPLE_INTERVAL). */
  metricsSampleInterval: number;
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
  if (v.ENVIRONMENT === "production" && !v.API_KEY_SIGNING_SECRET) throw new ConfigError("invalid configuration: API_KEY_SIGNING_SECRET");
  if (v.ENVIRONMENT === "production" && v.WRITE_JOURNAL === "on") throw new ConfigError("invalid configuration: WRITE_JOURNAL");
  // One local relay serves both (scripts/lib/ws-relay.ts); with only one set, half of the queries
  // would go to Neon's public endpoint instead.
  if (!v.ANALYTICS_SQL_ACCOUNT_ID !== !v.ANALYTICS_SQL_TOKEN) {
    throw new ConfigError("invalid configuration: ANALYTICS_SQL_ACCOUNT_ID and ANALYTICS_SQL_TOKEN are set together or not at all");
  }
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
    apiKeySigningSecret: v.API_KEY_SIGNING_SECRET ?? DEVELOPMENT_SIGNING_SECRET,
    cacheApiReads: v.CACHE_API_READS === "on",
    cacheSettleSeconds: v.CACHE_SETTLE_SECONDS,
    webhooks: Object.freeze({
      retrySchedule: Object.freeze(v.WEBHOOK_RETRY_SCHEDULE_SECONDS.split(",").map(Number)),
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      endpointConcurrency: v.WEBHOOK_ENDPOINT_CONCURRENCY,
      disableAfterMs: v.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      secretOverlapMs: v.WEBHOOK_SECRET_OVERLAP_SECONDS * 1000,
      allowInsecure: v.ENVIRONMENT !== "production",
    }),
    // Analytics Engine already holds every request; rollups would only add a Postgres pool per isolate per minute.
    legacyIdempotencyUntilMs: v.LEGACY_IDEMPOTENCY_UNTIL ? Date.parse(v.LEGACY_IDEMPOTENCY_UNTIL) : 0,
    metricsRollups: v.METRICS_ROLLUPS === "on" && !v.ANALYTICS_SQL_ACCOUNT_ID,
    analyticsSql:
      v.ANALYTICS_SQL_ACCOUNT_ID && v.ANALYTICS_SQL_TOKEN
        ? { accountId: v.ANALYTICS_SQL_ACCOUNT_ID, token: v.ANALYTICS_SQL_TOKEN }
        : undefined,
    logSampleRate: v.LOG_SAMPLE_RATE,
    metricsSampleInterval: v.METRICS_SAMPLE_INTERVAL,
    searchIndexPartBytes: v.SEARCH_INDEX_PART_BYTES,
    defaultKeyRateLimit: { limit: v.DEFAULT_KEY_RATE_LIMIT, periodSeconds: v.DEFAULT_KEY_RATE_PERIOD_SECONDS },
    publicIpRateLimit: { limit: v.PUBLIC_IP_RATE_LIMIT, periodSeconds: v.PUBLIC_IP_RATE_PERIOD_SECONDS },
  });
  cache.set(env, config);
  return config;
}
