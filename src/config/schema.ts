import { z } from "zod";

// The one place a configuration default is written. wrangler.toml sets only what differs per
// environment; docs/configuration.md's table is generated from the descriptions here
// (scripts/config-table.ts, checked by `npm run lint`).

const emptyToUndefined = (v: unknown) => (v === "" ? undefined : v);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const secret = (description: string) => ({ description, secret: true });
// The Workers Rate Limiting binding counts in windows of 10 or 60 s, nothing else.
const bindingPeriod = z.enum(["10", "60"]).default("60").transform(Number);

/** Outside production only (production refuses to start without API_KEY_SIGNING_SECRET); `npm run keys:create` uses it for a local database. */
export const DEVELOPMENT_SIGNING_SECRET = "development-only-api-key-signing-secret";

export const ConfigSchema = z.object({
  // Unset means production, so a deploy that forgets it gets the strict checks, not the lax ones.
  ENVIRONMENT: z
    .enum(["development", "test", "production"])
    .default("production")
    .describe(
      "Production refuses the development erasure key and the write journal, and webhooks to http or loopback receivers. " +
        "The local stack sets `development`, the tests `test`.",
    ),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info").describe("Least severe level of the log lines written."),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).meta(secret("Postgres connection string (Neon in production).")),
  DATABASE_WS_PROXY: z
    .preprocess(emptyToUndefined, z.string().min(1).optional())
    .describe(
      "Local only (`npm run dev` sets it): host:port/path of the WebSocket relay in front of a plain Postgres. " +
        "Unset in production, where the driver talks to Neon's proxy.",
    ),
  DATABASE_HTTP_ENDPOINT: z
    .preprocess(emptyToUndefined, z.url({ protocol: /^https?$/ }).optional())
    .describe("Local only: the same relay's SQL-over-HTTP URL (`…/sql`). Set together with `DATABASE_WS_PROXY` or not at all."),
  PROVIDER_URL: z
    .url({ protocol: /^https?$/ })
    .describe("The plan provider feed, set per deployment; only ever read from here, never from a request."),
  QUEUE_RETRY_BASE_SECONDS: int(0, 300)
    .default(5)
    .describe("First delay before a subscriber write that failed transiently is retried; doubles per attempt."),
  // Cloudflare Queues: a retry may be delayed by at most 12 hours, and a consumer retries at most 100 times.
  QUEUE_RETRY_MAX_DELAY_SECONDS: int(1, 43_200).default(1_800).describe("Longest single retry delay of a subscriber write."),
  QUEUE_MAX_RETRIES: int(0, 100)
    .default(100)
    .describe(
      "Retries before a write is dead-lettered with a reason; at most the consumer's `max_retries` in wrangler.toml. " +
        "The retry budget must outlast a day's database outage and end within the queue's retention.",
    ),
  // KV keeps nothing for less than 60 s, hence the stale copies' minimum.
  API_KEY_CACHE_SECONDS: int(1, 86_400)
    .default(60)
    .describe("An API key lookup's edge copy is fresh this long, then re-checked in Postgres."),
  API_KEY_STALE_SECONDS: int(60, 30 * 86_400)
    .default(7 * 86_400)
    .describe("An API key's edge copy is kept this much longer, to answer while Postgres cannot."),
  API_KEY_HOT_SECONDS: int(1, 300)
    .default(10)
    .describe(
      "An isolate remembers an API key lookup, and the list of revoked signed keys, this long (memory and this location's Cache API together).",
    ),
  API_KEY_SIGNING_SECRET: z
    .preprocess(emptyToUndefined, z.string().min(32).optional())
    .meta(
      secret(
        'Signs the API keys minted since signed keys exist (docs/api.md "Authentication and API keys"); the edge verifies them without storage. ' +
          "Required in production; outside it a fixed development secret is used. Changing it invalidates every signed key.",
      ),
    ),
  CACHE_API_READS: z
    .enum(["on", "off"])
    .default("on")
    .describe(
      "`on`: subscriber and API key reads also keep a copy in this location's Cache API, within the isolate memory's bound. " +
        "The tests and the local stack set `off`: one location whose consumer shares the readers' isolate.",
    ),
  SUBSCRIBER_CACHE_SECONDS: int(1, 86_400).default(3_600).describe("A subscriber's edge copy is fresh this long."),
  SUBSCRIBER_STALE_SECONDS: int(60, 30 * 86_400)
    .default(7 * 86_400)
    .describe("A subscriber's edge copy is kept this much longer, to answer while Postgres cannot."),
  WRITE_JOURNAL: z
    .enum(["on", "off"])
    .default("off")
    .describe(
      "`on` journals accepted writes in KV across restarts: for the local stack (`npm run dev` sets it), whose queue " +
        "lives in memory only. Refused in production, where Cloudflare Queues keep every message themselves.",
    ),
  QUEUE_RETENTION_SECONDS: int(60, 14 * 86_400)
    .default(4 * 86_400)
    .describe("The queue's message retention: a write still pending after the retry budget plus this reads as failed, `expired`."),
  AUTH_FAILURE_IP_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe(
      "API key lookups that reach Postgres per client IP and period before 429. Counted by the `KEY_LOOKUP_LIMITER` " +
        "binding, whose wrangler.toml limit must equal this (it labels the headers and the 429).",
    ),
  AUTH_FAILURE_IP_PERIOD_SECONDS: bindingPeriod.describe("Period of `AUTH_FAILURE_IP_LIMIT`: the binding's period, 10 or 60."),
  PROVIDER_TIMEOUT_MS: int(100, 60_000).default(8_000).describe("Per provider attempt, until the response headers arrive."),
  PROVIDER_BODY_TIMEOUT_MS: int(100, 600_000).default(60_000).describe("Deadline for the provider's whole body once its headers arrived."),
  PROVIDER_MAX_ATTEMPTS: int(1, 10).default(3).describe("Provider attempts per sync run."),
  PROVIDER_RETRY_BASE_MS: int(0, 30_000)
    .default(500)
    .describe("First backoff delay between provider attempts; grows exponentially with jitter."),
  PROVIDER_MAX_BYTES: int(1_024, 1_073_741_824).default(134_217_728).describe("Largest provider document accepted."),
  PROVIDER_BREAKER_THRESHOLD: int(1, 100).default(5).describe("Consecutive failed provider attempts that open the breaker."),
  PROVIDER_BREAKER_HALF_OPEN_SECONDS: int(1, 86_400)
    .default(120)
    .describe("How long the breaker stays open, across cron runs (its state is kept in the cache)."),
  CORS_ORIGINS: z.string().default("*").describe("`*` or a comma-separated list of the browser origins CORS allows."),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024)
    .default(16 * 1024)
    .describe("Largest request body any route accepts (413 above it)."),
  DEFAULT_KEY_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .default(600)
    .describe("Requests per period for keys without a rate limit of their own."),
  DEFAULT_KEY_RATE_PERIOD_SECONDS: int(1, 86_400).default(60).describe("Period of `DEFAULT_KEY_RATE_LIMIT`."),
  PUBLIC_IP_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .default(300)
    .describe(
      "Requests per period per client IP on public routes. Counted by the `PUBLIC_IP_LIMITER` binding, whose " +
        "wrangler.toml limit must equal this (it labels the headers and the 429).",
    ),
  PUBLIC_IP_RATE_PERIOD_SECONDS: bindingPeriod.describe("Period of `PUBLIC_IP_RATE_LIMIT`: the binding's period, 10 or 60."),
  ERASURE_HASH_KEY: z
    .preprocess(emptyToUndefined, z.string().min(16).optional())
    .meta(
      secret(
        'Key of the email hashes kept after a delete or an erasure, of request HMACs and operation id tags (docs/api.md "Erasure"). ' +
          "Required in production; outside it a fixed development key is used.",
      ),
    ),
  CACHE_SETTLE_SECONDS: int(0, 60)
    .default(2)
    .describe("After a subscriber change commits, the consumer checks the edge cache against Postgres again this much later."),
  WEBHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d{1,5}(,\d{1,5}){0,29}$/)
    .default("5,30,120,600,1800,3600,7200,14400,28800,36000")
    .describe("Seconds before each webhook retry, in order, comma-separated (one entry per retry); each is jittered by ±20 %."),
  // A round is sent after the consumer returns (ctx.waitUntil, which runs at most 30 s more): below that.
  WEBHOOK_TIMEOUT_MS: int(100, 25_000).default(10_000).describe("Deadline of one webhook delivery attempt."),
  WEBHOOK_ENDPOINT_CONCURRENCY: int(1, 50).default(4).describe("Webhook deliveries in flight to one endpoint at most."),
  WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(259_200)
    .describe("An endpoint failing without a success this long is disabled."),
  WEBHOOK_SECRET_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(86_400)
    .describe("How long a webhook endpoint's previous secret keeps signing after a rotation."),
  METRICS_ROLLUPS: z
    .enum(["on", "off"])
    .default("on")
    .describe(
      "Per-isolate request rollups, written to Postgres at most once a minute; `off` stops both (the bench compares). " +
        "Never on where `ANALYTICS_SQL_ACCOUNT_ID` is set: the status page then reads Analytics Engine.",
    ),
  LOG_SAMPLE_RATE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe(
      "Share of successful requests whose info lines are written (each says `sample_rate`); 4xx and 5xx, warn and error, " +
        "queue batch and cron lines are all kept. The local stack and the tests set 1.",
    ),
  METRICS_SAMPLE_INTERVAL: int(1, 1_000_000)
    .default(10)
    .describe(
      "One successful request in this many (at random) writes its Analytics Engine point, weighted by it (`double4`); " +
        "4xx and 5xx, queue batches and cron runs all write, weight 1. Local stack and tests: 1.",
    ),
  LEGACY_IDEMPOTENCY_UNTIL: z
    .preprocess(emptyToUndefined, z.iso.datetime({ offset: true }).optional())
    .describe(
      "Until then, an Idempotency-Key record left in KV by a version before operation ids were keyed is honoured (set it to 24 h after that upgrade); unset: never read, no KV read per keyed write.",
    ),
  ANALYTICS_SQL_ACCOUNT_ID: z
    .preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .optional(),
    )
    .describe(
      "With `ANALYTICS_SQL_TOKEN`: the account whose Analytics Engine SQL API the status page and `/v1/admin/metrics` " +
        "read request series from, instead of the Postgres rollups (which then stop).",
    ),
  ANALYTICS_SQL_TOKEN: z
    .preprocess(emptyToUndefined, z.string().min(1).optional())
    .meta(secret("API token with Account Analytics Read, for `ANALYTICS_SQL_ACCOUNT_ID`.")),
  // A part is read whole for every query it overlaps, so parts stay far below KV's 25 MiB per value.
  SEARCH_INDEX_PART_BYTES: int(1_024, 4 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("Largest part of the `/search` index in the edge cache; tests set it small to get many parts from few plans."),
  UPSTASH_REDIS_REST_URL: z
    .preprocess(emptyToUndefined, z.url().optional())
    .meta(secret("With `UPSTASH_REDIS_REST_TOKEN`: Upstash Redis is the edge cache instead of KV and keeps the rate limits.")),
  UPSTASH_REDIS_REST_TOKEN: z.preprocess(emptyToUndefined, z.string().min(1).optional()).meta(secret("Token of `UPSTASH_REDIS_REST_URL`.")),
});
