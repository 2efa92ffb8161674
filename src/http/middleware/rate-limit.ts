import type { Context, MiddlewareHandler } from "hono";
import type { Principal } from "../../auth/index.ts";
import { hotCache } from "../../cache/hot.ts";
import { DomainError } from "../../lib/errors.ts";
import { inIsolateMemory } from "../../lib/isolate-memory.ts";
import { errorMessage } from "../../lib/log.ts";
import { ipv6Prefix64 } from "../../lib/net.ts";
import type { RateDecision, RateRule } from "../../ratelimit/index.ts";
import type { AppEnv } from "../context.ts";
import { problemHeaders } from "../problems.ts";

function tooMany(d: RateDecision, what: string): DomainError {
  return new DomainError("rate_limited", `Rate limit exceeded for this ${what}: ${d.limit} requests per ${d.periodSeconds} s.`, {
    retryAfterSeconds: d.retryAfterSeconds,
    rateLimit: d,
  });
}

/**
 * Takes one token for `identifier`. A limiter that fails (Durable Object or Redis unreachable)
 * lets the request through and logs: losing rate limiting briefly beats refusing all traffic.
 */
async function take(c: Context<AppEnv>, identifier: string, rule: RateRule): Promise<RateDecision | undefined> {
  const rt = c.get("rt");
  try {
    return await rt.limiter.take(identifier, rule);
  } catch (err) {
    rt.log.warn("rate_limiter_error", { backend: rt.limiter.backend, error: errorMessage(err) });
    return undefined;
  }
}

/** Per-key limit: the key's own `{limit, period_seconds}` or the configured default. */
export async function enforceKeyLimit(c: Context<AppEnv>, principal: Principal): Promise<void> {
  const rule = principal.rateLimit ?? c.get("rt").config.defaultKeyRateLimit;
  const d = await take(c, `key:${principal.keyId}`, rule);
  if (!d) return;
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
 * Unlike other limits, this one fails closed: if the limiter cannot answer, a key unknown at the
 * edge is not looked up (503, Retry-After), because failing open would hand a flood straight to
 * Postgres. Keys already known at the edge never get here.
 */
export async function takeKeyLookupToken(c: Context<AppEnv>): Promise<void> {
  const rt = c.get("rt");
  const network = clientNetwork(c);
  let d: RateDecision;
  try {
    d = await rt.limiter.take(`keylookup:${network}`, rt.config.authFailureIpLimit);
  } catch (err) {
    rt.log.warn("rate_limiter_error", { backend: rt.limiter.backend, error: errorMessage(err) });
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
 * Per-client-IP limit for public routes (`/health`, `/ready`, `/openapi.json`, `/docs`; plans routes
 * add it too). The Workers Rate Limiting binding is a cheap, approximate shield in front; the exact
 * limiter then counts per IP.
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
    const ip = clientIp(c);
    const shield = (c.env as Partial<Pick<Env, "IP_SHIELD">>).IP_SHIELD;
    if (shield) {
      const { success } = await shield.limit({ key: ip }).catch(() => ({ success: true }));
      if (!success) {
        // The binding counts in fixed 60 s windows and says nothing more precise.
        return refuse(c, new DomainError("rate_limited", "Too many requests from this address.", { retryAfterSeconds: 60 }));
      }
    }
    const d = await take(c, `ip:${ip}`, c.get("rt").config.publicIpRateLimit);
    if (d) {
      c.set("rateLimit", d);
      if (!d.allowed) return refuse(c, tooMany(d, "client address"));
    }
    await next();
  };
}
