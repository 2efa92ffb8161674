import type { RouteConfig } from "@hono/zod-openapi";
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import { requireAdmin, requireScope } from "./middleware/auth.ts";
import { adminProblems, authProblems, problems } from "./openapi-schemas.ts";

/**
 * Routes behind an API key, declared once: `createRoute` with the bearer security, the key check in
 * front of the route's own middleware and the problems every such route can answer. A route with any
 * validated input (path, query, headers or body) also answers 422, and one with path parameters 404
 * unless it says `notFound: false`. Admin routes answer 404 to a caller without a key anyway. The
 * route's own responses come last and win.
 */

type Scope = Parameters<typeof requireScope>[0];

type KeyedConfig = Omit<RouteConfig, "security" | "middleware"> & {
  middleware?: readonly MiddlewareHandler<AppEnv>[];
  /** False for a route whose path may name something gone without that being a 404 (an erasure). */
  notFound?: false;
};

type Merge<A, B> = Omit<A, keyof B> & B;
type Standard<R extends KeyedConfig, Auth> = Auth &
  (R extends { request: object } ? Pick<typeof problems, 422> : unknown) &
  (404 extends keyof Auth
    ? unknown
    : R extends { notFound: false }
      ? unknown
      : R extends { request: { params: object } }
        ? Pick<typeof problems, 404>
        : unknown);

const security = [{ bearerAuth: [] }];

function keyed<P extends string, R extends KeyedConfig & { path: P }, Auth extends Record<number, unknown>>(
  guards: MiddlewareHandler<AppEnv>[],
  auth: Auth,
  route: R,
) {
  const { notFound, middleware = [], responses, ...rest } = route;
  const standard: Record<number, unknown> = { ...auth };
  if (!(404 in auth) && rest.request?.params !== undefined && notFound !== false) standard[404] = problems[404];
  if (rest.request !== undefined) standard[422] = problems[422];
  return createRoute({
    ...(rest as Omit<R, "notFound" | "middleware" | "responses">),
    security,
    middleware: [...guards, ...middleware],
    responses: { ...standard, ...responses } as Merge<Standard<R, Auth>, R["responses"]>,
  });
}

/** A route for keys holding every scope in `scopes` (admin implies all): 401, 403 and 429 as the key check answers them. */
export const keyedRoute = <P extends string, R extends KeyedConfig & { path: P }>(scopes: Scope | readonly Scope[], route: R) =>
  keyed((typeof scopes === "string" ? [scopes] : scopes).map(requireScope), authProblems, route);

/** An admin route: 404 for a caller without a valid key, as if it did not exist (requireAdmin). */
export const adminRoute = <P extends string, R extends KeyedConfig & { path: P }>(route: R) =>
  keyed([requireAdmin()], adminProblems, route);
