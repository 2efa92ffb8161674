import type { RateDecision, RateRule } from "./types.ts";

/**
 * The Workers Rate Limiting binding's answer as a decision. The binding counts in fixed windows of
 * its period, per Cloudflare location, and says only whether a request fits: an allowed request
 * carries no remainder (none is guessed), and a refused one is told to come back after at most one
 * period, when its window has certainly ended.
 */
export function bindingDecision(success: boolean, rule: RateRule): RateDecision {
  if (success) return { allowed: true, limit: rule.limit, retryAfterSeconds: 0, periodSeconds: rule.periodSeconds };
  return {
    allowed: false,
    limit: rule.limit,
    remaining: 0,
    resetSeconds: rule.periodSeconds,
    retryAfterSeconds: rule.periodSeconds,
    periodSeconds: rule.periodSeconds,
  };
}

/**
 * One request counted against `key` on `binding`, declared in wrangler.toml with `rule`'s limit and
 * period (the binding's own numbers count; `rule` labels the answer). No storage, no Durable Object.
 * Throws when the binding is missing or fails, so each caller chooses how to fail.
 */
export async function takeFromBinding(binding: RateLimit | undefined, key: string, rule: RateRule): Promise<RateDecision> {
  if (!binding) throw new Error("rate limiting binding not bound");
  const { success } = await binding.limit({ key });
  return bindingDecision(success, rule);
}
