import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The plugin reads wrangler.toml once per test file, and each read would log the [secrets] check
// ("Missing required secrets: DATABASE_URL", "Using secrets defined in process.env") although the
// bindings below set DATABASE_URL. Wrangler's own logs in this process stop at errors; the Worker's
// console output and vitest's are not wrangler's logger and stay.
process.env.WRANGLER_LOG ??= "error";

export default defineConfig({
  test: {
    // After vitest's summary, one line per reason for every skipped test (test/setup/skipped-summary.ts).
    reporters: ["default", "./test/setup/skipped-summary.ts"],
    projects: [
      {
        // Pure modules, beside their source: plain Node, no Postgres, no workerd (`npm run test:unit`, seconds).
        test: { name: "unit", include: ["src/**/*.test.ts", "scripts/**/*.test.ts"], environment: "node" },
      },
      {
        // The app in workerd against a real Postgres, KV and Queues (test/setup/global.ts starts them).
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                LOG_LEVEL: "warn",
                // Every line and every data point: tests that sample set their own rate or interval.
                LOG_SAMPLE_RATE: "1",
                METRICS_SAMPLE_INTERVAL: "1",
                DATABASE_URL: inject("databaseUrl"),
                DATABASE_WS_PROXY: inject("wsProxy"),
                DATABASE_HTTP_ENDPOINT: inject("httpEndpoint"),
                PROVIDER_URL: inject("providerUrl"),
                // Fast resilience settings so fault tests take seconds, not minutes.
                PROVIDER_TIMEOUT_MS: "1000",
                PROVIDER_BODY_TIMEOUT_MS: "2000",
                PROVIDER_RETRY_BASE_MS: "20",
                PROVIDER_MAX_ATTEMPTS: "3",
                PROVIDER_BREAKER_THRESHOLD: "5",
                PROVIDER_BREAKER_HALF_OPEN_SECONDS: "2",
                PROVIDER_MAX_BYTES: "4194304",
                TEST_CONTROL_URL: inject("controlUrl"),
                TEST_WEBHOOK_RECEIVER_URL: inject("webhookReceiverUrl"),
                // Not UPSTASH_*: tests opt into the Upstash store per request, KV stays the default.
                TEST_UPSTASH_URL: inject("upstashUrl"),
                TEST_UPSTASH_TOKEN: inject("upstashToken"),
                // Quick retries so the fault tests see a failed batch come back within seconds: a retry
                // budget of 1 + 2 + 2 + 2 + 2 + 2 = 11 s, after which a write is dead-lettered (and parked
                // while the database is down). The outage tests stay below or go beyond it on purpose.
                QUEUE_RETRY_BASE_SECONDS: "1",
                QUEUE_RETRY_MAX_DELAY_SECONDS: "2",
                QUEUE_MAX_RETRIES: "6",
                // Webhook retries in seconds instead of a day, a short timeout for the timeout tests.
                WEBHOOK_RETRY_SCHEDULE_SECONDS: "1,1,2,2,3",
                WEBHOOK_TIMEOUT_MS: "1500",
                // Many tests send bad keys from the same (absent) client address; the failed-authentication
                // test sets its own small limit.
                AUTH_FAILURE_IP_LIMIT: "1000000",
                // The suite sends thousands of requests per key and from one (absent) client address; the
                // rate limit tests set their own small limits.
                DEFAULT_KEY_RATE_LIMIT: "1000000",
                PUBLIC_IP_RATE_LIMIT: "1000000",
                // Signs the keys the admin API mints in the tests (src/auth/signed-keys.ts).
                API_KEY_SIGNING_SECRET: "test-only-api-key-signing-secret-0123456789",
                // The suite is one location whose consumer shares the readers' isolate, and reads right
                // after a write; a Cache API copy would answer for up to 5 s there. The level is on in
                // production and tested on its own (test/signed-api-keys.test.ts).
                CACHE_API_READS: "off",
                // "long" (npm run test:reliability) runs the full-size reliability variants.
                RELIABILITY: process.env.RELIABILITY === "long" ? "long" : "short",
              },
              // The per-IP limits are counted by these bindings (wrangler.toml), lifted with the vars above.
              // The TEST_* ones, with small limits, are what the rate limit tests swap in beside their vars.
              ratelimits: {
                PUBLIC_IP_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000, period: 60 } },
                KEY_LOOKUP_LIMITER: { namespace_id: "1002", simple: { limit: 1_000_000, period: 60 } },
                TEST_LIMIT_1_PER_MINUTE: { namespace_id: "9001", simple: { limit: 1, period: 60 } },
                TEST_LIMIT_2_PER_MINUTE: { namespace_id: "9002", simple: { limit: 2, period: 60 } },
                TEST_LIMIT_40_PER_MINUTE: { namespace_id: "9040", simple: { limit: 40, period: 60 } },
              },
            },
          })),
        ],
        test: {
          name: "integration",
          globalSetup: ["./test/setup/global.ts"],
          include: ["test/**/*.test.ts"],
          // Browser tests run on Node, not in workerd: vitest.browser.config.ts.
          exclude: ["test/browser/**", "node_modules/**"],
          // Some tests take the database relay down for a moment; files share it, so they run one at a time.
          fileParallelism: false,
          // Files share one workerd runtime rather than starting one each (about 2 s a file). They
          // already share Postgres, KV and the queue, so each file keeps to its own rows and keys (unique
          // domains, its own keys), and one that depends on what an isolate remembers resets it first
          // (resetIsolateMemory()). The long reliability variants (RELIABILITY=long) load the queue
          // hard and keep one runtime per file, so no file's retries still in flight reach the next.
          isolate: process.env.RELIABILITY === "long",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
