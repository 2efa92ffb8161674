import type { Context, MiddlewareHandler } from "hono";
import type { Principal, Scope } from "../../auth/index.ts";
import { authenticate, hasScope } from "../../auth/index.ts";
import { DomainError } from "../../lib/errors.ts";
import type { AppEnv } from "../context.ts";
import { enforceKeyLimit, lockout, takeKeyLookupToken } from "./rate-limit.ts";

const isUnauthenticated = (err: unknown) =>
  err instanceof DomainError && (err.code === "missing_credentials" || err.code === "invalid_credentials");

/** Verifies the key and takes one token from its rate limit, once per request whatever the chain. */
async function principalOf(c: Context<AppEnv>): Promise<Principal> {
  const known = c.get("principal");
  if (known) return known;
  const lockedOut = lockout(c);
  let principal: Principal;
  try {
    principal = await authenticate(c.get("rt"), c.req.header("authorization"), {
      cachedOnly: lockedOut !== undefined,
      beforeDatabaseLookup: () => takeKeyLookupToken(c),
    });
  } catch (err) {
    if (lockedOut && isUnauthenticated(err)) throw lockedOut;
    throw err;
  }
  c.set("principal", principal);
  await enforceKeyLimit(c, principal);
  return principal;
}

/** 401 without a valid key, 429 over its rate limit, 403 when the key lacks `scope` (admin implies every scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = await principalOf(c);
    if (!hasScope(principal, scope)) {
      throw new DomainError("forbidden", `This API key lacks the "${scope}" scope.`, { extra: { required_scope: scope } });
    }
    // Everything behind a key carries personal data or keys: no shared or browser cache may keep it.
    // Set before the handler builds its response, so it costs no copy of it.
    c.header("Cache-Control", "no-store");
    await next();
  };
}

/**
 * Admin routes answer exactly like an unknown route (404) to callers without a valid key, so they
 * cannot be discovered by probing; a valid key without the admin scope gets the usual 403.
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  const scoped = requireScope("admin");
  return async (c, next) => {
    try {
      await scoped(c, next);
    } catch (err) {
      if (isUnauthenticated(err)) {
        throw new DomainError("not_found", `No route matches ${c.req.method} ${new URL(c.req.url).pathname}.`);
      }
      throw err;
    }
  };
}
