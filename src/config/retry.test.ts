import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import wranglerToml from "../../wrangler.toml?raw";
import { getConfig } from "./index.ts";
import { mayRetry, retryBudgetSeconds, retryDelaySeconds } from "./retry.ts";

const policy = { baseSeconds: 5, maxDelaySeconds: 300, maxRetries: 5 };

describe("retry policy", () => {
  it("doubles from the base per delivery attempt and caps at the configured delay", () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, policy))).toEqual([5, 10, 20, 40, 80]);
    expect(retryDelaySeconds(12, policy)).toBe(300);
    expect(retryDelaySeconds(0, policy)).toBe(5);
  });

  it("retries maxRetries times, then dead-letters", () => {
    expect([1, 5, 6].map((a) => mayRetry(a, policy))).toEqual([true, true, false]);
    expect(retryBudgetSeconds(policy)).toBe(5 + 10 + 20 + 40 + 80);
  });

  it("with the settings in wrangler.toml, outlasts a 24-hour database outage within Cloudflare's limits", () => {
    // What a deploy runs with: wrangler.toml's vars, if any, over the schema's defaults.
    const { vars } = unstable_readConfig({ config: "wrangler.toml" }, { hideWarnings: true });
    const secrets = {
      DATABASE_URL: "postgres://u:p@h/db",
      ERASURE_HASH_KEY: "0123456789abcdef",
      API_KEY_SIGNING_SECRET: "0123456789abcdef0123456789abcdef",
    };
    const deployed = { ...vars, ...secrets, PROVIDER_URL: "https://provider.example/" };
    const config = getConfig(deployed as unknown as Env);
    expect(config.queueRetry.maxRetries).toBeGreaterThan(0);
    const budget = retryBudgetSeconds(config.queueRetry);
    expect(budget).toBeGreaterThan(24 * 3600);
    // Queues keep a message 4 days by default (up to 14): the budget must end before that.
    expect(budget).toBeLessThan(4 * 86_400);
    expect(config.queueRetry.maxDelaySeconds).toBeLessThanOrEqual(43_200);
    // The runtime's own max_retries for the consumer must leave the consumer room to dead-letter
    // with a reason before the runtime does it without one.
    const consumer = wranglerToml.match(/queue = "subscriber-writes"\s*\n(?:[^\n[]*\n)*?max_retries = (\d+)/);
    expect(Number(consumer?.[1])).toBeGreaterThanOrEqual(config.queueRetry.maxRetries);
  });
});
