import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../config/schema.ts";
import { bindingDecision, takeFromBinding } from "./binding.ts";

const rule = { limit: 300, periodSeconds: 60 };

describe("the rate limiting binding's answer", () => {
  it("allowed: the rule, and no remainder the binding never gave", () => {
    const d = bindingDecision(true, rule);
    expect(d).toEqual({ allowed: true, limit: 300, retryAfterSeconds: 0, periodSeconds: 60 });
    expect(d.remaining).toBeUndefined();
  });

  it("refused: nothing left, back after at most one window", () => {
    expect(bindingDecision(false, rule)).toEqual({
      allowed: false,
      limit: 300,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 60,
      periodSeconds: 60,
    });
  });

  it("a missing or failing binding throws, so the caller decides how to fail", async () => {
    await expect(takeFromBinding(undefined, "k", rule)).rejects.toThrow(/not bound/);
    const failing = { limit: async () => Promise.reject(new Error("down")) } as unknown as RateLimit;
    await expect(takeFromBinding(failing, "k", rule)).rejects.toThrow("down");
  });
});

/** `[[ratelimits]]` entries of wrangler.toml: name → { limit, period }. */
function declaredBindings(): Map<string, { limit: number; period: number }> {
  const toml = readFileSync("wrangler.toml", "utf8");
  const out = new Map<string, { limit: number; period: number }>();
  for (const block of toml.split("[[ratelimits]]").slice(1)) {
    const name = /name\s*=\s*"([^"]+)"/.exec(block)?.[1];
    const simple = /simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}/.exec(block);
    if (name && simple) out.set(name, { limit: Number(simple[1]), period: Number(simple[2]) });
  }
  return out;
}

describe("the configured per-IP limits say what wrangler.toml's bindings count", () => {
  const byDefault = (name: keyof typeof ConfigSchema.shape) => ConfigSchema.shape[name].parse(undefined);
  const declared = declaredBindings();

  it("PUBLIC_IP_LIMITER is PUBLIC_IP_RATE_LIMIT per PUBLIC_IP_RATE_PERIOD_SECONDS", () => {
    expect(declared.get("PUBLIC_IP_LIMITER")).toEqual({
      limit: byDefault("PUBLIC_IP_RATE_LIMIT"),
      period: byDefault("PUBLIC_IP_RATE_PERIOD_SECONDS"),
    });
  });

  it("KEY_LOOKUP_LIMITER is AUTH_FAILURE_IP_LIMIT per AUTH_FAILURE_IP_PERIOD_SECONDS", () => {
    expect(declared.get("KEY_LOOKUP_LIMITER")).toEqual({
      limit: byDefault("AUTH_FAILURE_IP_LIMIT"),
      period: byDefault("AUTH_FAILURE_IP_PERIOD_SECONDS"),
    });
  });
});
