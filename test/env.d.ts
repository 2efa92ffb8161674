declare namespace Cloudflare {
  interface Env {
    /** Node-side control server from test/setup/global.ts. */
    TEST_CONTROL_URL: string;
    /** Upstash REST bridge to a real redis-server; empty when redis-server is not installed. */
    TEST_UPSTASH_URL: string;
    TEST_WEBHOOK_RECEIVER_URL: string;
    TEST_UPSTASH_TOKEN: string;
    /** "long" under npm run test:reliability: full-size reliability variants. */
    RELIABILITY: "short" | "long";
    /** Rate limiting bindings with small limits (vitest.config.ts), for the rate limit tests. */
    TEST_LIMIT_1_PER_MINUTE: RateLimit;
    TEST_LIMIT_2_PER_MINUTE: RateLimit;
    TEST_LIMIT_40_PER_MINUTE: RateLimit;
  }
}

/** Vite's raw imports (test fixtures as text). */
declare module "*?raw" {
  const text: string;
  export default text;
}

/** parse-prometheus-text-format ships no types: its output, as the metrics test reads it. */
declare module "parse-prometheus-text-format" {
  interface MetricFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
