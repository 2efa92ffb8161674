import type { Context, MiddlewareHandler } from "hono";
import type { Principal } from "../../auth/index.ts";
import { hotCache } from "../../cache/hot.ts";
import { DomainError } from "../../lib/errors.ts";
import { inIsolateMemory } from "../../lib/isolate-memory.ts";
import { errorMessage } from "../../lib/log.ts";
import { ipv6Prefix64 } from "../../lib/net.ts";
import type { RateDecision, RateRule } from "../../ratelimit/index.ts";
import { fallbackLimits, takeFromBinding } from "../../ratelimit/index.ts";
import type { AppEnv } from "../context.ts";
import { problemHeaders } from "../problems.ts";

function tooMany(d: RateDecision, what: string): DomainError {
  return new DomainError("rate_limited", `Rate limit exceeded for this ${what}: ${d.limit} requests per ${d.periodSeconds} s.`, {
    retryAfterSeconds: d.retryAfterSeconds,
    rateLimit: d,
  });
}

/**
 * Takes one token for `identifier` from `limiter`. A limiter that fails (the key's Durable Object
 * unreachable or overloaded, Redis or the binding failing) never lets the request through unlimited:
 * the isolate's own fallback bucket counts it (src/ratelimit/fallback.ts), and keeps counting that
 * identity for a moment before the limiter is asked again, so a struggling object is not hammered.
 */
async function take(
  c: Context<AppEnv>,
  backend: string,
  identifier: string,
  rule: RateRule,
  limiter: () => Promise<RateDecision>,
): Promise<RateDecision> {
  if (fallbackLimits.active(identifier)) return fallbackLimits.take(identifier, rule);
  try {
    return await limiter();
  } catch (err) {
    fallbackLimits.trip(identifier);
    c.get("rt").log.warn("rate_limiter_error", { backend, error: errorMessage(err), fallback: "isolate_bucket" });
    return fallbackLimits.take(identifier, rule);
  }
}

/** Per-key limit: the key's own `{limit, period_seconds}` or the configured default; exact and global. */
export async function enforceKeyLimit(c: Context<AppEnv>, principal: Principal): Promise<void> {
  const rt = c.get("rt");
  const rule = principal.rateLimit ?? rt.config.defaultKeyRateLimit;
  const id = `key:${principal.keyId}`;
  const d = await take(c, rt.limiter.backend, id, rule, () => rt.limiter.take(id, rule));
  c.set("rateLimit", d);
  if (!d.allowed) throw tooMany(d, "API key");
}

/**
 * Database lookups of API keys per client IP. A key unknown at the edge (memory and KV) costs one
 * Postgres query, so each such lookup takes a token first: a flood of random keys reaches Postgres at
 * most `limit` times per period, however concurrent. A legitimate key is looked up once, then cached.
 * An address over the limit is remembered in isolate memory until its allowance returns; meanwhile
 * only keys already known at the edge work from it (see authenticate's cachedOnly).
 */
const lockedOut = inIsolateMemory(hotCache(10_000), (c) => c.clear());
const LOCKOUT = "client address (API key lookups: too many failed authentications)";

/** The 429 for a locked-out address, or undefined. */
export function lockout(c: Context<AppEnv>): DomainError | undefined {
  const d = lockedOut.get<RateDecision>(clientNetwork(c));
  return d && tooMany(d, LOCKOUT);
}

/**
 * Counted by the `KEY_LOOKUP_LIMITER` binding: per Cloudflare location and approximate, no storage.
 * Unlike other limits, this one fails closed: if the binding cannot answer, a key unknown at the
 * edge is not looked up (503, Retry-After), because failing open would hand a flood straight to
 * Postgres. Keys already known at the edge never get here.
 */
export async function takeKeyLookupToken(c: Context<AppEnv>): Promise<void> {
  const rt = c.get("rt");
  const network = clientNetwork(c);
  let d: RateDecision;
  try {
    const binding = (c.env as Partial<Pick<Env, "KEY_LOOKUP_LIMITER">>).KEY_LOOKUP_LIMITER;
    d = await takeFromBinding(binding, `keylookup:${network}`, rt.config.authFailureIpLimit);
  } catch (err) {
    rt.log.warn("rate_limiter_error", { backend: "rate_limiting_binding", error: errorMessage(err) });
    throw new DomainError("unavailable", "API keys cannot be verified right now; retry shortly.", { retryAfterSeconds: 5, cause: err });
  }
  if (!d.allowed) {
    lockedOut.set(network, d, Math.max(1, d.retryAfterSeconds));
    throw tooMany(d, LOCKOUT);
  }
}

function clientIp(c: Context<AppEnv>): string {
  // Set by Cloudflare's edge (and by wrangler dev); anything else in front could forge it.
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

/**
 * The address a limit on failed authentication counts: an IPv4 address, or an IPv6 /64. One IPv6
 * subscriber usually holds a whole /64, so counting single addresses would let it rotate freely.
 */
function clientNetwork(c: Context<AppEnv>): string {
  return ipv6Prefix64(clientIp(c));
}

export interface IpRateLimitOptions {
  /**
   * Renders the 429 for routes with their own error envelope (`/search`); the default is the
   * problem+json of every other route. Headers (Retry-After, RateLimit-*) are added either way.
   */
  onLimited?: (c: Context<AppEnv>, retryAfterSeconds: number) => Response;
}

/**
 * Per-client-IP limit for public routes (`/health`, `/ready`, `/openapi.json`, `/docs`, `/search`,
 * the plans routes and the web page), counted by the `PUBLIC_IP_LIMITER` binding: per Cloudflare
 * location, approximate, no Durable Object and no storage. If the binding fails, the isolate's
 * fallback bucket counts instead.
 */
export function ipRateLimit(opts: IpRateLimitOptions = {}): MiddlewareHandler<AppEnv> {
  const refuse = (c: Context<AppEnv>, err: DomainError): Response => {
    if (!opts.onLimited) throw err;
    const res = opts.onLimited(c, err.retryAfterSeconds ?? 60);
    const headers = new Headers(res.headers);
    for (const [name, value] of Object.entries(problemHeaders(err))) headers.set(name, value);
    if (!headers.has("Retry-After")) headers.set("Retry-After", "60");
    return new Response(res.body, { status: 429, headers });
  };
  return async (c, next) => {
    // One token per request, however many patterns of the chain apply this middleware.
    if (c.get("rateLimit")) return next();
    const id = `ip:${clientIp(c)}`;
    const rule = c.get("rt").config.publicIpRateLimit;
    const binding = (c.env as Partial<Pick<Env, "PUBLIC_IP_LIMITER">>).PUBLIC_IP_LIMITER;
    const d = await take(c, "rate_limiting_binding", id, rule, () => takeFromBinding(binding, id, rule));
    c.set("rateLimit", d);
    if (!d.allowed) return refuse(c, tooMany(d, "client address"));
    await next();
  };
}
