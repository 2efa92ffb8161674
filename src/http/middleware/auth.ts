import type { MiddlewareHandler } from "hono";
import { authenticate } from "../../auth/api-keys.ts";
import { hasScope } from "../../auth/principal.ts";
import type { Scope } from "../../auth/principal.ts";
import type { AppEnv } from "../context.ts";
import { AppError } from "../errors.ts";

/** 401 without a valid key, 403 when the key lacks `scope` (admin implies every scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal") ?? (await authenticate(c.var.rt, c.req.header("authorization")));
    c.set("principal", principal);
    if (!hasScope(principal, scope)) {
      throw new AppError("forbidden", `This API key lacks the "${scope}" scope.`, { extra: { required_scope: scope } });
    }
    await next();
  };
}
