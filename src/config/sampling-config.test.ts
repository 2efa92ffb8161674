import { describe, expect, it } from "vitest";
import { ConfigError, getConfig } from "./index.ts";

const base = {
  DATABASE_URL: "postgres://u:p@db.example/edge",
  PROVIDER_URL: "https://provider.example/feed",
  ERASURE_HASH_KEY: "a-production-hash-key-of-enough-length",
  API_KEY_SIGNING_SECRET: "0123456789abcdef0123456789abcdef",
};
const config = (vars: Record<string, string> = {}) => getConfig({ ...base, ...vars } as unknown as Env);
const AE = { ANALYTICS_SQL_ACCOUNT_ID: "0123456789abcdef0123456789abcdef", ANALYTICS_SQL_TOKEN: "t" };

describe("observability configuration", () => {
  it("samples in production by default: 1 % of successful requests' lines, 1 in 10 of their points", () => {
    expect(config()).toMatchObject({ logSampleRate: 0.01, metricsSampleInterval: 10, metricsRollups: true, analyticsSql: undefined });
  });

  it("reads request series from Analytics Engine where its SQL API is configured, and then keeps no Postgres rollups", () => {
    expect(config(AE)).toMatchObject({ metricsRollups: false, analyticsSql: { accountId: AE.ANALYTICS_SQL_ACCOUNT_ID, token: "t" } });
    expect(config({ METRICS_ROLLUPS: "off" }).metricsRollups).toBe(false);
  });

  it("refuses half an Analytics Engine configuration and rates outside 0–1", () => {
    expect(() => config({ ANALYTICS_SQL_ACCOUNT_ID: AE.ANALYTICS_SQL_ACCOUNT_ID })).toThrow(ConfigError);
    expect(() => config({ LOG_SAMPLE_RATE: "1.5" })).toThrow(ConfigError);
    expect(() => config({ METRICS_SAMPLE_INTERVAL: "0" })).toThrow(ConfigError);
  });
});
